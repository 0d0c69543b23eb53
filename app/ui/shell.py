"""The desktop shell around the main window: screen capture and recording, global hotkeys, the floating window,
the tray, and the command channel through which `glmv capture` reaches the running app.

Each part is built elsewhere (``app.ui.capture``, ``hotkeys``, ``floating``, ``tray``, ``instance``); this module
only wires them to the window, so that every path (hotkey, tray, floating button, desktop shortcut command)
ends in the same place: the capture attached in the composer, question box focused.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication

from app.core import settings as settings_io
from app.core.capture.commands import CAPTURE_COMMANDS, QUICK_ACTION_COMMAND, CaptureOutcome, parse_quick_action
from app.core.quick_actions import QuickAction, QuickActionError, find_action
from app.core.settings import Settings
from app.ui.capture.controller import CaptureController
from app.ui.floating import FloatingWindow
from app.ui.hotkeys import QUICK_PREFIX, DesktopShortcutProvider, HotkeyError, Hotkeys, default_bindings, quick_key
from app.ui.instance import Handler, InstanceServer, Reply, route_commands
from app.ui.tray import Tray

if TYPE_CHECKING:
    from app.ui.main_window import MainWindow

log = logging.getLogger(__name__)


def bindings_for(settings: Settings) -> dict[str, str]:
    """The platform's default shortcuts with the person's changes applied ("" turns one off), and the quick
    actions' own hotkeys."""
    fixed = {**default_bindings(), **{k: v for k, v in settings.shortcuts.items() if k in default_bindings()}}
    return {**fixed, **{quick_key(a.name): a.hotkey for a in settings.actions() if a.hotkey}}


