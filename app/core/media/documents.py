"""Word-processor files (.docx, .odt, .doc, .rtf) through LibreOffice to PDF, then as PDF pages or text.

No Python library lays out a Word document faithfully; LibreOffice does, and its PDF goes through the same page
budget, page selection and text-layer option as any PDF.
"""

from __future__ import annotations

import threading
from pathlib import Path

from app.core.conversation import Attachment
from app.core.media import MediaError
from app.core.media.archives import zip_problem
from app.core.media.libreoffice import find_soffice, render_converted
from app.core.media.parts import MediaReport, MediaTarget

INSTALL = (
    "install LibreOffice to read it (Debian/Ubuntu: sudo apt install libreoffice-writer; Fedora: sudo dnf install "
    "libreoffice-writer; macOS: brew install --cask libreoffice; Windows: https://www.libreoffice.org/download), "
    "or save it as PDF and attach the PDF"
)


def prepare(
    attachment: Attachment, target: MediaTarget, report: MediaReport, *, cancel: threading.Event | None = None
) -> None:
    path = Path(attachment.path)
    if not path.exists():
        raise MediaError(f"{path.name}: the file is gone (moved or deleted after it was attached); attach it again")
    problem = zip_problem(path)
    if problem is not None:
        raise MediaError(problem)
    if find_soffice() is None:
        raise MediaError(f"{path.name}: {path.suffix or 'word-processor'} documents need LibreOffice; {INSTALL}")
    render_converted(path, target, report, cancel=cancel, pages_spec=attachment.pages, text_layer=attachment.text_layer)
    report.renderer = "libreoffice"
