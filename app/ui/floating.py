"""A compact always-on-top window for asking about the screen without leaving what you are doing.

It shows the current conversation's latest answer and a one-line thinking indicator, and has a one-line
composer with capture, record and attach buttons. It holds no conversation of its own: the main window feeds it
(``set_answer``, ``set_thinking``, ``set_draft``) and acts on its signals, so switching windows keeps the same
conversation and draft. Its position goes to the settings object through ``position``/``set_position``.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPoint, QRect, QSize, Qt, Signal
from PySide6.QtGui import QCloseEvent, QCursor, QFontMetrics, QGuiApplication, QIcon, QMoveEvent, QResizeEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLayout,
    QLineEdit,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.ui.panes import AnswerView

ICONS = Path(__file__).resolve().parents[2] / "resources" / "icons"
SIZE = (360, 260)
MARGIN = 24  # from the screen's edges, and room for a window manager's frame
THINKING_TAIL = 1_000  # characters of the reasoning so far that its one line can show


def first_place(area: QRect, size: QSize, avoid: QRect) -> QPoint:
    """Where the window first opens: a corner of ``area`` (the available part of the screen under the cursor),
    bottom-right first, the first one clear of ``avoid`` (the main window), else the one that covers the least
    of it."""
    width, height = size.width() + MARGIN, size.height() + MARGIN
    left, top = area.left() + MARGIN, area.top() + MARGIN
    right, bottom = max(left, area.right() + 1 - width), max(top, area.bottom() + 1 - height)
    corners = [QPoint(right, bottom), QPoint(left, bottom), QPoint(right, top), QPoint(left, top)]

    def covered(corner: QPoint) -> int:
        overlap = QRect(corner, QSize(width, height)).intersected(avoid)
        return overlap.width() * overlap.height() if not overlap.isEmpty() else 0

    return min(corners, key=covered)


def _button(text: str, tip: str, icon: str | None = None, checkable: bool = False) -> QToolButton:
    button = QToolButton()
    path = ICONS / f"{icon}.svg" if icon else None
    if path is not None and path.is_file():
        button.setIcon(QIcon(str(path)))
    else:
        button.setText(text)
    button.setToolTip(tip)
    button.setAccessibleName(tip)
    button.setCheckable(checkable)
    button.setAutoRaise(True)
    return button


class FloatingWindow(QWidget):
    submitted = Signal(str)
    capture_requested = Signal()
    record_requested = Signal()
    attach_requested = Signal()
    open_main_requested = Signal()
    draft_changed = Signal(str)
    pinned_changed = Signal(bool)
    moved = Signal(int, int)
    closed = Signal()

    def __init__(self, parent: QWidget | None = None, dark: bool = False) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setWindowTitle("GLM-V")
        self.setObjectName("floatingWindow")
        self.dark = dark
        self.resize(*SIZE)
        self.placed = False

        self.pin_button = _button("Pin", "Keep on top of other windows", checkable=True)
        self.open_main_button = _button("Open", "Open the main window with this conversation", "chevron-right")
        self.title = QLabel("GLM-V")
        header = QHBoxLayout()
        header.addWidget(self.title, 1)
        header.addWidget(self.pin_button)
        header.addWidget(self.open_main_button)

        self.answer = AnswerView(dark=dark, grow=False)
        self.answer.setPlaceholderText("Capture a region or type a question.")
        self.thinking = QLabel()
        self.thinking.setObjectName("thinkingIndicator")
        self.thinking.setTextFormat(Qt.TextFormat.PlainText)
        # Its text is elided to the window, never the other way round: a label sized by a line of reasoning
        # widened the window past the screen's edge (649 px at the bottom-right corner of 1920).
        self.thinking.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.thinking.hide()
        self._thinking_text = ""

        self.input = QLineEdit()
        self.input.setPlaceholderText("Ask about your screen…")
        self.input.setMinimumWidth(self.input.fontMetrics().horizontalAdvance("x") * 32)
        self.capture_button = _button("Capture", "Capture a region of the screen")
        self.record_button = _button("Rec", "Start or stop recording the screen")
        self.attach_button = _button("Attach", "Attach a file", "attach")
        self.send_button = _button("Send", "Send", "send")
        # The question gets a row of its own, with Send: beside three more buttons it was a sliver at the least
        # width, its start scrolled out of sight.
        composer = QHBoxLayout()
        composer.addWidget(self.input, 1)
        composer.addWidget(self.send_button)
        tools = QHBoxLayout()
        for b in (self.capture_button, self.record_button, self.attach_button):
            tools.addWidget(b)
        tools.addStretch(1)
        self.answer.setMinimumHeight(48)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 8)
        layout.setSpacing(4)
        # The least size is what the rows need (fonts and labels differ by platform), so nothing is ever cut off.
        layout.setSizeConstraint(QLayout.SizeConstraint.SetMinimumSize)
        layout.addLayout(header)
        layout.addWidget(self.answer, 1)
        layout.addWidget(self.thinking)
        layout.addLayout(composer)
        layout.addLayout(tools)

        self.pin_button.toggled.connect(self._pin)
        self.open_main_button.clicked.connect(self.open_main_requested)
        self.capture_button.clicked.connect(self.capture_requested)
        self.record_button.clicked.connect(self.record_requested)
        self.attach_button.clicked.connect(self.attach_requested)
        self.send_button.clicked.connect(self._submit)
        self.input.returnPressed.connect(self._submit)
        self.input.textEdited.connect(self.draft_changed)
        self.set_pinned(True)

    # ----- fed by the main window -----

    def set_answer(self, markdown: str) -> None:
        """The latest answer: what was added since the last call is rendered on (block by block, as in the
        main window), a different answer from its start."""
        bar = self.answer.verticalScrollBar()
        at_end = bar.value() >= bar.maximum() - 4
        self.answer.set_dark(self.dark)
        self.answer.follow(markdown)
        if at_end:
            bar.setValue(bar.maximum())

    def set_thinking(self, text: str, active: bool) -> None:
        """One line: the newest reasoning while the model thinks, hidden once the answer begins. Only its end is
        read: this runs at each update with the whole reasoning so far, which may be megabytes."""
        self._thinking_text = " ".join(text[-THINKING_TAIL:].split())
        self.thinking.setVisible(active)
        self._elide_thinking()

    def set_recording(self, recording: bool) -> None:
        self.record_button.setText("Stop" if recording else "Rec")
        self.record_button.setToolTip("Stop recording" if recording else "Start or stop recording the screen")

    def set_busy(self, busy: bool) -> None:
        self.send_button.setEnabled(not busy)

    def set_draft(self, text: str) -> None:
        if text != self.input.text():
            self.input.setText(text)

    def draft(self) -> str:
        return self.input.text()

    def focus_composer(self) -> None:
        self.input.setFocus()

    # ----- pin and position -----

    def pinned(self) -> bool:
        return self.pin_button.isChecked()

    def set_pinned(self, pinned: bool) -> None:
        if self.pin_button.isChecked() != pinned:
            self.pin_button.setChecked(pinned)
        else:
            self._pin(pinned)

    def _pin(self, pinned: bool) -> None:
        visible = self.isVisible()
        self.setWindowFlag(Qt.WindowType.WindowStaysOnTopHint, pinned)
        if visible:
            self.show()
        self.pinned_changed.emit(pinned)

    def position(self) -> tuple[int, int]:
        p = self.pos()
        return p.x(), p.y()

    def set_position(self, x: int, y: int) -> None:
        """A saved position is used only when the window would still show on a screen (monitors change);
        otherwise the window goes to the bottom-right corner of the primary screen."""
        self.placed = True
        frame = QRect(QPoint(x, y), self.size())
        for screen in QGuiApplication.screens():
            visible = screen.availableGeometry().intersected(frame)
            if visible.width() >= 80 and visible.height() >= 40:
                self.move(x, y)
                return
        area = QGuiApplication.primaryScreen().availableGeometry()
        self.move(area.right() - self.width() - 24, area.bottom() - self.height() - 48)

    def place_beside(self, avoid: QRect) -> None:
        """The first opening, with no saved place: a corner of the screen under the cursor, off ``avoid``."""
        self.placed = True
        screen = QGuiApplication.screenAt(QCursor.pos()) or QGuiApplication.primaryScreen()
        self.move(first_place(screen.availableGeometry(), self.size(), avoid))

    # ----- internals -----

    def _submit(self) -> None:
        text = self.input.text().strip()
        if text:
            self.submitted.emit(text)

    def _elide_thinking(self) -> None:
        label = "Thinking… " + self._thinking_text if self._thinking_text else "Thinking…"
        width = max(40, self.thinking.width() if self.thinking.isVisible() else self.width() - 16)
        self.thinking.setText(QFontMetrics(self.thinking.font()).elidedText(label, Qt.TextElideMode.ElideLeft, width))

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._elide_thinking()

    def moveEvent(self, event: QMoveEvent) -> None:
        super().moveEvent(event)
        self.moved.emit(self.x(), self.y())

    def closeEvent(self, event: QCloseEvent) -> None:
        self.closed.emit()
        super().closeEvent(event)
