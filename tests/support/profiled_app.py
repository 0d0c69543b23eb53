"""The assembled app as `python -m app.cli` on a real X server with a profile of its own (XDG_* folders in a
temporary folder, its own instance name), pointed at the loopback OpenAI-compatible server, and the things a
person does to it, through xdotool. Every test that drives the whole app starts it here.

``xvfb_and_server`` gives the display (of a size, or split into monitors, painted or not) and the server;
``launch`` starts the app on them (settings, environment and entry module as a test needs) and ``stop`` ends it;
``with started(launch(...)) as app`` waits until it answers on its command channel (or is otherwise ready) and
stops it after the block.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np

from tests.support import screen_pattern, xvfb
from tests.support.openai_server import OpenAIServer, dialect_stream

APP = "glmv-desktop"
# The main window is 1280 wide, the floating one (also titled GLM-V) 360.
MAIN_WINDOW_WIDTH = 600
T = TypeVar("T")


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

    @property
    def captures(self) -> Path:
        return self.profile.cache / "captures"

    @property
    def log(self) -> Path:
        """The app's output (stdout and stderr); its own log file is ``profile.log``."""
        return self.output


@contextmanager
def xvfb_and_server(
    width: int = 1920,
    height: int = 1080,
    monitors: Sequence[tuple[int, int, int, int]] = (),
    painted: bool = False,
) -> Iterator[tuple[dict[str, str], OpenAIServer]]:
    """The loopback server and a private X server of ``width`` x ``height``, or just large enough for
    ``monitors`` (``xvfb.xvfb``); ``painted`` covers its root window with ``screen_pattern``'s pattern, whose every
    pixel says where it is. Yields the display's environment and the server."""
    if monitors:
        width, height = xvfb.layout_size(monitors)
    with OpenAIServer() as server, xvfb.xvfb(width, height, monitors) as display:
        painter = screen_pattern.start(display, width, height) if painted else None
        try:
            yield display, server
        finally:
            if painter is not None:
                xvfb.stop(painter)


def launch(
    display: dict[str, str],
    server: OpenAIServer,
    tmp: Path,
    prepare: Callable[[Profile], None] = lambda p: None,
    *,
    settings: dict | None = None,
    env: dict[str, str] | None = None,
    module: str = "app.cli",
) -> Running:
    """Writes settings for the loopback server (``settings`` added), lets ``prepare`` put files in the profile,
    starts ``python -m module`` with ``env`` added to the display's environment."""
    home = {name: tmp / name for name in ("config", "data", "cache", "state")}
    environment = {
        **display,
        "XDG_CONFIG_HOME": str(home["config"]),
        "XDG_DATA_HOME": str(home["data"]),
        "XDG_CACHE_HOME": str(home["cache"]),
        "XDG_STATE_HOME": str(home["state"]),
        "GLMV_INSTANCE": f"profiled-{os.getpid()}-{tmp.name}",
        **(env or {}),
    }
    profile = Profile(
        environment, home["data"] / APP, home["config"] / APP, home["cache"] / APP, home["state"] / APP / "log"
    )
    profile.config.mkdir(parents=True)
    chosen = {"backend": "api", "preset": "vllm", "base_url": server.url, "model": "glm-4.6v", **(settings or {})}
    (profile.config / "settings.json").write_text(json.dumps(chosen))
    prepare(profile)
    output = tmp / "app-output.txt"
    with output.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-X", "faulthandler", "-m", module],
            env=environment,
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


def answers(app: Running) -> bool:
    """Whether the app answers on its command channel (asked to show its window)."""
    probe = "from app.ui.instance import send_command; print(send_command('show', 1000))"
    done = subprocess.run([sys.executable, "-c", probe], env=app.env, cwd=xvfb.ROOT, capture_output=True, text=True)
    return done.stdout.strip() == "ok"


@contextmanager
def started(
    app: Running,
    ready: Callable[[Running], object] = answers,
    what: str = "the app to start and answer on its command channel",
) -> Iterator[Running]:
    """The app ``launch`` started, once ``ready`` (awaited 60 s, failing early if the app exits); it is stopped
    afterwards, whatever happens."""
    try:
        until(lambda: ready(app), 60, what, app)
        yield app
    finally:
        stop(app)


def until(condition: Callable[[], T], timeout: float, what: str, app: Running | None = None, every: float = 0.1) -> T:
    """Polls ``condition`` until it is truthy and returns its value; fails early when the app exits."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = condition()
        if value:
            return value
        if app is not None and app.proc.poll() is not None:
            raise AssertionError(f"the app exited ({app.proc.returncode}) waiting for {what}: {output(app)}")
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}" + (f": {output(app)}" if app else ""))


def output(app: Running) -> str:
    return app.output.read_text(errors="replace")[-3000:]


def xdotool(app: Running, *args: str, check: bool = False) -> str:
    """xdotool on the app's display; its output. ``check``: it must succeed."""
    done = subprocess.run(["xdotool", *args], env=app.env, capture_output=True, text=True, timeout=30)
    assert not check or done.returncode == 0, f"xdotool {' '.join(args)}: {done.stderr}"
    return done.stdout


