"""Requests to the engine and what comes back: a ``Job`` per request, streaming ``JobEvent``s.

``Engine.submit`` queues a request and returns its ``Job`` at once. The engine thread runs jobs one at a time in
the order they came and reports each through events: ``Status`` (a wait the person should hear about, such as
compiling for a new size; an empty message ends it), ``Text`` (the next piece of the answer), then exactly one of
``Finished`` or ``Failed``. ``Job.cancel`` may be called from any thread at any time: a queued job ends at once,
a running one within two tokens.
"""

from __future__ import annotations

import itertools
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from glmv_local.chat import ChatMessage
from glmv_local.errors import GlmvLocalError


@dataclass(frozen=True)
class Request:
    """What to answer and how (see ``Engine.submit``)."""

    messages: list[ChatMessage]
    thinking: bool = True
    max_new_tokens: int = 4096
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    ignore_eos: bool = False
    thinking_budget: int | None = None  # at most this many tokens of thinking, then the block is closed
    seed: int | None = None  # torch's generator is seeded with it just before the first token is drawn


@dataclass(frozen=True, slots=True)
class Status:
    message: str


@dataclass(frozen=True, slots=True)
class Text:
    """A piece of the answer as generated (``<think>`` tags included when the model thinks; stop tokens not).
    ``tokens`` is how many tokens the answer has so far."""

    text: str
    tokens: int


@dataclass(frozen=True, slots=True)
class Stats:
    """Counts and seconds of one job. ``first_token_s`` runs from ``submit`` to the first token on the host;
    ``preprocess_s``, ``vision_s`` and ``prefill_s`` are its parts on the engine thread (device time on CUDA)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    bucket: int = 0
    queued_s: float = 0.0
    preprocess_s: float = 0.0
    vision_s: float = 0.0
    prefill_s: float = 0.0
    first_token_s: float | None = None
    decode_s: float = 0.0
    seconds: float = 0.0

    @property
    def decode_tokens_per_s(self) -> float:
        steps = self.completion_tokens - 1
        return steps / self.decode_s if steps > 0 and self.decode_s > 0 else 0.0


@dataclass(frozen=True, slots=True)
class Finished:
    """``reason``: ``stop`` (a stop token), ``length`` (``max_new_tokens`` reached) or ``cancelled``."""

    reason: str
    stats: Stats


@dataclass(frozen=True, slots=True)
class Failed:
    error: GlmvLocalError
    stats: Stats = field(default_factory=Stats)


JobEvent = Status | Text | Finished | Failed
_ids = itertools.count(1)


class Job:
    """One request's handle. Read its events with ``events()`` (one reader), or pass ``on_event`` to ``submit``
    to have each event handed over as it happens instead: it is then called on the engine thread (or, for a job
    cancelled while queued, on the cancelling thread) and must not block, e.g. ``loop.call_soon_threadsafe``."""

    def __init__(
        self,
        request: Request,
        cancel: threading.Event | None = None,
        on_event: Callable[[JobEvent], None] | None = None,
    ) -> None:
        self.id = next(_ids)
        self.request = request
        self.submitted_at = time.perf_counter()
        self.prompt_tokens = 0
        self.tokens = 0  # answer tokens so far, written by the engine thread
        self.token_ids: list[int] = []  # the answer's token ids (the stop token included), as generated
        self.cancel_event = cancel or threading.Event()
        self._on_event = on_event
        self._queue: queue.SimpleQueue[JobEvent] | None = None if on_event else queue.SimpleQueue()
        self._lock = threading.Lock()
        self._state = "queued"  # -> running -> done
        self.outcome: Finished | Failed | None = None

    @property
    def cancelled(self) -> bool:
        return self.cancel_event.is_set()

    @property
    def done(self) -> bool:
        return self._state == "done"

    def cancel(self) -> None:
        self.cancel_event.set()
        with self._lock:
            if self._state != "queued":
                return
            self._state = "done"
        self._finish(Finished("cancelled", Stats(queued_s=time.perf_counter() - self.submitted_at)))

    def events(self, timeout: float | None = None) -> Iterator[JobEvent]:
        """Every event up to and including the final ``Finished`` or ``Failed``. ``timeout`` bounds the wait for
        each one (``queue.Empty`` when it passes)."""
        if self._queue is None:
            raise RuntimeError("this job hands its events to on_event")
        while True:
            event = self._queue.get(timeout=timeout)
            yield event
            if isinstance(event, Finished | Failed):
                return

    # The engine's side

    def start(self) -> bool:
        """queued -> running; False if it was cancelled meanwhile (and has finished)."""
        with self._lock:
            if self._state != "queued":
                return False
            if self.cancel_event.is_set():
                self._state = "done"
                cancelled = True
            else:
                self._state = "running"
                cancelled = False
        if cancelled:
            self._finish(Finished("cancelled", Stats(queued_s=time.perf_counter() - self.submitted_at)))
        return not cancelled

    def emit(self, event: JobEvent) -> None:
        if self._on_event is not None:
            self._on_event(event)
        else:
            assert self._queue is not None
            self._queue.put(event)

    def finish(self, event: Finished | Failed) -> None:
        with self._lock:
            self._state = "done"
        self._finish(event)

    def _finish(self, event: Finished | Failed) -> None:
        self.outcome = event
        self.emit(event)
