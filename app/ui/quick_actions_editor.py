"""The Quick actions tab of the settings: the list of actions, and for the one selected its name, its prompt
(with the placeholders it may use), how the model thinks for it, what its hotkey captures, its hotkey, and the
`glmv capture --action` command to bind where the app cannot hear hotkeys (Wayland).

What is wrong with an action (no name, two of one name, an unknown placeholder, keys another shortcut has) is
said under the form, and the dialog refuses to save while something is.
"""

from __future__ import annotations

import dataclasses
import shlex
import sys

from PySide6.QtCore import Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QKeySequenceEdit,
    QLabel,
    QLineEdit,
    QListWidget,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.core.quick_actions import BUILT_IN, CAPTURES, THINKING, QuickAction, action_problem
from app.ui.hotkeys import HotkeyError, label_of, normalize, quick_key
from app.ui.shortcut_edit import from_qt, glmv_command, to_qt

THINKING_LABELS = {"default": "As the composer's switch says", "on": "Think first", "off": "Answer at once"}
CAPTURE_LABELS = {"region": "A region I drag", "full": "The whole screen"}
PLACEHOLDER_HELP = (
    "Placeholders: {input} is what you type in the composer (the action then waits for it); {language} is the "
    "language below. Without {input}, what you type goes after the prompt."
)


def desktop_command(name: str, capture: str) -> str:
    flag = "--region" if capture == "region" else "--full"
    quoted = f'"{name}"' if sys.platform == "win32" else shlex.quote(name)
    return glmv_command(f"glmv capture {flag} --action {quoted}")