class DesktopShell(QObject):
    """Owns the capture controller, hotkeys, floating window, tray and instance server of one main window.

    The settings are the window's own (the settings dialog replaces them, and the shell applies hotkeys and
    capture choices when ``settings_applied`` says so); changes the shell makes (floating window place and pin)
    are saved to ``settings_path``, or kept in memory when it is ``None`` (tests). ``use_hotkeys``/``use_tray``
    are off in tests that must not grab the keyboard; ``hotkeys`` brings its own providers.
    """

    def __init__(
        self,
        window: MainWindow,
        *,
        settings_path: Path | None = None,
        server: InstanceServer | None = None,
        capture: CaptureController | None = None,
        hotkeys: Hotkeys | None = None,
        use_hotkeys: bool = True,
        use_tray: bool = True,
    ) -> None:
        super().__init__(window)
        # The settings dialog finds the shell by this name to show the hotkeys' status.
        self.setObjectName("desktopShell")
        self.window = window
        self.settings_path = settings_path
        settings = window.settings
        self.quitting = False

        self.capture = capture or CaptureController(parent=self)
        self.capture.fps = settings.capture_fps
        self.capture.max_seconds = float(settings.record_max_seconds)
        self.capture.captured.connect(self.attach_capture)
        self.capture.failed.connect(self._capture_failed)
        self.capture.notice.connect(lambda message: self.window.statusBar().showMessage(message, 8000))
        self.capture.waiting.connect(self._capture_waiting)
        self.capture.recording_changed.connect(self._recording_changed)

        self.floating = FloatingWindow(dark=window.dark)
        # Closing the small window while the main one sits in the tray must not end the app.
        self.floating.setAttribute(Qt.WidgetAttribute.WA_QuitOnClose, False)
        self.floating.set_pinned(settings.floating_pinned)
        if settings.floating_x != -1 or settings.floating_y != -1:
            self.floating.set_position(settings.floating_x, settings.floating_y)
        self.floating.submitted.connect(self._ask_from_floating)
        self.floating.capture_requested.connect(self.capture.region)
        self.floating.record_requested.connect(self.capture.toggle_recording)
        self.floating.attach_requested.connect(self.window.pick_files)
        self.floating.open_main_requested.connect(self.show_main)
        self.floating.draft_changed.connect(self._floating_draft_changed)
        # And the other way: a question sent (from either window) leaves both empty.
        window.composer.input.textChanged.connect(self._main_draft_changed)
        self.floating.pinned_changed.connect(lambda pinned: self._remember(floating_pinned=pinned))
        self._moved_to: tuple[int, int] | None = None
        self._save_place = QTimer(self, singleShot=True, interval=500)
        self._save_place.timeout.connect(self._save_floating_place)
        self.floating.moved.connect(self._floating_moved)
        self._latest = ("", "", False)
        self._follow = QTimer(self, singleShot=True, interval=200)
        self._follow.timeout.connect(self._show_latest)
        window.live_answer.connect(self._follow_answer)

        self.hotkeys: Hotkeys | None = None
        self.hotkey_status = ""
        if use_hotkeys:
            self.hotkeys = hotkeys if hotkeys is not None else Hotkeys(parent=self)
            self.hotkeys.setParent(self)
            self.hotkeys.triggered.connect(self.run_action)
            status = self.start_hotkeys()
            if not window.statusBar().currentMessage():
                window.statusBar().showMessage(status, 10000)
        window.settings_applied.connect(self._settings_applied)
        QGuiApplication.styleHints().colorSchemeChanged.connect(self._follow_theme)

        self.tray: Tray | None = None
        if use_tray and Tray.available():
            self.tray = Tray(parent=self)
            self.tray.capture_full.connect(self.capture.full_screen)
            self.tray.capture_region.connect(self.capture.region)
            self.tray.capture_window.connect(self.capture.active_window)
            self.tray.record.connect(self.capture.toggle_recording)
            self.tray.show_window.connect(self.show_main)
            self.tray.quit.connect(self.quit)
            if not self.tray.show():
                self.tray = None

        self.server = server
        if server is not None:
            route_commands(server, self.commands())

        # Asked by the window's own closeEvent: an event filter on the window would run Python for every one of
        # its events, and a segmentation fault on entering it was found by the window soak
        # (tests/support/soak_window.py).
        window.hide_instead_of_closing = self._close_to_tray
        window.quit_app = self.quit
        # The quick action whose capture is under way: the capture goes to it, not into the composer.
        self._asked_by: QuickAction | None = None
        self.capture.prepare()

    @property
    def settings(self) -> Settings:
        return self.window.settings

    # ------------------------------------------------------------------------------------------ actions

    def commands(self) -> dict[str, Handler]:
        """What each `glmv capture` command does in the running app; each answers ``reply`` once it has run, a
        capture with how it ended (the file, or what failed), so the command can exit non-zero with the message."""
        handlers: dict[str, Handler] = {
            c.instance: functools.partial(self._capture_command, c.action) for c in CAPTURE_COMMANDS
        }
        handlers["show"] = self._show_command
        handlers[QUICK_ACTION_COMMAND] = self._quick_action_command
        return handlers

    def _quick_action_command(self, reply: Reply, argument: str) -> None:
        capture, name = parse_quick_action(argument)
        self.run_quick_action(name, capture, done=lambda outcome: reply(outcome.to_line()))

    def _capture_command(self, action: str, reply: Reply) -> None:
        self.capture.run(action, done=lambda outcome: reply(outcome.to_line()))

    def _show_command(self, reply: Reply) -> None:
        self.show_main()
        reply("ok")

    def run_action(self, action: str) -> None:
        """A global hotkey fired (on the Qt thread)."""
        handlers: dict[str, Callable[[], object]] = {
            "capture_full": self.capture.full_screen,
            "capture_region": self.capture.region,
            "record": self.capture.toggle_recording,
            "toggle_floating": self.toggle_floating,
            "new_chat": self._new_chat,
            "history": self._show_history,
        }
        handler = handlers.get(action)
        if action.startswith(QUICK_PREFIX):
            self.run_quick_action(action.removeprefix(QUICK_PREFIX))
        elif handler is None:
            log.info("no handler for hotkey action %r", action)
        else:
            handler()

    def run_quick_action(
        self, name: str, capture: str | None = None, done: Callable[[CaptureOutcome], None] | None = None
    ) -> None:
        """A quick action from its hotkey or `glmv capture --action`: capture (``capture`` "region" or "full",
        else the action's own kind), then its question about the capture goes at once."""
        try:
            action = find_action(self.settings.actions(), name)
        except QuickActionError as e:
            self.window.statusBar().showMessage(str(e), 10000)
            if done is not None:
                done(CaptureOutcome("failed", str(e)))
            return

        def ended(outcome: CaptureOutcome) -> None:
            self._asked_by = None  # a capture that failed or was cancelled asks nothing
            if done is not None:
                done(outcome)

        self._asked_by = action
        self.capture.run(f"capture_{capture or action.capture}", done=ended)

    def start_hotkeys(self) -> str:
        """(Re)start the global hotkeys from the settings; returns the status line shown in the status bar."""
        if self.hotkeys is None:
            return ""
        try:
            provider = self.hotkeys.start(bindings_for(self.settings))
        except HotkeyError as e:
            status = f"Global shortcuts are off: {e}"
        else:
            if isinstance(provider, DesktopShortcutProvider):
                status = (
                    "Global shortcuts need the desktop's own shortcut settings here: "
                    "Settings → Capture and shortcuts lists the commands to bind."
                )
            else:
                status = f"Global shortcuts are on ({provider.name})."
        log.info("%s (hotkeys: %s)", status, self.hotkeys.status)
        self.hotkey_status = status
        return status

    def attach_capture(self, path: str) -> None:
        """A screenshot or recording is ready: it goes to the composer, question box focused; one a quick action
        took goes to that action's question, and the answer is shown where the person looks."""
        action, self._asked_by = self._asked_by, None
        if action is not None:
            self.window.asking.ask_about(path, action)
        else:
            self.window.add_attachment_path(path)
        if self.floating.isVisible() and not self.window.isVisible():
            self.floating.raise_()
            self.floating.activateWindow()
            self.floating.focus_composer()
        else:
            self.window.focus_composer()

    def show_main(self) -> None:
        self.window.focus_composer()

    def toggle_floating(self) -> None:
        if self.floating.isVisible():
            self.floating.hide()
            return
        self.floating.set_draft(self.window.composer.input.toPlainText())
        if not self.floating.placed:
            self.floating.place_beside(self.window.frameGeometry())
        self.floating.show()
        self._show_latest()
        self.floating.raise_()
        self.floating.activateWindow()
        self.floating.focus_composer()

    def quit(self) -> None:
        self.quitting = True
        self.floating.close()
        self.window.close()
        QApplication.quit()

    # ------------------------------------------------------------------------------------------ internals

    def _settings_applied(self, settings: Settings) -> None:
        """Saved settings take effect at once: new hotkeys (their status shown), capture rate and length."""
        self.capture.fps = settings.capture_fps
        self.capture.max_seconds = float(settings.record_max_seconds)
        self._follow_theme()
        if self.hotkeys is not None:
            self.window.statusBar().showMessage(self.start_hotkeys(), 10000)

    def _follow_theme(self, *_: object) -> None:
        if self.floating.dark != self.window.dark:
            self.floating.dark = self.window.dark
            self._show_latest()

    def _capture_failed(self, message: str) -> None:
        self.window.show_banner("capture", message, retryable=False)
        if not self.window.isVisible() and self.tray is not None:
            self.tray.notify("Capture failed", message)

    def _capture_waiting(self, message: str) -> None:
        """The desktop is slow to answer a capture (a dialog of its own, on Wayland): said where it can be seen,
        the tray while our windows are hidden for the capture."""
        self.window.statusBar().showMessage(message, 60000)
        if not self.window.isVisible() and self.tray is not None:
            self.tray.notify("Waiting for the desktop", message)

    def _recording_changed(self, recording: bool) -> None:
        self.floating.set_recording(recording)
        if self.tray is not None:
            self.tray.set_recording(recording)

    def _follow_answer(self, answer: str, thinking: str, thinking_now: bool) -> None:
        """The floating window re-renders the whole answer, so it follows at most five times a second, and only
        while it is shown; the final state is applied at once."""
        self._latest = (answer, thinking, thinking_now)
        if not self.window.is_streaming():
            self._show_latest()
        elif not self._follow.isActive():
            self._follow.start()

    def _show_latest(self) -> None:
        self._follow.stop()
        if self.floating.isVisible():
            answer, thinking, thinking_now = self._latest
            self.floating.set_answer(answer)
            self.floating.set_thinking(thinking, thinking_now)
        self.floating.set_busy(self.window.is_streaming())

    def _ask_from_floating(self, text: str) -> None:
        self.window.composer.input.setPlainText(text)
        self.window.send()

    def _floating_draft_changed(self, text: str) -> None:
        """One draft for both windows: switching to the main window finds what was typed in the small one."""
        if self.window.composer.input.toPlainText() != text:
            self.window.composer.input.setPlainText(text)

    def _main_draft_changed(self) -> None:
        self.floating.set_draft(self.window.composer.input.toPlainText())

    def _new_chat(self) -> None:
        self.window.new_chat()
        self.window.focus_composer()

    def _show_history(self) -> None:
        self.window.focus_composer()
        self.window.sidebar.search.setFocus()

    def _floating_moved(self, x: int, y: int) -> None:
        self._moved_to = (x, y)
        self._save_place.start()

    def _save_floating_place(self) -> None:
        if self._moved_to is not None:
            x, y = self._moved_to
            self._remember(floating_x=x, floating_y=y)

    def _remember(self, **changes: object) -> None:
        for key, value in changes.items():
            setattr(self.settings, key, value)
        if self.settings_path is not None:
            try:
                settings_io.save(self.settings, self.settings_path)
            except OSError as e:
                log.warning("settings not saved: %s", e)

    def _close_to_tray(self) -> bool:
        """Closing the main window leaves the app in the tray when the settings say so and a tray exists."""
        if self.quitting or self.tray is None or not self.settings.close_to_tray:
            return False
        self.tray.notify("GLM-V is still running", "Capture with the hotkeys or from this icon; Quit ends it.")
        return True
