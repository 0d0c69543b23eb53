"""Handing work from any thread to the Qt thread without pushing Python objects through Qt's marshalling.

A queued ``Signal(object, ...)`` emitted from a plain ``threading.Thread`` makes Qt copy and later release
Python references on two threads; PySide6 has had reference-count defects exactly there. Here the callables
and their values stay in a Python queue, and the only thing that crosses into Qt is an argument-less signal
that wakes the Qt thread to drain it.
"""

from __future__ import annotations

import contextlib
import logging
import queue
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal, Slot

log = logging.getLogger(__name__)


class Handover(QObject):
    """``post(fn, *args)`` from any thread; ``fn(*args)`` then runs on the thread this object lives in (the Qt
    thread), in the order posted. An exception from ``fn`` is logged and does not stop the ones after it."""

    _wake = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._queue: queue.SimpleQueue[tuple[Callable[..., object], tuple[Any, ...]]] = queue.SimpleQueue()
        self._wake.connect(self._drain, Qt.ConnectionType.QueuedConnection)

    def post(self, fn: Callable[..., object], *args: Any) -> None:
        self._queue.put((fn, args))
        # RuntimeError: this object was deleted with the window; nobody is left to run the work.
        with contextlib.suppress(RuntimeError):
            self._wake.emit()

    @Slot()
    def _drain(self) -> None:
        while True:
            try:
                fn, args = self._queue.get_nowait()
            except queue.Empty:
                return
            try:
                fn(*args)
            except Exception:
                log.exception("work handed to the Qt thread failed")
