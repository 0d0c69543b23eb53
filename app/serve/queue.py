"""The server's requests in line for the one engine: batch 1, first come first served, bounded.

``EngineQueue`` hands the engine one request at a time (the next when the one before has ended), so the line is
the server's own: it knows exactly how many wait (the window's status bar shows it, ``--max-queue`` bounds it),
a waiting request whose client goes away simply leaves the line, and a request's ``seed`` goes with its job (the
engine seeds the generator just before the first token, so a window question in between cannot move it). A
running request is cancelled through its job (``Job.cancel``), which stops within two tokens. The window's own
questions, when it shares its model, go to the engine directly and take turns with these.
"""

from __future__ import annotations

import itertools
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable

from app.core.errors import AppError
from app.core.events import FailureKind
from glmv_local import jobs
from glmv_local.engine import Engine
from glmv_local.errors import GlmvLocalError

log = logging.getLogger(__name__)
# Until requests have been timed, a request is taken to last this long (for Retry-After).
FIRST_GUESS_S = 10.0
MAX_RETRY_AFTER_S = 120
_ids = itertools.count(1)


class QueueFull(AppError):
    kind: FailureKind = "rate_limit"
    retryable = True

    def __init__(self, waiting: int, retry_after: int) -> None:
        super().__init__(f"{waiting} requests are already waiting")
        self.waiting = waiting
        self.retry_after = retry_after


class QueueClosed(AppError):
    """The server is shutting down."""

    kind: FailureKind = "server"


class NotLoaded(GlmvLocalError):
    """The shared engine has no model loaded (the window is loading one, or has unloaded it)."""


class Ticket:
    """One request's place in line. ``deliver`` gets the job's events (on the engine thread, or on the thread
    that cancels a waiting ticket): it must not block."""

    def __init__(self, line: EngineQueue, work: jobs.Request, deliver: Callable[[jobs.JobEvent], None]) -> None:
        self.id = next(_ids)
        self.work = work
        self.deliver = deliver
        self.cancel_event = threading.Event()
        self.job: jobs.Job | None = None
        self.state = "waiting"  # -> running -> done
        self.ended = threading.Event()
        self.finished = False  # its last event has been handed over: nothing left to cancel
        self.cancelled_at: int | None = None  # answer tokens when it was cancelled while running
        self.cancel_reason = ""
        self.on_end: list[Callable[[], None]] = []
        self._line = line

    def cancel(self, reason: str = "cancelled") -> None:
        """From any thread: leave the line, or stop the running job within two tokens. Idempotent."""
        self._line._cancel(self, reason)

    def _end(self) -> None:
        for callback in self.on_end:
            try:
                callback()
            except Exception:
                log.exception("cleaning up after request %s failed", self.id)
        self.on_end.clear()
        self.ended.set()


