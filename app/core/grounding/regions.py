"""The region a box covers, or one the person dragged, as a PNG to attach: cut from the original file (a
screenshot's crop keeps its place on the screen), rendered again sharper from a PDF page, or cut from the page,
slide or frame that was sent."""

from __future__ import annotations

import logging
import math
import re
from pathlib import Path
from typing import TYPE_CHECKING

from app.core import private_files
from app.core.capture.geometry import Rect
from app.core.capture.metadata import capture_png_info, read_capture_metadata
from app.core.events import Box
from app.core.grounding import GroundingError
from app.core.grounding.pairing import SeenImage
from app.core.grounding.pixels import PixelBox, load_upright, round_half_up, to_pixels

if TYPE_CHECKING:
    from PIL import Image as PILImage

log = logging.getLogger(__name__)


def regions_folder() -> Path:
    """Where cropped regions wait until they are sent (the history store copies attachments when they are)."""
    return private_files.cache_folder("regions")


def crop_region(image_path: Path, rect: PixelBox, folder: Path | None = None) -> Path:
    """Saves the part ``rect`` (pixels of the upright original) of an image as a PNG and returns its path. A
    screenshot's crop carries its own capture metadata, so boxes on the crop map to the screen too."""
    image_path = Path(image_path)
    image = load_upright(image_path)
    width, height = image.size
    left, top = min(max(rect.left, 0), width - 1), min(max(rect.top, 0), height - 1)
    right, bottom = min(max(rect.right, left + 1), width), min(max(rect.bottom, top + 1), height)
    crop = image.crop((left, top, right, bottom))
    folder = private_files.private_folder(Path(folder)) if folder is not None else regions_folder()
    stem = image_path.stem[:60] or "image"
    out = folder / f"{stem}-region-{left}-{top}-{right - left}x{bottom - top}.png"
    pnginfo = None
    capture = read_capture_metadata(image_path)
    if capture is not None:
        sx, sy = capture.rect.width / width, capture.rect.height / height
        sub = Rect(
            capture.rect.x + round_half_up(left * sx),
            capture.rect.y + round_half_up(top * sy),
            max(1, round_half_up(right * sx) - round_half_up(left * sx)),
            max(1, round_half_up(bottom * sy) - round_half_up(top * sy)),
        )
        pnginfo = capture_png_info(sub, capture.screens)
    tmp = out.with_name(out.name + ".part")
    with open(tmp, "wb", opener=private_files.opener) as file:
        crop.save(file, format="PNG", pnginfo=pnginfo)
    tmp.replace(out)
    return out


# A region of a PDF page asked about is rendered again from the page itself: its text and lines stay sharp at a
# size the model reads well, where a crop of the sent page would be a few hundred blurry pixels.
REGION_LONG_SIDE = 1568
REGION_MIN_ZOOM = 300 / 72
REGION_MAX_ZOOM = 8.0
REGION_MAX_PIXELS = 16_000_000


def crop_seen(image: SeenImage, rect: PixelBox, folder: Path | None = None) -> Path:
    """The part ``rect`` (pixels of ``image.source_size()``) of an image the model saw, as a PNG to attach: cut
    from the original file, rendered again sharper from a PDF page, or cut from the page, slide or frame that
    was sent."""
    if image.is_file:
        return crop_region(image.path, rect, folder)
    width, height = image.source_size()
    page = image.pdf_page
    if page is not None:
        try:
            return _render_pdf_region(image, page, rect, width, height, folder)
        except GroundingError as e:
            log.info("%s; cropping the page as it was sent", e)
    rendered = image.load()
    left, top = min(max(rect.left, 0), width - 1), min(max(rect.top, 0), height - 1)
    right, bottom = min(max(rect.right, left + 1), width), min(max(rect.bottom, top + 1), height)
    if rendered.size != (width, height):
        sx, sy = rendered.width / width, rendered.height / height
        box = (
            round_half_up(left * sx),
            round_half_up(top * sy),
            max(round_half_up(right * sx), 1),
            max(round_half_up(bottom * sy), 1),
        )
    else:
        box = (left, top, right, bottom)
    return _save_region(rendered.crop(box), image, f"{left}-{top}-{right - left}x{bottom - top}", folder)


def crop_seen_box(image: SeenImage, box: Box, folder: Path | None = None) -> Path:
    """The region a box covers on an image the model saw."""
    return crop_seen(image, to_pixels(box, *image.source_size()), folder)


def _render_pdf_region(
    image: SeenImage, page_number: int, rect: PixelBox, width: int, height: int, folder: Path | None
) -> Path:
    import pymupdf

    from app.core.media.pdf import mupdf_errors, render

    failures: tuple[type[Exception], ...] = (OSError, *mupdf_errors())
    try:
        with pymupdf.open(image.path, filetype="pdf") as doc:
            if doc.needs_pass and not (image.attachment.password and doc.authenticate(image.attachment.password)):
                raise GroundingError(f"{image.title}: the PDF is locked and its password is not kept")
            page = doc[page_number - 1]
            bounds = page.rect
            clip = pymupdf.Rect(
                bounds.x0 + rect.left * bounds.width / width,
                bounds.y0 + rect.top * bounds.height / height,
                bounds.x0 + rect.right * bounds.width / width,
                bounds.y0 + rect.bottom * bounds.height / height,
            )
            long_side = max(clip.width, clip.height, 1e-3)
            zoom = min(max(REGION_LONG_SIDE / long_side, REGION_MIN_ZOOM), REGION_MAX_ZOOM)
            zoom = min(zoom, math.sqrt(REGION_MAX_PIXELS / max(clip.width * clip.height, 1e-3)))
            region = render(page, pymupdf.Matrix(zoom, zoom), clip)
    except failures as e:
        raise GroundingError(f"{image.title}: the page cannot be rendered again ({e})") from None
    where = f"{rect.left}-{rect.top}-{rect.width}x{rect.height}"
    return _save_region(region, image, where, folder)


def _save_region(region: PILImage.Image, image: SeenImage, where: str, folder: Path | None) -> Path:
    folder = private_files.private_folder(Path(folder)) if folder is not None else regions_folder()
    label = re.sub(r"[^a-z0-9.]+", "-", (image.label or "").lower()).strip("-")
    stem = "-".join(p for p in (image.path.stem[:60] or "image", label) if p)
    out = folder / f"{stem}-region-{where}.png"
    tmp = out.with_name(out.name + ".part")
    with open(tmp, "wb", opener=private_files.opener) as file:
        region.save(file, format="PNG")
    tmp.replace(out)
    return out
