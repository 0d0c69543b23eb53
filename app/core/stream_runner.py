"""One answer being generated, as plain Python: consumes a backend's events on a worker thread.

It keeps what arrived (for saving and for the final render), buffers the pieces not yet shown (the window
drains them about 30 times a second, so a fast stream never floods the Qt event loop with one signal per token),
saves the answer while it streams, and renders the finished answer's Markdown on the worker so the window only
has to lay it out. `glmv ask` hears each event as it comes instead (``on_event``), and renders nothing. No Qt
here: the Qt bridge is ``app.ui.workers.StreamThread``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from app.core.backends.base import Backend, GenerationOptions
from app.core.conversation import Conversation
from app.core.events import Answer, Boxes, Done, Event, Failed, Preparing, Thinking
from app.core.grounding import groups_to_json
from app.core.store import StreamSaver

log = logging.getLogger(__name__)


@dataclass
class StreamResult:
    """How the stream ended. ``status`` is the saved message status: done, stopped or failed."""

    status: str
    text: str
    thinking: str
    thinking_seconds: float | None
    end: Done | Failed
    boxes: list[Boxes] = field(default_factory=list)
    while_preparing: bool = False  # it ended while the attachments were prepared: nothing was sent


class StreamRun:
    def __init__(
        self,
        backend: Backend,
        conversation: Conversation,
        options: GenerationOptions,
        saver: StreamSaver | None = None,
        *,
        on_event: Callable[[Event], None] | None = None,
    ) -> None:
        """``on_event`` hears every event on the stream's thread, the end too (also one made up here when the
        backend gave none); what it raises ends the run and reaches the caller of ``run``."""
        self.backend = backend
        self.conversation = conversation
        self.options = options
        self.saver = saver
        self.on_event = on_event
        self.cancel = threading.Event()
        self._lock = threading.Lock()
        self._pending_thinking: list[str] = []
        self._pending_answer: list[str] = []
        self._thinking: list[str] = []
        self._answer: list[str] = []
        self._boxes: list[Boxes] = []
        self._pending_boxes: list[Boxes] = []
        self.thinking_started: float | None = None
        self.thinking_ended: float | None = None
        self.result: StreamResult | None = None
        self.preparing = ""  # what the backend says it prepares before sending; empty when it does not

    def drain(self) -> tuple[str, str]:
        """The thinking and answer text that arrived since the last call."""
        with self._lock:
            thinking = "".join(self._pending_thinking)
            answer = "".join(self._pending_answer)
            self._pending_thinking.clear()
            self._pending_answer.clear()
        return thinking, answer

    def drain_boxes(self) -> list[Boxes]:
        """The box groups that arrived since the last call, in order."""
        with self._lock:
            groups, self._pending_boxes = self._pending_boxes, []
        return groups

    def thinking_seconds(self) -> float | None:
        if self.thinking_started is None:
            return None
        end = self.thinking_ended if self.thinking_ended is not None else time.monotonic()
        return end - self.thinking_started

    def _events(self) -> Iterator[Event]:
        """The backend's events; a backend bug must not take the window down, so what it raises ends the
        stream with a failure that says what happened."""
        try:
            yield from self.backend.stream(self.conversation, self.options, self.cancel)
        except Exception as e:
            log.exception("backend stream raised")
            yield Failed("model", f"The backend stopped with an internal error: {type(e).__name__}: {e}")

    def run(self) -> StreamResult:
        end: Done | Failed | None = None
        for event in self._events():
            if self.on_event is not None:
                self.on_event(event)
            if isinstance(event, Preparing):
                self.preparing = event.text
                continue
            if not isinstance(event, (Done, Failed)):
                self.preparing = ""
            if isinstance(event, Thinking):
                with self._lock:
                    if self.thinking_started is None:
                        self.thinking_started = time.monotonic()
                    self._thinking.append(event.text)
                    self._pending_thinking.append(event.text)
            elif isinstance(event, Answer):
                with self._lock:
                    if self.thinking_started is not None and self.thinking_ended is None:
                        self.thinking_ended = time.monotonic()
                    self._answer.append(event.text)
                    self._pending_answer.append(event.text)
            elif isinstance(event, Boxes):
                with self._lock:
                    self._boxes.append(event)
                    self._pending_boxes.append(event)
            elif isinstance(event, (Done, Failed)):
                end = event
                break
            if self.saver is not None and self.saver.due():
                self.saver.save("".join(self._answer), "".join(self._thinking))
        if end is None:
            end = (
                Failed("cancelled", "Stopped.")
                if self.cancel.is_set()
                else Failed("network", "The answer ended without a finish signal; it may be incomplete. Retry.")
            )
            if self.on_event is not None:
                self.on_event(end)
        while_preparing, self.preparing = bool(self.preparing), ""
        if self.thinking_started is not None and self.thinking_ended is None:
            self.thinking_ended = time.monotonic()
        text, thinking = "".join(self._answer), "".join(self._thinking)
        if isinstance(end, Done):
            status = "done"
        elif end.kind == "cancelled":
            status = "stopped"
        else:
            status = "failed"
        result = StreamResult(
            status, text, thinking, self.thinking_seconds(), end, self._boxes, while_preparing=while_preparing
        )
        if self.saver is not None:
            info: dict = {"thinking_seconds": result.thinking_seconds, "boxes": groups_to_json(self._boxes) or None}
            if isinstance(end, Done):
                info.update(finish_reason=end.finish_reason or "stop", usage=end.usage or None)
            else:
                info.update(finish_reason=end.kind, error_kind=end.kind, error_message=end.message)
            self.saver.finish(text, thinking, status, **info)
        self.result = result
        return result
