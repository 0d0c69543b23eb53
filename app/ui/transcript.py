"""The conversation as cards: questions with their attachments, answers, and failure banners."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication, QImageReader, QMouseEvent, QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.ui import theme
from app.ui.panes import AnswerView, format_seconds

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp", ".tif", ".tiff"}
THUMB = 96


def scaled_image(path: Path, box: int) -> QPixmap | None:
    """Decodes only as many pixels as the box needs (cheap even for a 4K screenshot)."""
    reader = QImageReader(str(path))
    reader.setAutoTransform(True)
    size = reader.size()
    if size.isValid() and (size.width() > box or size.height() > box):
        reader.setScaledSize(size.scaled(box, box, Qt.AspectRatioMode.KeepAspectRatio))
    image = reader.read()
    return None if image.isNull() else QPixmap.fromImage(image)


def card_button(name: str, tip: str, color: str) -> QToolButton:
    button = QToolButton()
    button.setObjectName("cardButton")
    button.setIcon(theme.icon(name, color, 16))
    button.setToolTip(tip)
    button.setAccessibleName(tip)
    button.setCursor(Qt.CursorShape.PointingHandCursor)
    return button


class ImageViewer(QDialog):
    """An attachment shown large."""

    def __init__(self, path: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(path.name)
        screen = QGuiApplication.primaryScreen().availableSize()
        pixmap = scaled_image(path, int(min(screen.width(), screen.height()) * 0.85))
        label = QLabel(self)
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        if pixmap is None:
            label.setText(f"{path.name} cannot be shown.")
        else:
            label.setPixmap(pixmap)
        layout = QVBoxLayout(self)
        layout.addWidget(label)


class Thumbnail(QLabel):
    def __init__(self, path: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.path = path
        self.setToolTip(path.name)
        self.setAccessibleName(f"attachment {path.name}")
        pixmap = scaled_image(path, THUMB) if path.suffix.lower() in IMAGE_SUFFIXES else None
        if pixmap is not None:
            self.setPixmap(pixmap)
            self.setCursor(Qt.CursorShape.PointingHandCursor)
        else:
            self.setText(f"📄 {path.name.split('_', 1)[-1] if '_' in path.name else path.name}")
            self.setWordWrap(True)
            self.setMaximumWidth(180)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if self.pixmap() is not None and not self.pixmap().isNull():
            ImageViewer(self.path, self.window()).exec()
        super().mousePressEvent(event)


class UserCard(QFrame):
    edit_requested = Signal(str)

    def __init__(self, message_id: str, text: str, attachments: list[Path], colors: theme.Colors) -> None:
        super().__init__()
        self.message_id = message_id
        self.attachments = list(attachments)
        self.setObjectName("userCard")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.text = QLabel(text)
        self.text.setObjectName("userText")
        self.text.setWordWrap(True)
        self.text.setTextFormat(Qt.TextFormat.PlainText)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 8, 8)
        if attachments:
            row = QHBoxLayout()
            row.setSpacing(6)
            for path in attachments:
                row.addWidget(Thumbnail(path))
            row.addStretch(1)
            layout.addLayout(row)
        longest = max((self.text.fontMetrics().horizontalAdvance(ln) for ln in text.splitlines()), default=0)
        self.text.setMinimumWidth(min(longest + 4, 520))
        line = QHBoxLayout()
        line.addWidget(self.text, 1)
        self.edit = card_button("edit", "Edit and resend", colors.muted)
        self.edit.clicked.connect(lambda: self.edit_requested.emit(self.message_id))
        line.addWidget(self.edit, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(line)

    def set_text(self, text: str) -> None:
        self.text.setText(text)


class AnswerCard(QFrame):
    selected = Signal(str)
    regenerate_requested = Signal(str)
    copied = Signal(str)

    def __init__(self, message_id: str, colors: theme.Colors, model: str | None = None) -> None:
        super().__init__()
        self.message_id = message_id
        self.model = model
        self.thinking = ""
        self.thinking_seconds: float | None = None
        self.status = "streaming"
        self.setObjectName("answerCard")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.view = AnswerView(self)
        self.view.setObjectName("answer_past")
        self.view.copied.connect(self.copied)
        self.meta = QLabel("")
        self.meta.setObjectName("cardMeta")
        self.copy = card_button("copy", "Copy answer", colors.muted)
        self.copy.clicked.connect(self._copy)
        self.regenerate = card_button("regenerate", "Regenerate", colors.muted)
        self.regenerate.clicked.connect(lambda: self.regenerate_requested.emit(self.message_id))
        footer = QHBoxLayout()
        footer.setContentsMargins(0, 0, 0, 0)
        footer.addWidget(self.meta)
        footer.addStretch(1)
        footer.addWidget(self.copy)
        footer.addWidget(self.regenerate)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 4)
        layout.addWidget(self.view)
        layout.addLayout(footer)
        self.update_meta()

    def update_meta(self, extra: str = "") -> None:
        parts = [p for p in (self.model, extra) if p]
        if self.thinking_seconds is not None:
            parts.append(f"thought for {format_seconds(self.thinking_seconds)}")
        if self.status == "stopped":
            parts.append("stopped")
        elif self.status == "failed":
            parts.append("incomplete")
        self.meta.setText(" · ".join(parts))

    def set_current(self, current: bool) -> None:
        self.view.setObjectName("answer" if current else "answer_past")
        self.view.setAccessibleName("answer" if current else "past answer")
        self.regenerate.setVisible(current)

    def set_selected(self, selected: bool) -> None:
        self.setProperty("selected", "true" if selected else "false")
        self.style().unpolish(self)
        self.style().polish(self)

    def _copy(self) -> None:
        QGuiApplication.clipboard().setText(self.view.plain_text())
        self.copied.emit("Answer copied")

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.selected.emit(self.message_id)
        super().mousePressEvent(event)


class Banner(QFrame):
    """A failure, said plainly, with what to do about it."""

    retry = Signal()
    settings = Signal()

    def __init__(self, kind: str, message: str, colors: theme.Colors, retryable: bool = True) -> None:
        super().__init__()
        self.kind = kind
        self.setObjectName("banner")
        self.setAccessibleName("error banner")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.text = QLabel(message)
        self.text.setObjectName("bannerText")
        self.text.setWordWrap(True)
        self.text.setTextFormat(Qt.TextFormat.PlainText)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.retry_button = QPushButton("Retry")
        self.retry_button.setObjectName("retry")
        self.retry_button.clicked.connect(self.retry)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 8, 8, 8)
        layout.addWidget(self.text, 1)
        if kind in ("auth", "model", "network"):
            settings = QPushButton("Settings…")
            settings.clicked.connect(self.settings)
            layout.addWidget(settings, 0, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self.retry_button, 0, Qt.AlignmentFlag.AlignTop)
        self.retry_button.setVisible(retryable)


class Transcript(QScrollArea):
    """The cards in a column. It follows the end while an answer streams unless the person scrolled up."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("transcriptArea")
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.inner = QWidget()
        self.inner.setObjectName("transcript")
        self.column = QVBoxLayout(self.inner)
        self.column.setContentsMargins(24, 16, 24, 16)
        self.column.setSpacing(10)
        self.empty = QLabel(
            "Ask about a screenshot, a PDF, slides or anything else.\n"
            "Drop files anywhere on the window, paste an image, or use the paper clip."
        )
        self.empty.setObjectName("emptyState")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)
        self.column.addWidget(self.empty, 100)
        self.column.addStretch(1)
        self.setWidget(self.inner)
        self._follow = True
        self.verticalScrollBar().valueChanged.connect(self._scrolled)
        self.verticalScrollBar().rangeChanged.connect(self._range_changed)

    def cards(self) -> list[QWidget]:
        found = []
        for i in range(self.column.count()):
            widget = self.column.itemAt(i).widget()
            if widget is not None and widget is not self.empty:
                found.append(widget)
        return found

    def add(self, widget: QWidget, *, user: bool = False) -> None:
        self.empty.hide()
        if user:
            widget.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Preferred)
            self.column.insertWidget(self.column.indexOf(self.empty), widget, 0, Qt.AlignmentFlag.AlignRight)
        else:
            self.column.insertWidget(self.column.indexOf(self.empty), widget)
        self._follow = True
        QTimer.singleShot(0, self.scroll_to_end)

    def remove(self, widget: QWidget) -> None:
        self.column.removeWidget(widget)
        widget.deleteLater()
        if not self.cards():
            self.empty.show()

    def clear(self) -> None:
        for widget in self.cards():
            self.column.removeWidget(widget)
            widget.deleteLater()
        self.empty.show()

    def scroll_to_end(self) -> None:
        bar = self.verticalScrollBar()
        bar.setValue(bar.maximum())

    def _scrolled(self, value: int) -> None:
        self._follow = value >= self.verticalScrollBar().maximum() - 24

    def _range_changed(self, _low: int, high: int) -> None:
        if self._follow:
            self.verticalScrollBar().setValue(high)

    def sizeHint(self) -> QSize:
        return QSize(600, 500)
