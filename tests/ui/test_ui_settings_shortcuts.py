"""Settings: global shortcuts (rebinding with conflicts, turning off, defaults), capture rate and length, the
commands for the desktop's own shortcuts, and the desktop shell applying saved settings without a restart.
Real widgets (offscreen), keys pressed into the real QKeySequenceEdit, the real loopback server behind the window.
"""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QGuiApplication

from app.core import settings as settings_io
from app.ui.hotkeys import (
    DesktopShortcutProvider,
    Hotkeys,
    PynputProvider,
    default_bindings,
    normalize,
    primary_modifier,
)
from app.ui.settings_dialog import SettingsDialog
from app.ui.shell import DesktopShell, bindings_for
from app.ui.shortcut_edit import from_qt, to_qt

pytestmark = pytest.mark.gui
CTRL_SHIFT = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
MOD = primary_modifier()


def keys(letter: str) -> str:
    """The platform's default spelling for primary modifier + Shift + letter, as the dialog stores it."""
    return normalize(f"{MOD}+Shift+{letter}")


def dialog_for(qtbot, window) -> SettingsDialog:
    dialog = SettingsDialog(window.settings, window.vault, window.tasks, window)
    dialog.show()
    dialog.tabs.setCurrentWidget(dialog.capture_tab)
    qtbot.waitExposed(dialog)
    return dialog


def press(qtbot, dialog: SettingsDialog, action: str, key: Qt.Key, modifiers=CTRL_SHIFT) -> None:
    """What a person does: click the field, press the keys."""
    edit = dialog.shortcuts.edits[action]
    qtbot.mouseClick(edit, Qt.MouseButton.LeftButton)
    qtbot.keyClick(edit, key, modifiers)


def test_keys_already_used_are_named_next_to_both_fields_and_save_is_refused(qtbot, windows):
    window = windows()
    dialog = dialog_for(qtbot, window)
    press(qtbot, dialog, "new_chat", Qt.Key.Key_S)
    problems = dialog.shortcuts.messages
    assert "Capture full screen" in problems["new_chat"].text()
    assert "New chat" in problems["capture_full"].text()
    assert problems["record"].text() == ""

    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert dialog.isVisible() and dialog.result() != SettingsDialog.DialogCode.Accepted
    assert "Not saved" in dialog.save_problem.text() and keys("S") in dialog.save_problem.text()

    # Turning the other action off resolves it: the message goes and Save closes the dialog.
    qtbot.mouseClick(dialog.shortcuts.enabled["capture_full"], Qt.MouseButton.LeftButton)
    assert not dialog.shortcuts.enabled["capture_full"].isChecked()
    assert all(label.text() == "" for label in problems.values()) and dialog.save_problem.text() == ""
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert dialog.result() == SettingsDialog.DialogCode.Accepted
    assert dialog.result_settings().shortcuts == {"capture_full": "", "new_chat": keys("S")}


def test_a_key_without_a_modifier_is_refused_with_the_reason(qtbot, windows):
    window = windows()
    dialog = dialog_for(qtbot, window)
    press(qtbot, dialog, "history", Qt.Key.Key_H, Qt.KeyboardModifier.NoModifier)
    assert "no Ctrl, Alt or Cmd" in dialog.shortcuts.messages["history"].text()
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert dialog.isVisible() and "History" in dialog.save_problem.text()


