"""Where a screenshot came from, inside its own PNG, so the file alone is enough to place boxes on the screen.

A screenshot carries a ``tEXt`` chunk named ``glmv-capture``: attached today or reopened from history next month,
the file says where on the real screen a box on it is. The chunk holds JSON::

    {"rect": [x, y, w, h],                      # the captured area, native virtual-desktop pixels
     "screens": [{"name": "HDMI-1", "geometry": [x, y, w, h], "scale": 1.5}, ...]}   # as Qt reports them

``geometry`` is the screen's logical (Qt) geometry; its native rectangle follows by ``capture.geometry``'s rule.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.core.capture.geometry import Rect, Screen, virtual_bounds

if TYPE_CHECKING:
    from PIL.PngImagePlugin import PngInfo

CAPTURE_KEY = "glmv-capture"


@dataclass(frozen=True)
class CaptureInfo:
    """Where a screenshot's pixels were on the virtual desktop, and the screens as they were."""

    rect: Rect
    screens: tuple[Screen, ...]

    def shows(self) -> str:
        """ "screen" when the capture is exactly one screen, "screens" when it is all of several, else "region"
        (a dragged area or a window)."""
        natives = [s.native for s in self.screens]
        if self.rect in natives:
            return "screen"
        if len(natives) > 1 and self.rect == virtual_bounds(natives):
            return "screens"
        return "region"


def capture_metadata(rect: Rect, screens: Sequence[Screen]) -> dict:
    """The JSON a screenshot carries in its ``glmv-capture`` chunk (see the module docstring)."""
    return {
        "rect": [rect.x, rect.y, rect.width, rect.height],
        "screens": [
            {
                "name": s.name,
                "geometry": [s.geometry.x, s.geometry.y, s.geometry.width, s.geometry.height],
                "scale": s.scale,
            }
            for s in screens
        ],
    }


def _chunk_text(metadata: dict) -> bytes:
    return json.dumps(metadata, ensure_ascii=True, separators=(",", ":")).encode("latin-1")


def capture_png_info(rect: Rect, screens: Sequence[Screen], info: PngInfo | None = None) -> PngInfo:
    """A ``PngInfo`` for ``Image.save(..., pnginfo=...)`` that carries the capture metadata."""
    from PIL.PngImagePlugin import PngInfo

    info = info or PngInfo()
    info.add_text(CAPTURE_KEY, _chunk_text(capture_metadata(rect, screens)).decode("latin-1"))
    return info


def parse_capture_metadata(data: Any) -> CaptureInfo:
    """Validated capture metadata; ``ValueError`` says what is wrong with it."""
    if not isinstance(data, dict):
        raise ValueError("capture metadata is not an object")
    rect = _int_rect(data.get("rect"), "rect")
    if rect.empty:
        raise ValueError("the captured rectangle is empty")
    screens: list[Screen] = []
    for item in data.get("screens") or []:
        if not isinstance(item, dict):
            raise ValueError("a screen entry is not an object")
        geometry = _int_rect(item.get("geometry"), "screen geometry")
        scale = item.get("scale")
        if not isinstance(scale, (int, float)) or isinstance(scale, bool) or not 0.1 <= scale <= 16:
            raise ValueError(f"screen scale {scale!r} is not a plausible device pixel ratio")
        if geometry.empty:
            raise ValueError("a screen has no area")
        screens.append(Screen.from_qt(str(item.get("name") or f"screen {len(screens) + 1}"), geometry, float(scale)))
    return CaptureInfo(rect, tuple(screens))


def _int_rect(value: Any, what: str) -> Rect:
    if (
        not isinstance(value, list)
        or len(value) != 4
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    ):
        raise ValueError(f"{what} is not four whole numbers")
    return Rect(*value)


def read_capture_metadata(path: Path) -> CaptureInfo | None:
    """The capture metadata of a screenshot, or ``None`` for any other image (or one whose metadata is damaged:
    the boxes are then shown on the image only)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            raw = image.info.get(CAPTURE_KEY) if image.format == "PNG" else None
    except (OSError, UnidentifiedImageError, ValueError):
        return None
    if not raw:
        return None
    try:
        return parse_capture_metadata(json.loads(raw))
    except ValueError:
        return None
