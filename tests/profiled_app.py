"""The assembled app as `python -m app.cli` on a real X server with a profile of its own (XDG_* folders in a
temporary folder, its own instance name), pointed at the loopback OpenAI-compatible server, and the few things a
person does to it, through xdotool."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tests import xvfb
from tests.openai_server import OpenAIServer, dialect_stream

APP = "glmv-desktop"


@dataclass
class Profile:
    """The app's folders in a temporary home, and the environment that points it there."""

    env: dict[str, str]
    data: Path
    config: Path
    cache: Path
    logs: Path

    @property
    def log(self) -> Path:
        return self.logs / "glmv.log"


@dataclass
class Running:
    profile: Profile
    server: OpenAIServer
    output: Path
    proc: subprocess.Popen

    @property
    def env(self) -> dict[str, str]:
        return self.profile.env


def launch(
    display: dict[str, str], server: OpenAIServer, tmp: Path, prepare: Callable[[Profile], None] = lambda p: None
) -> Running:
    """Writes settings for the loopback server, lets ``prepare`` put files in the profile, starts the app."""
    home = {name: tmp / name for name in ("config", "data", "cache", "state")}
    env = {
        **display,
        "XDG_CONFIG_HOME": str(home["config"]),
        "XDG_DATA_HOME": str(home["data"]),
        "XDG_CACHE_HOME": str(home["cache"]),
        "XDG_STATE_HOME": str(home["state"]),
        "GLMV_INSTANCE": f"profiled-{os.getpid()}-{tmp.name}",
    }
    profile = Profile(env, home["data"] / APP, home["config"] / APP, home["cache"] / APP, home["state"] / APP / "log")
    profile.config.mkdir(parents=True)
    (profile.config / "settings.json").write_text(
        json.dumps({"backend": "api", "preset": "vllm", "base_url": server.url, "model": "glm-4.6v"})
    )
    prepare(profile)
    output = tmp / "app-output.txt"
    with output.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-X", "faulthandler", "-m", "app.cli"],
            env=env,
            cwd=xvfb.ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return Running(profile, server, output, proc)


def stop(app: Running) -> None:
    app.proc.terminate()
    try:
        app.proc.wait(10)
    except subprocess.TimeoutExpired:
        app.proc.kill()
        app.proc.wait()


def until(condition: Callable[[], object], timeout: float, what: str, app: Running | None = None):
    """Polls ``condition`` until it is truthy and returns its value; fails early when the app exits."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = condition()
        if value:
            return value
        if app is not None and app.proc.poll() is not None:
            raise AssertionError(f"the app exited ({app.proc.returncode}) waiting for {what}: {output(app)}")
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}" + (f": {output(app)}" if app else ""))


def output(app: Running) -> str:
    return app.output.read_text(errors="replace")[-3000:]


def xdotool(app: Running, *args: str) -> str:
    return subprocess.run(["xdotool", *args], env=app.env, capture_output=True, text=True, timeout=30).stdout


def visible(app: Running, title_regex: str) -> list[str]:
    return xdotool(app, "search", "--onlyvisible", "--name", title_regex).split()


def main_window(app: Running) -> str | None:
    """The main window, told from the floating one (also titled GLM-V) by its width."""
    for window in visible(app, "^GLM-V$"):
        shell = dict(line.split("=") for line in xdotool(app, "getwindowgeometry", "--shell", window).split())
        if int(shell["WIDTH"]) >= 600:
            return window
    return None


def glmv(app: Running, *args: str) -> subprocess.CompletedProcess:
    """`glmv ...` as a desktop shortcut runs it, handed to the running app."""
    command = [sys.executable, "-m", "app.cli", *args]
    return subprocess.run(command, env=app.env, cwd=xvfb.ROOT, capture_output=True, text=True, timeout=60)


def ask(app: Running, question: str) -> list[dict]:
    """Types the question into the main window and presses Enter; returns the content the server received."""
    app.server.enqueue(dialect_stream("vllm", reasoning="Looking.", answer="Seen."))
    count = len(app.server.chat_requests)
    window = main_window(app)
    assert window is not None, "the main window is not on screen"
    xdotool(app, "windowfocus", "--sync", window, "type", "--delay", "10", question)
    xdotool(app, "key", "--window", window, "Return")
    until(lambda: len(app.server.chat_requests) > count, 20, "the question to reach the server", app)
    return app.server.chat_requests[-1].body["messages"][-1]["content"]


def saved_questions(app: Running) -> list[str]:
    """The questions the app's history holds, read as another program would, without changing the file."""
    conn = sqlite3.connect((app.profile.data / "history.sqlite3").as_uri() + "?mode=ro", uri=True)
    try:
        return [r[0] for r in conn.execute("SELECT text FROM messages WHERE role = 'user' AND status = 'done'")]
    except sqlite3.OperationalError:
        return []
    finally:
        conn.close()
