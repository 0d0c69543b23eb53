"""A box in pixels of one image, and the image as people see it.

A box maps to an image by proportion: x*W/1000, y*H/1000 of the image's upright size (EXIF rotation applied).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from app.core.events import Box
from app.core.grounding import GroundingError

if TYPE_CHECKING:
    from PIL import Image as PILImage


@dataclass(frozen=True)
class PixelBox:
    """A box in pixels of one image; ``right``/``bottom`` exclusive, inside the image, at least one pixel."""

    left: int
    top: int
    right: int
    bottom: int

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def height(self) -> int:
        return self.bottom - self.top

    @property
    def center(self) -> tuple[int, int]:
        return (self.left + self.right) // 2, (self.top + self.bottom) // 2


def round_half_up(value: float) -> int:
    """The nearest whole number, halves up (``round`` takes a half to the even neighbour: 0.5 to 0, 2.5 to 2)."""
    return math.floor(value + 0.5)


def to_pixels(box: Box, width: int, height: int) -> PixelBox:
    """``box`` on an image of ``width`` x ``height`` pixels: x*W/1000, y*H/1000, clamped and ordered. Edges round
    to the nearest pixel boundary so two boxes sharing an edge share it in pixels."""
    if width <= 0 or height <= 0:
        raise ValueError(f"an image of {width}x{height} pixels has no area")
    xs = sorted(min(max(v, 0.0), 1000.0) * width / 1000 for v in (box.x1, box.x2))
    ys = sorted(min(max(v, 0.0), 1000.0) * height / 1000 for v in (box.y1, box.y2))
    left, right = round_half_up(xs[0]), round_half_up(xs[1])
    top, bottom = round_half_up(ys[0]), round_half_up(ys[1])
    if right <= left:
        left, right = (left, left + 1) if left < width else (width - 1, width)
    if bottom <= top:
        top, bottom = (top, top + 1) if top < height else (height - 1, height)
    return PixelBox(left, top, right, bottom)


def load_upright(path: Path) -> PILImage.Image:
    """The image as people see it (EXIF rotation applied), in RGB; transparency over white."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    path = Path(path)
    try:
        with Image.open(path) as opened:
            opened.seek(0)
            image = ImageOps.exif_transpose(opened)
            image.load()
    except FileNotFoundError:
        raise GroundingError(f"{path}: no such file; it may have been moved or deleted") from None
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError) as e:
        raise GroundingError(f"{path.name}: cannot be read as an image ({e}); attach a PNG or JPEG") from None
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")


def image_size(path: Path) -> tuple[int, int]:
    """The upright size of an image file, from its header (no decoding)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            width, height = image.size
            orientation = image.getexif().get(0x0112, 1)
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError) as e:
        raise GroundingError(f"{Path(path).name}: cannot be read as an image ({e})") from None
    return (height, width) if orientation in (5, 6, 7, 8) else (width, height)
