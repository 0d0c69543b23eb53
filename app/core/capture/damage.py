"""When the screen under our hidden windows has been drawn again, from the X server's Damage reports.

A screenshot taken right after our windows are hidden would still show them until the windows below (or the
compositor) have drawn what they uncovered. Damage on the root window reports every change to the screen's
pixels, whoever draws them, so the capture can start as soon as the uncovered area has all been drawn, which on
Xvfb is a millisecond or two after the unmap, instead of after a fixed delay.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from app.core.capture.geometry import Rect

log = logging.getLogger(__name__)


class RootDamage:
    """One X connection with the DAMAGE extension, used on one thread; ``arm`` before hiding, ``drawn`` after."""

    def __init__(self, display: Any) -> None:
        self._display = display
        self._root = display.screen().root
        self._damage: int | None = None

    @staticmethod
    def open() -> RootDamage | None:
        """None where there is no X display, no python-xlib or no DAMAGE extension: the caller waits blindly."""
        try:
            from Xlib import display, error
            from Xlib.ext import damage  # noqa: F401 (registers the extension's requests)
        except ImportError:
            return None
        try:
            d = display.Display()
        except (error.DisplayError, OSError) as e:
            log.info("no X connection for Damage reports: %s", e)
            return None
        try:
            if not d.has_extension("DAMAGE"):
                d.close()
                return None
            d.damage_query_version()  # the extension answers nothing else before this
        except (error.XError, OSError) as e:
            log.info("the DAMAGE extension does not answer: %s", e)
            d.close()
            return None
        return RootDamage(d)

    def fileno(self) -> int:
        return int(self._display.fileno())

    def arm(self) -> None:
        """Start listening; what was drawn before this returns is not reported (the server announces a new
        damage object with the whole screen, which is dropped here)."""
        from Xlib.ext import damage

        self.disarm()
        self._damage = self._root.damage_create(damage.DamageReportRawRectangles)
        self._display.sync()
        self.drawn()

    def drawn(self) -> list[Rect]:
        """The rectangles drawn since the last call, without waiting."""
        rects = []
        while self._display.pending_events():
            event = self._display.next_event()
            area = getattr(event, "area", None)
            if area is not None and getattr(event, "damage", None) == self._damage:
                rects.append(Rect(area.x, area.y, area.width, area.height))
        return rects

    def disarm(self) -> None:
        if self._damage is not None:
            self._display.damage_destroy(self._damage)
            self._damage = None
            self._display.flush()

    def close(self) -> None:
        self.disarm()
        self._display.close()


def undrawn(needed: Iterable[Rect], drawn: Iterable[Rect]) -> list[Rect]:
    """The parts of ``needed`` that no rectangle of ``drawn`` covers (empty when all of it has been drawn)."""
    left = [r for r in needed if not r.empty]
    for d in drawn:
        left = [piece for r in left for piece in _minus(r, d)]
        if not left:
            break
    return left


def _minus(r: Rect, d: Rect) -> list[Rect]:
    """``r`` without ``d``: up to four rectangles (above, below, then left and right of the overlap)."""
    o = r.intersection(d)
    if o.empty:
        return [r]
    pieces = [
        Rect(r.x, r.y, r.width, o.y - r.y),
        Rect(r.x, o.bottom, r.width, r.bottom - o.bottom),
        Rect(r.x, o.y, o.x - r.x, o.height),
        Rect(o.right, o.y, r.right - o.right, o.height),
    ]
    return [p for p in pieces if not p.empty]
