"""Hotkey bindings (spelling, conflicts, disabling), the provider fallback, and a real global hotkey: pynput
listening on Xvfb, the key chord typed by xdotool, a screenshot taken in answer."""

from __future__ import annotations

import importlib.util
import itertools
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.ui.hotkeys import (
    ACTIONS,
    LABELS,
    DesktopShortcutProvider,
    HotkeyError,
    Hotkeys,
    PynputProvider,
    conflicts,
    default_bindings,
    normalize,
    to_pynput,
)
from tests.support import xvfb
from tests.support.paths import ROOT


def readme_hotkeys() -> dict[str, tuple[str, str]]:
    """The README's Hotkeys table: label -> (Linux and Windows, macOS)."""
    lines = (ROOT / "README.md").read_text(encoding="utf-8").split("\n## Hotkeys\n", 1)[1].strip().splitlines()
    rows = [[cell.strip() for cell in line.strip().strip("|").split("|")] for line in lines[2:]]
    return {label: (linux, mac) for label, linux, mac in itertools.takewhile(lambda row: len(row) == 3, rows)}


def test_the_defaults_are_what_the_readme_tells_people_and_usable_on_each_platform():
    """The keys a person reads in the README, under the words the Settings window uses, are the ones the app
    binds on Linux and Windows and on macOS; each is a usable chord with a pynput spelling, and none clashes."""
    actions = {LABELS[action].lower(): action for action in ACTIONS}
    listed = {actions.get(label.lower(), label): keys for label, keys in readme_hotkeys().items()}
    linux, mac = default_bindings("linux"), default_bindings("darwin")
    assert listed == {action: (linux[action], mac[action]) for action in ACTIONS}
    assert default_bindings("win32") == linux
    for bindings in (linux, mac):
        assert conflicts(bindings) == []
        assert all(to_pynput(normalize(combo)) for combo in bindings.values())


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [
        ("shift+ctrl+s", "Ctrl+Shift+S"),
        ("Super + Alt + f5", "Alt+Cmd+F5"),
        ("control+option+Space", "Ctrl+Alt+Space"),
        ("Shift+F9", "Shift+F9"),
        ("", ""),
    ],
)
def test_normalize(typed, canonical):
    assert normalize(typed) == canonical


@pytest.mark.parametrize("bad", ["S", "Shift+S", "Ctrl+", "Ctrl+S+X", "Ctrl+Banana", "Ctrl+Shift"])
def test_unusable_combinations_are_refused_with_a_reason(bad):
    with pytest.raises(HotkeyError):
        normalize(bad)


def test_conflicts_are_found_and_a_disabled_action_has_none():
    bindings = default_bindings("linux")
    moved = {**bindings, "capture_full": "", "history": "Ctrl+Shift+S"}
    assert conflicts(moved) == []
    assert conflicts({**bindings, "new_chat": "ctrl+shift+x"}) == [("capture_region", "new_chat", "Ctrl+Shift+X")]


def test_pynput_spelling():
    assert to_pynput("Ctrl+Shift+S") == "<ctrl>+<shift>+s"
    assert to_pynput("Cmd+Alt+F12") == "<alt>+<cmd>+<f12>"
    assert to_pynput("Ctrl+PageUp") == "<ctrl>+<page_up>"


def test_without_a_display_hotkeys_fall_back_to_desktop_shortcuts(qtbot, monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    hotkeys = Hotkeys([PynputProvider(), DesktopShortcutProvider()])
    provider = hotkeys.start(default_bindings("linux"))
    assert isinstance(provider, DesktopShortcutProvider)
    assert "pynput" in hotkeys.status
    rows = DesktopShortcutProvider.instructions(default_bindings("linux"))
    assert ("Capture region", "Ctrl+Shift+X", "glmv capture --region") in rows
    with pytest.raises(HotkeyError, match="bound to both"):
        hotkeys.start({**default_bindings("linux"), "history": "Ctrl+Shift+S"})


def test_on_wayland_pynput_declines(monkeypatch):
    monkeypatch.setenv("WAYLAND_DISPLAY", "wayland-0")
    monkeypatch.setattr(sys, "platform", "linux")
    assert "Wayland" in (PynputProvider().problem() or "")


@pytest.mark.skipif(xvfb.missing() is not None, reason=xvfb.missing() or "")
def test_pynput_hotkey_typed_with_xdotool_takes_a_screenshot(tmp_path):
    if importlib.util.find_spec("pynput") is None:
        pytest.skip("pynput is not installed")
    with xvfb.xvfb() as env:
        proc = xvfb.start([__file__, "listen", str(tmp_path)], env)
        try:
            time.sleep(0.3)
            subprocess.run(["xdotool", "key", "ctrl+shift+n"], env=env, check=True, timeout=10)
            subprocess.run(["xdotool", "key", "ctrl+shift+s"], env=env, check=True, timeout=10)
            out, err = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                xvfb.stop(proc)
    lines = out.split()
    assert lines[:2] == ["new_chat", "capture_full"], err[-2000:]
    saved = Path(lines[2])
    assert saved.suffix == ".png" and saved.stat().st_size > 0


def _listen(folder: str) -> None:
    from PySide6.QtWidgets import QApplication

    from app.ui.capture.controller import CaptureController

    app = QApplication([])
    controller = CaptureController(folder=Path(folder))
    hotkeys = Hotkeys([PynputProvider()])

    def on(action: str) -> None:
        print(action, flush=True)
        if action == "capture_full":
            controller.full_screen()

    hotkeys.triggered.connect(on)
    controller.captured.connect(lambda p: (print(p, flush=True), app.quit()))
    controller.failed.connect(lambda m: (print("failed", m, flush=True), app.quit()))
    hotkeys.start(default_bindings())
    assert set(default_bindings()) == set(ACTIONS)
    print("ready", flush=True)
    app.exec()
    hotkeys.stop()


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    if sys.argv[1] == "listen":
        _listen(sys.argv[2])
