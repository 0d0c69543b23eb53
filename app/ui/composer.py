"""Where a question is written: the input, the attachments strip, Send and Stop.

Enter sends and Shift+Enter starts a new line, except while an input method is composing (Enter then confirms
the composition). Files dropped or pasted on the input join the attachments; a pasted image is saved as a PNG
first. Each attachment is read on a worker (``app.core.media.prepare``) to show its thumbnail, page count and
token estimate before the question is sent; what it prepared is kept (``app.core.media.prepared.SHARED``) for
the backend to send as it is.
"""

from __future__ import annotations

import dataclasses
import html
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QMimeData, QPoint, QRect, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QImage, QImageReader, QInputMethodEvent, QKeyEvent, QPixmap, QResizeEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLayout,
    QLayoutItem,
    QLineEdit,
    QPlainTextEdit,
    QScrollArea,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
    QWidgetItem,
)

from app.core import private_files
from app.core.conversation import Attachment, AttachmentRecord
from app.core.file_kinds import PAGED_KINDS
from app.core.media import MediaError, MediaReport, MediaTarget, prepare
from app.core.media.kinds import detect_kind
from app.core.media.pages import format_pages
from app.core.media.parts import ImagePart
from app.core.media.prepared import SHARED
from app.ui import theme
from app.ui.action_chips import ActionChips
from app.ui.budget_bar import BudgetLabel
from app.ui.page_picker import PageField
from app.ui.thinking_switch import ThinkingSwitch
from app.ui.workers import Tasks

CHIP_THUMB = 44
# Kinds whose pages (or slides) the person can choose, and those that have a text layer to send instead.
TEXT_LAYER_KINDS = ("pdf", "document")


@dataclass
class AttachmentInfo:
    """What the strip learned about a file, on a worker.

    ``report`` keeps the parts' sizes and token counts for the message budget, without their pixels. ``locked`` is
    "missing" or "wrong" when a PDF needs its password.
    """

    kind: str = ""
    pages_total: int | None = None
    pages_used: int | None = None
    tokens: int | None = None
    warnings: tuple[str, ...] = ()
    thumbnail: QImage | None = None
    error: str | None = None
    report: MediaReport | None = None
    locked: str | None = None


def _without_pixels(report: MediaReport) -> MediaReport:
    """The strip holds what the budget needs (tokens, labels, sizes), not the encoded pages: a 100-page PDF would
    otherwise keep megabytes of images alive per chip."""
    parts = [dataclasses.replace(p, data=b"") if isinstance(p, ImagePart) else p for p in report.parts]
    return dataclasses.replace(report, parts=parts, warnings=list(report.warnings))


def _password_problem(attachment: Attachment) -> str | None:
    """Whether a PDF that failed to prepare is locked, asked of MuPDF itself rather than read from a message."""
    path = Path(attachment.path)
    try:
        kind, _ = detect_kind(path)
    except OSError:
        return None
    if (attachment.kind or kind) != "pdf":
        return None
    import pymupdf

    try:
        with pymupdf.open(path, filetype="pdf") as doc:
            if not doc.needs_pass:
                return None
            return "wrong" if attachment.password and not doc.authenticate(attachment.password) else "missing"
    except (RuntimeError, ValueError, OSError):
        return None


def inspect_attachment(attachment: Attachment, target: MediaTarget) -> AttachmentInfo:
    """Runs on a worker thread: QImage (unlike QPixmap) may be made off the Qt thread."""
    path = Path(attachment.path)
    try:
        report = prepare(attachment, target, cache=SHARED)
    except MediaError as e:
        return AttachmentInfo(error=str(e).replace(str(path), path.name), locked=_password_problem(attachment))
    except Exception as e:
        return AttachmentInfo(error=f"{path.name} could not be read ({type(e).__name__}: {e})")
    thumbnail = None
    if report.kind == "image":
        reader = QImageReader(str(path))
        reader.setAutoTransform(True)
        size = reader.size()
        if size.isValid():
            reader.setScaledSize(size.scaled(CHIP_THUMB * 2, CHIP_THUMB * 2, Qt.AspectRatioMode.KeepAspectRatio))
        image = reader.read()
        thumbnail = None if image.isNull() else image
    if thumbnail is None:
        first = next((p for p in report.parts if isinstance(p, ImagePart)), None)
        if first is not None:
            image = QImage.fromData(first.data)
            if not image.isNull():
                thumbnail = image.scaled(
                    CHIP_THUMB * 2,
                    CHIP_THUMB * 2,
                    Qt.AspectRatioMode.KeepAspectRatio,
                    Qt.TransformationMode.SmoothTransformation,
                )
    return AttachmentInfo(
        kind=report.kind,
        pages_total=report.pages_total,
        pages_used=len(report.pages_used) if report.pages_used else None,
        tokens=report.tokens,
        warnings=tuple(report.warnings),
        thumbnail=thumbnail,
        report=_without_pixels(report),
    )


