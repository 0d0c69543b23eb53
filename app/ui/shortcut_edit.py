"""The global-shortcut rows of the settings dialog, and the commands to bind where the app cannot listen.

Keys are recorded with ``QKeySequenceEdit`` (press them, no typing of names) and stored in the spelling of
``app.ui.hotkeys`` ("Ctrl+Shift+S", "Cmd" on macOS). On macOS Qt calls the Command key "Ctrl" and the Control
key "Meta", so the two are swapped on the way in and out. A problem (a key the hotkeys cannot use, the same keys
for two actions) is shown next to the field it concerns; the dialog refuses to save while one remains.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import sys
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtGui import QFontDatabase, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QCheckBox,
    QGridLayout,
    QKeySequenceEdit,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QWidget,
)

from app.ui.hotkeys import ACTIONS, COMMANDS, LABELS, DesktopShortcutProvider, HotkeyError, default_bindings, normalize

QT_KEY_NAMES = {"PgUp": "PageUp", "PgDown": "PageDown", "Ins": "Insert", "Del": "Delete", "Return": "Enter"}
QT_NAMES_BACK = {v: k for k, v in QT_KEY_NAMES.items() if k != "Return"}


def from_qt(sequence: QKeySequence, platform: str = sys.platform) -> str:
    """A recorded key sequence as a binding ("" when empty); HotkeyError when the hotkeys cannot use it."""
    text = sequence.toString(QKeySequence.SequenceFormat.PortableText)
    if not text:
        return ""
    swap = {"Ctrl": "Cmd", "Meta": "Ctrl"} if platform == "darwin" else {"Meta": "Cmd"}
    parts = text.split("+")
    # "Ctrl++" (the plus key itself) splits into empty names; normalize() refuses it with its own message.
    return normalize("+".join(swap.get(p, QT_KEY_NAMES.get(p, p)) for p in parts))


def to_qt(binding: str, platform: str = sys.platform) -> QKeySequence:
    swap = {"Cmd": "Ctrl", "Ctrl": "Meta"} if platform == "darwin" else {"Cmd": "Meta"}
    parts = [swap.get(p, QT_NAMES_BACK.get(p, p)) for p in binding.split("+")] if binding else []
    return QKeySequence.fromString("+".join(parts), QKeySequence.SequenceFormat.PortableText)


def glmv_command(command: str) -> str:
    """``command`` ("glmv capture --full") with the full path of this installation's ``glmv``: a desktop
    shortcut does not run in the terminal's PATH, so a bare "glmv" from a virtual environment would not start."""
    name = "glmv.exe" if sys.platform == "win32" else "glmv"
    beside = Path(sys.executable).with_name(name)
    found = str(beside) if beside.is_file() else shutil.which("glmv")
    if not found:
        return command
    quoted = f'"{found}"' if sys.platform == "win32" and " " in found else shlex.quote(found)
    return quoted + command.removeprefix("glmv")


def where_to_bind() -> str:
    """Where this desktop keeps its own keyboard shortcuts, in words."""
    desktop = os.environ.get("XDG_CURRENT_DESKTOP", "").upper()
    if "GNOME" in desktop or "UNITY" in desktop or "CINNAMON" in desktop:
        return "Settings → Keyboard → View and Customize Shortcuts → Custom Shortcuts"
    if "KDE" in desktop:
        return "System Settings → Keyboard → Shortcuts → Add New → Command or Script"
    if "XFCE" in desktop:
        return "Settings → Keyboard → Application Shortcuts"
    if sys.platform == "darwin":
        return "the Shortcuts app (a “Run Shell Script” action, then a keyboard shortcut for it)"
    return "your desktop's keyboard shortcut settings"


