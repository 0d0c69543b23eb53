"""Where a question is written: the input, the attachments strip, Send and Stop.

Enter sends and Shift+Enter starts a new line, except while an input method is composing (Enter then confirms
the composition). Files dropped or pasted on the input join the attachments; a pasted image is saved as a PNG
first. Each attachment is read on a worker (``app.core.media.prepare``) to show its thumbnail, page count and
token estimate before the question is sent.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QMimeData, QSize, Qt, Signal
from PySide6.QtGui import QImage, QImageReader, QInputMethodEvent, QKeyEvent, QPixmap
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QScrollArea,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.core.conversation import Attachment
from app.core.media import MediaError, MediaTarget, prepare
from app.core.media.parts import ImagePart
from app.ui import theme
from app.ui.workers import Tasks

CHIP_THUMB = 44


@dataclass
class AttachmentInfo:
    """What the strip learned about a file, on a worker."""

    kind: str = ""
    pages_total: int | None = None
    pages_used: int | None = None
    tokens: int | None = None
    warnings: tuple[str, ...] = ()
    thumbnail: QImage | None = None
    error: str | None = None


def inspect_attachment(path: Path, target: MediaTarget) -> AttachmentInfo:
    """Runs on a worker thread: QImage (unlike QPixmap) may be made off the Qt thread."""
    try:
        report = prepare(Attachment(path), target)
    except MediaError as e:
        return AttachmentInfo(error=str(e).replace(str(path), path.name))
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
    )


class AttachmentChip(QFrame):
    removed = Signal(object)  # the chip

    def __init__(self, path: Path, colors: theme.Colors) -> None:
        super().__init__()
        self.path = path
        self.info: AttachmentInfo | None = None
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
        self.detail = QLabel("reading…")
        self.detail.setObjectName("chipDetail")
        self.detail.setMaximumWidth(190)
        self.remove = QToolButton()
        self.remove.setObjectName("remove")
        self.remove.setAccessibleName(f"remove {path.name}")
        self.remove.setToolTip("Remove this attachment")
        self.remove.setAutoRaise(True)
        self.remove.setIcon(theme.icon("close", colors.muted, 14))
        self.remove.clicked.connect(lambda: self.removed.emit(self))
        text = QVBoxLayout()
        text.setSpacing(0)
        text.addWidget(self.name)
        text.addWidget(self.detail)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 4, 2, 4)
        layout.addWidget(self.thumb)
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

    def set_info(self, info: AttachmentInfo) -> None:
        self.info = info
        if info.error:
            self.detail.setObjectName("chipError")
            self.detail.setText("cannot be used")
            self.detail.setToolTip(info.error)
            self.setToolTip(info.error)
            self.thumb.setText("!")
            self.detail.style().unpolish(self.detail)
            self.detail.style().polish(self.detail)
            return
        parts = []
        if info.pages_total is not None:
            pages = f"{info.pages_total} page{'s' if info.pages_total != 1 else ''}"
            if info.pages_used is not None and info.pages_used < info.pages_total:
                pages += f" ({info.pages_used} sent)"
            parts.append(pages)
        if info.tokens is not None:
            parts.append(f"~{info.tokens:,} tokens")
        self.detail.setText(" · ".join(parts) or info.kind)
        if info.warnings:
            self.setToolTip("\n".join(info.warnings))
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


class AttachmentsStrip(QScrollArea):
    """The attachments of the question being written; hidden while empty."""

    changed = Signal()

    def __init__(self, tasks: Tasks, target: Callable[[], MediaTarget], colors: theme.Colors) -> None:
        super().__init__()
        self.setObjectName("attachments")
        self.setAccessibleName("attachments")
        self.tasks = tasks
        self.target = target
        self.colors = colors
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFixedHeight(CHIP_THUMB + 22)
        inner = QWidget()
        inner.setObjectName("attachmentsInner")
        self.row = QHBoxLayout(inner)
        self.row.setContentsMargins(6, 4, 6, 2)
        self.row.setSpacing(6)
        self.row.addStretch(1)
        self.setWidget(inner)
        self.setVisible(False)

    def chips(self) -> list[AttachmentChip]:
        return [w for i in range(self.row.count()) if isinstance(w := self.row.itemAt(i).widget(), AttachmentChip)]

    def add(self, path: Path) -> AttachmentChip | None:
        path = Path(path)
        if any(chip.path == path for chip in self.chips()):
            return None
        chip = AttachmentChip(path, self.colors)
        chip.removed.connect(self.remove)
        self.row.insertWidget(self.row.count() - 1, chip)
        self.setVisible(True)
        target = self.target()
        self.tasks.run(
            lambda: inspect_attachment(path, target),
            lambda info: self._ready(chip, info),
            lambda e: self._ready(chip, AttachmentInfo(error=f"{path.name} could not be read: {e}")),
            name="inspect-attachment",
        )
        self.changed.emit()
        return chip

    def _ready(self, chip: AttachmentChip, info: AttachmentInfo) -> None:
        if chip in self.chips():
            chip.set_info(info)
            self.changed.emit()

    def remove(self, chip: AttachmentChip) -> None:
        self.row.removeWidget(chip)
        chip.deleteLater()
        self.setVisible(bool(self.chips()))
        self.changed.emit()

    def clear(self) -> None:
        for chip in self.chips():
            self.row.removeWidget(chip)
            chip.deleteLater()
        self.setVisible(False)
        self.changed.emit()

    def attachments(self) -> list[Attachment]:
        return [Attachment(chip.path, chip.info.kind if chip.info else "") for chip in self.chips()]

    def info(self) -> dict[str, dict]:
        """What the store keeps about each file (page count, token estimate), by path."""
        found = {}
        for chip in self.chips():
            if chip.info and not chip.info.error:
                found[str(chip.path)] = {
                    "kind": chip.info.kind,
                    "pages_total": chip.info.pages_total,
                    "tokens": chip.info.tokens,
                }
        return found


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
        folder = self.paste_folder or Path(tempfile.gettempdir())
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"pasted-{time.strftime('%Y%m%d-%H%M%S')}-{int(time.time() * 1000) % 1000:03d}.png"
        image.save(str(path), "PNG")
        return path

    def _fit(self) -> None:
        lines = max(1, min(8, int(self.document().size().height())))
        line_height = self.fontMetrics().lineSpacing()
        self.setFixedHeight(lines * line_height + 14)

    def sizeHint(self) -> QSize:
        return QSize(400, self.height())


class Composer(QFrame):
    """Input, strip and buttons in one rounded box."""

    def __init__(
        self, tasks: Tasks, target: Callable[[], MediaTarget], colors: theme.Colors, paste_folder: Path | None = None
    ) -> None:
        super().__init__()
        self.setObjectName("composerBox")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.strip = AttachmentsStrip(tasks, target, colors)
        self.input = ComposerInput(paste_folder)
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
        buttons.addWidget(self.stop)
        buttons.addWidget(self.send)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 2)
        layout.setSpacing(2)
        layout.addWidget(self.strip)
        layout.addWidget(self.input)
        layout.addLayout(buttons)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Maximum)
        self.apply_colors(colors)

    def apply_colors(self, colors: theme.Colors) -> None:
        self.attach.setIcon(theme.icon("attach", colors.muted))
        self.send.setIcon(theme.icon("send", colors.accent_text))
        self.stop.setIcon(theme.icon("stop", colors.window))
        self.strip.colors = colors

    def set_streaming(self, streaming: bool) -> None:
        self.stop.setEnabled(streaming)
        self.send.setEnabled(not streaming)

    def set_editing(self, editing: bool) -> None:
        self.edit_note.setText(
            "Editing a past question: sending replaces it and the answers after it" if editing else ""
        )
        self.cancel_edit.setVisible(editing)