class AttachmentChip(QFrame):
    """One file: thumbnail, name, pages and tokens, and for documents the page chooser and the text-layer switch.

    The chip holds the ``Attachment`` as it will be sent (pages, password, text layer); every change to it is
    prepared again on a worker and the estimate follows.
    """

    removed = Signal(object)  # the chip
    changed = Signal(object)  # the chip: its attachment changed and must be prepared again
    unlock_requested = Signal(object)  # the chip

    def __init__(self, attachment: Attachment, colors: theme.Colors) -> None:
        super().__init__()
        self.attachment = attachment
        self.path = Path(attachment.path)
        self.info: AttachmentInfo | None = None
        self.generation = 0
        path = self.path
        self.setObjectName("chip")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setAccessibleName(f"attachment {path.name}")
        self.thumb = QLabel()
        self.thumb.setFixedSize(CHIP_THUMB, CHIP_THUMB)
        self.thumb.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.thumb.setText("…")
        self.name = QLabel(path.name)
        self.name.setMaximumWidth(170)
        self.name.setToolTip(str(path))
        self.warning = QLabel("⚠")
        self.warning.setObjectName("chipWarning")
        self.warning.setAccessibleName(f"warnings about {path.name}")
        self.warning.setVisible(False)
        self.detail = QLabel("reading…")
        self.detail.setObjectName("chipDetail")
        self.detail.setMaximumWidth(230)
        self.pages = PageField()
        self.pages.setAccessibleName(f"pages of {path.name}")
        self.pages.chosen.connect(self._pages_chosen)
        self.text_layer = QToolButton()
        self.text_layer.setObjectName("textLayer")
        self.text_layer.setText("Text layer")
        self.text_layer.setCheckable(True)
        self.text_layer.setChecked(attachment.text_layer)
        self.text_layer.setAccessibleName(f"send the text layer of {path.name}")
        self.text_layer.setToolTip(
            "Send the PDF's text instead of page images: far fewer tokens, so long documents fit. "
            "Pages without text (scans, figures) still go as images."
        )
        self.text_layer.toggled.connect(self._text_layer_toggled)
        self.unlock = QToolButton()
        self.unlock.setObjectName("unlock")
        self.unlock.setText("Password…")
        self.unlock.setAccessibleName(f"enter the password of {path.name}")
        self.unlock.setToolTip("This PDF is password-protected: enter its password")
        self.unlock.clicked.connect(lambda: self.unlock_requested.emit(self))
        self.remove = QToolButton()
        self.remove.setObjectName("remove")
        self.remove.setAccessibleName(f"remove {path.name}")
        self.remove.setToolTip("Remove this attachment")
        self.remove.setAutoRaise(True)
        self.remove.setIcon(theme.icon("close", colors.muted, 14))
        self.remove.clicked.connect(lambda: self.removed.emit(self))
        title = QHBoxLayout()
        title.setSpacing(4)
        title.addWidget(self.name)
        title.addWidget(self.warning)
        title.addStretch(1)
        self.controls = QWidget()
        controls = QHBoxLayout(self.controls)
        controls.setContentsMargins(0, 1, 0, 0)
        controls.setSpacing(4)
        controls.addWidget(self.pages)
        controls.addWidget(self.text_layer)
        controls.addWidget(self.unlock)
        controls.addStretch(1)
        self.controls.setVisible(False)
        text = QVBoxLayout()
        text.setSpacing(0)
        text.addLayout(title)
        text.addWidget(self.detail)
        text.addWidget(self.controls)
        text.addStretch(1)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 4, 2, 4)
        layout.addWidget(self.thumb, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(text)
        layout.addWidget(self.remove, 0, Qt.AlignmentFlag.AlignTop)
        self._elide()

    def _elide(self) -> None:
        metrics = self.name.fontMetrics()
        self.name.setText(metrics.elidedText(self.path.name, Qt.TextElideMode.ElideMiddle, 168))

    @property
    def ready(self) -> bool:
        return self.info is not None

    @property
    def error(self) -> str | None:
        return self.info.error if self.info else None

    @property
    def has_controls(self) -> bool:
        return not self.controls.isHidden()

    def reading(self) -> None:
        """A new preparation is under way: the old figures no longer hold."""
        self.info = None
        self.detail.setText("reading…")

    def _pages_chosen(self, spec: str | None) -> None:
        self.attachment = dataclasses.replace(self.attachment, pages=spec)
        self.changed.emit(self)

    def _text_layer_toggled(self, on: bool) -> None:
        if on != self.attachment.text_layer:
            self.attachment = dataclasses.replace(self.attachment, text_layer=on)
            self.changed.emit(self)

    def _set_detail_style(self, name: str) -> None:
        self.detail.setObjectName(name)
        self.detail.style().unpolish(self.detail)
        self.detail.style().polish(self.detail)

    def set_info(self, info: AttachmentInfo) -> None:
        self.info = info
        self.pages.setVisible(False)
        self.text_layer.setVisible(False)
        self.unlock.setVisible(bool(info.locked))
        if info.error:
            self._set_detail_style("chipError")
            self.detail.setText(
                {"missing": "password needed", "wrong": "wrong password"}.get(info.locked or "", "cannot be used")
            )
            self.detail.setToolTip(info.error)
            self.setToolTip(info.error)
            self.warning.setVisible(False)
            self.controls.setVisible(bool(info.locked))
            self.thumb.setText("PDF" if info.locked else "!")
            return
        self._set_detail_style("chipDetail")
        self.detail.setToolTip("")
        parts = []
        unit = "slide" if info.kind == "slides" else "page"
        if info.pages_total is not None:
            pages = f"{info.pages_total} {unit}{'s' if info.pages_total != 1 else ''}"
            if info.pages_used is not None and info.pages_used < info.pages_total:
                pages += f" ({info.pages_used} sent)"
            parts.append(pages)
        if info.tokens is not None:
            parts.append(f"~{info.tokens:,} tokens")
        if self.attachment.text_layer and info.kind in TEXT_LAYER_KINDS:
            parts.append("text")
        self.detail.setText(" · ".join(parts) or info.kind)
        self.warning.setVisible(bool(info.warnings))
        # Rich text, so that Qt wraps a long warning instead of drawing one line across the screen.
        tip = "".join(f"<p>{html.escape(w[0].upper() + w[1:])}</p>" for w in info.warnings if w)
        self.warning.setToolTip(tip)
        self.setToolTip(tip)
        paged = info.kind in PAGED_KINDS and bool(info.pages_total)
        self.controls.setVisible(paged)
        if paged:
            assert info.pages_total is not None
            self.pages.unit = "slides" if info.kind == "slides" else "pages"
            self.pages.set_total(info.pages_total, self.attachment.pages)
            self.pages.setVisible(True)
            self.text_layer.setVisible(info.kind in TEXT_LAYER_KINDS)
        if info.thumbnail is not None:
            pixmap = QPixmap.fromImage(info.thumbnail)
            self.thumb.setPixmap(
                pixmap.scaled(
                    CHIP_THUMB,
                    CHIP_THUMB,
                    Qt.AspectRatioMode.KeepAspectRatio,
                    Qt.TransformationMode.SmoothTransformation,
                )
            )
        else:
            self.thumb.setText(info.kind[:4].upper() if info.kind else "FILE")


class ChipRows(QLayout):
    """Chips left to right, on as many rows as they need: every attachment stays in sight (a row that scrolls
    sideways hides the third one behind its edge)."""

    def __init__(self, parent: QWidget, spacing: int) -> None:
        super().__init__(parent)
        self._items: list[QLayoutItem] = []
        self._gap = spacing

    def addItem(self, item: QLayoutItem) -> None:
        self._items.append(item)

    def insertWidget(self, index: int, widget: QWidget) -> None:
        self.addChildWidget(widget)
        self._items.insert(index, QWidgetItem(widget))
        self.invalidate()

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, index: int) -> QLayoutItem | None:
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int) -> QLayoutItem | None:
        return self._items.pop(index) if 0 <= index < len(self._items) else None

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return self._place(QRect(0, 0, width, 0), move=False)

    def setGeometry(self, rect: QRect) -> None:
        super().setGeometry(rect)
        self._place(rect, move=True)

    def sizeHint(self) -> QSize:
        return self.minimumSize()

    def minimumSize(self) -> QSize:
        size = QSize()
        for item in self._items:
            size = size.expandedTo(item.minimumSize())
        margins = self.contentsMargins()
        return size + QSize(margins.left() + margins.right(), margins.top() + margins.bottom())

    def _place(self, rect: QRect, *, move: bool) -> int:
        margins = self.contentsMargins()
        area = rect.adjusted(margins.left(), margins.top(), -margins.right(), -margins.bottom())
        x, y, row_height = area.x(), area.y(), 0
        for item in self._items:
            widget = item.widget()
            if widget is not None and widget.isHidden():
                continue
            hint = item.sizeHint()
            if x > area.x() and x + hint.width() > area.right() + 1:
                x, y, row_height = area.x(), y + row_height + self._gap, 0
            if move:
                item.setGeometry(QRect(QPoint(x, y), hint))
            x += hint.width() + self._gap
            row_height = max(row_height, hint.height())
        return y + row_height - rect.y() + margins.bottom()


