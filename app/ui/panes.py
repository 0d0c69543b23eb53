"""The answer view and the thinking pane.

The thinking pane takes streamed text by inserting at the end of its document, so each update costs the size of
the new piece. The answer view renders Markdown while it streams, block by block: an update replaces only the
open block at the end, so it costs what that block costs, never what the whole answer does.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QSize, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import (
    QDesktopServices,
    QFont,
    QFontInfo,
    QGuiApplication,
    QTextBlockFormat,
    QTextCharFormat,
    QTextCursor,
    QTextOption,
)
from PySide6.QtWidgets import (
    QDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QTextBrowser,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.core import long_text
from app.core.answer_blocks import Block, Change, LiveMarkdown, MathHtml, plain_block
from app.ui import theme
from app.ui.formulas import Formulas
from app.ui.handover import Handover

log = logging.getLogger(__name__)

# An open block up to this size is rendered on the Qt thread at once (a few milliseconds); a larger one, or a
# whole answer larger than this, on the render thread, so the window never waits for Markdown.
SYNC_LIMIT = 12_000
BLOCK_SPACING = 6  # pixels above each block after the first


class RenderThread:
    """The one thread that renders large answers' Markdown for every answer view, in the order asked."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._loop, name="answer rendering", daemon=True)
        self._thread.start()

    def submit(self, job: Callable[[], None]) -> None:
        self._jobs.put(job)

    def _loop(self) -> None:
        while True:
            job = self._jobs.get()
            try:
                job()
            except Exception:
                log.exception("an answer render job failed")


_RENDER_THREAD: RenderThread | None = None
_RENDER_LOCK = threading.Lock()


def render_thread() -> RenderThread:
    global _RENDER_THREAD
    with _RENDER_LOCK:
        if _RENDER_THREAD is None:
            _RENDER_THREAD = RenderThread()
        return _RENDER_THREAD


