"""Work off the Qt thread, results back as signals.

``StreamThread`` runs a ``StreamRun`` (plain Python) and signals when it ends; ``QtRunner`` runs the session's
streams on them. ``Tasks`` runs any function
on a thread and delivers its result or error to a callback on the Qt thread, like Anki's
``run_in_background``: the caller says what runs, what happens on success and on failure, and never touches
widgets off the Qt thread. Both are tracked so tests (and closing the window) can wait for them.

Neither carries Python objects through a queued signal: results cross to the Qt thread in a Python queue
(``Handover``), and the stream's result stays on its ``StreamRun``, read once the thread has signalled.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal

from app.core.stream_runner import StreamResult, StreamRun
from app.ui.handover import Handover

log = logging.getLogger(__name__)


class StreamThread(QThread):
    ended = Signal()  # the result is run_.result

    def __init__(self, run: StreamRun, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.run_ = run

    def run(self) -> None:
        self.run_.run()
        self.ended.emit()

    @property
    def result(self) -> StreamResult:
        assert self.run_.result is not None, "read before the run ended"
        return self.run_.result


class QtRunner:
    """The session's runner in the window: each answer's stream on a ``StreamThread``, its end handed back to
    the session on the Qt thread. The threads are kept until they finish, so closing can wait for them."""

    def __init__(self, parent: QObject) -> None:
        self.parent = parent
        self.threads: list[StreamThread] = []

    def start(self, run: StreamRun, ended: Callable[[StreamResult], None]) -> None:
        thread = StreamThread(run, self.parent)
        # A slot without a receiver runs in the thread the QThread object lives in: this one.
        thread.ended.connect(lambda: self._ended(thread, ended))
        self.threads.append(thread)
        thread.start()

    def _ended(self, thread: StreamThread, ended: Callable[[StreamResult], None]) -> None:
        thread.wait(2000)
        if thread in self.threads:
            self.threads.remove(thread)
        thread.deleteLater()
        ended(thread.result)

    def wait(self, timeout: float) -> bool:
        ok = True
        for thread in list(self.threads):
            ok = thread.wait(int(timeout * 1000)) and ok
        return ok


class Tasks(QObject):
    """Background jobs with callbacks on the Qt thread."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._handover = Handover(self)
        self._threads: set[threading.Thread] = set()
        self._lock = threading.Lock()

    def run(
        self,
        fn: Callable[[], Any],
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
        name: str = "task",
    ) -> None:
        def target() -> None:
            try:
                value = fn()
            except Exception as e:
                log.debug("background %s failed: %s", name, e)
                self._emit(on_error, None, e)
            else:
                self._emit(on_done, value, None)
            finally:
                with self._lock:
                    self._threads.discard(threading.current_thread())

        thread = threading.Thread(target=target, name=name, daemon=True)
        with self._lock:
            self._threads.add(thread)
        thread.start()

    def run_reporting(
        self,
        fn: Callable[[Callable[[Any], None]], Any],
        on_progress: Callable[[Any], None],
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
        name: str = "task",
        every: float = 0.1,
        step: Callable[[Any], object] | None = None,
    ) -> None:
        """``run`` for long jobs that say how far they are: ``fn`` gets a ``report(value)`` to call from its
        thread, and ``on_progress`` sees a value at most every ``every`` seconds, so a download reporting each
        chunk cannot flood the Qt thread; a value whose ``step`` differs from the last one shown (a new stage of
        loading) always goes through. ``on_done`` (or ``on_error``) comes after the last report."""
        last: list[Any] = [0.0, object()]

        def report(value: Any) -> None:
            now = time.monotonic()
            current = step(value) if step is not None else None
            if now - last[0] >= every or (step is not None and current != last[1]):
                last[0], last[1] = now, current
                self._emit(on_progress, value, None)

        self.run(lambda: fn(report), on_done, on_error, name=name)

    def _emit(self, callback: Callable | None, value: Any, error: BaseException | None) -> None:
        self._handover.post(self._deliver, callback, value, error)

    def _deliver(self, callback: Callable | None, value: Any, error: BaseException | None) -> None:
        if callback is not None:
            callback(error if error is not None else value)

    def wait(self, timeout: float = 10.0) -> bool:
        """Wait for every job (the callbacks still need the event loop to run)."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                threads = list(self._threads)
            if not threads:
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            threads[0].join(remaining)