class ShortcutsEditor(QWidget):
    """One row per hotkey action: its keys, an on/off box, and what is wrong with it, if anything."""

    changed = Signal()

    def __init__(self, changes: dict[str, str], platform: str = sys.platform, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.platform = platform
        self.defaults = {a: normalize(combo) for a, combo in default_bindings(platform).items()}
        self.edits: dict[str, QKeySequenceEdit] = {}
        self.enabled: dict[str, QCheckBox] = {}
        self.messages: dict[str, QLabel] = {}
        self._last: dict[str, str] = dict(self.defaults)
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(10)
        grid.setVerticalSpacing(4)
        grid.setColumnStretch(3, 1)
        for index, action in enumerate(ACTIONS):
            row = 2 * index
            label = QLabel(LABELS[action])
            edit = QKeySequenceEdit()
            edit.setObjectName(f"shortcut_{action}")
            edit.setAccessibleName(f"{LABELS[action]} shortcut")
            edit.setMaximumSequenceLength(1)
            edit.setMinimumWidth(150)
            edit.setToolTip("Click, then press the keys (with Ctrl, Alt or Cmd)")
            label.setBuddy(edit)
            box = QCheckBox("On")
            box.setObjectName(f"shortcutOn_{action}")
            box.setAccessibleName(f"{LABELS[action]} shortcut on")
            message = QLabel("")
            message.setObjectName("shortcutProblem")
            message.setWordWrap(True)
            message.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
            message.hide()
            grid.addWidget(label, row, 0)
            grid.addWidget(edit, row, 1)
            grid.addWidget(box, row, 2)
            # The problem goes right under its field, as wide as the rest of the row, shown only when there is one.
            grid.addWidget(message, row + 1, 1, 1, 3)
            self.edits[action], self.enabled[action], self.messages[action] = edit, box, message
            edit.keySequenceChanged.connect(lambda _, a=action: self._edited(a))
            edit.editingFinished.connect(lambda a=action: self._finished(a))
            box.toggled.connect(lambda on, a=action: self._toggled(a, on))
        self.set_bindings({**self.defaults, **{k: v for k, v in changes.items() if k in self.defaults}})

    # --------------------------------------------------------------------------------------- state

    def set_bindings(self, bindings: dict[str, str]) -> None:
        for action in ACTIONS:
            combo = bindings.get(action, "")
            edit, box = self.edits[action], self.enabled[action]
            for widget in (edit, box):
                widget.blockSignals(True)
            try:
                normalized = normalize(combo) if combo else ""
            except HotkeyError:
                normalized = ""  # an unusable saved value: shown as off, the default offered when turned on
            if normalized:
                self._last[action] = normalized
            edit.setKeySequence(to_qt(normalized or self._last[action], self.platform))
            box.setChecked(bool(normalized))
            edit.setEnabled(bool(normalized))
            for widget in (edit, box):
                widget.blockSignals(False)
        self._validate()

    def restore_defaults(self) -> None:
        self._last = dict(self.defaults)
        self.set_bindings(self.defaults)

    def bindings(self) -> dict[str, str]:
        """Every action's keys as chosen ("" for off); a field the hotkeys cannot use keeps its raw text."""
        result = {}
        for action in ACTIONS:
            if not self.enabled[action].isChecked() or self.edits[action].keySequence().isEmpty():
                result[action] = ""
                continue
            try:
                result[action] = from_qt(self.edits[action].keySequence(), self.platform)
            except HotkeyError:
                result[action] = self.edits[action].keySequence().toString()
        return result

    def changes(self) -> dict[str, str]:
        """What ``Settings.shortcuts`` keeps: only the differences from the platform's defaults."""
        return {a: v for a, v in self.bindings().items() if v != self.defaults[a]}

    def problems(self) -> dict[str, str]:
        """action -> what is wrong with its keys; empty when the shortcuts can be saved."""
        found: dict[str, str] = {}
        valid: dict[str, str] = {}
        for action in ACTIONS:
            if not self.enabled[action].isChecked() or self.edits[action].keySequence().isEmpty():
                continue
            try:
                combo = from_qt(self.edits[action].keySequence(), self.platform)
            except HotkeyError as e:
                found[action] = str(e)
                continue
            for other, other_combo in valid.items():
                if other_combo == combo:
                    found[action] = f"{combo} is also “{LABELS[other]}”: change or turn off one of them."
                    found.setdefault(other, f"{combo} is also “{LABELS[action]}”: change or turn off one of them.")
            valid[action] = combo
        return found

    # --------------------------------------------------------------------------------------- reactions

    def _edited(self, action: str) -> None:
        """Recording starts with an empty sequence: that counts as off until keys arrive."""
        if not self.edits[action].keySequence().isEmpty():
            with contextlib.suppress(HotkeyError):  # an unusable combination is reported by _validate
                self._last[action] = from_qt(self.edits[action].keySequence(), self.platform)
        self._validate()

    def _finished(self, action: str) -> None:
        """A recording that ended without keys turns the action off; turning it on offers its last keys."""
        if self.edits[action].keySequence().isEmpty():
            self.enabled[action].setChecked(False)

    def _toggled(self, action: str, on: bool) -> None:
        edit = self.edits[action]
        edit.setEnabled(on)
        if on and edit.keySequence().isEmpty():
            edit.blockSignals(True)
            edit.setKeySequence(to_qt(self._last[action], self.platform))
            edit.blockSignals(False)
        self._validate()

    def _validate(self) -> None:
        problems = self.problems()
        for action, label in self.messages.items():
            label.setText(problems.get(action, ""))
            label.setVisible(action in problems)
        self.changed.emit()


class DesktopCommands(QWidget):
    """The ``glmv capture`` command of each action, to bind in the desktop's own shortcut settings where the
    app cannot listen to the keyboard (Wayland, no pynput). Each has a Copy button."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.where = QLabel(
            f"Add a custom shortcut for each command in {where_to_bind()}. The command hands the capture to the "
            "running app, and starts the app when it is not running."
        )
        self.where.setWordWrap(True)
        self.where.setObjectName("bindWhere")
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(self.where, 0, 0, 1, 4)
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self.keys: dict[str, QLabel] = {}
        self.commands: dict[str, QLineEdit] = {}
        self.copy_buttons: dict[str, QPushButton] = {}
        for row, action in enumerate(COMMANDS, start=1):
            keys = QLabel("")
            keys.setObjectName(f"bindKeys_{action}")
            command = QLineEdit(glmv_command(COMMANDS[action]))
            command.setObjectName(f"command_{action}")
            command.setReadOnly(True)
            command.setFont(mono)
            command.setCursorPosition(0)
            command.setMinimumWidth(min(command.fontMetrics().horizontalAdvance(command.text()) + 16, 560))
            copy = QPushButton("Copy")
            copy.setObjectName(f"copyCommand_{action}")
            copy.setAccessibleName(f"copy the command for {LABELS[action]}")
            copy.clicked.connect(lambda _=False, a=action: self.copy(a))
            grid.addWidget(QLabel(LABELS[action]), row, 0)
            grid.addWidget(keys, row, 1)
            grid.addWidget(command, row, 2)
            grid.addWidget(copy, row, 3)
            self.keys[action], self.commands[action], self.copy_buttons[action] = keys, command, copy
        grid.setColumnStretch(2, 1)

    def show_bindings(self, bindings: dict[str, str]) -> None:
        """The keys next to each command are the ones chosen above (a suggestion for the desktop's setting)."""
        for label, combo, command in DesktopShortcutProvider.instructions(bindings):
            action = next(a for a, c in COMMANDS.items() if c == command)
            self.keys[action].setText(combo or "(off)")
            self.keys[action].setEnabled(bool(combo))
            self.keys[action].setToolTip(f"Suggested keys for “{label}”")

    def copy(self, action: str) -> None:
        QGuiApplication.clipboard().setText(self.commands[action].text())
        self.copy_buttons[action].setText("Copied")
        self.copy_buttons[action].setToolTip("The command is on the clipboard")
