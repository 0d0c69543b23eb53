"""Attachments -> model parts, within the model's token budget.

``prepare(attachment, target)`` is the one entry: it detects the kind from the content and hands the file to
the module for that kind (images, pdf, slides, video, text). Each module exposes
``prepare(attachment, target, report) -> None`` filling ``report.parts`` and raising ``MediaError`` for input
it cannot use.

Long work says where it stands: ``prepare`` takes a ``progress`` listener, and the handlers call ``step`` between
pages, slides and frames, where they already looked at ``cancel``.
"""

from __future__ import annotations

import contextvars
import importlib
import threading
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

from app.core.conversation import Attachment
from app.core.errors import AppError
from app.core.file_kinds import FILE_KINDS
from app.core.media.kinds import access_problem, detect_kind
from app.core.media.parts import ImagePart, MediaReport, MediaTarget, Part, TextPart, VideoPart
from app.core.media.prepared import PreparedCache, Underway, copy_report, key_of

__all__ = [
    "ImagePart",
    "MediaCancelled",
    "MediaError",
    "MediaReport",
    "MediaTarget",
    "Part",
    "Progress",
    "TextPart",
    "VideoPart",
    "prepare",
    "step",
]

Progress = Callable[[str], None]
"""Told what is being prepared, as a person reads it: "Preparing book.pdf, page 40 of 85…"."""

# The listener of the ``prepare`` running on this thread: the handlers report through ``step`` without every
# signature between ``prepare`` and a page loop carrying it.
_listener: contextvars.ContextVar[Callable[[str], None] | None] = contextvars.ContextVar("media_progress", default=None)

# kind -> module under app.core.media that handles it (imported on first use: pymupdf, pptx, cv2 are slow).
HANDLERS = {kind.name: kind.handler for kind in FILE_KINDS}


class MediaError(AppError):
    """An attachment that cannot become model input. The message says what is wrong and what to do."""


class MediaCancelled(MediaError):
    """The person cancelled while the attachment was being converted or rendered."""

    kind = "cancelled"


def check_cancel(cancel: threading.Event | None, name: str) -> None:
    """Called between pages, frames and conversion steps so a cancel takes effect within one of them."""
    if cancel is not None and cancel.is_set():
        raise MediaCancelled(f"{name}: preparing the attachment was cancelled")


def step(cancel: threading.Event | None, name: str, detail: str, *, check: bool = True) -> None:
    """One step of long work begins ("page 3 of 85"): a cancel takes effect here (unless ``check`` is False, for
    a step that watches ``cancel`` itself) and the listener of ``prepare`` hears of it."""
    if check:
        check_cancel(cancel, name)
    listener = _listener.get()
    if listener is not None:
        listener(detail)


def prepare(
    attachment: Attachment,
    target: MediaTarget,
    *,
    cancel: threading.Event | None = None,
    progress: Progress | None = None,
    cache: PreparedCache | None = None,
) -> MediaReport:
    """What ``attachment`` becomes for ``target``. Setting ``cancel`` stops long work (LibreOffice conversion,
    page rendering, frame sampling) and raises ``MediaCancelled``. ``progress`` hears what is being prepared.
    ``cache`` gives back what it holds for this file as it is now and keeps what is prepared."""
    path = Path(attachment.path)
    problem = access_problem(path, attached=True)
    if problem is not None:
        raise MediaError(f"{path}: {problem}")
    if path.is_dir():
        raise MediaError(f"{path}: is a folder; attach the files inside it instead")
    try:
        kind, warning = detect_kind(path)
    except OSError as e:
        raise MediaError(f"{path}: cannot be read ({e.strerror or e})") from e
    if attachment.kind:
        kind = attachment.kind
    if kind == "empty":
        raise MediaError(f"{path}: the file is empty (0 bytes)")
    module_name = HANDLERS.get(kind)
    if module_name is None:
        raise MediaError(f"{path}: unsupported file type; attach images, PDFs, slides, videos or text files")
    try:
        module = importlib.import_module(f"app.core.media.{module_name}")
    except ModuleNotFoundError as e:
        if e.name != f"app.core.media.{module_name}":
            raise
        raise MediaError(f"{path}: {kind} attachments are not supported yet") from e
    report = MediaReport(path=str(path), kind=kind)
    if warning:
        report.warnings.append(warning)
    if cache is None:
        _prepare_with(module, attachment, target, report, cancel, progress)
        return report
    key = key_of(attachment, kind, target)
    kept = cache.get(key)
    if kept is not None:
        return kept
    underway, mine = cache.start(key)
    if not mine:
        kept = _wait_for(underway, path.name, cancel, progress)
        if kept is not None:
            return kept
        underway, mine = cache.start(None)  # that one failed: this one tries for itself, not kept
    said = progress

    def hear(text: str) -> None:
        underway.said = text
        if said is not None:
            said(text)

    done: MediaReport | None = None
    try:
        _prepare_with(module, attachment, target, report, cancel, hear)
        # A re-encoded video lives in a temporary file that the history may remove: it is not kept.
        if all(not isinstance(p, VideoPart) or Path(p.path) == path for p in report.parts):
            done = report
    finally:
        cache.finish(key, underway, done)
    return report


def _prepare_with(
    module: ModuleType,
    attachment: Attachment,
    target: MediaTarget,
    report: MediaReport,
    cancel: threading.Event | None,
    progress: Progress | None,
) -> None:
    name = Path(attachment.path).name
    if progress is not None:
        progress(f"Preparing {name}…")
    token = _listener.set(None if progress is None else lambda detail: progress(f"Preparing {name}, {detail}…"))
    try:
        module.prepare(attachment, target, report, cancel=cancel)
    finally:
        _listener.reset(token)


def _wait_for(
    underway: Underway, name: str, cancel: threading.Event | None, progress: Progress | None
) -> MediaReport | None:
    """The report of the same file's preparation under way elsewhere, passing on what it says; None when it
    failed. A cancel here leaves that one running (it is the chip's) and raises ``MediaCancelled``."""
    said = None
    while not underway.done.wait(0.05):
        check_cancel(cancel, name)
        if progress is not None and underway.said is not None and underway.said != said:
            said = underway.said
            progress(said)
    return None if underway.report is None else copy_report(underway.report)
