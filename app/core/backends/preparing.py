"""A request's attachments prepared off the stream's thread, for every backend.

Preparing a long PDF or converting a deck with LibreOffice takes seconds. ``prepared`` runs the backend's own
build (a request body for a server, the engine's messages for the local model) on a thread of its own, so the
stream can say what is being prepared ("Preparing book.pdf, page 40 of 85…") and end at once when the person
stops: the build stops at its next page on its own.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Generator
from typing import Generic, TypeVar

from app.core.events import Event, Failed, Preparing
from app.core.media import MediaCancelled, MediaError, Progress

CANCEL_POLL_S = 0.05
T = TypeVar("T")


def cancelled() -> Failed:
    return Failed("cancelled", "stopped; what arrived is kept")


def prepared(build: Callable[[Progress], T], cancel: threading.Event) -> Generator[Event, None, T | Failed]:
    """Yields ``Preparing`` as ``build(progress)`` says where it is (and ``Preparing("")`` once it is done), and
    returns what it built, or the ``Failed`` the stream ends with: cancelled, or what is wrong with a file.
    Anything else ``build`` raises is raised here."""
    preparation = _Preparation(build)
    preparation.start()
    said = None
    while not preparation.done.wait(CANCEL_POLL_S):
        if cancel.is_set():
            return cancelled()
        if preparation.said != said:
            said = preparation.said
            yield Preparing(said or "")
    if cancel.is_set() or isinstance(preparation.error, MediaCancelled):
        return cancelled()
    if said is not None:
        yield Preparing("")
    if isinstance(preparation.error, MediaError):
        return Failed("input", str(preparation.error))
    if preparation.error is not None:
        raise preparation.error
    return preparation.result  # type: ignore[return-value]  # set when build returned


class _Preparation(threading.Thread, Generic[T]):
    def __init__(self, build: Callable[[Progress], T]) -> None:
        super().__init__(name="glmv-prepare", daemon=True)
        self._build = build
        self.done = threading.Event()
        self.said: str | None = None
        self.result: T | None = None
        self.error: Exception | None = None

    def _hear(self, text: str) -> None:
        self.said = text

    def run(self) -> None:
        try:
            self.result = self._build(self._hear)
        except Exception as e:
            self.error = e
        finally:
            self.done.set()
