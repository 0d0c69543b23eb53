"""The engine's one thread: loading, warm-up and every request run on it, one after the other.

Everything that touches the model runs here, never on a fresh thread per answer: inductor's CUDA graph trees are
per thread, so graphs recorded at warm-up are replayed only on the thread that recorded them, and one thread in
order is also the job queue (batch 1) a server needs.
"""

from __future__ import annotations

import atexit
import logging
import queue
import threading
import weakref
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")
# How long the interpreter's exit waits for a task still running (an answer being generated) before leaving.
EXIT_WAIT_S = 10.0
_running: weakref.WeakSet[EngineThread] = weakref.WeakSet()


class EngineThread:
    def __init__(self, name: str = "glmv-engine", around: Callable[[Callable[[], None]], None] | None = None) -> None:
        """``around(task)`` runs each task (the engine puts torch's inference mode around them)."""
        self._tasks: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._around = around
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()
        _running.add(self)

    @property
    def ident(self) -> int | None:
        return self._thread.ident

    @property
    def thread(self) -> threading.Thread:
        return self._thread

    def is_current(self) -> bool:
        # The thread object, not its ident: Python gives an ended thread's ident to the next thread it starts.
        return threading.current_thread() is self._thread

    def post(self, task: Callable[[], None]) -> None:
        """Run ``task`` after everything posted before it; its exceptions are logged, not raised."""
        self._tasks.put(task)

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``fn`` on the thread and wait for its result (or its exception). Called from the thread itself,
        it runs at once: a task that calls back into the engine does not wait for itself."""
        if self.is_current():
            return fn(*args, **kwargs)
        future: Future[T] = Future()

        def task() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                future.set_result(fn(*args, **kwargs))
            except BaseException as e:
                future.set_exception(e)

        self.post(task)
        return future.result()

    def stop(self, timeout: float | None = None) -> None:
        """Finish what is queued, then end the thread."""
        self._tasks.put(None)
        if not self.is_current():
            self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            task = self._tasks.get()
            if task is None:
                return
            try:
                if self._around is not None:
                    self._around(task)
                else:
                    task()
            except BaseException:
                log.exception("engine task failed")


@atexit.register
def _stop_at_exit() -> None:
    """End the engine threads before the interpreter finalises: a daemon thread still inside torch's C++ code
    then is ended by pthread_exit, which aborts the process ("terminate called without an active exception")."""
    for thread in list(_running):
        thread.stop(EXIT_WAIT_S)
