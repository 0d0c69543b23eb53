"""Attachments -> model parts, within the model's token budget.

``prepare(attachment, target)`` is the one entry: it detects the kind from the content and hands the file to
the module for that kind (images, pdf, slides, video, text). Each module exposes
``prepare(attachment, target, report) -> None`` filling ``report.parts`` and raising ``MediaError`` for input
it cannot use.
"""

from __future__ import annotations

import importlib
import threading
from pathlib import Path

from app.core.conversation import Attachment
from app.core.media.kinds import access_problem, detect_kind
from app.core.media.parts import ImagePart, MediaReport, MediaTarget, Part, TextPart, VideoPart

__all__ = [
    "ImagePart",
    "MediaCancelled",
    "MediaError",
    "MediaReport",
    "MediaTarget",
    "Part",
    "TextPart",
    "VideoPart",
    "prepare",
]

# kind -> module under app.core.media that handles it (imported on first use: pymupdf, pptx, cv2 are slow).
HANDLERS = {
    "image": "images",
    "pdf": "pdf",
    "slides": "slides",
    "video": "video",
    "text": "text",
    "document": "documents",
}


class MediaError(Exception):
    """An attachment that cannot become model input. The message says what is wrong and what to do."""


class MediaCancelled(MediaError):
    """The person cancelled while the attachment was being converted or rendered."""


def check_cancel(cancel: threading.Event | None, name: str) -> None:
    """Called between pages, frames and conversion steps so a cancel takes effect within one of them."""
    if cancel is not None and cancel.is_set():
        raise MediaCancelled(f"{name}: preparing the attachment was cancelled")


def prepare(attachment: Attachment, target: MediaTarget, *, cancel: threading.Event | None = None) -> MediaReport:
    """What ``attachment`` becomes for ``target``. Setting ``cancel`` stops long work (LibreOffice conversion,
    page rendering, frame sampling) and raises ``MediaCancelled``."""
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
    module.prepare(attachment, target, report, cancel=cancel)
    return report
