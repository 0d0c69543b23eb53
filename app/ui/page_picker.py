"""The page (or slide) chooser on a document's attachment chip: "1-5, 9", checked as it is typed.

The selection is read by ``app.core.media.pages.parse_pages``, the same rule ``glmv ask --pages`` uses, so what
the field accepts is exactly what the renderer will send. A selection that names no page of the document is
refused in place (red, with the reason) instead of failing later at send time.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QLineEdit

from app.core.media.pages import PageSpecError, format_pages, parse_pages


def check_pages(spec: str, total: int) -> tuple[str | None, str]:
    """The selection to store (None for every page) and a sentence about it; raises ``PageSpecError``."""
    spec = spec.strip()
    notes: list[str] = []
    pages = parse_pages(spec or None, total, notes)
    if len(pages) == total and pages == list(range(1, total + 1)):
        return None, f"all {total} pages"
    summary = f"{len(pages)} of {total}: {format_pages(pages)}"
    return spec, "; ".join([summary, *notes])


class PageField(QLineEdit):
    """Emits ``chosen`` (the selection, None for all pages) when Enter is pressed or focus leaves, if valid."""

    chosen = Signal(object)  # str | None

    def __init__(self, unit: str = "pages") -> None:
        super().__init__()
        self.unit = unit
        self.total = 0
        self.applied: str | None = None
        self.problem: str | None = None
        self.setObjectName("pageField")
        self.setAccessibleName(unit)
        self.setPlaceholderText(f"all {unit}")
        self.setClearButtonEnabled(False)
        self.setFixedWidth(86)
        self.textEdited.connect(self._validate)
        self.editingFinished.connect(self._apply)

    def set_total(self, total: int, applied: str | None) -> None:
        self.total = total
        self.applied = applied
        self.setText(applied or "")
        self.setPlaceholderText(f"all {total}" if total else "all")
        self._validate()

    def _validate(self) -> None:
        if not self.total:
            return
        try:
            _, sentence = check_pages(self.text(), self.total)
        except PageSpecError as e:
            self.problem = str(e)
            self.setProperty("invalid", True)
            self.setToolTip(f"{e}. Write it like 1-5, 9 (pages 1 to {self.total}).")
        else:
            self.problem = None
            self.setProperty("invalid", False)
            self.setToolTip(
                f"{self.unit.capitalize()} to send, like 1-5, 9: {sentence}. Enter applies; empty sends all."
            )
        self.style().unpolish(self)
        self.style().polish(self)

    def _apply(self) -> None:
        if not self.total:
            return
        self._validate()
        if self.problem is not None:
            return
        spec, _ = check_pages(self.text(), self.total)
        if spec != self.applied:
            self.applied = spec
            self.chosen.emit(spec)
