"""The assembled app started on a real X server with a damaged history database or settings file: the window
comes up, a dialog says what was set aside and where, the old file is there under its new name, and the new
empty history takes a question. One Xvfb and one loopback server for the module, one app per test."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests import damaged_history, xvfb
from tests.openai_server import OpenAIServer, dialect_stream

pytestmark = [pytest.mark.gui, pytest.mark.skipif(xvfb.missing() is not None, reason=xvfb.missing() or "")]
DIALOG = "^Damaged files? set aside"


@dataclass
class Running:
    env: dict[str, str]
    server: OpenAIServer
    data: Path
    config: Path
    log: Path
    output: Path
    proc: subprocess.Popen


def _until(condition: Callable[[], object], timeout: float, what: str, app: Running | None = None):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = condition()
        if value:
            return value
        if app is not None and app.proc.poll() is not None:
            raise AssertionError(f"the app exited ({app.proc.returncode}) waiting for {what}: {_output(app)}")
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}" + (f": {_output(app)}" if app else ""))


def _output(app: Running) -> str:
    return app.output.read_text(errors="replace")[-3000:]


def xdotool(app: Running, *args: str) -> str:
    done = subprocess.run(["xdotool", *args], env=app.env, capture_output=True, text=True, timeout=30)
    return done.stdout


def visible(app: Running, title_regex: str) -> list[str]:
    return xdotool(app, "search", "--onlyvisible", "--name", title_regex).split()


def main_window(app: Running) -> str | None:
    """The main window, told from the floating one (also titled GLM-V) by its width."""
    for window in visible(app, "^GLM-V$"):
        shell = dict(line.split("=") for line in xdotool(app, "getwindowgeometry", "--shell", window).split())
        if int(shell["WIDTH"]) >= 600:
            return window
    return None


@pytest.fixture(scope="module")
def desktop() -> Iterator[tuple[dict[str, str], OpenAIServer]]:
    with OpenAIServer() as server, xvfb.xvfb(1600, 1000) as display:
        yield display, server


@pytest.fixture
def start(desktop, tmp_path) -> Iterator[Callable[[Callable[[Path, Path], None]], Running]]:
    """Starts `python -m app.cli` on a fresh profile after ``damage(data_folder, config_folder)``."""
    display, server = desktop
    started: list[Running] = []

    def run(damage: Callable[[Path, Path], None]) -> Running:
        profile = {name: tmp_path / name for name in ("config", "data", "cache", "state")}
        data, config = profile["data"] / "glmv-desktop", profile["config"] / "glmv-desktop"
        config.mkdir(parents=True)
        (config / "settings.json").write_text(
            json.dumps({"backend": "api", "preset": "vllm", "base_url": server.url, "model": "glm-4.6v"})
        )
        damage(data, config)
        env = {
            **display,
            "XDG_CONFIG_HOME": str(profile["config"]),
            "XDG_DATA_HOME": str(profile["data"]),
            "XDG_CACHE_HOME": str(profile["cache"]),
            "XDG_STATE_HOME": str(profile["state"]),
            "GLMV_INSTANCE": f"damaged-{os.getpid()}-{tmp_path.name}",
        }
        output = tmp_path / "app-output.txt"
        with output.open("w") as out:
            proc = subprocess.Popen(
                [sys.executable, "-X", "faulthandler", "-m", "app.cli"],
                env=env,
                cwd=xvfb.ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        app = Running(env, server, data, config, profile["state"] / "glmv-desktop" / "log" / "glmv.log", output, proc)
        started.append(app)
        return app

    yield run
    for app in started:
        app.proc.terminate()
        try:
            app.proc.wait(10)
        except subprocess.TimeoutExpired:
            app.proc.kill()
            app.proc.wait()


def _dialog_then_dismissed(app: Running) -> None:
    """The window and the dialog over it are up; a person reads it and presses Enter."""
    _until(lambda: main_window(app), 60, "the main window", app)
    (dialog,) = _until(lambda: visible(app, DIALOG), 20, "the dialog about the damaged file", app)
    xdotool(app, "windowfocus", "--sync", dialog, "key", "Return")
    _until(lambda: not visible(app, DIALOG), 10, "the dialog to close", app)


def _ask(app: Running, question: str) -> None:
    app.server.enqueue(dialect_stream("vllm", reasoning="Looking.", answer="Seen."))
    count = len(app.server.chat_requests)
    window = main_window(app)
    assert window is not None
    xdotool(app, "windowfocus", "--sync", window, "type", "--delay", "10", question)
    xdotool(app, "key", "--window", window, "Return")
    _until(lambda: len(app.server.chat_requests) > count, 20, "the question to reach the server", app)


def _saved_questions(data: Path) -> list[str]:
    conn = sqlite3.connect((data / "history.sqlite3").as_uri() + "?mode=ro", uri=True)
    try:
        return [r[0] for r in conn.execute("SELECT text FROM messages WHERE role = 'user' AND status = 'done'")]
    except sqlite3.OperationalError:
        return []
    finally:
        conn.close()


@pytest.mark.parametrize("kind", list(damaged_history.KINDS))
def test_a_damaged_history_is_set_aside_and_the_app_starts_with_an_empty_one(start, kind):
    original: list[bytes] = []

    def damage(data: Path, config: Path) -> None:
        path = damaged_history.filled(data, conversations=60)
        damaged_history.KINDS[kind](path)
        original.append(path.read_bytes())

    app = start(damage)
    _dialog_then_dismissed(app)
    (kept,) = app.data.glob("history.damaged-*.sqlite3")
    assert kept.read_bytes() == original[0]
    log = app.log.read_text()
    assert f"The history file {app.data / 'history.sqlite3'} is damaged" in log and str(kept) in log
    _ask(app, f"after the {kind} history")
    _until(lambda: _saved_questions(app.data) == [f"after the {kind} history"], 20, "the question in the history", app)
    assert app.proc.poll() is None


def test_a_damaged_settings_file_is_set_aside_and_the_app_starts_with_the_defaults(start):
    def damage(data: Path, config: Path) -> None:
        (config / "settings.json").write_bytes(bytes(range(256)) * 4)

    app = start(damage)
    _dialog_then_dismissed(app)
    (kept,) = app.config.glob("settings.damaged-*.json")
    assert kept.read_bytes() == bytes(range(256)) * 4
    assert f"The settings file {app.config / 'settings.json'} is damaged" in app.log.read_text()
    assert not visible(app, "^Welcome"), "a person whose settings were damaged is not on their first start"
    assert app.proc.poll() is None