class EngineQueue:
    def __init__(self, engine: Engine, max_waiting: int | None = None) -> None:
        self.engine = engine
        self.max_waiting = max_waiting
        self._cond = threading.Condition()
        self._line: deque[Ticket] = deque()
        self._running: Ticket | None = None
        self._closed = False
        self._average_s = FIRST_GUESS_S
        self._timed = 0
        self._thread = threading.Thread(target=self._dispatch, name="glmv-serve-queue", daemon=True)
        self._thread.start()

    @property
    def waiting(self) -> int:
        """Requests in line behind the one the engine has (the status bar's "N waiting")."""
        with self._cond:
            return max(0, len(self._line) + (self._running is not None) - 1)

    @property
    def running(self) -> bool:
        with self._cond:
            return self._running is not None

    def retry_after(self) -> int:
        """Seconds until a place is likely free: the line ahead times a request's average length."""
        with self._cond:
            ahead = len(self._line) + (self._running is not None)
            return max(1, min(MAX_RETRY_AFTER_S, math.ceil(self._average_s * max(1, ahead))))

    def submit(
        self,
        work: jobs.Request,
        deliver: Callable[[jobs.JobEvent], None],
        on_end: Callable[[], None] | None = None,
    ) -> Ticket:
        """A place in line; ``QueueFull`` when ``max_waiting`` requests already wait behind a running one.
        ``on_end`` runs once the request is over (its job ended, or it left the line)."""
        ticket = Ticket(self, work, deliver)
        if on_end is not None:
            ticket.on_end.append(on_end)
        with self._cond:
            if self._closed:
                raise QueueClosed("the server is shutting down")
            in_flight = len(self._line) + (self._running is not None)
            if self.max_waiting is not None and in_flight > self.max_waiting:
                waiting = in_flight - 1
                ahead = in_flight
                retry = max(1, min(MAX_RETRY_AFTER_S, math.ceil(self._average_s * ahead)))
                raise QueueFull(waiting, retry)
            self._line.append(ticket)
            self._cond.notify()
        return ticket

    def close(self, timeout: float = 10.0) -> None:
        """Refuse new requests, cancel the waiting ones and the running one, and end the dispatcher."""
        with self._cond:
            self._closed = True
            waiting = list(self._line)
            running = self._running
            self._cond.notify_all()
        for ticket in waiting:
            ticket.cancel("the server is shutting down")
        if running is not None:
            running.cancel("the server is shutting down")
        self._thread.join(timeout)

    # The dispatcher thread

    def _dispatch(self) -> None:
        while True:
            with self._cond:
                while not self._line and not self._closed:
                    self._cond.wait()
                if not self._line:
                    return
                ticket = self._line.popleft()
                ticket.state = "running"
                self._running = ticket
            started = time.perf_counter()
            try:
                self._serve(ticket)
            except Exception as e:  # never leave a client waiting for an end that does not come
                log.exception("request %s failed", ticket.id)
                ticket.deliver(jobs.Failed(GlmvLocalError(f"the server failed: {type(e).__name__}: {e}")))
            finally:
                seconds = time.perf_counter() - started
                with self._cond:
                    self._running = None
                    ticket.state = "done"
                    if not ticket.cancel_event.is_set():
                        self._timed += 1
                        weight = 1.0 / min(self._timed, 8)
                        self._average_s += weight * (seconds - self._average_s)
                ticket._end()

    def _serve(self, ticket: Ticket) -> None:
        work = ticket.work
        if ticket.cancel_event.is_set():
            ticket.deliver(jobs.Finished("cancelled", jobs.Stats()))
            return
        if not self.engine.is_loaded:
            ticket.deliver(jobs.Failed(NotLoaded("the model is not loaded (it is loading, or was unloaded)")))
            return
        ended = threading.Event()

        def on_event(event: jobs.JobEvent) -> None:
            final = isinstance(event, jobs.Finished | jobs.Failed)
            if final:
                with self._cond:
                    ticket.finished = True
            ticket.deliver(event)
            if final:
                ended.set()

        try:
            job = self.engine.submit(
                work.messages,
                thinking=work.thinking,
                max_new_tokens=work.max_new_tokens,
                temperature=work.temperature,
                top_p=work.top_p,
                top_k=work.top_k,
                ignore_eos=work.ignore_eos,
                cancel=ticket.cancel_event,
                on_event=on_event,
                thinking_budget=work.thinking_budget,
                seed=work.seed,
            )
        except GlmvLocalError as e:
            ticket.deliver(jobs.Failed(e))
            return
        ticket.job = job
        if ticket.cancel_event.is_set():
            job.cancel()
        ended.wait()
        outcome = job.outcome
        if ticket.cancelled_at is not None and isinstance(outcome, jobs.Finished):
            log.info(
                "request %s: %s at token %d; generation stopped at token %d",
                ticket.id,
                ticket.cancel_reason,
                ticket.cancelled_at,
                outcome.stats.completion_tokens or job.tokens,
            )

    def _cancel(self, ticket: Ticket, reason: str) -> None:
        with self._cond:
            if ticket.cancel_event.is_set() or ticket.state == "done" or ticket.finished:
                return
            ticket.cancel_event.set()
            ticket.cancel_reason = reason
            left_line = ticket.state == "waiting"
            if left_line:
                self._line.remove(ticket)
                ticket.state = "done"
            else:
                job = ticket.job
                ticket.cancelled_at = job.tokens if job is not None else 0
        if left_line:
            log.info("request %s: %s while waiting", ticket.id, reason)
            ticket.deliver(jobs.Finished("cancelled", jobs.Stats()))
            ticket._end()
        elif ticket.job is not None:
            ticket.job.cancel()
