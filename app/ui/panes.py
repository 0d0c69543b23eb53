"""The answer view and the thinking pane.

Both take streamed text by inserting at the end of their document (a ``QTextCursor`` at the end), so each
update costs the size of the new piece, not of the whole answer. The answer view swaps its plain streamed text
for the rendered Markdown once, when the answer is complete.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QFont, QGuiApplication, QTextCursor, QTextOption
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QSizePolicy,
    QTextBrowser,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.core.markdown_render import Rendered
from app.ui import theme


def format_seconds(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{seconds:.1f} s"
    return f"{int(seconds // 60)} min {int(seconds % 60)} s"


class AnswerView(QTextBrowser):
    """One answer: grows to fit its text (the transcript scrolls, not the view), opens only safe links, and
    turns ``copy:N`` links into copying code block N."""

    copied = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setOpenLinks(False)
        self.setOpenExternalLinks(False)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setWordWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        self.document().setDocumentMargin(2)
        self.document().documentLayout().documentSizeChanged.connect(self._fit)
        self.anchorClicked.connect(self._open)
        self.code_blocks: list[str] = []
        self.markdown_source = ""
        self.setAccessibleDescription("The answer")
        self._fit()

    def append_text(self, text: str) -> None:
        if not text:
            return
        cursor = QTextCursor(self.document())
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.insertText(text)

    def plain_text(self) -> str:
        return self.markdown_source or self.toPlainText()

    def show_rendered(self, source: str, rendered: Rendered | None) -> None:
        self.markdown_source = source
        if rendered is None:
            self.setPlainText(source)
            self.code_blocks = []
            return
        self.code_blocks = rendered.code_blocks
        self.setHtml(rendered.html)

    def loadResource(self, kind: int, name: QUrl | str) -> object:
        """Nothing is ever loaded on behalf of model output: no files, no network."""
        return None

    def _open(self, url: QUrl) -> None:
        if url.scheme() == "copy":
            try:
                code = self.code_blocks[int(url.path())]
            except (ValueError, IndexError):
                return
            QGuiApplication.clipboard().setText(code)
            self.copied.emit("Code copied")
        elif url.scheme() in ("http", "https", "mailto"):
            QDesktopServices.openUrl(url)

    def _fit(self, *_: object) -> None:
        height = int(self.document().size().height()) + 6
        if self.height() != height:
            self.setFixedHeight(max(height, 24))

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit()

    def sizeHint(self) -> QSize:
        return QSize(400, self.height())


PLACEHOLDER = "The model's reasoning appears here while it thinks."


class ThinkingPane(QWidget):
    """The model's reasoning for the answer being streamed or the one selected, with how long it thought.
    Collapsing it leaves a narrow strip with the toggle and the time."""

    toggled = Signal(bool)  # collapsed

    def __init__(self, collapsed: bool = False, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("thinkingPane")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.toggle = QToolButton(self)
        self.toggle.setObjectName("thinkingToggle")
        self.toggle.setAutoRaise(True)
        self.toggle.setToolTip("Show or hide the model's thinking")
        self.toggle.clicked.connect(lambda: self.set_collapsed(not self.collapsed))
        self.title = QLabel("Thinking", self)
        self.title.setObjectName("thinkingTitle")
        self.time = QLabel("", self)
        self.time.setObjectName("thinkingTime")
        self.view = QPlainTextEdit(self)
        self.view.setObjectName("thinking")
        self.view.setAccessibleName("thinking")
        self.view.setAccessibleDescription("The model's reasoning for the selected answer")
        self.view.setReadOnly(True)
        self.view.setPlaceholderText(PLACEHOLDER)
        font = QFont(self.view.font())
        font.setPointSizeF(max(font.pointSizeF() - 0.5, 8))
        self.view.setFont(font)
        header = QHBoxLayout()
        header.setContentsMargins(8, 6, 8, 0)
        header.addWidget(self.toggle)
        header.addWidget(self.title)
        header.addStretch(1)
        header.addWidget(self.time)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(header)
        layout.addWidget(self.view, 1)
        self.collapsed: bool = not collapsed  # the opposite, so that set_collapsed applies it
        self.set_collapsed(collapsed)

    def set_collapsed(self, collapsed: bool) -> None:
        if collapsed == self.collapsed:
            return
        self.collapsed = collapsed
        self.view.setVisible(not collapsed)
        self.time.setVisible(True)
        self.setMaximumWidth(150 if collapsed else 16777215)
        self.refresh_icons()
        self.toggled.emit(collapsed)

    def refresh_icons(self, color: str = "#6b7280") -> None:
        self.toggle.setIcon(theme.icon("chevron-left" if self.collapsed else "chevron-right", color))

    def clear(self) -> None:
        self.view.clear()
        self.view.setPlaceholderText(PLACEHOLDER)
        self.time.setText("")

    def show_preparing(self, text: str) -> None:
        """What is prepared before the question goes out, where the reasoning will come; empty when done."""
        self.view.setPlaceholderText(text or PLACEHOLDER)
        self.view.viewport().update()  # a new placeholder alone is not painted until something else is

    def append_text(self, text: str) -> None:
        if not text:
            return
        bar = self.view.verticalScrollBar()
        at_bottom = bar.value() >= bar.maximum() - 4
        cursor = QTextCursor(self.view.document())
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.insertText(text)
        if at_bottom:
            bar.setValue(bar.maximum())

    def show_thinking(self, text: str, seconds: float | None, status: str = "") -> None:
        """A finished answer's reasoning; ``status`` says why there is none (the placeholder, which promises
        reasoning to come, then goes)."""
        self.view.setPlainText(text)
        self.view.setPlaceholderText("" if status and not text else PLACEHOLDER)
        self.set_time(seconds, thinking=False, status=status if not text else "")

    def set_time(self, seconds: float | None, *, thinking: bool, status: str = "") -> None:
        if seconds is None:
            self.time.setText(status)
        elif thinking:
            self.time.setText(f"thinking… {format_seconds(seconds)}")
        else:
            self.time.setText(f"thought for {format_seconds(seconds)}")
