"""The recording's own controls: a small timer bar with stop and cancel, and a border around the recorded
region. Neither may appear in the video: both are placed outside the region; where they cannot be (the region
fills every screen) the bar stays hidden and stopping goes through the hotkey, the tray or ``glmv capture
--record``; on Windows the bar is excluded from capture by the system instead.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QRect, Qt, Signal
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

from app.ui.capture.overlay import CAPTURE_UI_PROPERTY

BORDER = 3
GAP = 6


def _tool_flags() -> Qt.WindowType:
    return (
        Qt.WindowType.FramelessWindowHint
        | Qt.WindowType.WindowStaysOnTopHint
        | Qt.WindowType.Tool
        | Qt.WindowType.WindowDoesNotAcceptFocus
    )


def exclude_from_capture(widget: QWidget) -> bool:
    """Windows 10 2004+ can leave a window out of every screen capture (WDA_EXCLUDEFROMCAPTURE)."""
    if sys.platform != "win32":
        return False
    import ctypes

    return bool(ctypes.windll.user32.SetWindowDisplayAffinity(int(widget.winId()), 0x11))


class RecorderBar(QWidget):
    stop_requested = Signal()
    cancel_requested = Signal()

    def __init__(self) -> None:
        super().__init__(None)
        self.setProperty(CAPTURE_UI_PROPERTY, True)
        self.setWindowFlags(_tool_flags())
        self.setWindowTitle("Recording")
        self.setAutoFillBackground(True)
        palette = self.palette()
        palette.setColor(QPalette.ColorRole.Window, QColor(40, 40, 40))
        palette.setColor(QPalette.ColorRole.WindowText, QColor(255, 255, 255))
        self.setPalette(palette)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 4)
        self.dot = QLabel("●")
        self.dot.setStyleSheet("color: #e33;")
        self.timer_label = QLabel("00:00")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop and attach the recording")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop and discard the recording")
        for w in (self.dot, self.timer_label, self.stop_button, self.cancel_button):
            layout.addWidget(w)
        self.stop_button.clicked.connect(self.stop_requested)
        self.cancel_button.clicked.connect(self.cancel_requested)
        self.adjustSize()

    def set_time(self, elapsed_s: float, max_s: float) -> None:
        def mmss(s: float) -> str:
            s = max(0, int(s))
            return f"{s // 60:02d}:{s % 60:02d}"

        self.timer_label.setText(f"{mmss(elapsed_s)} / {mmss(max_s)}")


class RegionBorder:
    """Four thin strips just outside the region (windows, so nothing but the strips covers the screen)."""

    def __init__(self, region: QRect, color: QColor | None = None) -> None:
        self.strips: list[QWidget] = []
        r, b = region, BORDER
        rects = [
            QRect(r.left() - b, r.top() - b, r.width() + 2 * b, b),
            QRect(r.left() - b, r.bottom() + 1, r.width() + 2 * b, b),
            QRect(r.left() - b, r.top(), b, r.height()),
            QRect(r.right() + 1, r.top(), b, r.height()),
        ]
        for rect in rects:
            strip = QWidget(None)
            strip.setProperty(CAPTURE_UI_PROPERTY, True)
            strip.setWindowFlags(_tool_flags() | Qt.WindowType.WindowTransparentForInput)
            strip.setAutoFillBackground(True)
            palette = strip.palette()
            palette.setColor(QPalette.ColorRole.Window, color or QColor(230, 50, 50))
            strip.setPalette(palette)
            strip.setGeometry(rect)
            self.strips.append(strip)

    def show(self, screens: list[QRect]) -> None:
        for strip in self.strips:
            if any(s.intersects(strip.geometry()) for s in screens):
                strip.show()

    def close(self) -> None:
        for strip in self.strips:
            strip.close()
            strip.deleteLater()
        self.strips = []


def place_outside(size: tuple[int, int], region: QRect, screens: list[QRect]) -> QRect | None:
    """Where a window of ``size`` fits on a screen without touching ``region`` or its border: below, above,
    right or left of it, else a corner of another screen; None when no such place exists."""
    w, h = size
    keep_out = region.adjusted(-BORDER - GAP, -BORDER - GAP, BORDER + GAP, BORDER + GAP)
    cx = region.center().x() - w // 2
    candidates = [
        QRect(cx, keep_out.bottom() + 1, w, h),
        QRect(cx, keep_out.top() - h, w, h),
        QRect(keep_out.right() + 1, region.top(), w, h),
        QRect(keep_out.left() - w, region.top(), w, h),
    ]
    for screen in screens:
        candidates.append(QRect(screen.right() - w - 20, screen.bottom() - h - 40, w, h))
        candidates.append(QRect(screen.left() + 20, screen.top() + 20, w, h))
    for c in candidates:
        for screen in screens:
            if not c.intersects(screen):
                continue
            moved = QRect(c)
            moved.moveLeft(min(max(c.left(), screen.left()), screen.right() - w + 1))
            moved.moveTop(min(max(c.top(), screen.top()), screen.bottom() - h + 1))
            if not moved.intersects(keep_out):
                return moved
    return None
