"""An answer's boxes on the live screen, where the screenshot's pixels were: "Show on screen" under an answer.

Each box is placed by its screenshot's capture metadata (``grounding.screen.box_on_screen``: the captured rectangle
is in native pixels, so the box is found in native pixels whatever size the PNG is) and drawn on the monitor that
shows those pixels now, in that monitor's logical coordinates (its own scale). Like the region selection, it is
one frameless window per screen (normcap's ADR 002: one window across monitors of mixed scale misplaces itself),
and each window is shaped to its outlines and tags (``setMask``), so the live screen shows through everywhere
else even where no compositor blends translucent windows (plain X11, Xvfb).

What a person expects of a "here it is" highlight is to look, then act on the thing itself: the windows let every
click through (``Qt.WindowTransparentForInput``) to what is under them, so a click on the button in the box
presses that button, and that same click (anywhere, with any button) or Esc takes the boxes away. The windows
cannot see that click or key themselves, so a global listener (pynput, as the hotkeys use) watches for them while
the boxes are up. Where no such listener can run (Wayland, or macOS without the input-monitoring permission) the
windows cover their screens and take the input instead: any click or Esc closes them, and the click is not passed
on. Either way they also go after ``TIME_LIMIT_MS``, so a lost event cannot leave them on top of everything.

Our own windows that cover a box hide while it shows (as they do for a capture). Esc brings them back; after a
click they come back minimised, since the person has just clicked into whatever is under them.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import shiboken6
from PySide6.QtCore import QEvent, QObject, QRect, Qt, QTimer, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetrics,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QRegion,
    QScreen,
)
from PySide6.QtWidgets import QApplication, QWidget

from app.core.capture.geometry import Rect, Screen, device_to_logical, logical_bounds
from app.core.capture.metadata import CaptureInfo
from app.core.events import Box
from app.core.grounding.drawing import color_for, text_color_on
from app.core.grounding.screen import box_on_screen
from app.core.grounding.words import box_name

log = logging.getLogger(__name__)

# The outline lies wholly outside the box, so the thing it points at is not covered: from the box outwards a dark
# line, the box's colour, a dark line again (readable on light and dark screens alike); logical pixels.
INNER, BAND, OUTER = 1, 3, 1
FRAME = INNER + BAND + OUTER
TIME_LIMIT_MS = 60_000
HINT = "Esc or a click hides the boxes"
OVERLAY_TITLE = "Boxes on screen"
OVERLAY_PROPERTY = "glmv_screen_boxes"
DARK = QColor(0, 0, 0)


# ------------------------------------------------------------------------------------------ where the boxes go


@dataclass(frozen=True)
class ScreenBox:
    """A box of an answer on a screenshot, with the screenshot's capture metadata."""

    index: int  # its number in the answer, from 0
    box: Box
    capture: CaptureInfo


@dataclass(frozen=True)
class Mark:
    """A box as it is drawn now: on ``screens[screen]``, at ``rect`` in Qt's logical coordinates of the virtual
    desktop, the box's native pixels rounded out to whole logical pixels (so at a whole scale the outline is on
    whole device pixels; at most one device pixel of the box's edge is left outside it)."""

    index: int
    box: Box
    screen: int
    device: Rect
    rect: Rect


@dataclass(frozen=True)
class Placement:
    marks: list[Mark]
    off_screen: list[ScreenBox]  # their pixels are on no screen connected now
    changed: bool  # a box's screen is not as it was when the screenshot was taken


def place(boxes: Sequence[ScreenBox], screens: Sequence[Screen]) -> Placement:
    """Each box on the screen that shows its native pixels now (``screens``: Qt's, as ``qtscreens.all_screens``
    gives them). A box goes where the screenshot's pixels were, even if the screens changed since."""
    marks: list[Mark] = []
    off: list[ScreenBox] = []
    changed = False
    for item in boxes:
        then = box_on_screen(item.box, item.capture)
        number = _screen_holding(screens, then.device)
        if number is None:
            off.append(item)
            continue
        now = screens[number]
        if then.screen is None or (then.screen.geometry, then.screen.scale) != (now.geometry, now.scale):
            changed = True
        rect = logical_bounds(device_to_logical(then.device, now))
        marks.append(Mark(item.index, item.box, number, then.device, rect))
    return Placement(marks, off, changed)


def _screen_holding(screens: Sequence[Screen], device: Rect) -> int | None:
    """The screen holding the box's centre, else the one with most of it, else none."""
    cx, cy = device.x + device.width / 2, device.y + device.height / 2
    for i, screen in enumerate(screens):
        if screen.native.contains(cx, cy):
            return i
    best, best_area = None, 0
    for i, screen in enumerate(screens):
        part = screen.native.intersection(device)
        if part.width * part.height > best_area:
            best, best_area = i, part.width * part.height
    return best


