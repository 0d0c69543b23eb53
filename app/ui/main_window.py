"""The main window: history on the left, the conversation in the middle, the thinking pane on the right.

The window arranges and wires. The conversation is a ``Session`` (``app.core.session``, no Qt): the window shows
what it says through ``SessionSignals``. ``ConversationView`` keeps the transcript and the thinking pane,
``Asking`` the composer (drafts per conversation, editing, sending, the budget line), ``HistoryActions`` what the
history list asks for, ``ModelLoading`` the local model's load. The session writes every question and answer to
the store as it happens, so closing, crashing or switching conversations never loses anything.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent, QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QProgressBar,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.core import markdown_render, math_typeset
from app.core import settings as settings_io
from app.core.backends.base import Backend
from app.core.backends.factory import (
    BackendUnavailable,
    is_local,
    make_backend,
    media_target,
    needs_key_but_has_none,
    same_local,
)
from app.core.backends.status import describe
from app.core.secrets import KeyVault
from app.core.session import Session, Turn
from app.core.settings import Settings
from app.core.store import Store
from app.core.stream_runner import StreamResult
from app.ui import theme
from app.ui.asking import Asking
from app.ui.composer import Composer
from app.ui.conversation_view import ConversationView
from app.ui.history import HistorySidebar
from app.ui.history_actions import HistoryActions
from app.ui.model_loading import ModelLoading
from app.ui.panes import ThinkingPane
from app.ui.session_signals import SessionSignals
from app.ui.transcript import AnswerCard, Banner, Transcript
from app.ui.workers import QtRunner, Tasks

# After the window is up, what the first answer would import on the Qt thread is imported on a worker.
WARM_UP_AFTER_MS = 300


class MainWindow(QMainWindow):
    store_error = Signal(str)
    # The answer being written, its thinking so far and whether the model is still thinking: at most ~30 times a
    # second while streaming and once at the end (the floating window follows the conversation through it).
    live_answer = Signal(str, str, bool)
    # The settings just saved from the dialog (the desktop shell restarts hotkeys and capture from them).
    settings_applied = Signal(object)

    def __init__(
        self,
        settings: Settings,
        backend: Backend | None,
        store: Store,
        vault: KeyVault,
        *,
        settings_path: Path | None = None,
        backend_error: str | None = None,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.store = store
        self.vault = vault
        self.settings_path = settings_path
        self.tasks = Tasks(self)
        self.dark = theme.system_is_dark(settings.theme)
        self.colors = theme.colors(self.dark)
        self.signals = SessionSignals(self)
        self.runner = QtRunner(self)
        self.session = Session(backend, store, runner=self.runner, listener=self.signals, backend_error=backend_error)
        self.session.use_settings(settings)
        # The desktop shell's say on closing: True keeps the app running in the tray, the window only hidden.
        self.hide_instead_of_closing: Callable[[], bool] | None = None
        # Quit (Ctrl+Q, Cmd+Q) ends the whole app, the tray and the floating window with it: the shell's to do.
        self.quit_app: Callable[[], object] = self.close

        self.setWindowTitle("GLM-V")
        self.setWindowIcon(theme.icon("app", "#000000", 64))
        self.setAcceptDrops(True)
        self.resize(1280, 820)

        self.sidebar = HistorySidebar(store, self.colors)
        self.settings_button = QPushButton(" Settings")
        self.settings_button.setObjectName("settingsButton")
        self.settings_button.setToolTip("Settings (Ctrl+,)")
        self.settings_button.clicked.connect(self.open_settings)
        self.sidebar.add_footer(self.settings_button)

        self.transcript = Transcript()
        self.transcript.use_workers(self.tasks, lambda: media_target(self.session.backend))
        self.composer = Composer(
            self.tasks, lambda: media_target(self.session.backend), self.colors, store.folder / "pasted"
        )
        self.thinking = ThinkingPane(settings.thinking_collapsed)
        self.status = QLabel("")
        self.status.setObjectName("backendStatus")
        self.loading = QProgressBar()
        self.loading.setObjectName("loadProgress")
        self.loading.setAccessibleName("model loading progress")
        self.loading.setMaximumWidth(160)
        self.loading.setMaximumHeight(14)
        self.loading.setTextVisible(False)
        self.loading.setVisible(False)
        self.statusBar().addPermanentWidget(self.loading)
        self.statusBar().addPermanentWidget(self.status)

        middle = QWidget()
        middle.setObjectName("central")
        column = QVBoxLayout(middle)
        column.setContentsMargins(0, 0, 0, 12)
        column.setSpacing(8)
        column.addWidget(self.transcript, 1)
        composer_row = QHBoxLayout()
        composer_row.setContentsMargins(20, 0, 20, 0)
        composer_row.addWidget(self.composer)
        column.addLayout(composer_row)

        self.panes = QSplitter(Qt.Orientation.Horizontal)
        self.panes.addWidget(middle)
        self.panes.addWidget(self.thinking)
        self.panes.setStretchFactor(0, 3)
        self.panes.setStretchFactor(1, 2)
        self.panes.setChildrenCollapsible(False)
        self.split = QSplitter(Qt.Orientation.Horizontal)
        self.split.setObjectName("central")
        self.split.addWidget(self.sidebar)
        self.split.addWidget(self.panes)
        self.split.setStretchFactor(1, 1)
        self.split.setSizes([250, 1030])
        self.panes.setSizes([640, 390])
        self.setCentralWidget(self.split)

        self.view = ConversationView(self.session, self.signals, self.transcript, self.thinking, self.colors, self)
        self.asking = Asking(self.composer, self.session, self.statusBar().showMessage)
        self.asking.use_settings(settings)
        self.history = HistoryActions(
            self.session, store, self.sidebar, self.asking, self.tasks, self, self.statusBar().showMessage
        )
        self.model_loading = ModelLoading(self.tasks, self.loading, self.status, self.statusBar())

        self.composer.strip.changed.connect(self.asking.refresh_budget)
        self.composer.input.textChanged.connect(self.asking.refresh_budget)
        self.composer.input.submit.connect(self.send)
        self.composer.input.files_dropped.connect(self.add_files)
        self.composer.send.clicked.connect(self.send)
        self.composer.stop.clicked.connect(self.stop)
        self.composer.attach.clicked.connect(self.pick_files)
        self.composer.cancel_edit.clicked.connect(self.asking.cancel_edit)
        self.composer.quick.chosen.connect(self.asking.run_action)
        self.composer.set_streaming(False)
        self.signals.started.connect(lambda: self.composer.set_streaming(True))
        self.signals.ended.connect(self._answer_ended)
        self.signals.added.connect(self.asking.refresh_budget)
        self.signals.removed.connect(self.asking.refresh_budget)
        self.signals.notice.connect(lambda text, ms: self.statusBar().showMessage(text, ms))
        self.signals.touched.connect(self.history.touched)
        self.signals.returned.connect(self.asking.question_returned)
        self.view.live_answer.connect(self.live_answer)
        self.view.edit_requested.connect(self.asking.edit)
        self.view.settings_requested.connect(self.open_settings)
        self.view.message.connect(lambda text, ms: self.statusBar().showMessage(text, ms))
        self.model_loading.ready.connect(self._model_ready)
        self.model_loading.failed.connect(self._model_failed)
        self.store_error.connect(lambda message: self.statusBar().showMessage(message, 15000))
        for keys, slot in (
            ("Ctrl+N", self.new_chat),
            ("Ctrl+,", self.open_settings),
            ("Ctrl+O", self.pick_files),
            ("Escape", self.stop),
            ("Ctrl+F", self.sidebar.search.setFocus),
        ):
            QShortcut(QKeySequence(keys), self).activated.connect(slot)
        # Windows has no standard Quit key; Ctrl+Q is what people try there too.
        for sequence in QKeySequence.keyBindings(QKeySequence.StandardKey.Quit) or [QKeySequence("Ctrl+Q")]:
            QShortcut(sequence, self).activated.connect(lambda: self.quit_app())
        QGuiApplication.styleHints().colorSchemeChanged.connect(self._scheme_changed)

        self.apply_theme()
        self._update_status()
        self.sidebar.reload()
        last = store.last_opened()
        if last:
            self.open_conversation(last)
        self._announce_backend_problem()
        self.model_loading.load(self.backend)
        from app.ui.sharing import ModelSharing  # the loaded model shared with other tools (issue 18)

        self.sharing = ModelSharing(self)
        self.composer.input.setFocus()
        QTimer.singleShot(WARM_UP_AFTER_MS, self, self._warm_up)

    def _warm_up(self) -> None:
        """Pygments' pieces and ziamath loaded off the Qt thread, so the first code block and formula of the first
        answer do not stall the window while they import (``markdown_render.warm_up``)."""
        self.tasks.run(markdown_render.warm_up, name="warm-up")
        math_typeset.warm_up()

    @property
    def backend(self) -> Backend | None:
        return self.session.backend

    @property
    def conversation_id(self) -> str | None:
        return self.session.conversation_id

    # ------------------------------------------------------------------------------------------------ look

    def apply_theme(self, scheme: Qt.ColorScheme | None = None) -> None:
        """Light or dark for the whole app; answers already shown are rendered again when the scheme flips."""
        was_dark = self.dark
        self.colors = theme.apply(self.settings.theme, scheme)
        self.dark = self.colors.dark
        self.setStyleSheet(theme.style_sheet(self.colors))
        self.composer.apply_colors(self.colors)
        self.thinking.refresh_icons(self.colors.muted)
        self.settings_button.setIcon(theme.icon("settings", self.colors.text, 16))
        self.sidebar.apply_colors(self.colors)
        self.view.colors = self.colors
        self.transcript.apply_colors(self.colors, rerender=was_dark != self.dark)

    def _scheme_changed(self, scheme: Qt.ColorScheme) -> None:
        self.apply_theme(scheme)

    def _update_status(self) -> None:
        self.status.setText(describe(self.backend) if self.backend is not None else "No backend: open Settings")
        self.status.setToolTip(
            f"Model: {self.backend.model}" if self.backend is not None and self.backend.model else ""
        )
        self.composer.thinking.allow_budget(self.backend is not None and self.backend.capabilities.thinking_budget)

    def _model_ready(self) -> None:
        self._update_status()
        self.composer.strip.prepare_all()

    def _model_failed(self, message: str) -> None:
        self._update_status()
        self.show_banner("model", message, retryable=False)

    def _announce_backend_problem(self) -> None:
        if self.backend is None:
            self.show_banner("model", self.session.backend_error or "No backend is set up.", retryable=False)
            return
        missing = needs_key_but_has_none(self.settings, self.vault)
        if missing:
            self.show_banner("auth", missing, retryable=False)

    # ------------------------------------------------------------------------------------------------ conversation

    def is_streaming(self) -> bool:
        return self.session.is_streaming()

    def answer_cards(self) -> list[AnswerCard]:
        return self.view.answer_cards()

    def banners(self) -> list[Banner]:
        return self.view.banners()

    def show_banner(self, kind: str, message: str, *, retryable: bool = True) -> Banner:
        return self.view.show_banner(kind, message, retryable=retryable)

    def send(self) -> None:
        self.asking.send()

    def stop(self) -> None:
        if self.is_streaming():
            self.session.stop()
            self.composer.stop.setEnabled(False)

    def _answer_ended(self, turn: Turn | None, result: StreamResult) -> None:
        self.composer.set_streaming(False)
        if is_local(self.backend):
            self._update_status()
        if turn is not None:
            self.asking.refresh_budget()

    def add_attachment_path(self, path: str) -> None:
        """Attach a file as if it were dropped on the window (screen captures arrive this way)."""
        self.add_files([Path(path)])

    def focus_composer(self) -> None:
        """Bring the window forward with the cursor in the question, ready to type."""
        if self.isMinimized():
            self.showNormal()
        self.show()
        self.raise_()
        self.activateWindow()
        self.composer.input.setFocus()

    def add_files(self, paths: list) -> None:
        self.asking.add_files(paths)

    def pick_files(self) -> None:
        self.asking.pick_files()

    # ------------------------------------------------------------------------------------------------ history

    def new_chat(self) -> None:
        self.history.new_chat()

    def open_conversation(self, conversation_id: str) -> None:
        self.history.open(conversation_id)

    def delete_conversation(self, conversation_id: str, *, confirm: bool = False) -> None:
        self.history.delete(conversation_id, confirm=confirm)

    # ------------------------------------------------------------------------------------------------ settings

    def open_settings(self) -> None:
        from app.ui.settings_dialog import SettingsDialog

        dialog = SettingsDialog(self.settings, self.vault, self.tasks, self)
        if dialog.exec() != SettingsDialog.DialogCode.Accepted:
            return
        self.apply_settings(dialog.result_settings())
        if dialog.key_saved_to and dialog.key_saved_to != "the system keyring":
            self.statusBar().showMessage(f"The API key is saved in {dialog.key_saved_to} (no keyring here).", 10000)

    def apply_settings(self, settings: Settings) -> None:
        self.settings = dataclasses.replace(settings)
        settings_io.save(self.settings, self.settings_path)
        self.session.use_settings(self.settings)
        self.asking.use_settings(self.settings)
        self.thinking.set_collapsed(self.settings.thinking_collapsed)
        old = self.session.backend
        if same_local(old, self.settings):
            self.session.backend_error = None
        else:
            if self.is_streaming():
                self.statusBar().showMessage("The new backend answers from the next question on.", 5000)
            try:
                self.session.backend, self.session.backend_error = make_backend(self.settings, self.vault), None
            except BackendUnavailable as e:
                self.session.backend, self.session.backend_error = None, str(e)
            self.model_loading.unload(old)
            self.composer.strip.prepare_all()
        self._update_status()
        self.view.clear_banners()
        self._announce_backend_problem()
        self.model_loading.load(self.backend)
        self.asking.refresh_budget()
        self.apply_theme()
        self.settings_applied.emit(self.settings)

    # ------------------------------------------------------------------------------------------------ window

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        data = event.mimeData()
        if (data.hasUrls() and any(u.isLocalFile() for u in data.urls())) or data.hasImage():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        data = event.mimeData()
        if data.hasUrls():
            self.add_files([Path(u.toLocalFile()) for u in data.urls() if u.isLocalFile()])
            event.acceptProposedAction()
        elif data.hasImage():
            self.composer.input.insertFromMimeData(data)
            event.acceptProposedAction()

    def wait_for_workers(self, timeout: float = 10.0) -> bool:
        """Every stream and background job finished (tests, and closing)."""
        ok = self.tasks.wait(timeout)
        return self.runner.wait(timeout) and ok

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.hide_instead_of_closing is not None and self.hide_instead_of_closing():
            event.ignore()
            self.hide()
            return
        self.session.stop()
        self.sharing.stop()
        self.view.timer.stop()
        self.wait_for_workers(5.0)
        self.store.flush(10.0)
        super().closeEvent(event)
