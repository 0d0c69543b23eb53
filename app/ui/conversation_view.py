"""The session on screen: its turns as cards in the transcript, the answer being written, the thinking pane and
the failure banners.

It only shows what the session says (``SessionSignals``). The answer being written is drained from its
``StreamRun`` about 30 times a second and appended to its card (which renders it block by block, see
``panes.AnswerView``) and the thinking pane; when it ends, only its last block is rendered again. A reopened
conversation renders the answers near its end at once and the others when they come on screen.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal

from app.core.session import Session, Turn
from app.core.stream_runner import StreamResult, StreamRun
from app.ui import theme
from app.ui.panes import ThinkingPane
from app.ui.session_signals import SessionSignals
from app.ui.thinking_switch import OFF_NOTE, choice_words
from app.ui.transcript import AnswerCard, Banner, Transcript, UserCard

RENDERED_AT_OPEN = 8  # turns at the end of a reopened conversation whose answers are rendered at once

FRAME_MS = 33  # about 30 updates a second


class ConversationView(QObject):
    # The answer being written, its thinking so far and whether the model is still thinking: at most ~30 times a
    # second while streaming and once at the end (the floating window follows the conversation through it).
    live_answer = Signal(str, str, bool)
    edit_requested = Signal(str)  # a question's Edit button: the composer takes it
    settings_requested = Signal()  # a banner's Settings… button
    message = Signal(str, int)  # a line for the status bar, and for how many milliseconds

    def __init__(
        self,
        session: Session,
        signals: SessionSignals,
        transcript: Transcript,
        thinking: ThinkingPane,
        colors: theme.Colors,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.session = session
        self.transcript = transcript
        self.thinking = thinking
        self.colors = colors
        self.cards: dict[str, UserCard | AnswerCard] = {}
        self.selected: str | None = None
        self.run: StreamRun | None = None  # the answer being written, while it is shown
        self.streaming_card: AnswerCard | None = None
        self._live_text = ""
        self._live_thinking = ""
        self._shown_preparing = ""
        self.timer = QTimer(self)
        self.timer.setInterval(FRAME_MS)
        self.timer.timeout.connect(self._tick)
        signals.shown.connect(self._show_conversation)
        signals.added.connect(self._added)
        signals.removed.connect(self._removed)
        signals.started.connect(self._started)
        signals.ended.connect(lambda turn, result: self._answer_ended(turn, result))
        signals.failed.connect(lambda kind, message, retryable: self.show_banner(kind, message, retryable=retryable))

    # ------------------------------------------------------------------------------------------------ cards

    def answer_cards(self) -> list[AnswerCard]:
        cards = (self.cards.get(t.id) for t in self.session.turns if t.role == "assistant")
        return [c for c in cards if isinstance(c, AnswerCard)]

    def banners(self) -> list[Banner]:
        return [w for w in self.transcript.cards() if isinstance(w, Banner)]

    def _show_conversation(self) -> None:
        """Every card of the conversation now shown; an answer still streaming in the one left goes on (and is
        saved) without being shown. The answers near the end (where the transcript opens) are rendered at once,
        the others when they come on screen, so a long conversation opens as fast as a short one."""
        self.run = self.streaming_card = None
        self.selected = None
        self.cards.clear()
        self.transcript.clear()
        self.thinking.clear()
        turns = self.session.turns
        for index, turn in enumerate(turns):
            self._add_card(turn, defer=index < len(turns) - RENDERED_AT_OPEN)
        self._mark_current()
        answers = self.answer_cards()
        if answers:
            self.select_answer(answers[-1].message_id)

    def _add_card(self, turn: Turn, *, defer: bool = False) -> UserCard | AnswerCard:
        card: UserCard | AnswerCard
        if turn.role == "user":
            attachments = [r.attachment for r in turn.attachments]
            # What the strip prepared for each file (a question from the history has none): the question counts
            # the images the model saw from it.
            reports = [r.report for r in turn.attachments]
            known = reports if any(r is not None for r in reports) else None
            card = UserCard(turn.id, turn.text, attachments, self.colors, known)
            card.edit_requested.connect(self.edit_requested)
            self.transcript.add(card, user=True)
        else:
            card = AnswerCard(turn, self.colors)
            card.selected.connect(self.select_answer)
            card.regenerate_requested.connect(self.session.regenerate)
            card.copied.connect(lambda message: self.message.emit(message, 2000))
            self.transcript.add(card)
            if turn is not self.session.streaming:
                card.view.show_markdown(turn.text, defer=defer)
                card.set_boxes(turn.boxes)
                card.update_meta()
        self.cards[turn.id] = card
        return card

    def _added(self, turn: Turn) -> None:
        self._add_card(turn)
        if turn.role == "assistant":  # the answer a retry was to replace, back
            self._mark_current()
            self.select_answer(turn.id)

    def _removed(self, turns: list[Turn]) -> None:
        for turn in turns:
            card = self.cards.pop(turn.id, None)
            if card is not None:
                self.transcript.remove(card)
        self._mark_current()

    def _mark_current(self) -> None:
        cards = self.answer_cards()
        for card in cards:
            card.set_current(card is cards[-1])

    def select_answer(self, message_id: str) -> None:
        self.selected = message_id
        for shown in self.answer_cards():
            shown.set_selected(shown.message_id == message_id)
        card = self.cards.get(message_id)
        if not isinstance(card, AnswerCard):
            return
        self.thinking.set_choice(choice_words(card.turn.thinking_choice))
        if card is self.streaming_card and self.run is not None:
            off = card.turn.thinking_choice is not None and not card.turn.thinking_choice.on
            self.thinking.show_thinking(self._live_thinking, None, OFF_NOTE if off else "")
            seconds = self.run.thinking_seconds()
            self.thinking.set_time(seconds, thinking=self.run.thinking_ended is None)
        else:
            turn = card.turn
            self.thinking.show_thinking(turn.thinking, turn.thinking_seconds, _no_thinking(turn))

    # ------------------------------------------------------------------------------------------------ banners

    def show_banner(self, kind: str, message: str, *, retryable: bool = True) -> Banner:
        can_retry = any(t.role == "user" for t in self.session.turns)
        banner = Banner(kind, message, self.colors, retryable=retryable and can_retry)
        banner.retry.connect(self.session.retry)
        banner.settings.connect(self.settings_requested)
        self.transcript.add(banner)
        return banner

    def clear_banners(self) -> None:
        for banner in self.banners():
            self.transcript.remove(banner)

    # ------------------------------------------------------------------------------------------------ streaming

    def _started(self, turn: Turn, run: StreamRun) -> None:
        self.clear_banners()
        card = self._add_card(turn)
        assert isinstance(card, AnswerCard)
        self._mark_current()
        self.run, self.streaming_card = run, card
        self.thinking.clear()
        self._live_text = self._live_thinking = self._shown_preparing = ""
        self.select_answer(turn.id)
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
            self._live_thinking += thinking
            if self.selected == card.message_id:
                self.thinking.append_text(thinking)
        if answer:
            card.view.append_text(answer)
            self._live_text += answer
        for group in run.drain_boxes():
            card.add_boxes(group)
        if thinking or answer:
            thinking_now = run.thinking_ended is None and not self._live_text
            self.live_answer.emit(self._live_text, self._live_thinking, thinking_now)
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

    def _answer_ended(self, turn: Turn | None, result: StreamResult) -> None:
        self._tick()
        self.timer.stop()
        card, run = self.streaming_card, self.run
        if card is not None:
            self._show_preparing(card, "")
        self.run = self.streaming_card = None
        if turn is None or card is None or run is None:
            return
        card.view.show_rendered(result.text)
        card.set_boxes(result.boxes)
        card.update_meta()
        self.live_answer.emit(result.text, result.thinking, False)
        if self.selected == card.message_id:
            note = _no_thinking(turn) if not result.thinking else ""
            self.thinking.show_thinking(result.thinking, result.thinking_seconds, note)


def _no_thinking(turn: Turn) -> str:
    """Why an answer has no thinking to show."""
    if turn.thinking:
        return ""
    if turn.thinking_choice is not None and not turn.thinking_choice.on:
        return OFF_NOTE
    return "no thinking for this answer"
