"""Boxes in words: what each is called on the picture, the line copied to paste elsewhere, and the note for a
group cut short."""

from __future__ import annotations

from app.core.capture.metadata import CaptureInfo
from app.core.events import Box, Boxes
from app.core.grounding.pixels import to_pixels
from app.core.grounding.screen import box_on_screen


def cut_short_note(group: Boxes) -> str:
    """What to say of a group the model went on listing past what is kept of one."""
    return f"The model listed more boxes than are kept of one group; the first {len(group.boxes):,} are used."


def box_name(index: int, box: Box) -> str:
    """What a box is called on the picture and in copied text: its number, and its label when it has one."""
    return f"{index + 1} {box.label}" if box.label else str(index + 1)


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def describe_box(
    index: int, box: Box, width: int, height: int, image_name: str, capture: CaptureInfo | None = None
) -> str:
    """One line to paste elsewhere: pixel position and centre on the image, and on the real screen for a
    screenshot (device pixels, plus Qt's logical coordinates where the screen is scaled)."""
    name = box_name(index, box)
    if capture is not None:
        on = box_on_screen(box, capture)
        d = on.device
        where = f" on screen {on.number} ({on.screen.name})" if on.screen is not None else ""
        cx, cy = on.device_center
        line = f"{name}: x={d.x}, y={d.y}, w={d.width}, h={d.height}{where}, center ({cx}, {cy}) in screen pixels"
        if on.screen is not None and on.screen.scale != 1:
            lg = on.logical
            lx, ly = on.logical_center
            line += (
                f"; logical x={_num(lg.x)}, y={_num(lg.y)}, w={_num(lg.width)}, h={_num(lg.height)}, "
                f"center ({_num(lx)}, {_num(ly)}) at scale {on.screen.scale:g}"
            )
        return line
    p = to_pixels(box, width, height)
    cx, cy = p.center
    return (
        f"{name}: x={p.left}, y={p.top}, w={p.width}, h={p.height}, center ({cx}, {cy}) "
        f"in pixels of {image_name} ({width}×{height})"
    )
