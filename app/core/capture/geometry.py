"""Screen geometry as plain numbers, so the mapping from what the person selects to the pixels we crop can be
tested for every scale and monitor layout without a display.

Qt gives each screen a *logical* geometry and a device pixel ratio. Qt 6 keeps a screen's top-left corner in
the native (virtual-desktop pixel) space and divides only its size by the scale, so a 3840x2160 monitor at
scale 2 placed right of a 1920-wide one has logical geometry (1920, 0, 1920x1080) and native rectangle
(1920, 0, 3840x2160). Capture libraries (mss, the portal) work in native pixels. Every selection is mapped
through the screen it was drawn on, by the scale Qt maps the pointer with (``device_factors``), so a drag
crops what was under the pointer even where the scale does not divide the screen's size (1366 at 1.75).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Rect:
    """An integer rectangle; right and bottom are exclusive."""

    x: int
    y: int
    width: int
    height: int

    @property
    def right(self) -> int:
        return self.x + self.width

    @property
    def bottom(self) -> int:
        return self.y + self.height

    @property
    def empty(self) -> bool:
        return self.width <= 0 or self.height <= 0

    def contains(self, px: float, py: float) -> bool:
        return self.x <= px < self.right and self.y <= py < self.bottom

    def intersection(self, other: Rect) -> Rect:
        left, top = max(self.x, other.x), max(self.y, other.y)
        right, bottom = min(self.right, other.right), min(self.bottom, other.bottom)
        return Rect(left, top, max(0, right - left), max(0, bottom - top))

    def intersects(self, other: Rect) -> bool:
        return not self.intersection(other).empty

    def translated(self, dx: int, dy: int) -> Rect:
        return Rect(self.x + dx, self.y + dy, self.width, self.height)


@dataclass(frozen=True)
class SelectionF:
    """A selection in logical (Qt) coordinates, global to the virtual desktop; may carry fractions."""

    x: float
    y: float
    width: float
    height: float

    @staticmethod
    def from_points(ax: float, ay: float, bx: float, by: float) -> SelectionF:
        """The rectangle spanned by a drag from (ax, ay) to (bx, by), in whichever direction it went."""
        return SelectionF(min(ax, bx), min(ay, by), abs(bx - ax), abs(by - ay))


@dataclass(frozen=True)
class Screen:
    """One monitor as Qt reports it (``geometry``, ``scale``) and where its pixels are in the capture space."""

    name: str
    geometry: Rect
    scale: float
    native: Rect

    @staticmethod
    def from_qt(name: str, geometry: Rect, scale: float) -> Screen:
        return Screen(name, geometry, scale, native_geometry(geometry, scale))


def native_geometry(logical: Rect, scale: float) -> Rect:
    """The native rectangle Qt 6 derives a screen's logical geometry from: same origin, size times scale."""
    return Rect(logical.x, logical.y, round(logical.width * scale), round(logical.height * scale))


def _qt_round(value: float) -> int:
    """Qt's qRound: halves away from zero (Python's round takes them to the even neighbour)."""
    return math.floor(value + 0.5) if value >= 0 else -math.floor(0.5 - value)


def with_native_from(screen: Screen, monitors: Iterable[Rect]) -> Screen:
    """``screen`` with the native rectangle of the monitor that starts at its origin and whose size Qt would
    round to its logical size; unchanged when the platform lists none such.

    Qt's logical size is the native one divided by the scale and rounded, so the logical size times the scale
    can miss by a pixel (a 1366-pixel panel at 1.75 is 781 logical, and 781 x 1.75 = 1366.75): a capture of
    that would read a column of the neighbour, or past the desktop's edge, where X11 refuses the whole grab."""
    g = screen.geometry
    for m in monitors:
        rounds_to = (_qt_round(m.width / screen.scale), _qt_round(m.height / screen.scale))
        if (m.x, m.y) == (screen.native.x, screen.native.y) and rounds_to == (g.width, g.height):
            return Screen(screen.name, g, screen.scale, m)
    return screen


