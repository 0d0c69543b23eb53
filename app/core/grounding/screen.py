"""A box on the real screen: from a screenshot's capture metadata, in native pixels and in Qt's logical ones."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from app.core.capture.geometry import Rect, Screen, SelectionF, device_to_logical
from app.core.capture.metadata import CaptureInfo
from app.core.events import Box
from app.core.grounding.pixels import to_pixels


@dataclass(frozen=True)
class ScreenBox:
    """A box on the real screen: ``device`` in native virtual-desktop pixels (what mss, xdotool and Windows
    use), ``logical`` in Qt's coordinates; ``screen`` holds the box's centre (``number`` counts from 1)."""

    device: Rect
    logical: SelectionF
    screen: Screen | None
    number: int | None

    @property
    def device_center(self) -> tuple[int, int]:
        return self.device.x + self.device.width // 2, self.device.y + self.device.height // 2

    @property
    def logical_center(self) -> tuple[float, float]:
        return self.logical.x + self.logical.width / 2, self.logical.y + self.logical.height / 2


def box_on_screen(box: Box, info: CaptureInfo) -> ScreenBox:
    """Where ``box`` is on the real screen. The PNG's own size does not matter (a portal may hand back logical
    pixels): the box is a proportion of the captured rectangle, which is in native pixels."""
    pixels = to_pixels(box, info.rect.width, info.rect.height)
    device = Rect(info.rect.x + pixels.left, info.rect.y + pixels.top, pixels.width, pixels.height)
    cx, cy = device.x + device.width / 2, device.y + device.height / 2
    number, screen = _screen_at(info.screens, device, cx, cy)
    if screen is None:
        logical = SelectionF(device.x, device.y, device.width, device.height)
    else:
        logical = device_to_logical(device, screen)
    return ScreenBox(device, logical, screen, number)


def _screen_at(screens: Sequence[Screen], device: Rect, cx: float, cy: float) -> tuple[int | None, Screen | None]:
    for i, screen in enumerate(screens):
        if screen.native.contains(cx, cy):
            return i + 1, screen
    best: tuple[int | None, Screen | None] = (None, None)
    best_area = 0
    for i, screen in enumerate(screens):
        part = screen.native.intersection(device)
        if part.width * part.height > best_area:
            best, best_area = (i + 1, screen), part.width * part.height
    return best
