"""The conversation as plain Python: what the window and `glmv ask` both drive, so they cannot disagree.

A ``Session`` holds the turns of the conversation shown and is the one place that decides what goes to the
model (``Turn.sent``: not an answer that failed or has no text, the same rule for the request and for what the
history costs in the budget), starts, stops, retries, regenerates and edits answers, and writes each step to the
history as it happens. Each question and answer has one state, its ``Turn``, which the window's cards read.

The session knows no Qt. It tells its host what changed through a ``SessionListener`` (the window's adapter
turns those calls into signals) and runs each answer's stream through a ``Runner``: the window's runs it on a
``QThread`` and brings its end back to the Qt thread; ``InlineRunner`` (for `glmv ask`) runs it where it is
asked; ``ThreadRunner`` (for hosts without an event loop) runs it on a thread and ends it there. The session's
own state only changes on the thread that drives it and in the runner's ``ended``.
"""

from __future__ import annotations

import dataclasses
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from app.core.backends.base import Backend, Closable, GenerationOptions, ThinkingChoice, recent_turns
from app.core.conversation import Attachment, AttachmentRecord, Conversation, Message, Role, as_record
from app.core.events import Boxes, Event, Failed
from app.core.grounding import groups_from_json
from app.core.media.budget import DEFAULT_ANSWER_RESERVE, MessageBudget, check_message
from app.core.media.parts import MediaReport, estimate_text_tokens
from app.core.settings import Settings
from app.core.store import Store, StoredMessage, make_title
from app.core.stream_runner import StreamResult, StreamRun

BUSY = "An answer is still coming: stop it first (Esc)."
NO_BACKEND = "No backend is set up: open Settings."


@dataclass(eq=False)
class Turn:
    """One question or answer of the conversation shown: the only state of it that the request, the budget and
    the window read. A question has its attachments; an answer its thinking, boxes and how it ended (``status``
    as the history keeps it: streaming, done, stopped or failed)."""

    id: str
    role: Role
    text: str = ""
    attachments: list[AttachmentRecord] = field(default_factory=list)
    thinking: str = ""
    thinking_seconds: float | None = None
    status: str = "done"
    model: str | None = None
    boxes: list[Boxes] = field(default_factory=list)
    error_kind: str | None = None
    error_message: str | None = None
    # A question: how it asked the model to think (None: as the settings say). An answer: how the model was
    # asked to think for it, as the backend could follow it (None: not known, an answer from the history).
    thinking_choice: ThinkingChoice | None = None

    @property
    def sent(self) -> bool:
        """Whether it goes to the model with the questions after it: every turn but an answer that failed or
        has no text."""
        return not (self.role == "assistant" and (self.status == "failed" or not self.text))

    def to_message(self) -> Message:
        return Message(role=self.role, text=self.text, attachments=[r.attachment for r in self.attachments])

    def tokens(self) -> int:
        """Roughly what this turn costs when it goes along with a later question."""
        return estimate_text_tokens(self.text) + sum(r.tokens or 0 for r in self.attachments)

    @classmethod
    def from_stored(cls, message: StoredMessage) -> Turn:
        return cls(
            message.id,
            message.role,
            message.text,
            [a.to_record() for a in message.attachments],
            thinking=message.thinking,
            thinking_seconds=message.thinking_seconds,
            status=message.status,
            model=message.model,
            boxes=groups_from_json(message.boxes),
            error_kind=message.error_kind,
            error_message=message.error_message,
            thinking_choice=ThinkingChoice.from_dict(message.thinking_choice),
        )