def placement_message(placement: Placement) -> str:
    """What the status bar says once the boxes are shown (or why they are not)."""
    parts = []
    if placement.marks:
        count = len(placement.marks)
        parts.append(f"{count} box{'es' if count != 1 else ''} on screen · {HINT}")
    if placement.off_screen:
        count = len(placement.off_screen)
        names = sorted({_capture_screen_name(b) for b in placement.off_screen})
        where = f" ({', '.join(names)})" if all(names) else ""
        verb = "was" if count == 1 else "were"
        parts.append(f"{count} box{'es' if count != 1 else ''} {verb} on a screen that is not connected now{where}")
    if placement.marks and placement.changed:
        parts.append("the screens have changed since the screenshot: the boxes are where its pixels were")
    return " · ".join(parts)


def _capture_screen_name(item: ScreenBox) -> str:
    then = box_on_screen(item.box, item.capture)
    return then.screen.name if then.screen is not None else ""


# ------------------------------------------------------------------------------------------ the click and the key


class DismissWatcher(Protocol):
    """Tells of a click or Esc anywhere on the desktop, while our windows let all input through."""

    def problem(self) -> str | None:
        """Why it cannot watch here, or None."""

    def start(self, dismiss: Callable[[str], None]) -> None:
        """Calls ``dismiss("click")`` or ``dismiss("escape")``, from any thread, until stopped."""

    def stop(self) -> None: ...


class PynputWatcher:
    """pynput's global mouse and keyboard listeners (XRecord on X11, low-level hooks on Windows, an event tap
    on macOS). It only looks for a button pressed and Esc, and only while the boxes are up."""

    def __init__(self) -> None:
        self._listeners: list[Any] = []

    def problem(self) -> str | None:
        from app.core.capture.screenshotters import is_wayland

        if is_wayland():
            return "Wayland does not let an application watch the whole desktop's clicks"
        try:
            from pynput import keyboard, mouse  # noqa: F401  (whether they can be imported here)
        except Exception as e:  # ImportError, or Xlib's errors without a display
            return f"pynput cannot be used here ({e})"
        if sys.platform == "darwin" and not _trusted_on_macos():
            return "macOS has not given this application the input-monitoring permission"
        return None

    def start(self, dismiss: Callable[[str], None]) -> None:
        from pynput import keyboard, mouse

        def clicked(x: int, y: int, button: Any, pressed: bool) -> None:
            if pressed:
                dismiss("click")

        def pressed(key: Any) -> None:
            if key == keyboard.Key.esc:
                dismiss("escape")

        self._listeners = [mouse.Listener(on_click=clicked), keyboard.Listener(on_press=pressed)]
        for listener in self._listeners:
            listener.start()
        for listener in self._listeners:
            listener.wait()  # ready: a click from now on is seen

    def stop(self) -> None:
        for listener in self._listeners:
            listener.stop()
        self._listeners = []


def default_watcher() -> DismissWatcher | None:
    watcher = PynputWatcher()
    problem = watcher.problem()
    if problem is not None:
        log.info("boxes on screen take the input: %s", problem)
        return None
    return watcher


# ------------------------------------------------------------------------------------------ the windows


def qrect(r: Rect) -> QRect:
    return QRect(r.x, r.y, r.width, r.height)


def frame_strips(box: QRect, width: int) -> list[QRect]:
    """The band ``width`` wide just outside ``box``, as four rectangles (top and bottom full width)."""
    outer = box.adjusted(-width, -width, width, width)
    return [
        QRect(outer.left(), outer.top(), outer.width(), width),
        QRect(outer.left(), box.bottom() + 1, outer.width(), width),
        QRect(outer.left(), box.top(), width, box.height()),
        QRect(box.right() + 1, box.top(), width, box.height()),
    ]