def visible(app: Running, title_regex: str) -> list[str]:
    return xdotool(app, "search", "--onlyvisible", "--name", title_regex).split()


def _shell_geometry(app: Running, window: str, check: bool = False) -> dict[str, int]:
    """X, Y, WIDTH, HEIGHT (and SCREEN) of ``window``; empty where it is gone (unless ``check``)."""
    lines = xdotool(app, "getwindowgeometry", "--shell", window, check=check).split()
    return {name: int(value) for name, value in (line.split("=", 1) for line in lines if "=" in line)}


def geometry(app: Running, window: str) -> tuple[int, int, int, int]:
    shell = _shell_geometry(app, window, check=True)
    return shell["X"], shell["Y"], shell["WIDTH"], shell["HEIGHT"]


def our_windows(app: Running) -> list[str]:
    """The main window and the floating one are both titled GLM-V."""
    return visible(app, "^GLM-V$")


def main_window(app: Running) -> str | None:
    """The main window, told from the floating one by its width."""
    return next((w for w in our_windows(app) if _shell_geometry(app, w).get("WIDTH", 0) >= MAIN_WINDOW_WIDTH), None)


def overlays(app: Running) -> list[str]:
    """The region selection's overlays, one a monitor."""
    return visible(app, "^Select a region$")


def drag(app: Running, x0: int, y0: int, x1: int, y1: int, steps: int = 3, check: bool = False) -> None:
    """A person's drag: press, move in ``steps`` (Qt must see motion), release."""
    xdotool(app, "mousemove", str(x0), str(y0), "sleep", "0.1", "mousedown", "1", "sleep", "0.1", check=check)
    for k in range(1, steps + 1):
        x, y = x0 + (x1 - x0) * k // steps, y0 + (y1 - y0) * k // steps
        xdotool(app, "mousemove", str(x), str(y), "sleep", "0.05", check=check)
    xdotool(app, "sleep", "0.1", "mouseup", "1", check=check)


def screen(app: Running) -> np.ndarray:
    """The whole X screen (the root window, every monitor on it) as RGB pixels."""
    import mss

    with getattr(mss, "MSS", mss.mss)(display=app.env["DISPLAY"]) as sct:
        raw = sct.grab(sct.monitors[0])
    return np.frombuffer(raw.rgb, np.uint8).reshape(raw.height, raw.width, 3)


def rgb(image: Path | bytes) -> np.ndarray:
    """An image file's (or encoded image's) pixels as RGB."""
    import io

    from PIL import Image

    with Image.open(io.BytesIO(image) if isinstance(image, bytes) else image) as opened:
        return np.asarray(opened.convert("RGB"))


def glmv(app: Running, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """`glmv ...` as a desktop shortcut or a terminal runs it, handed to the running app."""
    command = [sys.executable, "-m", "app.cli", *args]
    return subprocess.run(command, env=app.env, cwd=xvfb.ROOT, capture_output=True, text=True, timeout=timeout)


def glmv_started(app: Running, *args: str) -> subprocess.Popen:
    """`glmv ...` left running: a region capture answers once the person has dragged."""
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", *args],
        env=app.env,
        cwd=xvfb.ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def ask(app: Running, question: str) -> str | list[dict]:
    """Types the question into the main window and presses Enter; returns the content the server received (a
    string for a question alone, parts with attachments), whose last text is the question."""
    app.server.enqueue(dialect_stream("vllm", reasoning="Looking.", answer="Seen."))
    count = len(app.server.chat_requests)
    window = main_window(app)
    assert window is not None, "the main window is not on screen"
    xdotool(app, "windowfocus", "--sync", window, "type", "--delay", "15", question)
    xdotool(app, "key", "--window", window, "Return")
    try:
        until(lambda: len(app.server.chat_requests) > count, 30, "the question to reach the server", app)
    except AssertionError as e:
        from PIL import Image

        picture = app.output.with_name("question-not-sent.png")
        Image.fromarray(screen(app)).save(picture)
        raise AssertionError(f"{e}; the screen then: {picture}") from None
    content = app.server.chat_requests[-1].body["messages"][-1]["content"]
    texts = [content] if isinstance(content, str) else [p["text"] for p in content if p["type"] == "text"]
    assert texts[-1] == question, texts
    return content


def saved_questions(app: Running) -> list[str]:
    """The questions the app's history holds, read as another program would, without changing the file."""
    conn = sqlite3.connect((app.profile.data / "history.sqlite3").as_uri() + "?mode=ro", uri=True)
    try:
        return [r[0] for r in conn.execute("SELECT text FROM messages WHERE role = 'user' AND status = 'done'")]
    except sqlite3.OperationalError:
        return []
    finally:
        conn.close()