class SessionListener:
    """What the session tells its host, on the thread that drives it. Every call does nothing here; a host
    overrides those it shows."""

    def conversation_shown(self) -> None:
        """Another conversation is shown (opened, or a new chat): its turns are ``session.turns``."""

    def turn_added(self, turn: Turn) -> None:
        """A question was asked, or an answer a retry was to replace is back (it got nothing)."""

    def turns_removed(self, turns: list[Turn]) -> None:
        """Turns left the conversation: those after a question answered again or edited, or an answer that
        failed before it got a word."""

    def answer_started(self, turn: Turn, run: StreamRun) -> None:
        """An answer began streaming into ``turn``; ``run`` holds what arrived so far."""

    def answer_ended(self, turn: Turn | None, result: StreamResult) -> None:
        """The stream ended and ``turn`` holds the result; None when the conversation shown is another one by
        now (the history has the answer)."""

    def failure(self, kind: str, message: str, retryable: bool) -> None:
        """Something went wrong that the person must hear of: ``message`` says what and what to do."""

    def remark(self, text: str, milliseconds: int) -> None:
        """A passing remark, worth showing for about ``milliseconds``."""

    def conversation_touched(self, conversation_id: str, title: str | None) -> None:
        """A question went to ``conversation_id``; ``title`` is its new title when the question named it."""

    def question_returned(self, turn: Turn) -> None:
        """Nothing arrived for the question ``turn``: the host may offer it again for sending."""


class Runner(Protocol):
    def start(self, run: StreamRun, ended: Callable[[StreamResult], None]) -> None:
        """Runs ``run.run()`` and calls ``ended`` with its result on the thread that drives the session."""
        ...


class InlineRunner:
    """Runs the stream where it is asked (`glmv ask`): ``start`` returns when the answer has ended. What the
    stream raises (Ctrl-C, a closed pipe) reaches the caller, and the answer is left unended."""

    def start(self, run: StreamRun, ended: Callable[[StreamResult], None]) -> None:
        ended(run.run())


class ThreadRunner:
    """Runs each stream on a thread and ends it there, for a host without an event loop: it waits for the end
    (``wait``) before it looks at the session again."""

    def __init__(self) -> None:
        self._threads: list[threading.Thread] = []

    def start(self, run: StreamRun, ended: Callable[[StreamResult], None]) -> None:
        thread = threading.Thread(target=lambda: ended(run.run()), name="answer-stream", daemon=True)
        self._threads.append(thread)
        thread.start()

    def wait(self, timeout: float = 30.0) -> bool:
        for thread in self._threads:
            thread.join(timeout)
        self._threads = [t for t in self._threads if t.is_alive()]
        return not self._threads


