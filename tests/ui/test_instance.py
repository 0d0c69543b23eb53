"""The single-instance channel between real processes: a second ``glmv`` delivers its command to the first;
a name left behind by a crashed instance is reclaimed; a live one is not stolen."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from PySide6.QtNetwork import QLocalSocket

from app.ui.instance import COMMANDS, InstanceServer, send_command, server_name
from tests.support.xvfb import ROOT


@pytest.fixture
def name() -> str:
    return "glmv-test-" + uuid.uuid4().hex[:10]


def second_process(code: str, timeout: int = 30) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )


def test_second_process_hands_its_command_to_the_first(qtbot, name):
    server = InstanceServer(name)
    assert server.listen()
    code = (
        "import sys\n"
        "from app.ui.instance import send_command\n"
        f"print(send_command('capture-region', 5000, {name!r}))\n"
        "print('PySide6.QtWidgets' in sys.modules)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    with qtbot.waitSignal(server.command_received, timeout=20000) as blocker:
        pass
    command, ticket = blocker.args
    assert command == "capture-region"
    # The sender waits until the command has run and hears how it ended.
    server.answer(ticket, "captured /tmp/region.png")
    qtbot.waitUntil(lambda: proc.poll() is not None, timeout=20000)
    out, err = proc.communicate(timeout=20)
    assert out.splitlines() == ["captured /tmp/region.png", "False"], err
    server.close()


def test_no_instance_answers_false_quickly(name):
    result = second_process(f"from app.ui.instance import send_command; print(send_command('show', 500, {name!r}))")
    assert result.stdout.strip() == "None", result.stderr


def test_unknown_commands_are_refused_on_both_sides(qtbot, name):
    with pytest.raises(ValueError, match="unknown command"):
        send_command("format-disk", 100, name)
    server = InstanceServer(name)
    assert server.listen()
    received: list[str] = []
    server.command_received.connect(lambda command, ticket: received.append(command))
    socket = QLocalSocket()
    socket.connectToServer(name)
    assert socket.waitForConnected(2000)
    socket.write(b"format-disk\n")
    qtbot.waitUntil(lambda: socket.canReadLine() or socket.waitForReadyRead(10), timeout=5000)
    assert bytes(socket.readLine().data()).strip() == b"unknown"
    assert received == []
    server.close()


def test_a_live_instance_is_not_replaced(qtbot, name):
    first = InstanceServer(name)
    assert first.listen()
    second = InstanceServer(name)
    assert not second.listen()
    assert first.listening
    first.close()


@pytest.mark.skipif(sys.platform == "win32", reason="named pipes leave nothing behind on Windows")
def test_name_left_by_a_crashed_instance_is_reclaimed(qtbot, name):
    code = (
        "import sys, time\n"
        "from PySide6.QtCore import QCoreApplication\n"
        "from app.ui.instance import InstanceServer\n"
        "app = QCoreApplication([])\n"
        f"s = InstanceServer({name!r})\n"
        "print(s.listen(), flush=True)\n"
        "time.sleep(60)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "True"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    server = InstanceServer(name)
    assert server.listen(), "the stale socket file must be removed before listening"
    with qtbot.waitSignal(server.command_received, timeout=10000) as blocker:
        proc2 = subprocess.Popen(
            [sys.executable, "-c", f"from app.ui.instance import send_command; send_command('show', 5000, {name!r})"],
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            cwd=ROOT,
        )
    assert blocker.args[0] == "show"
    server.answer(blocker.args[1], "ok")
    qtbot.waitUntil(lambda: proc2.poll() is not None, timeout=20000)
    server.close()


@pytest.mark.parametrize("flag", ["--region", "--full", "--window", "--record"])
def test_each_glmv_capture_flag_is_a_command_the_running_app_takes(qtbot, name, monkeypatch, flag):
    """`glmv capture FLAG` as a person runs it, against an app's channel found by name as the app finds its own:
    the app receives a command it knows (an unknown one is answered "unknown", and glmv says so) and glmv prints
    what the app answered."""
    monkeypatch.setenv("GLMV_INSTANCE", name)
    server = InstanceServer(server_name())
    assert server.listen()
    received: list[str] = []

    def run(command: str, ticket: int) -> None:
        received.append(command)
        server.answer(ticket, "captured /tmp/shot.png")

    server.command_received.connect(run)
    cli = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "capture", flag],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    qtbot.waitUntil(lambda: cli.poll() is not None, timeout=30000)
    out, err = cli.communicate(timeout=10)
    server.close()
    assert len(received) == 1 and received[0] in COMMANDS
    assert (cli.returncode, out.strip()) == (0, "/tmp/shot.png"), err


def test_an_app_with_another_data_folder_is_another_instance(qtbot, tmp_path, monkeypatch):
    """Another HOME or XDG_DATA_HOME is another history: its `glmv` must not hand its commands to this app."""
    monkeypatch.delenv("GLMV_INSTANCE", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "first"))
    first = server_name()
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "first" / ".." / "first"))
    assert server_name() == first, "the same folder, spelled another way, is the same instance"
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "first"))
    server = InstanceServer()
    assert server.listen()
    env = {k: v for k, v in os.environ.items() if k != "GLMV_INSTANCE"}

    def show_from(data_home: Path) -> str:
        code = "from app.ui.instance import send_command; print(send_command('show', 1500))"
        sender = subprocess.Popen(
            [sys.executable, "-c", code],
            env={**env, "PYTHONPATH": str(ROOT), "XDG_DATA_HOME": str(data_home)},
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        qtbot.waitUntil(lambda: sender.poll() is not None, timeout=20000)
        assert sender.stdout is not None
        return sender.stdout.read().strip()

    try:
        assert show_from(tmp_path / "second") == "None"
        received: list[str] = []
        server.command_received.connect(lambda command, ticket: (received.append(command), server.answer(ticket, "ok")))
        assert show_from(tmp_path / "first") == "ok"
        assert received == ["show"]
    finally:
        server.close()