def test_turning_an_action_off_stores_an_empty_binding_and_saves_only_changes(qtbot, windows, tmp_path):
    window = windows()
    dialog = dialog_for(qtbot, window)
    qtbot.mouseClick(dialog.shortcuts.enabled["record"], Qt.MouseButton.LeftButton)
    assert not dialog.shortcuts.edits["record"].isEnabled()
    press(
        qtbot,
        dialog,
        "capture_region",
        Qt.Key.Key_X,
        Qt.KeyboardModifier.AltModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    chosen = dialog.result_settings()
    assert chosen.shortcuts == {"record": "", "capture_region": "Alt+Shift+X"}
    window.apply_settings(chosen)
    saved = settings_io.load(tmp_path / "config" / "settings.json")
    assert saved.shortcuts == {"record": "", "capture_region": "Alt+Shift+X"}
    assert bindings_for(saved)["record"] == "" and bindings_for(saved)["capture_full"] == f"{MOD}+Shift+S"
    # Turning it on again offers the keys it had.
    dialog = dialog_for(qtbot, window)
    assert not dialog.shortcuts.enabled["record"].isChecked()
    qtbot.mouseClick(dialog.shortcuts.enabled["record"], Qt.MouseButton.LeftButton)
    assert dialog.shortcuts.bindings()["record"] == keys("R")


def test_restore_defaults_clears_the_changes(qtbot, windows):
    window = windows()
    window.settings.shortcuts = {"record": "", "capture_region": "Alt+Shift+X", "history": "Ctrl+Alt+H"}
    dialog = dialog_for(qtbot, window)
    assert dialog.shortcuts.bindings()["capture_region"] == "Alt+Shift+X"
    assert not dialog.shortcuts.enabled["record"].isChecked()
    qtbot.mouseClick(dialog.restore_shortcuts, Qt.MouseButton.LeftButton)
    assert dialog.shortcuts.bindings() == {a: normalize(k) for a, k in default_bindings().items()}
    assert all(box.isChecked() for box in dialog.shortcuts.enabled.values())
    assert dialog.result_settings().shortcuts == {}


def test_capture_rate_length_and_tray_are_saved(qtbot, windows, tmp_path):
    window = windows()
    dialog = dialog_for(qtbot, window)
    assert (dialog.capture_fps.value(), dialog.record_max.value()) == (10, 60)
    assert (dialog.capture_fps.minimum(), dialog.capture_fps.maximum()) == (1, 30)
    dialog.capture_fps.setValue(24)
    dialog.record_max.setValue(90)
    qtbot.mouseClick(dialog.close_to_tray, Qt.MouseButton.LeftButton)
    window.apply_settings(dialog.result_settings())
    saved = settings_io.load(tmp_path / "config" / "settings.json")
    assert (saved.capture_fps, saved.record_max_seconds, saved.close_to_tray) == (24, 90, False)


def test_the_commands_for_desktop_shortcuts_follow_the_keys_and_copy(qtbot, windows):
    window = windows()
    dialog = dialog_for(qtbot, window)
    commands = dialog.desktop_commands
    # Without a running shell the dialog asks pynput itself whether global hotkeys can work here.
    works = PynputProvider().problem() is None
    assert dialog.show_commands.isVisibleTo(dialog) == works
    assert commands.isVisibleTo(dialog) == (not works)
    dialog.show_commands.setChecked(True)
    assert commands.isVisibleTo(dialog)
    assert commands.commands["capture_region"].text().endswith("capture --region")
    assert commands.keys["capture_region"].text() == keys("X")
    press(qtbot, dialog, "capture_region", Qt.Key.Key_G)
    assert commands.keys["capture_region"].text() == keys("G")
    qtbot.mouseClick(commands.copy_buttons["record"], Qt.MouseButton.LeftButton)
    assert QGuiApplication.clipboard().text() == commands.commands["record"].text()
    assert QGuiApplication.clipboard().text().endswith("glmv capture --record".removeprefix("glmv"))


class RememberingDesktopShortcuts(DesktopShortcutProvider):
    """The desktop-shortcut provider (it grabs no keys), keeping the bindings it was started with."""

    def __init__(self) -> None:
        self.started_with: list[dict[str, str]] = []

    def start(self, bindings, callback) -> None:
        self.started_with.append(dict(bindings))


def test_saved_settings_restart_the_hotkeys_and_the_capture_without_a_restart(qtbot, windows):
    window = windows()
    provider = RememberingDesktopShortcuts()
    shell = DesktopShell(window, use_hotkeys=True, use_tray=False, hotkeys=Hotkeys([provider]))
    try:
        assert shell.hotkey_status.startswith("Global shortcuts need the desktop's own shortcut settings")
        assert provider.started_with == [default_bindings()]
        assert window.statusBar().currentMessage() == shell.hotkey_status
        window.statusBar().clearMessage()
        messages: list[str] = []
        window.statusBar().messageChanged.connect(messages.append)
        seen: dict[str, object] = {}

        def in_the_dialog() -> None:
            dialog = window.findChildren(SettingsDialog)[-1]
            try:
                dialog.tabs.setCurrentWidget(dialog.capture_tab)
                seen["paused"] = shell.hotkeys.provider is None
                seen["status"] = dialog.hotkey_status.text()
                seen["commands shown"] = dialog.desktop_commands.isVisibleTo(dialog)
                seen["toggle shown"] = dialog.show_commands.isVisibleTo(dialog)
                press(qtbot, dialog, "capture_region", Qt.Key.Key_X, Qt.KeyboardModifier.AltModifier)
                dialog.capture_fps.setValue(20)
                dialog.record_max.setValue(15)
                qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
            finally:
                if dialog.isVisible():
                    dialog.reject()

        QTimer.singleShot(0, in_the_dialog)
        window.open_settings()
        # The dialog knew the hotkeys could not be heard and showed the commands without being asked.
        assert "cannot be heard" in seen["status"] and seen["commands shown"] and not seen["toggle shown"]
        assert provider.started_with[-1]["capture_region"] == "Alt+X"
        # Paused while the dialog was open (recording keys must not fire them), started once with the new keys.
        assert seen["paused"] and len(provider.started_with) == 2
        assert shell.hotkeys.provider is provider
        assert (shell.capture.fps, shell.capture.max_seconds) == (20, 15.0)
        assert shell.hotkey_status in messages
        assert window.settings.shortcuts == {"capture_region": "Alt+X"}
    finally:
        shell.floating.close()


def test_cancel_starts_the_paused_hotkeys_again_with_the_old_keys(qtbot, windows):
    window = windows()
    provider = RememberingDesktopShortcuts()
    shell = DesktopShell(window, use_hotkeys=True, use_tray=False, hotkeys=Hotkeys([provider]))
    try:
        dialog = dialog_for(qtbot, window)
        assert shell.hotkeys.provider is None
        press(qtbot, dialog, "history", Qt.Key.Key_Y)
        dialog.reject()
        assert shell.hotkeys.provider is provider
        assert provider.started_with == [default_bindings(), default_bindings()]
    finally:
        shell.floating.close()


@pytest.mark.parametrize("platform", ["linux", "darwin"])
def test_recorded_keys_and_bindings_convert_both_ways(qtbot, platform):
    for binding in default_bindings(platform).values():
        assert from_qt(to_qt(binding, platform), platform) == normalize(binding)
    assert from_qt(to_qt("Ctrl+Alt+PageUp", platform), platform) == "Ctrl+Alt+PageUp"
    assert from_qt(to_qt("", platform), platform) == ""