class AttachmentsStrip(QScrollArea):
    """The attachments of the question being written; hidden while empty.

    An encrypted PDF asks for its password as soon as it is found locked (again, saying so, after a wrong one);
    cancelling leaves the chip locked, with a button to try later, and touches nothing else.
    """

    changed = Signal()

    def __init__(self, tasks: Tasks, target: Callable[[], MediaTarget], colors: theme.Colors) -> None:
        super().__init__()
        self.setObjectName("attachments")
        self.setAccessibleName("attachments")
        self.tasks = tasks
        self.target = target
        self.colors = colors
        self.asking = False
        self._to_ask: list[AttachmentChip] = []
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFixedHeight(CHIP_THUMB + 22)
        inner = QWidget()
        inner.setObjectName("attachmentsInner")
        self.row = ChipRows(inner, 6)
        self.row.setContentsMargins(6, 4, 6, 2)
        self.setWidget(inner)
        self.setVisible(False)

    def chips(self) -> list[AttachmentChip]:
        items = (self.row.itemAt(i) for i in range(self.row.count()))
        return [w for item in items if item is not None and isinstance(w := item.widget(), AttachmentChip)]

    def add(self, item: Path | str | Attachment) -> AttachmentChip | None:
        attachment = item if isinstance(item, Attachment) else Attachment(Path(item))
        attachment = dataclasses.replace(attachment, path=Path(attachment.path))
        if any(chip.path == attachment.path for chip in self.chips()):
            return None
        chip = AttachmentChip(attachment, self.colors)
        chip.removed.connect(self.remove)
        chip.changed.connect(self.prepare)
        chip.unlock_requested.connect(lambda c: self.ask_password(c, wrong=False))
        self.row.insertWidget(self.row.count(), chip)
        self.setVisible(True)
        self.prepare(chip)
        return chip

    def prepare(self, chip: AttachmentChip) -> None:
        """Prepare the chip's attachment as it stands; a result that a newer request overtook is dropped."""
        chip.generation += 1
        generation = chip.generation
        attachment = dataclasses.replace(chip.attachment)
        target = self.target()
        chip.reading()
        self.tasks.run(
            lambda: inspect_attachment(attachment, target),
            lambda info: self._ready(chip, generation, info),
            lambda e: self._ready(chip, generation, AttachmentInfo(error=f"{chip.path.name} could not be read: {e}")),
            name="inspect-attachment",
        )
        self.changed.emit()

    def prepare_all(self) -> None:
        """The backend (and so the budget and pixel limits) changed: every estimate is redone."""
        for chip in self.chips():
            self.prepare(chip)

    def _ready(self, chip: AttachmentChip, generation: int, info: AttachmentInfo) -> None:
        if chip not in self.chips() or generation != chip.generation:
            return
        chip.set_info(info)
        self._fit_height()
        self.changed.emit()
        if info.locked:
            self._to_ask.append(chip)
            QTimer.singleShot(0, self._ask_next)

    def _fit_height(self) -> None:
        """As tall as the rows of chips, up to about two and a half rows (then it scrolls down)."""
        controls = any(chip.has_controls for chip in self.chips())
        row = CHIP_THUMB + (40 if controls else 16)
        needed = self.row.heightForWidth(self.viewport().width()) if self.chips() else row
        self.setFixedHeight(max(CHIP_THUMB + 22, min(needed + 2, row * 5 // 2)))

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_height()

    def _ask_next(self) -> None:
        if self.asking or not self._to_ask:
            return
        chip = self._to_ask.pop(0)
        if chip in self.chips() and chip.info is not None and chip.info.locked:
            self.ask_password(chip, wrong=chip.info.locked == "wrong")
        QTimer.singleShot(0, self._ask_next)

    def ask_password(self, chip: AttachmentChip, *, wrong: bool) -> None:
        if self.asking or chip not in self.chips():
            return
        name = chip.path.name
        prompt = f"Wrong password for {name}. Try again:" if wrong else f"{name} is password-protected. Its password:"
        self.asking = True
        try:
            password, ok = QInputDialog.getText(self.window(), "PDF password", prompt, QLineEdit.EchoMode.Password)
        finally:
            self.asking = False
        if not ok or not password or chip not in self.chips():
            return
        chip.attachment = dataclasses.replace(chip.attachment, password=password)
        self.prepare(chip)

    def remove(self, chip: AttachmentChip) -> None:
        self.row.removeWidget(chip)
        chip.deleteLater()
        self.setVisible(bool(self.chips()))
        self._fit_height()
        self.changed.emit()

    def clear(self) -> None:
        for chip in self.chips():
            self.row.removeWidget(chip)
            chip.deleteLater()
        self._to_ask.clear()
        self.setVisible(False)
        self._fit_height()
        self.changed.emit()

    def take(self) -> list[AttachmentChip]:
        """The chips, out of the strip but whole (figures, pages chosen, password), to ``put`` back later: the
        attachments of a conversation the window left."""
        chips = self.chips()
        for chip in chips:
            self.row.removeWidget(chip)
            chip.hide()
        self._to_ask = [c for c in self._to_ask if c not in chips]
        self.setVisible(False)
        self._fit_height()
        self.changed.emit()
        return chips

    def put(self, chips: list[AttachmentChip]) -> None:
        """Chips from ``take`` back in the strip; one whose reading finished while it was out reads again."""
        for chip in chips:
            self.row.insertWidget(self.row.count(), chip)
            chip.show()
            if chip.info is None:
                self.prepare(chip)
        self.setVisible(bool(self.chips()))
        self._fit_height()
        self.changed.emit()

    def attachments(self) -> list[Attachment]:
        return [
            dataclasses.replace(chip.attachment, kind=chip.info.kind if chip.info else chip.attachment.kind)
            for chip in self.chips()
        ]

    def reports(self) -> list[MediaReport]:
        """What the budget adds up: the prepared attachments (those still reading or unusable are left out)."""
        return [chip.info.report for chip in self.chips() if chip.info and chip.info.report is not None]

    def partial(self) -> list[str]:
        """For each document of which only some pages go, which ones, as `glmv inspect` says it."""
        notes = []
        for chip in self.chips():
            report = chip.info.report if chip.info else None
            if report is None or not report.pages_used or report.pages_total is None:
                continue
            if len(report.pages_used) < report.pages_total:
                unit = "slide" if report.kind == "slides" else "page"
                plural = "s" if len(report.pages_used) != 1 else ""
                notes.append(
                    f"{chip.path.name}: {unit}{plural} {format_pages(report.pages_used)} of {report.pages_total} go"
                )
        return notes

    def records(self) -> list[AttachmentRecord]:
        """The attachments as they go with the question: what is sent, and what reading each one found (its
        page count and tokens, which the history keeps; its report, from which the question counts its
        images). A file still being read has nothing found yet."""
        records = []
        for attachment, chip in zip(self.attachments(), self.chips(), strict=True):
            info = chip.info
            if info is None or info.error:
                records.append(AttachmentRecord(attachment))
            else:
                records.append(AttachmentRecord(attachment, info.pages_total, info.tokens, info.report))
        return records


class ComposerInput(QPlainTextEdit):
    """The question. Files and images that land here become attachments, not text."""

    submit = Signal()
    files_dropped = Signal(list)  # list[Path]

    def __init__(self, paste_folder: Path | None = None) -> None:
        super().__init__()
        self.setObjectName("composer")
        self.setAccessibleName("composer")
        self.setAccessibleDescription("Your question. Enter sends, Shift+Enter starts a new line.")
        self.setPlaceholderText("Ask anything… (Enter sends, Shift+Enter for a new line)")
        self.setTabChangesFocus(True)
        self._composing = False
        self.paste_folder = paste_folder
        self.document().contentsChanged.connect(self._fit)
        self._fit()

    def inputMethodEvent(self, event: QInputMethodEvent) -> None:
        self._composing = bool(event.preeditString())
        super().inputMethodEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if (
            event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
            and not self._composing
            and not event.modifiers() & (Qt.KeyboardModifier.ShiftModifier | Qt.KeyboardModifier.AltModifier)
        ):
            self.submit.emit()
            return
        super().keyPressEvent(event)

    def canInsertFromMimeData(self, source: QMimeData) -> bool:
        return source.hasUrls() or source.hasImage() or super().canInsertFromMimeData(source)

    def insertFromMimeData(self, source: QMimeData) -> None:
        files = [Path(u.toLocalFile()) for u in source.urls() if u.isLocalFile()] if source.hasUrls() else []
        if files:
            self.files_dropped.emit(files)
            return
        if source.hasImage():
            image = QImage(source.imageData())
            if not image.isNull():
                self.files_dropped.emit([self._save_pasted(image)])
                return
        if source.hasText():
            self.insertPlainText(source.text())

    def _save_pasted(self, image: QImage) -> Path:
        folder = (
            private_files.private_folder(self.paste_folder)
            if self.paste_folder
            else private_files.cache_folder("pasted")
        )
        path = folder / f"pasted-{time.strftime('%Y%m%d-%H%M%S')}-{int(time.time() * 1000) % 1000:03d}.png"
        image.save(str(path))  # the format follows the .png suffix
        return private_files.private_file(path)

    def _fit(self) -> None:
        lines = max(1, min(8, int(self.document().size().height())))
        line_height = self.fontMetrics().lineSpacing()
        self.setFixedHeight(lines * line_height + 14)

    def sizeHint(self) -> QSize:
        return QSize(400, self.height())


class Composer(QFrame):
    """Input, strip and buttons in one rounded box; under the attachments the quick actions that ask about them,
    beside Send the switch that says whether the model thinks first."""

    def __init__(
        self, tasks: Tasks, target: Callable[[], MediaTarget], colors: theme.Colors, paste_folder: Path | None = None
    ) -> None:
        super().__init__()
        self.setObjectName("composerBox")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.strip = AttachmentsStrip(tasks, target, colors)
        self.budget = BudgetLabel()
        self.input = ComposerInput(paste_folder)
        self.quick = ActionChips()
        self.thinking = ThinkingSwitch()
        self._streaming = False
        self.attach = QToolButton()
        self.attach.setObjectName("attach")
        self.attach.setAccessibleName("attach files")
        self.attach.setToolTip("Attach files (images, PDF, slides, video, text)")
        self.attach.setAutoRaise(True)
        self.edit_note = QLabel("")
        self.edit_note.setObjectName("editBar")
        self.cancel_edit = QToolButton()
        self.cancel_edit.setText("Cancel edit")
        self.cancel_edit.setAutoRaise(True)
        self.cancel_edit.setVisible(False)
        self.stop = QToolButton()
        self.stop.setObjectName("stop")
        self.stop.setAccessibleName("stop")
        self.stop.setToolTip("Stop the answer (what arrived is kept)")
        self.send = QToolButton()
        self.send.setObjectName("send")
        self.send.setAccessibleName("send")
        self.send.setToolTip("Send (Enter)")
        for button in (self.stop, self.send, self.attach):
            button.setIconSize(QSize(18, 18))
            button.setCursor(Qt.CursorShape.PointingHandCursor)
        buttons = QHBoxLayout()
        buttons.setContentsMargins(4, 0, 4, 4)
        buttons.addWidget(self.attach)
        buttons.addWidget(self.edit_note)
        buttons.addWidget(self.cancel_edit)
        buttons.addStretch(1)
        buttons.addWidget(self.thinking)
        buttons.addWidget(self.stop)
        buttons.addWidget(self.send)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 2)
        layout.setSpacing(2)
        layout.addWidget(self.strip)
        layout.addWidget(self.quick)
        layout.addWidget(self.budget)
        layout.addWidget(self.input)
        layout.addLayout(buttons)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Maximum)
        self.strip.changed.connect(self.show_quick)
        self.apply_colors(colors)

    def show_quick(self) -> None:
        """The quick actions ask about what is attached: they are there while something is."""
        self.quick.setVisible(bool(self.quick.listed) and bool(self.strip.chips()))

    def apply_colors(self, colors: theme.Colors) -> None:
        self.attach.setIcon(theme.icon("attach", colors.muted))
        self.send.setIcon(theme.icon("send", colors.accent_text))
        self.stop.setIcon(theme.icon("stop", colors.window))
        self.strip.colors = colors
        warn = "#b45309" if not colors.dark else "#fbbf24"
        self.setStyleSheet(
            f"""
            #budget {{ color: {colors.muted}; font-size: 11px; padding: 0 6px; }}
            #budget[state="tight"] {{ color: {warn}; }}
            #budget[state="over"] {{ color: {colors.danger_text}; font-weight: 600; }}
            #chipWarning {{ color: {warn}; font-weight: 700; }}
            #pageField {{ border: 1px solid {colors.border}; border-radius: 4px; padding: 0 4px;
                background: {colors.surface}; color: {colors.text}; font-size: 11px; }}
            #pageField[invalid="true"] {{ border: 1px solid {colors.danger_border}; color: {colors.danger_text}; }}
            QToolButton#textLayer, QToolButton#unlock {{ border: 1px solid {colors.border}; border-radius: 4px;
                padding: 0 5px; font-size: 11px; color: {colors.text}; }}
            QToolButton#textLayer:checked {{ background: {colors.accent}; color: {colors.accent_text};
                border-color: {colors.accent}; }}
            QToolButton#actionChip {{ border: 1px solid {colors.border}; border-radius: 10px; padding: 1px 8px;
                font-size: 11px; color: {colors.text}; }}
            QToolButton#actionChip:hover {{ border-color: {colors.accent}; }}
            #actionChipsTitle {{ color: {colors.muted}; font-size: 11px; }}
            QToolButton#thinkingSwitch {{ font-size: 11px; color: {colors.muted}; border: 1px solid {colors.border};
                border-radius: 4px; padding: 2px 18px 2px 6px; background: transparent; }}
            QToolButton#thinkingSwitch:checked {{ color: {colors.accent}; border-color: {colors.accent}; }}
            QToolButton#thinkingSwitch::menu-button {{ border: none; width: 14px; }}
            """
        )

    def set_streaming(self, streaming: bool) -> None:
        self._streaming = streaming
        self.stop.setEnabled(streaming)
        self._update_send()

    def set_over_budget(self, over: bool) -> None:
        self.send.setToolTip(
            "The message does not fit the model's context: see the line above the question" if over else "Send (Enter)"
        )
        self._update_send()

    def _update_send(self) -> None:
        self.send.setEnabled(not self._streaming and not self.budget.over)

    def set_editing(self, editing: bool) -> None:
        self.edit_note.setText(
            "Editing a past question: sending replaces it and the answers after it" if editing else ""
        )
        self.cancel_edit.setVisible(editing)
