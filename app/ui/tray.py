"""The tray icon: capture, record, show the window and quit from anywhere, and a place for the app to live
when its window is closed (the main window decides, from a setting, whether closing hides or quits)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction, QIcon
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

ICON = Path(__file__).resolve().parents[2] / "resources" / "icons" / "app.svg"


class Tray(QObject):
    capture_full = Signal()
    capture_region = Signal()
    capture_window = Signal()
    record = Signal()
    show_window = Signal()
    quit = Signal()

    def __init__(self, parent: QObject | None = None, icon: QIcon | None = None) -> None:
        super().__init__(parent)
        self.menu = QMenu()
        self.actions: dict[str, QAction] = {}
        for key, text, signal in (
            ("capture_region", "Capture region", self.capture_region),
            ("capture_full", "Capture screen", self.capture_full),
            ("capture_window", "Capture active window", self.capture_window),
            ("record", "Start recording", self.record),
            ("show_window", "Show window", self.show_window),
            ("quit", "Quit", self.quit),
        ):
            if key == "show_window":
                self.menu.addSeparator()
            action = self.menu.addAction(text)
            action.triggered.connect(signal)
            self.actions[key] = action
        self.icon = QSystemTrayIcon(icon or QIcon(str(ICON)), self)
        self.icon.setToolTip("GLM-V")
        self.icon.setContextMenu(self.menu)
        self.icon.activated.connect(self._activated)

    @staticmethod
    def available() -> bool:
        return QSystemTrayIcon.isSystemTrayAvailable()

    def show(self) -> bool:
        """False when the desktop has no tray; then closing the main window must quit rather than hide."""
        if not self.available():
            return False
        self.icon.show()
        return True

    def hide(self) -> None:
        self.icon.hide()

    def set_recording(self, recording: bool, elapsed: str = "") -> None:
        self.actions["record"].setText("Stop recording" if recording else "Start recording")
        self.icon.setToolTip(f"GLM-V — recording {elapsed}".rstrip() if recording else "GLM-V")

    def notify(self, title: str, message: str) -> None:
        if self.icon.isVisible() and QSystemTrayIcon.supportsMessages():
            self.icon.showMessage(title, message, QSystemTrayIcon.MessageIcon.Information, 5000)

    def _activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason == QSystemTrayIcon.ActivationReason.Trigger:
            self.show_window.emit()
