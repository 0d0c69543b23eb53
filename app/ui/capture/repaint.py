"""Hiding our windows before a capture, and going on once the screen under them shows what is really there.

On X11 the Damage extension says when the uncovered area has been drawn again: by the windows below (Xvfb, a
desktop without compositing) or by the compositor. That takes a millisecond or two on Xvfb, against the fixed
delay this replaces, and a window below that is slow to draw is waited for, up to a cap. Where Damage is not
available (Windows, macOS, Wayland, an X server without it) the capture goes on after a fixed delay, as before.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QObject, QSocketNotifier, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QWidget

from app.core.capture.damage import RootDamage, undrawn
from app.core.capture.geometry import Rect, SelectionF, selection_to_virtual
from app.ui.capture.qtscreens import all_screens, rect_of

log = logging.getLogger(__name__)

# After the area has all been drawn: time for a window whose background the X server filled on the unmap to
# draw its content over it (old toolkits, terminals); Qt, GTK and compositors draw in one go.
GRACE_MS = 5

_shared: list[RootDamage | None] = []


def hide_then(
    windows: list[QWidget],
    targets: list[Rect],
    then: Callable[[], None],
    *,
    blind_ms: int,
    max_ms: int,
    parent: QObject,
) -> None:
    """Hide ``windows``, then call ``then`` once what they uncovered within ``targets`` (logical) has been drawn
    again but after ``max_ms`` at the latest (part of it may be under another program's window), or after
    ``blind_ms`` where that cannot be known."""
    damage = _damage()
    area = _native_area(windows, targets) if damage is not None else []
    if damage is not None:
        try:
            damage.arm()
        except Exception:
            log.exception("Damage reports failed; hiding with a fixed delay from now on")
            _shared[:] = [None]
            damage = None
    for w in windows:
        w.hide()
    QGuiApplication.sync()  # the unmaps have reached the X server when this returns (elsewhere: events processed)
    if damage is None:
        QTimer.singleShot(blind_ms, then)
    else:
        _Watch(damage, area, max_ms, then, parent)


def _damage() -> RootDamage | None:
    """The one Damage connection, opened on first use (about 40 ms, once), on X11 only."""
    if not _shared:
        _shared.append(RootDamage.open() if QGuiApplication.platformName() == "xcb" else None)
    return _shared[0]


def _native_area(windows: list[QWidget], targets: list[Rect]) -> list[Rect]:
    """Where the windows cover the targets, in native (X root) pixels, screen by screen."""
    screens = [info for _, info in all_screens()]
    area = []
    for w in windows:
        frame = rect_of(w.frameGeometry())
        for target in targets:
            for screen in screens:
                part = frame.intersection(target).intersection(screen.geometry)
                if not part.empty:
                    area.append(selection_to_virtual(SelectionF(part.x, part.y, part.width, part.height), screen))
    return area


class _Watch(QObject):
    """Reads Damage reports as they arrive until the area is all drawn, or the time is up; then goes, once."""

    def __init__(
        self, damage: RootDamage, area: list[Rect], max_ms: int, then: Callable[[], None], parent: QObject
    ) -> None:
        super().__init__(parent)
        self._damage, self._left = damage, area
        self._then: Callable[[], None] | None = then
        self._notifier = QSocketNotifier(damage.fileno(), QSocketNotifier.Type.Read, self)
        self._notifier.activated.connect(self._check)
        self._timer = QTimer(self, singleShot=True, interval=max_ms)
        self._timer.timeout.connect(self._give_up)
        self._timer.start()
        self._check()

    def _check(self) -> None:
        if self._then is None:
            return
        try:
            self._left = undrawn(self._left, self._damage.drawn())
        except Exception:
            log.exception("Damage reports failed; hiding with a fixed delay from now on")
            _shared[:] = [None]
            self._notifier.setEnabled(False)
            return  # the timer still goes
        if not self._left:
            self._finish(GRACE_MS)

    def _give_up(self) -> None:
        log.debug("not drawn again in time under our hidden windows: %s", self._left)
        self._finish(0)

    def _finish(self, after_ms: int) -> None:
        then, self._then = self._then, None
        self._notifier.setEnabled(False)
        self._timer.stop()
        try:
            self._damage.disarm()
        except Exception:
            log.exception("Damage reports failed; hiding with a fixed delay from now on")
            _shared[:] = [None]
        self.deleteLater()
        if then is not None:
            QTimer.singleShot(after_ms, then)