class QuickActionsEditor(QWidget):
    changed = Signal()

    def __init__(self, actions: list[QuickAction], language: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.items: list[QuickAction] = list(actions)
        self._shown = -1
        self.list = QListWidget()
        self.list.setObjectName("quickActionList")
        self.list.setAccessibleName("quick actions")
        self.list.setMaximumWidth(220)
        self.add = QPushButton("Add")
        self.add.setObjectName("addQuickAction")
        self.remove = QPushButton("Remove")
        self.remove.setObjectName("removeQuickAction")
        self.restore = QPushButton("Restore built-in")
        self.restore.setObjectName("restoreQuickActions")
        self.restore.setToolTip("Put back the built-in actions (yours are kept, unless one has the same name)")
        self.name = QLineEdit()
        self.name.setObjectName("quickActionName")
        self.prompt = QPlainTextEdit()
        self.prompt.setObjectName("quickActionPrompt")
        self.prompt.setAccessibleName("quick action prompt")
        self.prompt.setFixedHeight(110)
        placeholders = QLabel(PLACEHOLDER_HELP)
        placeholders.setWordWrap(True)
        placeholders.setObjectName("placeholderHelp")
        self.thinking = QComboBox()
        self.thinking.setObjectName("quickActionThinking")
        for value in THINKING:
            self.thinking.addItem(THINKING_LABELS[value], value)
        self.capture = QComboBox()
        self.capture.setObjectName("quickActionCapture")
        for value in CAPTURES:
            self.capture.addItem(CAPTURE_LABELS[value], value)
        self.hotkey = QKeySequenceEdit()
        self.hotkey.setObjectName("quickActionHotkey")
        self.hotkey.setMaximumSequenceLength(1)
        self.hotkey.setToolTip("Click, then press the keys (with Ctrl, Alt or Cmd): they capture and ask at once")
        self.clear_hotkey = QPushButton("None")
        self.clear_hotkey.setToolTip("No hotkey for this action")
        self.command = QLineEdit()
        self.command.setObjectName("quickActionCommand")
        self.command.setReadOnly(True)
        self.copy = QPushButton("Copy")
        self.copy.setObjectName("copyQuickActionCommand")
        self.language = QLineEdit(language)
        self.language.setObjectName("translateLanguage")
        self.problem = QLabel("")
        self.problem.setObjectName("quickActionProblem")
        self.problem.setWordWrap(True)

        hotkey_row = QHBoxLayout()
        hotkey_row.addWidget(self.hotkey, 1)
        hotkey_row.addWidget(self.clear_hotkey)
        command_row = QHBoxLayout()
        command_row.addWidget(self.command, 1)
        command_row.addWidget(self.copy)
        form = QFormLayout()
        form.addRow("Name", self.name)
        form.addRow("Prompt", self.prompt)
        form.addRow("", placeholders)
        form.addRow("Thinking", self.thinking)
        form.addRow("Its hotkey captures", self.capture)
        form.addRow("Hotkey", hotkey_row)
        form.addRow("Desktop shortcut command", command_row)
        buttons = QHBoxLayout()
        for button in (self.add, self.remove, self.restore):
            buttons.addWidget(button)
        left = QVBoxLayout()
        left.addWidget(self.list, 1)
        left.addLayout(buttons)
        right = QVBoxLayout()
        right.addLayout(form)
        right.addStretch(1)
        top = QHBoxLayout()
        top.addLayout(left)
        top.addLayout(right, 1)
        language_form = QFormLayout()
        language_form.addRow("Translate into ({language})", self.language)
        layout = QVBoxLayout(self)
        layout.addLayout(top, 1)
        layout.addLayout(language_form)
        layout.addWidget(self.problem)

        self.list.currentRowChanged.connect(self._select)
        for field in (self.name.textEdited, self.prompt.textChanged, self.hotkey.keySequenceChanged):
            field.connect(self._edited)
        self.thinking.currentIndexChanged.connect(self._edited)
        self.capture.currentIndexChanged.connect(self._edited)
        self.language.textEdited.connect(lambda _: self.changed.emit())
        self.clear_hotkey.clicked.connect(self.hotkey.clear)
        self.add.clicked.connect(self._add)
        self.remove.clicked.connect(self._remove)
        self.restore.clicked.connect(self._restore)
        self.copy.clicked.connect(lambda: QGuiApplication.clipboard().setText(self.command.text()))
        self._fill_list(0)

    # ------------------------------------------------------------------------------------------ reading

    def chosen(self) -> list[QuickAction]:
        return list(self.items)

    def translate_language(self) -> str:
        return self.language.text().strip() or "English"

    def problems(self, shortcuts: dict[str, str] | None = None) -> str | None:
        """What stops the actions from being saved, in words (the first thing found); None when nothing does.
        ``shortcuts`` are the global shortcuts chosen beside them, whose keys an action may not take."""
        taken = {combo: label_of(action) for action, combo in (shortcuts or {}).items() if combo}
        for index, action in enumerate(self.items):
            problem = action_problem(action, self.items[:index])
            if problem is not None:
                return problem
            if action.hotkey:
                try:
                    combo = normalize(action.hotkey)
                except HotkeyError as e:
                    return f"the hotkey of “{action.name}”: {e}"
                if combo in taken:
                    return f"{combo} is both {taken[combo]} and {label_of(quick_key(action.name))}"
                taken[combo] = label_of(quick_key(action.name))
        return None

    # ------------------------------------------------------------------------------------------ editing

    def _fill_list(self, select: int) -> None:
        self.list.blockSignals(True)
        self.list.clear()
        for action in self.items:
            self.list.addItem(action.name or "(no name)")
        self.list.blockSignals(False)
        self._shown = -1
        if self.items:
            self.list.setCurrentRow(max(0, min(select, len(self.items) - 1)))
        self._select(self.list.currentRow())

    def _select(self, row: int) -> None:
        self._shown = -1
        editing = 0 <= row < len(self.items)
        for widget in (self.name, self.prompt, self.thinking, self.capture, self.hotkey, self.clear_hotkey):
            widget.setEnabled(editing)
        self.remove.setEnabled(editing)
        if editing:
            action = self.items[row]
            for widget in (self.name, self.prompt, self.thinking, self.capture, self.hotkey):
                widget.blockSignals(True)
            self.name.setText(action.name)
            self.prompt.setPlainText(action.prompt)
            self.thinking.setCurrentIndex(max(0, self.thinking.findData(action.thinking)))
            self.capture.setCurrentIndex(max(0, self.capture.findData(action.capture)))
            self.hotkey.setKeySequence(to_qt(action.hotkey))
            for widget in (self.name, self.prompt, self.thinking, self.capture, self.hotkey):
                widget.blockSignals(False)
            self._shown = row
        self._show_state()

    def _edited(self, *_: object) -> None:
        row = self._shown
        if not 0 <= row < len(self.items):
            return
        try:
            hotkey = from_qt(self.hotkey.keySequence()) if not self.hotkey.keySequence().isEmpty() else ""
        except HotkeyError:
            hotkey = self.hotkey.keySequence().toString()  # kept as typed: problems() says what is wrong
        self.items[row] = dataclasses.replace(
            self.items[row],
            name=self.name.text().strip(),
            prompt=self.prompt.toPlainText(),
            thinking=self.thinking.currentData(),
            capture=self.capture.currentData(),
            hotkey=hotkey,
        )
        item = self.list.item(row)
        if item is not None:
            item.setText(self.items[row].name or "(no name)")
        self._show_state()

    def _show_state(self) -> None:
        row = self._shown
        if 0 <= row < len(self.items):
            action = self.items[row]
            self.command.setText(desktop_command(action.name, action.capture) if action.name else "")
            self.command.setCursorPosition(0)
        else:
            self.command.clear()
        self.problem.setText(self.problems() or "")
        self.changed.emit()

    def _add(self) -> None:
        taken = {a.name.casefold() for a in self.items}
        name = next(f"New action {n}" for n in range(1, 1000) if f"new action {n}" not in taken)
        self.items.append(QuickAction(name, "Describe what matters in this."))
        self._fill_list(len(self.items) - 1)
        self.name.setFocus()
        self.name.selectAll()

    def _remove(self) -> None:
        row = self.list.currentRow()
        if 0 <= row < len(self.items):
            del self.items[row]
            self._fill_list(row)

    def _restore(self) -> None:
        mine = [a for a in self.items if a.name.casefold() not in {b.name.casefold() for b in BUILT_IN}]
        self.items = [*BUILT_IN, *mine]
        self._fill_list(0)