class Session:
    """One person's conversation with one backend at a time. ``store`` None keeps nothing (`glmv ask`)."""

    def __init__(
        self,
        backend: Backend | None,
        store: Store | None = None,
        *,
        options: GenerationOptions | None = None,
        system_prompt: str | None = None,
        runner: Runner | None = None,
        listener: SessionListener | None = None,
        on_event: Callable[[Event], None] | None = None,
        backend_error: str | None = None,
    ) -> None:
        """``on_event`` hears every event of every answer on the stream's thread (`glmv ask` prints them);
        ``backend_error`` says why ``backend`` is None."""
        self.backend = backend
        self.backend_error = backend_error
        self.store = store
        self.options = options or GenerationOptions()
        self.system_prompt = system_prompt
        self.runner: Runner = runner or InlineRunner()
        self.listener = listener or SessionListener()
        self.on_event = on_event
        self.conversation_id: str | None = None
        self.turns: list[Turn] = []
        self.editing: str | None = None  # the question being edited: sending replaces it and what follows
        self.run: StreamRun | None = None
        self.streaming: Turn | None = None  # the answer being written, shown or not
        self.stream_conversation: str | None = None
        # Retry and Regenerate: the answer a new one replaces, by the new one's id, back if the new one gets nothing.
        self._replacing: dict[str, StoredMessage] = {}

    def use_settings(self, settings: Settings) -> None:
        self.options = settings.generation_options()
        self.system_prompt = settings.system_prompt or None

    def close(self) -> None:
        """Done with the backend: its connection (when it holds one) is closed."""
        if isinstance(self.backend, Closable):
            self.backend.close()

    # ------------------------------------------------------------------------------------------------ reading

    def is_streaming(self) -> bool:
        return self.run is not None

    def turn(self, message_id: str) -> Turn:
        return self.turns[self._index(message_id)]

    def _index(self, message_id: str) -> int:
        return next(i for i, t in enumerate(self.turns) if t.id == message_id)

    def shows(self, turn: Turn) -> bool:
        """Whether ``turn`` belongs to the conversation shown (turns are told apart by identity: a conversation
        opened again has new ones)."""
        return any(t is turn for t in self.turns)

    def request(self) -> Conversation:
        """What the backend gets for the next answer: the turns that go to the model, the last one the question
        (the backend keeps the last ``history_turns`` pairs of them)."""
        messages = [t.to_message() for t in self.turns if t.sent]
        return Conversation(messages=messages, system_prompt=self.system_prompt)

    def history_tokens(self) -> int:
        """What the earlier turns that go along with the next question cost, picked as the backend picks them
        (``recent_turns``); while a question is edited, only the turns before it."""
        turns = self.turns if self.editing is None else self.turns[: self._index(self.editing)]
        sent = [t for t in turns if t.sent]
        if not sent:
            return 0
        messages = [t.to_message() for t in sent]
        by_message = {id(m): t for m, t in zip(messages, sent, strict=True)}
        kept = recent_turns(Conversation([*messages, Message("user")]), self.options.history_turns)
        return sum(by_message[id(m)].tokens() for m in kept if id(m) in by_message)

    def budget(self, reports: list[MediaReport], text: str) -> MessageBudget | None:
        """The next question's cost (its attachments, its text, the history that goes with it) against the
        backend's context, with room kept for the answer; None without a backend."""
        if self.backend is None:
            return None
        reserve = min(self.options.max_tokens or DEFAULT_ANSWER_RESERVE, DEFAULT_ANSWER_RESERVE)
        return check_message(
            reports,
            text,
            self.backend.media_target,
            answer_reserve=reserve,
            history_tokens=self.history_tokens(),
            max_images=self.backend.capabilities.max_images,
        )

    # ------------------------------------------------------------------------------------------------ conversations

    def new_chat(self) -> None:
        """An empty conversation, made in the history when its first question is sent. An answer still
        streaming goes on, and is saved, in the background."""
        self.editing = None
        self.conversation_id = None
        self.turns = []
        if self.store is not None:
            self.store.set_last_opened(None)
        self.listener.conversation_shown()

    def is_open(self, conversation_id: str) -> bool:
        return conversation_id == self.conversation_id and bool(self.turns)

    def open(self, conversation_id: str) -> None:
        """Shows a conversation from the history; a failure its last answer ended with is said again."""
        assert self.store is not None, "a session without a history has no conversations to open"
        messages = self.store.messages(conversation_id)
        self.editing = None
        self.conversation_id = conversation_id
        self.turns = [Turn.from_stored(m) for m in messages if m.role in ("user", "assistant")]
        self.listener.conversation_shown()
        last = messages[-1] if messages else None
        if last is not None and last.role == "assistant" and last.status == "failed" and last.error_message:
            self.listener.failure(last.error_kind or "model", last.error_message, True)
        self.store.set_last_opened(conversation_id)

    def delete(self, conversation_id: str) -> None:
        """The conversation, its answers and its attachment files go; an answer streaming into it stops."""
        if self.stream_conversation == conversation_id and self.run is not None:
            self.run.cancel.set()
        if self.store is not None:
            self.store.delete(conversation_id)

    def rename(self, conversation_id: str, title: str) -> None:
        if self.store is not None:
            self.store.rename(conversation_id, title)

    # ------------------------------------------------------------------------------------------------ asking

    def send(
        self,
        text: str,
        attachments: Sequence[Attachment | AttachmentRecord] = (),
        *,
        thinking: ThinkingChoice | None = None,
    ) -> Turn | None:
        """Asks ``text`` with ``attachments`` (in place of the question being edited, and of what followed it)
        and starts its answer, thinking as ``thinking`` says (None: as the settings do). Returns the answer's
        turn, or None when nothing was sent (why, the listener heard)."""
        if self.is_streaming():
            self.listener.remark(BUSY, 5000)
            return None
        if not text and not attachments:
            return None
        if self.backend is None:
            self.listener.failure("model", self.backend_error or NO_BACKEND, False)
            return None
        records = [as_record(a) for a in attachments]
        new = self.conversation_id is None
        if self.conversation_id is None:
            self.conversation_id = self._new_conversation()
        if self.editing is not None:
            question_id, self.editing = self.editing, None
            index = self._index(question_id)
            if self.store is not None:
                self.store.edit_question(
                    question_id, text, records, thinking.to_dict() if thinking is not None else None
                )
            dropped = self.turns[index:]
            del self.turns[index:]
            self.listener.turns_removed(dropped)
        else:
            question_id = self._add_message("user", text, records, thinking=thinking)
        question = Turn(question_id, "user", text, records, thinking_choice=thinking)
        self.turns.append(question)
        self.listener.turn_added(question)
        title = make_title(text, [r.name for r in records]) if new or len(self.turns) == 1 else None
        self.listener.conversation_touched(self.conversation_id, title)
        return self._start_answer()

    def stop(self) -> None:
        """The answer stops; what arrived is kept."""
        if self.run is not None:
            self.run.cancel.set()

    def retry(self) -> None:
        """Asks the last question again: its answer (failed or partial) is replaced."""
        if self.is_streaming() or not self.turns or self.backend is None:
            return
        question = next((t for t in reversed(self.turns) if t.role == "user"), None)
        if question is not None:
            self._answer_again(question.id)

    def regenerate(self, answer_id: str | None = None) -> None:
        """A new answer in place of ``answer_id`` (the last answer when None)."""
        if self.is_streaming():
            return
        answers = [t for t in self.turns if t.role == "assistant"]
        if answer_id is None and answers:
            answer_id = answers[-1].id
        if answer_id is None:
            return
        index = self._index(answer_id)
        question = next((t for t in reversed(self.turns[:index]) if t.role == "user"), None)
        if question is not None:
            self._answer_again(question.id)

    def begin_edit(self, question_id: str) -> Turn | None:
        """The question to edit (sending then replaces it and what follows it); None while an answer streams."""
        if self.is_streaming():
            self.listener.remark("Stop the answer before editing a question.", 5000)
            return None
        self.editing = question_id
        return self.turn(question_id)

    def end_edit(self) -> None:
        self.editing = None

    # ------------------------------------------------------------------------------------------------ answering

    def _answer_again(self, question_id: str) -> None:
        """A new answer to the question in place of the one after it, which is kept aside until the new one
        gets a word: if it fails before that, the old one (a partial answer the banner said was kept) is back."""
        if self.backend is None:
            self.listener.failure("model", self.backend_error or NO_BACKEND, False)
            return
        replaced = None
        if self.store is not None and self.conversation_id is not None:
            self.store.flush(5.0)
            stored = self.store.messages(self.conversation_id)
            index = next((i for i, m in enumerate(stored) if m.id == question_id), len(stored))
            replaced = next((m for m in stored[index + 1 :] if m.role == "assistant" and m.text), None)
        index = self._index(question_id)
        if self.store is not None:
            self.store.delete_after(question_id)
        dropped = self.turns[index + 1 :]
        del self.turns[index + 1 :]
        self.listener.turns_removed(dropped)
        self._start_answer(replacing=replaced)

    def thinking_for(self, question: Turn | None) -> tuple[GenerationOptions, ThinkingChoice]:
        """The options the answer to ``question`` is generated with, and how it is asked to think as the backend
        can follow it: the question's own choice, else the settings'."""
        assert self.backend is not None
        capabilities = self.backend.capabilities
        default = ThinkingChoice(self.options.thinking, self.options.thinking_budget)
        choice = question.thinking_choice if question is not None and question.thinking_choice else default
        return choice.applied(self.options, capabilities), choice.effective(capabilities)

    def _start_answer(self, replacing: StoredMessage | None = None) -> Turn:
        assert self.conversation_id is not None and self.backend is not None
        conversation = self.request()
        question = next((t for t in reversed(self.turns) if t.role == "user"), None)
        options, choice = self.thinking_for(question)
        model = self.backend.model or None
        answer_id = self._add_message(
            "assistant", status="streaming", backend=self.backend.name, model=model, thinking=choice
        )
        turn = Turn(answer_id, "assistant", status="streaming", model=model, thinking_choice=choice)
        if replacing is not None:
            self._replacing[answer_id] = replacing
        self.turns.append(turn)
        run = StreamRun(
            self.backend,
            conversation,
            options,
            self.store.stream_saver(answer_id) if self.store is not None else None,
            on_event=self.on_event,
        )
        self.run, self.streaming, self.stream_conversation = run, turn, self.conversation_id
        self.listener.answer_started(turn, run)
        self.runner.start(run, self._ended)
        return turn

    def _ended(self, result: StreamResult) -> None:
        turn, self.streaming, self.run = self.streaming, None, None
        assert turn is not None
        replaced = self._replacing.pop(turn.id, None)
        if not self.shows(turn):
            self.listener.answer_ended(None, result)
            return
        turn.text, turn.thinking, turn.status = result.text, result.thinking, result.status
        turn.thinking_seconds, turn.boxes = result.thinking_seconds, list(result.boxes)
        end = result.end
        if isinstance(end, Failed):
            turn.error_kind, turn.error_message = end.kind, end.message
        self.listener.answer_ended(turn, result)
        if result.status == "failed":
            assert isinstance(end, Failed)
            question = self.turns[self._index(turn.id) - 1]
            if not result.text:
                # Nothing arrived: the answer goes, and the one it was to replace comes back.
                if self.store is not None:
                    self.store.delete_after(question.id)
                self.turns.remove(turn)
                self.listener.turns_removed([turn])
                if replaced is not None:
                    self._restore(replaced)
            self.listener.failure(end.kind, end.message, True)
            if replaced is None and not result.text:
                self.listener.question_returned(question)
        elif result.status == "stopped" and result.while_preparing:
            self.listener.remark(
                "Stopped while the files were prepared: nothing was sent. The question is kept; Regenerate sends it.",
                8000,
            )
        elif result.status == "stopped":
            self.listener.remark("Stopped. The partial answer is kept.", 4000)

    def _restore(self, message: StoredMessage) -> None:
        """The answer a retry was to replace, saved and shown again: the retry got nothing."""
        assert self.store is not None and self.conversation_id is not None
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
        turn = Turn.from_stored(dataclasses.replace(message, id=message_id))
        self.turns.append(turn)
        self.listener.turn_added(turn)

    # ------------------------------------------------------------------------------------------------ history

    def _new_conversation(self) -> str:
        if self.store is None:
            return uuid.uuid4().hex
        conversation_id = self.store.new_conversation()
        self.store.set_last_opened(conversation_id)
        return conversation_id

    def _add_message(
        self,
        role: Role,
        text: str = "",
        attachments: Sequence[AttachmentRecord] = (),
        *,
        status: str = "done",
        backend: str | None = None,
        model: str | None = None,
        thinking: ThinkingChoice | None = None,
    ) -> str:
        if self.store is None:
            return uuid.uuid4().hex
        assert self.conversation_id is not None
        return self.store.add_message(
            self.conversation_id,
            role,
            text,
            attachments,
            status=status,
            backend=backend,
            model=model,
            thinking_choice=thinking.to_dict() if thinking is not None else None,
        )