def format_seconds(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{seconds:.1f} s"
    return f"{int(seconds // 60)} min {int(seconds % 60)} s"


class AnswerView(QTextBrowser):
    """One answer, rendered block by block while it streams (``answer_blocks.LiveMarkdown``): a closed block
    is inserted once; only the open block at the end is replaced on each update, so an update costs what the
    open block costs. Grows to fit its text (the transcript scrolls, not the view), opens only safe links,
    turns ``copy:N`` links into copying code block N and ``show:N`` into the whole of a block shown cut."""

    copied = Signal(str)

    def __init__(self, parent: QWidget | None = None, *, dark: bool = False, grow: bool = True) -> None:
        super().__init__(parent)
        self.setOpenLinks(False)
        self.setOpenExternalLinks(False)
        self.grow = grow  # fit the height to the text (in the transcript), or scroll (in the floating window)
        if grow:
            self.setFrameShape(QFrame.Shape.NoFrame)
            self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
            self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            self.document().documentLayout().documentSizeChanged.connect(self._fit)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setWordWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        self.document().setDocumentMargin(2)
        self.anchorClicked.connect(self._follow_link)
        self.dark = dark
        self.formulas = Formulas(
            self.rerender_formulas,
            color=theme.colors(dark).text,
            font_px=float(QFontInfo(self.font()).pixelSize()),
            scale=max(1.0, self.devicePixelRatioF()),
            parent=self,
        )
        self.math: MathHtml | None = self.formulas.html  # formula -> HTML (an <img> of a typeset formula), or None
        self.math_images: Callable[[str], object] | None = self.formulas.image  # a ``math:`` name -> its QImage
        self.live = LiveMarkdown(dark=dark, math=self.math)
        self._source = ""
        self._finished = False
        self._deferred = False  # a reopened answer not rendered until it is first painted
        self._lock = threading.Lock()
        self._ops: list[tuple[str, Any]] = []  # waiting for the render thread
        self._scheduled = False
        self._in_flight = 0  # render-thread jobs whose result has not been applied yet
        self._handover = Handover(self)
        self._backlog: list[tuple[Change, bool]] = []  # slices of render-thread changes not applied yet
        self._applying = False
        self._shown: list[Block] = []  # the closed blocks shown, in order
        self._ends: list[int] = []  # the document position where each shown closed block ends
        self._open: Block | None = None
        self.setAccessibleDescription("The answer")
        self._fit()

    # ----- what is shown

    @property
    def markdown_source(self) -> str:
        return self._source

    @property
    def code_blocks(self) -> list[str]:
        blocks = self._shown + ([self._open] if self._open is not None else [])
        return [code for block in blocks for code in block.code]

    def append_text(self, text: str) -> None:
        """More of the streamed answer."""
        if text:
            self._source += text
            self._run(("feed", text))

    def finish(self) -> None:
        """The answer is complete: its open block is rendered as closed (the blocks before stay as they are)."""
        self._finished = True
        self._run(("finish", None))

    def show_markdown(self, source: str, *, defer: bool = False) -> None:
        """A whole answer (reopened from history): cut and rendered exactly as it was while it streamed. With
        ``defer`` it is rendered when it is first painted (it comes on screen): reopening a long conversation
        renders what is seen, not every answer in it; until then its height is estimated from its length."""
        self._source, self._finished = source, True
        if defer and source:
            self._deferred = True
            self.document().clear()
            self._shown, self._ends, self._open = [], [], None
            if self.grow:
                self.setFixedHeight(self._estimated_height(source))
            return
        self._deferred = False
        self._run(("whole", (source, self.dark, True)))

    def _estimated_height(self, source: str) -> int:
        line = self.fontMetrics().lineSpacing()
        per_line = max(20, (self.width() or 600) // max(1, self.fontMetrics().averageCharWidth()))
        lines = sum(1 + len(part) // per_line for part in source[:200_000].split("\n"))
        return max(24, min(lines * line, 20_000))

    def paintEvent(self, event) -> None:
        if self._deferred:
            self._deferred = False
            QTimer.singleShot(0, lambda: self._run(("whole", (self._source, self.dark, True))))
        super().paintEvent(event)

    def show_rendered(self, source: str) -> None:
        """The answer as it ended: when it is what streamed, only its open block is rendered again."""
        if source == self._source and not self._finished:
            self.finish()
        elif source != self._source:
            self.show_markdown(source)

    def follow(self, source: str) -> None:
        """Show ``source``, the answer so far: what was added to the text shown is streamed on, anything else
        (another answer) is shown from the start. For views told the whole text each time."""
        if source == self._source:
            return
        if self._source and source.startswith(self._source) and not self._finished:
            self.append_text(source[len(self._source) :])
            return
        self._source, self._finished = source, False
        self._run(("whole", (source, self.dark, False)))

    def set_dark(self, dark: bool) -> None:
        """New colours: the code colours are written into the HTML, so the answer is rendered again."""
        if dark == self.dark:
            return
        self.dark = dark
        self.formulas.color = theme.colors(dark).text
        self._deferred = False
        self._run(("whole", (self._source, dark, self._finished)))

    def plain_text(self) -> str:
        return self._source or self.toPlainText()

    def rerender_formulas(self, ready: set[str]) -> None:
        """Blocks that showed any of these formulas as source, rendered again now that they are typeset."""
        self._run(("formulas", frozenset(ready)))

    def rendered(self) -> bool:
        """Whether what was given has been rendered (nothing is waiting on the render thread)."""
        return self._in_flight == 0 and not self._ops

    # ----- rendering: on the Qt thread while the open block is small, else on the render thread

    def _run(self, op: tuple[str, Any]) -> None:
        # What the operation renders: the whole text it is given, or the open block with what was added.
        size = len(op[1][0]) if op[0] == "whole" else len(self._source) - self.live.open_start
        small = size <= SYNC_LIMIT
        if self._in_flight == 0 and small:
            self._apply_all(self._do(self.live, [op]))
            return
        with self._lock:
            self._ops.append(op)
            if self._scheduled:
                return
            self._scheduled = True
        self._in_flight += 1
        render_thread().submit(self._work)

    def _work(self) -> None:
        """On the render thread: the queued operations, in order, on the one LiveMarkdown (which only one thread
        uses at a time: the Qt thread renders itself only when nothing is queued or in flight)."""
        with self._lock:
            ops, self._ops, self._scheduled = self._ops, [], False
        try:
            changes = self._do(self.live, ops)
        except Exception as e:  # shown as text, never lost: the source is kept on the Qt thread
            log.exception("rendering an answer failed")
            changes = [Change(reset=True, closed=[plain_block(self._source, e)])]
        self._handover.post(self._deliver, changes)

    def _deliver(self, changes: list[Change]) -> None:
        """Changes from the render thread, put into the document a slice at a time: a whole long answer at once
        would hold the event loop while Qt lays it out. The job counts as applied with its last slice."""
        slices = _sliced(changes) or [Change()]
        self._backlog.extend((piece, i == len(slices) - 1) for i, piece in enumerate(slices))
        if not self._applying:
            self._apply_backlog()

    def _apply_backlog(self) -> None:
        self._applying = False
        if not self._backlog:
            return
        change, last_of_job = self._backlog.pop(0)
        self._apply(change)
        if last_of_job:
            self._in_flight -= 1
        if self._backlog:
            self._applying = True
            QTimer.singleShot(0, self._apply_backlog)

    def _do(self, live: LiveMarkdown, ops: list[tuple[str, Any]]) -> list[Change]:
        changes: list[Change] = []
        pending = ""
        for kind, arg in [*ops, ("end", None)]:
            if kind == "feed":
                pending += arg
                continue
            if pending:
                changes.append(live.feed(pending))
                pending = ""
            if kind == "finish":
                changes.append(live.finish())
            elif kind == "whole":
                source, dark, finished = arg
                live = self.live = LiveMarkdown(dark=dark, math=self.math)
                change = live.feed(source)
                if finished:
                    ended = live.finish()
                    change.closed.extend(ended.closed)
                    change.open = None
                change.reset = True
                changes.append(change)
            elif kind == "formulas":
                changes.append(Change(rerendered=[(i, live.rerender(b)) for i, b in enumerate(live.closed)
                                                  if b.math and arg.intersection(b.math)],
                                      open=live.feed("").open))  # fmt: skip
        return changes

    # ----- the document

    def _end_of_closed(self) -> int:
        return self._ends[-1] if self._ends else 0

    def _apply_all(self, changes: list[Change]) -> None:
        for change in changes:
            self._apply(change)

    def _apply(self, change: Change) -> None:
        if change.reset:
            self._shown, self._ends, self._open = [], [], None
            self.document().clear()
        for index, block in change.rerendered:
            if index < len(self._shown):
                self._replace(index, block)
        if not change.closed and change.open == self._open and not change.reset:
            return
        cursor = QTextCursor(self.document())
        cursor.beginEditBlock()
        cursor.setPosition(self._end_of_closed())
        cursor.movePosition(QTextCursor.MoveOperation.End, QTextCursor.MoveMode.KeepAnchor)
        cursor.removeSelectedText()
        for block in change.closed:
            self._insert(cursor, block)
            self._shown.append(block)
            self._ends.append(cursor.position())
        self._open = change.open
        if change.open is not None:
            self._insert(cursor, change.open)
        cursor.endEditBlock()

    def _insert(self, cursor: QTextCursor, block: Block) -> None:
        # insertHtml merges its first paragraph into the block at the cursor, which keeps its own format: the
        # space above a block, and a display formula's centring, are set on that block.
        spaced = QTextBlockFormat()
        spaced.setTopMargin(BLOCK_SPACING if cursor.position() > 0 else 0)
        if block.html.startswith('<p align="center"'):
            spaced.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        if cursor.position() > 0:
            cursor.insertBlock(spaced, QTextCharFormat())
        else:
            cursor.setBlockFormat(spaced)
        cursor.insertHtml(block.html)

    def _replace(self, index: int, block: Block) -> None:
        """Closed block ``index`` rendered anew; the positions of the blocks after it move by the difference."""
        start = self._ends[index - 1] if index else 0
        cursor = QTextCursor(self.document())
        cursor.beginEditBlock()
        cursor.setPosition(start)
        cursor.setPosition(self._ends[index], QTextCursor.MoveMode.KeepAnchor)
        cursor.removeSelectedText()
        self._insert(cursor, block)
        cursor.endEditBlock()
        delta = cursor.position() - self._ends[index]
        self._shown[index] = block
        for later in range(index, len(self._ends)):
            self._ends[later] += delta

    def loadResource(self, kind: int, name: QUrl | str) -> object:
        """Nothing is ever loaded on behalf of model output: no files, no network; only formulas this
        app typeset (``math:`` names) are images."""
        url = name if isinstance(name, QUrl) else QUrl(name)
        if url.scheme() == "math" and self.math_images is not None:
            return self.math_images(url.path())
        return None

    def _follow_link(self, url: QUrl) -> None:
        if url.scheme() == "copy":
            try:
                code = self.code_blocks[int(url.path())]
            except (ValueError, IndexError):
                return
            QGuiApplication.clipboard().setText(code)
            self.copied.emit("Code copied")
        elif url.scheme() == "show":
            self._show_all(url.path())
        elif url.scheme() in ("http", "https", "mailto"):
            QDesktopServices.openUrl(url)

    def _show_all(self, start: str) -> None:
        blocks = self._shown + ([self._open] if self._open is not None else [])
        for block in blocks:
            if str(block.start) == start:
                show_whole_text(self, block.source)
                return

    def _fit(self, *_: object) -> None:
        if not self.grow:
            return
        height = int(self.document().size().height()) + 6
        if self.height() != height:
            self.setFixedHeight(max(height, 24))

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit()

    def sizeHint(self) -> QSize:
        return QSize(400, self.height()) if self.grow else super().sizeHint()


SLICE_HTML = 24_000  # characters of HTML put into the document per event-loop turn
SLICE_BLOCKS = 8  # blocks rendered again per event-loop turn


def _sliced(changes: list[Change]) -> list[Change]:
    """The same changes, their closed blocks cut into slices of about SLICE_HTML characters of HTML each."""
    out: list[Change] = []
    for change in changes:
        rerendered = change.rerendered
        while len(rerendered) > SLICE_BLOCKS:  # blocks rendered again (formulas typeset), a few per turn
            out.append(Change(rerendered=rerendered[:SLICE_BLOCKS], open=change.open))
            rerendered = rerendered[SLICE_BLOCKS:]
        change = Change(change.closed, change.open, change.reset, rerendered)
        if sum(len(b.html) for b in change.closed) <= SLICE_HTML:
            out.append(change)
            continue
        piece: list[Block] = []
        size, first = 0, True
        for block in change.closed:
            piece.append(block)
            size += len(block.html)
            if size >= SLICE_HTML:
                out.append(
                    Change(closed=piece, reset=change.reset and first, rerendered=change.rerendered if first else [])
                )
                piece, size, first = [], 0, False
        out.append(Change(closed=piece, open=change.open, reset=change.reset and first,
                          rerendered=change.rerendered if first else []))  # fmt: skip
    return out


def show_whole_text(parent: QWidget, text: str, title: str = "The whole block") -> QDialog:
    """A block (or a question) shown cut, whole, in a plain-text viewer (long lines wrapped, nothing
    interpreted)."""
    dialog = QDialog(parent)
    dialog.setWindowTitle(title)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    viewer = QPlainTextEdit(dialog)
    viewer.setObjectName("wholeBlock")
    viewer.setReadOnly(True)
    viewer.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
    viewer.setWordWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
    viewer.setPlainText(text)
    copy = QPushButton("Copy all", dialog)
    copy.clicked.connect(lambda: QGuiApplication.clipboard().setText(text))
    close = QPushButton("Close", dialog)
    close.clicked.connect(dialog.close)
    buttons = QHBoxLayout()
    buttons.addStretch(1)
    buttons.addWidget(copy)
    buttons.addWidget(close)
    layout = QVBoxLayout(dialog)
    layout.addWidget(viewer, 1)
    layout.addLayout(buttons)
    dialog.resize(900, 600)
    dialog.show()
    return dialog


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
        # How the answer shown was asked to think ("thinking off", "budget 1,024 tokens"), when not as it liked.
        self.choice = QLabel("", self)
        self.choice.setObjectName("thinkingChoice")
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
        header.addWidget(self.choice)
        header.addStretch(1)
        header.addWidget(self.time)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(header)
        layout.addWidget(self.view, 1)
        self._run = 0  # the length of the paragraph the text shown ends in (long_text.broken)
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
        self._run = 0
        self.view.setPlaceholderText(PLACEHOLDER)
        self.time.setText("")

    def set_choice(self, text: str) -> None:
        self.choice.setText(f"· {text}" if text else "")

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
        shown, self._run = long_text.broken(text, self._run)  # a paragraph's layout costs its whole length
        cursor.insertText(shown)
        if at_bottom:
            bar.setValue(bar.maximum())

    def show_thinking(self, text: str, seconds: float | None, status: str = "") -> None:
        """A finished answer's reasoning; ``status`` says why there is none (the placeholder, which promises
        reasoning to come, then goes)."""
        shown, self._run = long_text.broken(text)
        self.view.setPlainText(shown)
        self.view.setPlaceholderText("" if status and not text else PLACEHOLDER)
        self.set_time(seconds, thinking=False, status=status if not text else "")

    def set_time(self, seconds: float | None, *, thinking: bool, status: str = "") -> None:
        if seconds is None:
            self.time.setText(status)
        elif thinking:
            self.time.setText(f"thinking… {format_seconds(seconds)}")
        else:
            self.time.setText(f"thought for {format_seconds(seconds)}")
