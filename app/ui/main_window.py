"""The main window: history on the left, the conversation in the middle, the thinking pane on the right.

The window only arranges and reacts. Generation runs in a ``StreamThread``; a 30 Hz timer drains what arrived
and appends it to the answer and thinking panes; the finished answer's Markdown (rendered on the worker) is
laid out once. Every question and answer goes to the store as it happens, so closing, crashing or switching
conversations never loses anything.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent, QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.core import settings as settings_io
from app.core.backends.base import recent_turns
from app.core.conversation import Attachment, Conversation, Message, Role
from app.core.markdown_render import render
from app.core.media.budget import DEFAULT_ANSWER_RESERVE, check_message
from app.core.media.parts import MediaReport, estimate_text_tokens
from app.core.settings import KeyVault, Settings
from app.core.store import Store, StoredMessage, make_title
from app.ui import theme
from app.ui.backend_factory import (
    BackendUnavailable,
    describe,
    is_local,
    make_backend,
    media_target,
    needs_key_but_has_none,
    same_local,
)
from app.ui.composer import AttachmentChip, Composer
from app.ui.history import HistorySidebar
from app.ui.panes import ThinkingPane
from app.ui.status import model_label
from app.ui.stream_runner import StreamResult, StreamRun
from app.ui.transcript import AnswerCard, Banner, Transcript, UserCard
from app.ui.workers import StreamThread, Tasks

log = logging.getLogger(__name__)
FRAME_MS = 33  # about 30 updates a second


@dataclass
class Turn:
    """One message as the window holds it: its card, and what the next request needs."""

    message_id: str
    role: Role
    text: str = ""
    attachments: list[Attachment] = field(default_factory=list)
    thinking: str = ""
    status: str = "done"
    card: Any = None
    attachment_tokens: int = 0

    def to_message(self) -> Message:
        return Message(
            role=self.role,
            text=self.text,
            attachments=list(self.attachments),
        )

    def tokens(self) -> int:
        """Roughly what this turn costs when it goes along with a later question."""
        return estimate_text_tokens(self.text) + self.attachment_tokens


@dataclass
class Draft:
    """What the composer held for one conversation: the question being written and its attachments' chips
    (whole, with what was read of them), kept while another conversation is shown."""

    text: str = ""
    chips: list[AttachmentChip] = field(default_factory=list)

    def discard(self) -> None:
        for chip in self.chips:
            chip.deleteLater()
        self.chips = []


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
        backend: Any,
        store: Store,
        vault: KeyVault,
        *,
        settings_path: Path | None = None,
        backend_error: str | None = None,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.backend = backend
        self.backend_error = backend_error
        self.store = store
        self.vault = vault
        self.settings_path = settings_path
        self.tasks = Tasks(self)
        self.dark = theme.system_is_dark(settings.theme)
        self.colors = theme.colors(self.dark)
        self.conversation_id: str | None = None
        self.turns: list[Turn] = []
        self.editing: str | None = None
        # Attachments belong to the conversation they were added in: leaving it keeps its draft here (None is
        # the new chat not yet sent), coming back puts it in the composer again.
        self.drafts: dict[str | None, Draft] = {}
        self.before_edit: Draft | None = None  # what the composer held when Edit was clicked
        # Retry and Regenerate: the answer a new one replaces, by the new one's id, back if the new one gets nothing.
        self.replacing: dict[str, StoredMessage] = {}
        self.selected: str | None = None
        self.run: StreamRun | None = None
        self.stream_thread: StreamThread | None = None
        # The desktop shell's say on closing: True keeps the app running in the tray, the window only hidden.
        self.hide_instead_of_closing: Callable[[], bool] | None = None
        # Quit (Ctrl+Q, Cmd+Q) ends the whole app, the tray and the floating window with it: the shell's to do.
        self.quit_app: Callable[[], object] = self.close
        self.streaming_card: AnswerCard | None = None
        self.stream_conversation: str | None = None
        self.threads: list[StreamThread] = []

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
        self.transcript.use_workers(self.tasks, lambda: media_target(self.backend))
        self.composer = Composer(self.tasks, lambda: media_target(self.backend), self.colors, store.folder / "pasted")
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
        self.loading_backend: Any = None
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

        self.timer = QTimer(self)
        self.timer.setInterval(FRAME_MS)
        self.timer.timeout.connect(self._tick)

        self.composer.strip.changed.connect(self._refresh_budget)
        self.composer.input.textChanged.connect(self._refresh_budget)
        self.composer.input.submit.connect(self.send)
        self.composer.input.files_dropped.connect(self.add_files)
        self.composer.send.clicked.connect(self.send)
        self.composer.stop.clicked.connect(self.stop)
        self.composer.attach.clicked.connect(self.pick_files)
        self.composer.cancel_edit.clicked.connect(self.cancel_edit)
        self.composer.set_streaming(False)
        self.sidebar.opened.connect(self.open_conversation)
        self.sidebar.new_chat.connect(self.new_chat)
        self.sidebar.delete_requested.connect(lambda cid: self.delete_conversation(cid, confirm=True))
        self.sidebar.renamed.connect(self.rename_conversation)
        self.sidebar.export_requested.connect(self.export_conversation)
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
        self._load_local_model()
        from app.ui.sharing import ModelSharing  # the loaded model shared with other tools (issue 18)

        self.sharing = ModelSharing(self)
        self.composer.input.setFocus()

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
        self.transcript.apply_colors(self.colors, rerender=was_dark != self.dark)

    def _scheme_changed(self, scheme: Qt.ColorScheme) -> None:
        self.apply_theme(scheme)

    def _update_status(self) -> None:
        text = describe(self.backend) if self.backend is not None else "No backend: open Settings"
        self.status.setText(text)
        model = getattr(self.backend, "model", None)
        self.status.setToolTip(f"Model: {model}" if model else "")

    # ------------------------------------------------------------------------------------------------ local model

    def _load_local_model(self) -> None:
        """Load the local model on a worker as soon as it is chosen, with its progress in the status bar, so the
        first question does not wait for gigabytes of weights (a question asked meanwhile waits for the load)."""
        backend = self.backend
        if not is_local(backend) or backend.engine.is_loaded or self.loading_backend is backend:
            return
        self.loading_backend = backend
        self.loading.setRange(0, 0)
        self.loading.setVisible(True)
        self.status.setText(f"Local · {model_label(backend.model)} · loading…")

        def progress(p: Any) -> None:
            if self.loading_backend is not backend:
                return
            total, done = int(getattr(p, "total", 0) or 0), int(getattr(p, "done", 0) or 0)
            if total > 0:
                self.loading.setRange(0, 1000)
                self.loading.setValue(min(1000, done * 1000 // total))
            else:
                self.loading.setRange(0, 0)
            message = str(getattr(p, "message", "") or "Loading the model")
            if getattr(p, "stage", "") == "download" and total:
                message += f": {done / 1e9:.1f} of {total / 1e9:.1f} GB"
            self.statusBar().showMessage(message)

        def loaded(_: Any) -> None:
            if self.loading_backend is not backend:
                return
            self.loading_backend = None
            self.loading.setVisible(False)
            warnings = getattr(backend.engine.loaded, "warnings", None) or []
            self.statusBar().showMessage(warnings[0] if warnings else "Model ready.", 15000 if warnings else 4000)
            self._update_status()
            self.composer.strip.prepare_all()

        def failed(error: BaseException) -> None:
            if self.loading_backend is not backend:
                return
            self.loading_backend = None
            self.loading.setVisible(False)
            self.statusBar().clearMessage()
            self._update_status()
            self.show_banner("model", f"The local model did not load: {error}", retryable=False)

        self.tasks.run_reporting(
            backend.load, progress, loaded, failed, name="load-model", step=lambda p: (p.stage, p.message)
        )

    def _announce_backend_problem(self) -> None:
        if self.backend is None:
            self.show_banner("model", self.backend_error or "No backend is set up.", retryable=False)
            return
        missing = needs_key_but_has_none(self.settings, self.vault)
        if missing:
            self.show_banner("auth", missing, retryable=False)

    # ------------------------------------------------------------------------------------------------ state

    def is_streaming(self) -> bool:
        return self.stream_thread is not None

    def answer_cards(self) -> list[AnswerCard]:
        return [t.card for t in self.turns if t.role == "assistant" and t.card is not None]

    def banners(self) -> list[Banner]:
        return [w for w in self.transcript.cards() if isinstance(w, Banner)]

    def _turn_index(self, message_id: str) -> int:
        return next(i for i, t in enumerate(self.turns) if t.message_id == message_id)

    def _mark_current(self) -> None:
        cards = self.answer_cards()
        for card in cards:
            card.set_current(card is cards[-1])

    # ------------------------------------------------------------------------------------------------ sending

    def send(self) -> None:
        if self.is_streaming():
            self.statusBar().showMessage("An answer is still coming: stop it first (Esc).", 5000)
            return
        text = self.composer.input.toPlainText().strip()
        chips = self.composer.strip.chips()
        broken = [c for c in chips if c.error]
        if broken:
            self.statusBar().showMessage(f"{broken[0].error} Remove it to send.", 10000)
            return
        if not text and not chips:
            return
        if self.composer.budget.over:
            self.statusBar().showMessage(self.composer.budget.text(), 10000)
            return
        if self.backend is None:
            self.show_banner("model", self.backend_error or "No backend is set up: open Settings.", retryable=False)
            return
        attachments = self.composer.strip.attachments()
        # What the strip prepared for each file: the question counts the images the model saw from it.
        reports = [chip.info.report if chip.info is not None else None for chip in chips]
        info = self.composer.strip.info()
        attachment_tokens = sum(int(i.get("tokens") or 0) for i in info.values())
        self.clear_banners()
        new_conversation = self.conversation_id is None
        if new_conversation:
            self.conversation_id = self.store.new_conversation()
            self.store.set_last_opened(self.conversation_id)
        assert self.conversation_id is not None
        if self.editing is not None:
            question_id = self.editing
            index = self._turn_index(question_id)
            self.store.edit_question(question_id, text, attachments, info)
            for turn in self.turns[index:]:
                self.transcript.remove(turn.card)
            del self.turns[index:]
            self._end_edit()
        else:
            question_id = self.store.add_message(self.conversation_id, "user", text, attachments, attachment_info=info)
        self._add_question(question_id, text, attachments, attachment_tokens, reports)
        if new_conversation or len(self.turns) == 1:
            self.sidebar.upsert(self.conversation_id, make_title(text, [a.name for a in attachments]))
        else:
            self.sidebar.upsert(self.conversation_id, self._current_title())
        self.composer.input.clear()
        self.composer.strip.clear()
        self._put_draft(self.before_edit)  # after an edit, what was being written before it comes back
        self.before_edit = None
        self._start_answer()

    def _current_title(self) -> str:
        item = self.sidebar.list.currentItem()
        return item.text() if item is not None else ""

    def _add_question(
        self,
        message_id: str,
        text: str,
        attachments: list[Attachment],
        tokens: int = 0,
        reports: list[MediaReport | None] | None = None,
    ) -> None:
        card = UserCard(message_id, text, attachments, self.colors, reports)
        card.edit_requested.connect(self.edit_question)
        card.setMaximumWidth(max(360, int(self.transcript.viewport().width() * 0.8)))
        self.turns.append(Turn(message_id, "user", text, list(attachments), card=card, attachment_tokens=tokens))
        self.transcript.add(card, user=True)

    def _add_answer_card(self, message_id: str, model: str | None) -> AnswerCard:
        card = AnswerCard(message_id, self.colors, model)
        card.selected.connect(self.select_answer)
        card.regenerate_requested.connect(self.regenerate)
        card.copied.connect(lambda message: self.statusBar().showMessage(message, 2000))
        self.transcript.add(card)
        return card

    def _show_stored_answer(self, message: StoredMessage) -> None:
        card = self._add_answer_card(message.id, message.model)
        card.thinking = message.thinking
        card.thinking_seconds = message.thinking_seconds
        card.status = message.status
        card.view.show_rendered(message.text, render(message.text, dark=self.dark) if message.text else None)
        card.set_boxes(message.boxes)
        card.update_meta()
        self.turns.append(Turn(message.id, "assistant", message.text, [], message.thinking, message.status, card))

    def _restore_answer(self, message: StoredMessage) -> None:
        """The answer a retry was to replace, saved and shown again: the retry got nothing."""
        assert self.conversation_id is not None
        message_id = self.store.add_message(
            self.conversation_id,
            "assistant",
            message.text,
            status=message.status,
            thinking=message.thinking,
            backend=message.backend,
            model=message.model,
        )
        self.store.save_message(
            message_id,
            finish_reason=message.finish_reason,
            error_kind=message.error_kind,
            error_message=message.error_message,
            usage=message.usage or None,
            boxes=message.boxes or None,
            thinking_seconds=message.thinking_seconds,
        )
        self._show_stored_answer(dataclasses.replace(message, id=message_id))

    def _request(self) -> Conversation:
        messages = [
            t.to_message() for t in self.turns if not (t.role == "assistant" and (t.status == "failed" or not t.text))
        ]
        return Conversation(messages=messages, system_prompt=self.settings.system_prompt or None)

    def _start_answer(self) -> None:
        assert self.conversation_id is not None and self.backend is not None
        conversation = self._request()
        model = getattr(self.backend, "model", None) or None
        message_id = self.store.add_message(
            self.conversation_id,
            "assistant",
            status="streaming",
            backend=getattr(self.backend, "name", None),
            model=model,
        )
        card = self._add_answer_card(message_id, model)
        self.turns.append(Turn(message_id, "assistant", status="streaming", card=card))
        self._mark_current()
        self.streaming_card = card
        self.stream_conversation = self.conversation_id
        self.select_answer(message_id)
        self.thinking.clear()
        self._live_text = ""
        self._shown_preparing = ""
        self.run = StreamRun(
            self.backend,
            conversation,
            self.settings.generation_options(),
            self.store.stream_saver(message_id),
            dark=self.dark,
        )
        self.stream_thread = StreamThread(self.run, self)
        thread = self.stream_thread
        thread.ended.connect(lambda: self._stream_ended(thread.result))
        self.threads.append(self.stream_thread)
        self.composer.set_streaming(True)
        self.stream_thread.start()
        self.timer.start()

    def _tick(self) -> None:
        run, card = self.run, self.streaming_card
        if run is None:
            return
        thinking, answer = run.drain()
        if card is None:
            return
        self._show_preparing(card, run.preparing)
        if thinking:
            card.thinking += thinking
            if self.selected == card.message_id:
                self.thinking.append_text(thinking)
        if answer:
            card.view.append_text(answer)
            self._live_text += answer
        for group in run.drain_boxes():
            card.add_boxes(group)
        if thinking or answer:
            self.live_answer.emit(self._live_text, card.thinking, run.thinking_ended is None and not self._live_text)
        if self.selected == card.message_id:
            seconds = run.thinking_seconds()
            if seconds is not None:
                self.thinking.set_time(seconds, thinking=run.thinking_ended is None)

    def _show_preparing(self, card: AnswerCard, preparing: str) -> None:
        """Which file and page the backend prepares before sending, in the empty answer and the thinking pane:
        a long PDF or a deck takes seconds that otherwise look like nothing happening."""
        if preparing == self._shown_preparing:
            return
        self._shown_preparing = preparing
        card.view.setPlaceholderText(preparing)
        if self.selected == card.message_id:
            self.thinking.show_preparing(preparing)

    def _stream_ended(self, result: StreamResult) -> None:
        self._tick()
        self.timer.stop()
        card = self.streaming_card
        if card is not None:
            self._show_preparing(card, "")
        thread = self.stream_thread
        rendered_dark = self.run.dark if self.run is not None else self.dark
        self.run = None
        self.stream_thread = None
        self.streaming_card = None
        if thread is not None:
            thread.wait(2000)
            if thread in self.threads:
                self.threads.remove(thread)
            thread.deleteLater()
        self.composer.set_streaming(False)
        if is_local(self.backend):
            self._update_status()
        replaced = self.replacing.pop(card.message_id, None) if card is not None else None
        if card is None or self.stream_conversation != self.conversation_id:
            return
        turn = self.turns[self._turn_index(card.message_id)]
        turn.text, turn.thinking, turn.status = result.text, result.thinking, result.status
        card.status = result.status
        card.thinking = result.thinking
        card.thinking_seconds = result.thinking_seconds
        rendered = result.rendered
        if rendered is not None and rendered_dark != self.dark:  # the scheme changed while it streamed
            rendered = render(result.text, dark=self.dark)
        card.view.show_rendered(result.text, rendered)
        card.set_boxes(result.boxes)
        card.update_meta()
        self.live_answer.emit(result.text, result.thinking, False)
        if self.selected == card.message_id:
            self.thinking.show_thinking(result.thinking, result.thinking_seconds, self._no_thinking_note(result))
        end = result.end
        if result.status == "failed":
            question_id = self.turns[self._turn_index(card.message_id) - 1].message_id
            if not result.text:
                self.store.delete_after(question_id)
                self.transcript.remove(card)
                self.turns.remove(turn)
                if replaced is not None:
                    self._restore_answer(replaced)
                self._mark_current()
            self.show_banner(getattr(end, "kind", "model"), getattr(end, "message", "The answer failed."))
            if replaced is not None and not result.text:
                self.select_answer(self.turns[-1].message_id)
            elif not result.text and not self.composer.input.toPlainText().strip() and not self.composer.strip.chips():
                # Nothing arrived for a new question: it goes back into the composer, ready to send again.
                self.edit_question(question_id)
        elif result.status == "stopped" and result.while_preparing:
            self.statusBar().showMessage(
                "Stopped while the files were prepared: nothing was sent. The question is kept; Regenerate sends it.",
                8000,
            )
        elif result.status == "stopped":
            self.statusBar().showMessage("Stopped. The partial answer is kept.", 4000)
        self._refresh_budget()

    @staticmethod
    def _no_thinking_note(result: StreamResult) -> str:
        return "no thinking for this answer" if not result.thinking else ""

    def stop(self) -> None:
        if self.run is not None:
            self.run.cancel.set()
            self.composer.stop.setEnabled(False)

    # ------------------------------------------------------------------------------------------------ banners

    def show_banner(self, kind: str, message: str, *, retryable: bool = True) -> Banner:
        banner = Banner(kind, message, self.colors, retryable=retryable and self._can_retry())
        banner.retry.connect(self.retry)
        banner.settings.connect(self.open_settings)
        self.transcript.add(banner)
        return banner

    def clear_banners(self) -> None:
        for banner in self.banners():
            self.transcript.remove(banner)

    def _can_retry(self) -> bool:
        return any(t.role == "user" for t in self.turns)

    def retry(self) -> None:
        """Ask the last question again: its answer (failed or partial) is replaced."""
        if self.is_streaming() or not self.turns or self.backend is None:
            return
        last_question = next(t for t in reversed(self.turns) if t.role == "user")
        self._answer_again(last_question.message_id)

    def _answer_again(self, question_id: str) -> None:
        """A new answer to the question in place of the one after it, which is kept aside until the new one
        gets a word: if it fails before that, the old one (a partial answer the banner said was kept) is back."""
        assert self.conversation_id is not None
        self.clear_banners()
        self.store.flush(5.0)
        stored = self.store.messages(self.conversation_id)
        index = next((i for i, m in enumerate(stored) if m.id == question_id), len(stored))
        replaced = next((m for m in stored[index + 1 :] if m.role == "assistant" and m.text), None)
        self._drop_after(question_id)
        self._start_answer()
        if replaced is not None and self.streaming_card is not None:
            self.replacing[self.streaming_card.message_id] = replaced

    def _drop_after(self, message_id: str) -> None:
        index = self._turn_index(message_id)
        self.store.delete_after(message_id)
        for turn in self.turns[index + 1 :]:
            self.transcript.remove(turn.card)
        del self.turns[index + 1 :]

    # ------------------------------------------------------------------------------------------------ actions

    def regenerate(self, answer_id: str | None = None) -> None:
        if self.is_streaming():
            return
        answers = [t for t in self.turns if t.role == "assistant"]
        if answer_id is None and answers:
            answer_id = answers[-1].message_id
        if answer_id is None:
            return
        index = self._turn_index(answer_id)
        question = next((t for t in reversed(self.turns[:index]) if t.role == "user"), None)
        if question is None:
            return
        self._answer_again(question.message_id)

    def edit_question(self, message_id: str) -> None:
        if self.is_streaming():
            self.statusBar().showMessage("Stop the answer before editing a question.", 5000)
            return
        turn = self.turns[self._turn_index(message_id)]
        if self.editing is None:
            self.before_edit = self._take_draft()
        self.editing = message_id
        self.composer.input.setPlainText(turn.text)
        self.composer.strip.clear()
        for attachment in turn.attachments:
            self.composer.strip.add(attachment)
        self.composer.set_editing(True)
        self.composer.input.setFocus()
        cursor = self.composer.input.textCursor()
        cursor.movePosition(cursor.MoveOperation.End)
        self.composer.input.setTextCursor(cursor)

    def cancel_edit(self) -> None:
        """The composer goes back to what it held before Edit was clicked."""
        if self.editing is None:
            return
        self._end_edit()
        self.composer.input.clear()
        self.composer.strip.clear()
        self._put_draft(self.before_edit)
        self.before_edit = None

    def _end_edit(self) -> None:
        self.editing = None
        self.composer.set_editing(False)

    def _take_draft(self) -> Draft:
        """The composer's question and attachments, taken out of it (it is left empty)."""
        draft = Draft(self.composer.input.toPlainText(), self.composer.strip.take())
        self.composer.input.clear()
        return draft

    def _put_draft(self, draft: Draft | None) -> None:
        if draft is None:
            return
        self.composer.input.setPlainText(draft.text)
        self.composer.strip.put(draft.chips)

    def _leave_conversation(self) -> None:
        """Before another conversation is shown: the one on screen keeps what its composer holds."""
        self.cancel_edit()
        draft = self._take_draft()
        if draft.text.strip() or draft.chips:
            self.drafts[self.conversation_id] = draft

    def _enter_conversation(self, conversation_id: str | None) -> None:
        self._put_draft(self.drafts.pop(conversation_id, None))

    def select_answer(self, message_id: str) -> None:
        self.selected = message_id
        for shown in self.answer_cards():
            shown.set_selected(shown.message_id == message_id)
        card = next((c for c in self.answer_cards() if c.message_id == message_id), None)
        if card is None:
            return
        if card is self.streaming_card and self.run is not None:
            self.thinking.show_thinking(card.thinking, None)
            seconds = self.run.thinking_seconds()
            self.thinking.set_time(seconds, thinking=self.run.thinking_ended is None)
        else:
            self.thinking.show_thinking(
                card.thinking, card.thinking_seconds, "" if card.thinking else "no thinking for this answer"
            )

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

    # ------------------------------------------------------------------------------------------------ budget

    def _history_tokens(self) -> int:
        """What the earlier turns that go along with the next question cost (as ``recent_turns`` picks them)."""
        turns = self.turns
        if self.editing is not None:
            turns = turns[: self._turn_index(self.editing)]
        sent = [t for t in turns if not (t.role == "assistant" and (t.status == "failed" or not t.text))]
        if not sent:
            return 0
        messages = [t.to_message() for t in sent]
        by_message = {id(m): t for m, t in zip(messages, sent, strict=True)}
        question = Message("user")
        kept = recent_turns(Conversation([*messages, question]), self.settings.history_turns)
        return sum(by_message[id(m)].tokens() for m in kept if id(m) in by_message)

    def _refresh_budget(self) -> None:
        chips = self.composer.strip.chips()
        text = self.composer.input.toPlainText()
        if self.backend is None or (not chips and not text.strip()):
            self.composer.budget.show_budget(None)
            self.composer.set_over_budget(False)
            return
        target = media_target(self.backend)
        capabilities = getattr(self.backend, "capabilities", None)
        reserve = min(self.settings.max_tokens or DEFAULT_ANSWER_RESERVE, DEFAULT_ANSWER_RESERVE)
        budget = check_message(
            self.composer.strip.reports(),
            text,
            target,
            answer_reserve=reserve,
            history_tokens=self._history_tokens(),
            max_images=getattr(capabilities, "max_images", None),
        )
        self.composer.budget.show_budget(budget, always=bool(chips), partial=self.composer.strip.partial())
        self.composer.set_over_budget(self.composer.budget.over)

    def add_files(self, paths: list) -> None:
        for path in map(Path, paths):
            if path.is_dir():
                self.statusBar().showMessage(f"{path.name} is a folder: attach the files inside it instead.", 6000)
                continue
            self.composer.strip.add(path)

    def pick_files(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(
            self,
            "Attach files",
            "",
            "Supported files (*.png *.jpg *.jpeg *.webp *.gif *.bmp *.pdf *.pptx *.ppt *.odp *.mp4 *.mov *.mkv "
            "*.webm *.txt *.md *.csv *.json *.py);;All files (*)",
        )
        self.add_files(files)

    # ------------------------------------------------------------------------------------------------ history

    def new_chat(self) -> None:
        self._leave_conversation()
        self._detach_stream()
        self.conversation_id = None
        self.turns = []
        self.selected = None
        self.transcript.clear()
        self.thinking.clear()
        self.sidebar.select(None)
        self.store.set_last_opened(None)
        self._enter_conversation(None)
        self._refresh_budget()
        self.composer.input.setFocus()

    def _detach_stream(self) -> None:
        """The stream keeps going and saving in the background; this view just stops showing it."""
        self.streaming_card = None

    def open_conversation(self, conversation_id: str) -> None:
        if conversation_id == self.conversation_id and self.turns:
            return
        self._leave_conversation()
        self._detach_stream()
        messages = self.store.messages(conversation_id)
        self.conversation_id = conversation_id
        self.turns = []
        self.selected = None
        self.transcript.clear()
        self.thinking.clear()
        for message in messages:
            if message.role == "user":
                self._add_question(
                    message.id,
                    message.text,
                    [a.to_attachment() for a in message.attachments],
                    sum(a.tokens or 0 for a in message.attachments),
                )
            elif message.role == "assistant":
                self._show_stored_answer(message)
        self._mark_current()
        answers = self.answer_cards()
        if answers:
            self.select_answer(answers[-1].message_id)
        last = messages[-1] if messages else None
        if last is not None and last.role == "assistant" and last.status == "failed" and last.error_message:
            self.show_banner(last.error_kind or "model", last.error_message)
        self.sidebar.select(conversation_id)
        self.store.set_last_opened(conversation_id)
        self._enter_conversation(conversation_id)
        self._refresh_budget()

    def delete_conversation(self, conversation_id: str, *, confirm: bool = False) -> None:
        if confirm:
            summary = self.store.conversation(conversation_id)
            title = summary.title if summary else "this conversation"
            answer = QMessageBox.question(
                self, "Delete conversation", f"Delete “{title}” and its attachments? This cannot be undone."
            )
            if answer != QMessageBox.StandardButton.Yes:
                return
        if self.stream_conversation == conversation_id and self.run is not None:
            self.run.cancel.set()
        self.store.delete(conversation_id)
        self.sidebar.remove(conversation_id)
        if conversation_id == self.conversation_id:
            self.new_chat()
        dropped = self.drafts.pop(conversation_id, None)
        if dropped is not None:
            dropped.discard()

    def rename_conversation(self, conversation_id: str, title: str) -> None:
        self.store.rename(conversation_id, title)

    def export_conversation(self, conversation_id: str) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export to folder")
        if not folder:
            return
        self.tasks.run(
            lambda: self.store.export_markdown(conversation_id, Path(folder)),
            lambda path: self.statusBar().showMessage(f"Exported to {path}", 8000),
            lambda e: self.statusBar().showMessage(f"Export failed: {e}", 10000),
            name="export",
        )

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
        self.thinking.set_collapsed(self.settings.thinking_collapsed)
        old = self.backend
        if same_local(old, self.settings):
            self.backend_error = None
        else:
            if self.is_streaming():
                self.statusBar().showMessage("The new backend answers from the next question on.", 5000)
            try:
                self.backend = make_backend(self.settings, self.vault)
                self.backend_error = None
            except BackendUnavailable as e:
                self.backend = None
                self.backend_error = str(e)
            if is_local(old):
                self._unload(old)
            self.composer.strip.prepare_all()
        self._update_status()
        self.clear_banners()
        self._announce_backend_problem()
        self._load_local_model()
        self._refresh_budget()
        self.apply_theme()
        self.settings_applied.emit(self.settings)

    def _unload(self, backend: Any) -> None:
        """Free the old local model's memory; the unload waits for an answer it is still writing."""
        if self.loading_backend is backend:
            self.loading_backend = None
            self.loading.setVisible(False)
        self.tasks.run(backend.unload, name="unload-model")

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
        for thread in list(self.threads):
            ok = thread.wait(int(timeout * 1000)) and ok
        return ok

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.hide_instead_of_closing is not None and self.hide_instead_of_closing():
            event.ignore()
            self.hide()
            return
        if self.run is not None:
            self.run.cancel.set()
        self.sharing.stop()
        self.timer.stop()
        self.wait_for_workers(5.0)
        self.store.flush(10.0)
        super().closeEvent(event)
