"""A private X server for the tests and benchmarks that need a real display (mss, xdotool, pynput, Qt's xcb).

The main test process stays offscreen (conftest); X11 work runs in subprocesses given ``env``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager

from tests.support.paths import ROOT

PACKAGES = {"Xvfb": "xvfb", "xdotool": "xdotool", "xrandr": "x11-xserver-utils"}


def missing(*more: str) -> str | None:
    """Why X11 tests cannot run here, or None; ``more`` names further tools they need (e.g. "xrandr")."""
    for tool in ("Xvfb", "xdotool", *more):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (apt-get install {PACKAGES.get(tool, tool)})"
    return None


@contextmanager
def xvfb(
    width: int = 1920, height: int = 1080, monitors: Sequence[tuple[int, int, int, int]] = ()
) -> Iterator[dict[str, str]]:
    """Starts Xvfb on a free display (it picks one itself through -displayfd) and yields an environment for
    subprocesses using it.

    ``monitors`` (x, y, width, height) split the one X screen into RandR 1.5 monitors, of which Qt makes one
    QScreen each, the first primary. Xvfb's other ways give no second usable screen: with two ``-screen``
    options Qt lists both X screens, each at (0, 0) of its own root, and mss grabs only the default one;
    ``+xinerama`` puts both heads at (0, 0) of one root. A monitor may be declared at a negative x, but the root
    window starts at 0: nothing can be drawn, grabbed or pointed at there."""
    read_fd, write_fd = os.pipe()
    # An X server resets when its last client leaves, which would drop the monitors xrandr sets.
    keep = ["-noreset"] if monitors else []
    proc = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_fd), *keep, "-screen", "0", f"{width}x{height}x24", "-nolisten", "tcp"],
        pass_fds=(write_fd,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    try:
        with os.fdopen(read_fd) as pipe:
            number = pipe.readline().strip()
        if not number:
            raise RuntimeError("Xvfb did not start")
        env = dict(os.environ)
        for key in ("WAYLAND_DISPLAY", "QT_SCALE_FACTOR", "QT_SCREEN_SCALE_FACTORS"):
            env.pop(key, None)
        env.update(DISPLAY=f":{number}", QT_QPA_PLATFORM="xcb", XDG_SESSION_TYPE="x11", PYTHONPATH=str(ROOT))
        for i, (x, y, w, h) in enumerate(monitors):
            # The first takes the screen's one output, so the automatic monitor covering it all goes away.
            output = "screen" if i == 0 else "none"
            size = f"{w}/{round(w * 25.4 / 96)}x{h}/{round(h * 25.4 / 96)}+{x}+{y}"
            command = ["xrandr", "--setmonitor", f"M{i + 1}", size, output]
            subprocess.run(command, env=env, check=True, capture_output=True, timeout=10)
        yield env
    finally:
        stop(proc)


def layout_size(layout: Sequence[tuple[int, int, int, int]]) -> tuple[int, int]:
    """The root window that holds the monitors in ``layout`` (x, y, width, height): its width and height."""
    return max(x + w for x, _, w, _ in layout), max(y + h for _, y, _, h in layout)


def xvfb_monitors(layout: Sequence[tuple[int, int, int, int]]) -> AbstractContextManager[dict[str, str]]:
    """``xvfb`` with an X screen just large enough for the monitors in ``layout``."""
    return xvfb(*layout_size(layout), layout)


def start(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    """A Python helper process on the X server; it prints "ready" once its window is up."""
    proc = subprocess.Popen(
        [sys.executable, *args], env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 60
    line = ""
    while time.monotonic() < deadline:
        line = proc.stdout.readline() if proc.stdout else ""
        if line.strip() == "ready" or not line:
            break
    if line.strip() != "ready":
        proc.kill()
        raise RuntimeError(f"helper {args} did not become ready: {proc.stderr.read() if proc.stderr else ''}")
    return proc


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
