"""The session's callbacks as Qt signals: the window's widgets connect to these, the session knows no Qt.

Every call arrives on the Qt thread (the window's runner, ``workers.QtRunner``, hands each stream's end back
there), so the signals are delivered at once, in order.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from app.core.session import SessionListener, Turn
from app.core.stream_runner import StreamResult, StreamRun


class SessionSignals(QObject, SessionListener):
    shown = Signal()  # another conversation is shown: session.turns
    added = Signal(object)  # Turn
    removed = Signal(object)  # list[Turn]
    started = Signal(object, object)  # Turn, StreamRun
    ended = Signal(object, object)  # Turn or None, StreamResult
    failed = Signal(str, str, bool)  # kind, message, retryable
    notice = Signal(str, int)  # text, milliseconds
    touched = Signal(str, object)  # conversation id, its new title or None
    returned = Signal(object)  # Turn: a question that got nothing

    def conversation_shown(self) -> None:
        self.shown.emit()

    def turn_added(self, turn: Turn) -> None:
        self.added.emit(turn)

    def turns_removed(self, turns: list[Turn]) -> None:
        self.removed.emit(turns)

    def answer_started(self, turn: Turn, run: StreamRun) -> None:
        self.started.emit(turn, run)

    def answer_ended(self, turn: Turn | None, result: StreamResult) -> None:
        self.ended.emit(turn, result)

    def failure(self, kind: str, message: str, retryable: bool) -> None:
        self.failed.emit(kind, message, retryable)

    def remark(self, text: str, milliseconds: int) -> None:
        self.notice.emit(text, milliseconds)

    def conversation_touched(self, conversation_id: str, title: str | None) -> None:
        self.touched.emit(conversation_id, title)

    def question_returned(self, turn: Turn) -> None:
        self.returned.emit(turn)
