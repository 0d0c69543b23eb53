"""The desktop shell wires capture, the command channel, the floating window and the tray to the main window.
Real widgets (offscreen), the real loopback server behind the real ApiBackend, a real QLocalServer."""

from __future__ import annotations

import subprocess
import sys
import uuid

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QEvent
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QApplication, QPushButton

from app.ui.instance import ARGUMENT_COMMANDS, COMMANDS, InstanceServer
from app.ui.shell import DesktopShell, bindings_for
from tests.support.openai_server import dialect_stream
from tests.support.paths import ROOT
from tests.support.window import wait_answer

pytestmark = pytest.mark.gui


@pytest.fixture
def shell_of(qtbot):
    made: list[DesktopShell] = []

    def make(window, **kwargs) -> DesktopShell:
        shell = DesktopShell(window, use_hotkeys=False, use_tray=False, **kwargs)
        made.append(shell)
        return shell

    yield make
    for shell in made:
        shell.floating.close()
        if shell.server is not None:
            shell.server.close()


def test_a_capture_lands_in_the_composer_with_the_question_box_focused(qtbot, windows, shell_of, image):
    window = windows()
    shell = shell_of(window)
    shell.capture.captured.emit(str(image))
    qtbot.waitUntil(lambda: len(window.composer.strip.chips()) == 1, timeout=5000)
    chip = window.composer.strip.chips()[0]
    qtbot.waitUntil(lambda: chip.ready, timeout=10000)
    assert window.composer.strip.attachments()[0].path.name == image.name


def test_a_capture_failure_is_a_banner_that_says_why(qtbot, windows, shell_of):
    window = windows()
    shell = shell_of(window)
    shell.capture.failed.emit("No screen capture method works here: install mss")
    (banner,) = window.banners()
    assert "install mss" in banner.text.text() and not banner.retry_button.isVisibleTo(window)
    # A capture is its own kind of failure, and nothing in Settings fixes it.
    assert banner.kind == "capture"
    assert [b.text() for b in banner.findChildren(QPushButton)] == ["Retry"]


def test_glmv_capture_commands_reach_the_running_app(qtbot, windows, shell_of):
    window = windows()
    server = InstanceServer(name=f"glmv-test-{uuid.uuid4().hex[:8]}")
    assert server.listen()
    shell = shell_of(window, server=server)
    # Through the real channel; "show" is the command that needs no screen to observe.
    window.hide()
    # A second process, as `glmv capture` is: the event loop here keeps running while it waits for "ok".
    sender = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"from app.ui.instance import send_command; print(send_command('show', 5000, {server.name!r}))",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    qtbot.waitUntil(lambda: sender.poll() is not None, timeout=20000)
    assert sender.stdout.read().strip() == "ok"
    assert window.isVisible()
    assert set(shell.commands()) == set(COMMANDS + ARGUMENT_COMMANDS), "every command the channel takes is routed"


def test_the_floating_window_shares_the_draft_and_asks_through_the_main_window(qtbot, windows, shell_of, openai_server):
    window = windows()
    shell = shell_of(window)
    window.composer.input.setPlainText("half a question")
    shell.toggle_floating()
    assert shell.floating.isVisible() and shell.floating.draft() == "half a question"
    shell.floating.set_draft("What is on screen?")
    shell.floating.draft_changed.emit("What is on screen?")
    assert window.composer.input.toPlainText() == "What is on screen?"
    openai_server.enqueue(dialect_stream("vllm", reasoning="Looking.", answer="A chart."))
    shell.floating.submitted.emit("What is on screen?")
    wait_answer(qtbot, window)
    content = openai_server.last.body["messages"][-1]["content"]
    texts = [content] if isinstance(content, str) else [p["text"] for p in content if p["type"] == "text"]
    assert texts == ["What is on screen?"]
    # The small window follows the conversation: it shows the answer that just arrived.
    qtbot.waitUntil(lambda: "A chart." in shell.floating.answer.toPlainText(), timeout=3000)
    assert not shell.floating.thinking.isVisible()
    shell.toggle_floating()
    assert not shell.floating.isVisible()


def test_floating_place_and_pin_are_remembered(qtbot, windows, shell_of, tmp_path):
    window = windows()
    path = tmp_path / "config" / "settings.json"
    shell = shell_of(window, settings_path=path)
    shell.floating.pinned_changed.emit(False)
    shell.floating.moved.emit(-200, 40)
    qtbot.waitUntil(lambda: window.settings.floating_x == -200, timeout=3000)
    from app.core import settings as settings_io

    saved = settings_io.load(path)
    assert (saved.floating_x, saved.floating_y, saved.floating_pinned) == (-200, 40, False)


def test_without_a_tray_closing_the_window_really_closes_it(qtbot, windows, shell_of):
    window = windows()
    shell = shell_of(window)
    assert shell.tray is None
    event = QCloseEvent()
    QApplication.sendEvent(window, event)
    assert event.isAccepted()
    assert event.type() == QEvent.Type.Close


def test_shortcut_changes_apply_over_the_platform_defaults(windows):
    window = windows()
    window.settings.shortcuts = {"record": "", "capture_region": "Alt+Shift+X", "unknown": "Ctrl+K"}
    bindings = bindings_for(window.settings)
    assert bindings["record"] == "" and bindings["capture_region"] == "Alt+Shift+X"
    assert "unknown" not in bindings and bindings["capture_full"].endswith("+Shift+S")


def test_closing_hides_to_the_tray_only_when_there_is_one_and_the_settings_say_so(qtbot, windows, shell_of):
    from app.ui.tray import Tray

    window = windows()
    shell = shell_of(window)
    window.settings.close_to_tray = True
    window.show()
    assert shell.tray is None  # no tray on this display: closing quits, as it must
    assert window.hide_instead_of_closing is not None and window.hide_instead_of_closing() is False
    shell.tray = Tray(parent=shell)
    window.close()
    assert not window.isVisible(), "hidden to the tray"
    assert window.hide_instead_of_closing(), "and still running: the next close hides again"
    window.settings.close_to_tray = False
    assert window.hide_instead_of_closing() is False