class ScreenBoxesWindow(QWidget):
    """One screen's boxes: a frameless window over the whole screen, always on top, shaped to the outlines, the
    tags and the hint. ``click_through``: it lets all input through; otherwise any click or Esc dismisses it."""

    dismissed = Signal(str)  # "click" | "escape"

    def __init__(self, screen: QScreen, info: Screen, marks: Sequence[Mark], *, click_through: bool) -> None:
        super().__init__(None)
        self.info = info
        self.click_through = click_through
        self.setProperty(OVERLAY_PROPERTY, True)
        self.setWindowTitle(OVERLAY_TITLE)
        flags = (
            Qt.WindowType.FramelessWindowHint
            | Qt.WindowType.WindowStaysOnTopHint
            | Qt.WindowType.Tool
            | Qt.WindowType.X11BypassWindowManagerHint
        )
        if click_through:
            flags |= Qt.WindowType.WindowTransparentForInput | Qt.WindowType.WindowDoesNotAcceptFocus
            self.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating)
        self.setWindowFlags(flags)
        self.setAttribute(Qt.WidgetAttribute.WA_TranslucentBackground)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setScreen(screen)
        g = info.geometry
        self.setGeometry(g.x, g.y, g.width, g.height)
        font = QFont(self.font())
        font.setBold(True)
        self.setFont(font)
        metrics = QFontMetrics(font)
        # Each box in this window's own coordinates, with its tag above it (below, where there is no room).
        self.boxes: list[tuple[Mark, QRect, QRect]] = []
        for mark in marks:
            box = qrect(mark.rect.translated(-g.x, -g.y))
            text = box_name(mark.index, mark.box)
            tw, th = metrics.horizontalAdvance(text) + 10, metrics.height() + 4
            top = box.top() - FRAME - th if box.top() - FRAME - th >= 0 else box.bottom() + 1 + FRAME
            left = min(max(box.left() - FRAME, 0), max(g.width - tw, 0))
            self.boxes.append((mark, box, QRect(left, top, tw, th)))
        width, height = metrics.horizontalAdvance(HINT) + 24, metrics.height() + 12
        hint = QRect((g.width - width) // 2, 24, width, height)
        taken = QRegion()
        for _, box, tag in self.boxes:
            taken = taken.united(box.adjusted(-FRAME, -FRAME, FRAME, FRAME)).united(tag)
        if taken.intersects(hint):
            hint.moveTop(g.height - 24 - height)
        self.hint = hint
        if click_through:
            # Where no compositor blends translucent windows, only the shape's pixels are ours at all.
            self.setMask(self.shape())

    def shape(self) -> QRegion:
        region = QRegion(self.hint)
        for _, box, tag in self.boxes:
            for strip in frame_strips(box, FRAME):
                region = region.united(strip)
            region = region.united(tag)
        return region

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        # Outlines in whole logical pixels, not smoothed: exactly on the device pixels around the box.
        for mark, box, _ in self.boxes:
            color = QColor(*color_for(mark.index))
            for inset, width, fill in ((0, INNER, DARK), (INNER, BAND, color), (INNER + BAND, OUTER, DARK)):
                outer = box.adjusted(-inset, -inset, inset, inset)
                for strip in frame_strips(outer, width):
                    p.fillRect(strip, fill)
        p.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        for mark, _, tag in self.boxes:
            rgb = color_for(mark.index)
            p.fillRect(tag, QColor(*rgb))
            p.setPen(QColor(*text_color_on(rgb)))
            p.drawText(tag, Qt.AlignmentFlag.AlignCenter, box_name(mark.index, mark.box))
        p.fillRect(self.hint, QColor(20, 20, 20))
        p.setPen(QColor(255, 255, 255))
        p.drawText(self.hint, Qt.AlignmentFlag.AlignCenter, HINT)
        p.end()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.dismissed.emit("click")
        event.accept()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self.dismissed.emit("escape")
            event.accept()
            return
        super().keyPressEvent(event)


def own_windows() -> list[QWidget]:
    return [
        w for w in QApplication.topLevelWidgets() if w.isWindow() and w.isVisible() and not w.property(OVERLAY_PROPERTY)
    ]


class ScreenBoxes(QObject):
    """One answer's boxes on the live screen: the windows, the watcher for the click or Esc that ends them, and
    our own windows put out of the way meanwhile. ``closed`` says how it ended: "escape", "click", "time" (after
    ``TIME_LIMIT_MS``) or "closed" (by the program: another answer's boxes, or the answer went away)."""

    closed = Signal(str)
    _dismiss = Signal(str)  # from the watcher's thread, queued onto ours

    def __init__(
        self,
        marks: Sequence[Mark],
        screens: Sequence[tuple[QScreen, Screen]],
        watcher: DismissWatcher | None,
    ) -> None:
        super().__init__(None)
        self.marks = list(marks)
        self.screens = list(screens)
        self.watcher = watcher
        self.windows: list[ScreenBoxesWindow] = []
        self.hidden: list[QWidget] = []
        self.active: QWidget | None = None
        self.open = False
        self._dismiss.connect(self.close, Qt.ConnectionType.QueuedConnection)
        self._timer = QTimer(self, singleShot=True, interval=TIME_LIMIT_MS)
        self._timer.timeout.connect(lambda: self.close("time"))

    @property
    def click_through(self) -> bool:
        return self.watcher is not None

    def show(self) -> None:
        self.open = True
        if self.watcher is not None:

            def dismiss(how: str) -> None:  # on the listener's thread; it holds this object alive till stopped
                if self.open:
                    self._dismiss.emit(how)

            try:
                self.watcher.start(dismiss)
            except Exception:
                log.warning("the global click listener did not start; the boxes take the input", exc_info=True)
                self.watcher = None
        self._hide_our_windows_over_boxes()
        for number, (qscreen, info) in enumerate(self.screens):
            marks = [m for m in self.marks if m.screen == number]
            if not marks:
                continue
            window = ScreenBoxesWindow(qscreen, info, marks, click_through=self.click_through)
            window.dismissed.connect(self.close)
            self.windows.append(window)
        for window in self.windows:
            window.show()
            window.raise_()
        if not self.click_through and self.windows:
            self.windows[0].activateWindow()
            self.windows[0].setFocus()
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self)
        self._timer.start()

    def _hide_our_windows_over_boxes(self) -> None:
        reach = [qrect(m.rect).adjusted(-FRAME, -FRAME, FRAME, FRAME) for m in self.marks]
        self.active = QApplication.activeWindow()
        self.hidden = [w for w in own_windows() if any(w.frameGeometry().intersects(r) for r in reach)]
        for window in self.hidden:
            window.hide()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Esc in one of our own windows ends the boxes and goes no further (the main window's Esc would stop
        an answer being written)."""
        kind = event.type()
        if not (self.open and kind in (QEvent.Type.ShortcutOverride, QEvent.Type.KeyPress)):
            return False
        if isinstance(event, QKeyEvent) and event.key() == Qt.Key.Key_Escape:
            event.accept()
            if kind == QEvent.Type.KeyPress:
                self.close("escape")
            return True
        return False

    def close(self, how: str = "closed") -> None:
        if not self.open:
            return
        self.open = False
        self._timer.stop()
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)
        if self.watcher is not None:
            self.watcher.stop()
        for window in self.windows:
            window.close()
        self.windows = []
        for own in self.hidden:
            if not shiboken6.isValid(own):
                continue  # closed and deleted while the boxes showed
            if how == "click":
                own.showMinimized()
            else:
                own.show()
        # Focus goes back where it was if the boxes took it, or its window was put away for them; not after a
        # click, which gave it to what was clicked.
        took_focus = not self.click_through or self.active in self.hidden
        if how != "click" and took_focus and self.active is not None and shiboken6.isValid(self.active):
            self.active.activateWindow()
        self.hidden = []
        self.closed.emit(how)


_shown: list[ScreenBoxes] = []  # at most one: showing another answer's boxes takes these down


def show_on_screen(
    boxes: Sequence[ScreenBox],
    owner: QObject | None = None,
    *,
    screens: Sequence[tuple[QScreen, Screen]] | None = None,
    watcher: Callable[[], DismissWatcher | None] | None = None,
) -> tuple[ScreenBoxes | None, str]:
    """Shows ``boxes`` on the screens connected now, until Esc or a click (or ``owner`` goes); returns the
    overlay (None when no box is on any screen) and what to tell the person. ``watcher`` makes the watcher for
    the click or Esc that ends them (``default_watcher``: pynput where it can run, else the windows take it)."""
    if screens is None:
        from app.ui.capture.qtscreens import all_screens

        screens = all_screens()
    placement = place(boxes, [info for _, info in screens])
    message = placement_message(placement)
    for old in _shown:
        old.close()
    _shown.clear()
    if not placement.marks:
        return None, message
    # Not a child of ``owner``: the windows and the listener must be taken down before it goes, not with it.
    overlay = ScreenBoxes(placement.marks, screens, (watcher or default_watcher)())
    overlay.closed.connect(lambda _how: _shown.remove(overlay) if overlay in _shown else None)
    if owner is not None:
        # Later, not inside the owner's destruction: showing our windows again lays out what is being deleted.
        owner.destroyed.connect(lambda *_: QTimer.singleShot(0, overlay.close))
    _shown.append(overlay)
    overlay.show()
    return overlay, message


def _trusted_on_macos() -> bool:
    """Whether macOS lets this process watch input (what pynput's listeners read once started; their class
    attribute ``IS_TRUSTED`` is False until then)."""
    import importlib

    try:
        return bool(importlib.import_module("HIServices").AXIsProcessTrusted())
    except Exception:
        return False
