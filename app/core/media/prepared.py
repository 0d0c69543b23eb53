"""Attachments already prepared, kept so that sending a question does not prepare its files again.

The window's attachment chips prepare each file as it is attached (for the thumbnail, pages and token count);
the backend needs the very same parts when the question is sent, and a long PDF or a deck through LibreOffice
takes seconds. A report is kept for the file as it was (device, inode, size, modification time), the choices
that shape it (kind, pages, password, text layer) and the target's limits, so a changed file or setting is
prepared again. The encoded parts held are bounded in bytes, least recently used first out.

A file still being prepared (Enter pressed while its chip reads it) is waited for, not prepared a second time
beside it: ``Underway`` carries what the first preparation last said, and its report when it ends.
"""

from __future__ import annotations

import dataclasses
import os
import threading
from collections import OrderedDict
from collections.abc import Hashable
from pathlib import Path

from app.core.conversation import Attachment
from app.core.media.parts import ImagePart, MediaReport, MediaTarget, TextPart

# A question's images are bounded by the context (128K tokens is about 30 MB of encoded pages); this holds the
# question being written and the turns before it, not every file ever attached.
MAX_BYTES = 128 * 2**20


def size_of(report: MediaReport) -> int:
    """The bytes a report holds: its encoded images and its text."""
    total = 0
    for part in report.parts:
        if isinstance(part, ImagePart):
            total += len(part.data)
        elif isinstance(part, TextPart):
            total += len(part.text)
    return total


def key_of(attachment: Attachment, kind: str, target: MediaTarget) -> Hashable | None:
    """What a report depends on; None when the file cannot be looked at (then nothing is kept or found)."""
    try:
        st = os.stat(attachment.path)
    except OSError:
        return None
    file = (str(Path(attachment.path)), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
    return (file, kind, attachment.pages, attachment.password, attachment.text_layer, target)


def copy_report(report: MediaReport) -> MediaReport:
    """Parts are frozen and shared; the lists are the caller's to change."""
    return dataclasses.replace(
        report,
        parts=list(report.parts),
        warnings=list(report.warnings),
        pages_used=list(report.pages_used) if report.pages_used is not None else None,
        pages_chosen=list(report.pages_chosen) if report.pages_chosen is not None else None,
    )


class Underway:
    """One preparation in progress, as those waiting for it see it."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.said: str | None = None
        self.report: MediaReport | None = None  # None once done: it failed, and each waiter tries for itself


class PreparedCache:
    def __init__(self, max_bytes: int = MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self._reports: OrderedDict[Hashable, tuple[MediaReport, int]] = OrderedDict()
        self._underway: dict[Hashable, Underway] = {}
        self._bytes = 0
        self._lock = threading.Lock()

    def start(self, key: Hashable | None) -> tuple[Underway, bool]:
        """The preparation of ``key`` under way, and whether the caller is the one to do it (then it must call
        ``finish``); otherwise it waits for the one that is."""
        with self._lock:
            found = self._underway.get(key) if key is not None else None
            if found is not None:
                return found, False
            underway = Underway()
            if key is not None:
                self._underway[key] = underway
            return underway, True

    def finish(self, key: Hashable | None, underway: Underway, report: MediaReport | None) -> None:
        """The preparation ended, with its report or (failed, cancelled) without; waiters wake."""
        if report is not None:
            self.put(key, report)
            underway.report = copy_report(report)
        with self._lock:
            if key is not None and self._underway.get(key) is underway:
                del self._underway[key]
        underway.done.set()

    @property
    def bytes(self) -> int:
        return self._bytes

    def preparing(self) -> int:
        """How many preparations are under way now."""
        with self._lock:
            return len(self._underway)

    def get(self, key: Hashable | None) -> MediaReport | None:
        if key is None:
            return None
        with self._lock:
            found = self._reports.get(key)
            if found is None:
                return None
            self._reports.move_to_end(key)
            return copy_report(found[0])

    def put(self, key: Hashable | None, report: MediaReport) -> None:
        size = size_of(report)
        if key is None or size > self.max_bytes:
            return
        with self._lock:
            old = self._reports.pop(key, None)
            if old is not None:
                self._bytes -= old[1]
            self._reports[key] = (copy_report(report), size)
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, (_, dropped) = self._reports.popitem(last=False)
                self._bytes -= dropped

    def clear(self) -> None:
        with self._lock:
            self._reports.clear()
            self._bytes = 0


SHARED = PreparedCache()
"""The one the window's chips and the backends share."""