def device_factors(screen: Screen) -> tuple[float, float]:
    """Device pixels per logical one, across and down: the scale, by which Qt maps the pointer, wherever the
    capture has the native size Qt's logical one came from; the capture's own ratio for one of another size.

    The ratio alone would be off where the scale does not divide the size: a 1366-pixel panel at 1.75 is 781
    logical, a ratio of 1.749, which puts native pixel 1280 (logical 731.4) on 1279."""
    g, n = screen.geometry, screen.native
    if (_qt_round(n.width / screen.scale), _qt_round(n.height / screen.scale)) == (g.width, g.height):
        return screen.scale, screen.scale
    return n.width / g.width, n.height / g.height


def selection_to_device(selection: SelectionF, screen: Screen) -> Rect:
    """The selection as pixels of this screen's own capture (origin at the screen's top-left), clipped to it.

    Edges are rounded independently, so two selections sharing an edge share it in pixels too."""
    fx, fy = device_factors(screen)
    left = round((selection.x - screen.geometry.x) * fx)
    top = round((selection.y - screen.geometry.y) * fy)
    right = round((selection.x + selection.width - screen.geometry.x) * fx)
    bottom = round((selection.y + selection.height - screen.geometry.y) * fy)
    # Clamped edge by edge: times the scale, a screen's logical size can reach a fraction past its capture.
    left, right = (min(max(v, 0), screen.native.width) for v in (left, right))
    top, bottom = (min(max(v, 0), screen.native.height) for v in (top, bottom))
    return Rect(left, top, right - left, bottom - top)


def selection_to_virtual(selection: SelectionF, screen: Screen) -> Rect:
    """The selection as a rectangle of the virtual desktop in native pixels (what mss grabs)."""
    return selection_to_device(selection, screen).translated(screen.native.x, screen.native.y)


def device_to_logical(rect: Rect, screen: Screen) -> SelectionF:
    """A rectangle of the virtual desktop in native pixels, back in the logical coordinates of ``screen``."""
    fx, fy = device_factors(screen)
    return SelectionF(
        screen.geometry.x + (rect.x - screen.native.x) / fx,
        screen.geometry.y + (rect.y - screen.native.y) / fy,
        rect.width / fx,
        rect.height / fy,
    )


def logical_bounds(rect: SelectionF) -> Rect:
    """The smallest integer rectangle holding a fractional one (for window placement)."""
    left, top = math.floor(rect.x), math.floor(rect.y)
    return Rect(left, top, math.ceil(rect.x + rect.width) - left, math.ceil(rect.y + rect.height) - top)


def virtual_bounds(rects: Iterable[Rect]) -> Rect:
    """The bounding rectangle of several rectangles (the whole virtual desktop, for screens' native rects)."""
    items = list(rects)
    if not items:
        return Rect(0, 0, 0, 0)
    left, top = min(r.x for r in items), min(r.y for r in items)
    right, bottom = max(r.right for r in items), max(r.bottom for r in items)
    return Rect(left, top, right - left, bottom - top)


def screen_for_selection(screens: Sequence[Screen], selection: SelectionF) -> Screen | None:
    """The screen holding most of a selection (a drag ending on a neighbour still belongs to where it began)."""
    best, best_area = None, 0.0
    for screen in screens:
        g = screen.geometry
        w = min(g.right, selection.x + selection.width) - max(g.x, selection.x)
        h = min(g.bottom, selection.y + selection.height) - max(g.y, selection.y)
        if w > 0 and h > 0 and w * h > best_area:
            best, best_area = screen, w * h
    return best


def overlaps_any(window: Rect, targets: Iterable[Rect]) -> bool:
    """Whether a window (logical) covers any part of the capture targets (logical); only such windows hide."""
    return any(window.intersects(t) for t in targets)
