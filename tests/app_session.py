"""The real app on a test X server: `python -m app.cli` with a profile of its own (settings, history, captures)
pointed at a loopback OpenAI-compatible server, and the `glmv` commands a desktop shortcut would run against it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from tests import xvfb

T = TypeVar("T")


def glmv(env: dict[str, str], *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """One `glmv ...` command line, as a shortcut or a terminal runs it."""
    command = [sys.executable, "-m", "app.cli", *args]
    return subprocess.run(command, env=env, cwd=xvfb.ROOT, capture_output=True, text=True, timeout=timeout)


def until(condition: Callable[[], T], timeout: float, what: str, every: float = 0.2) -> T:
    """The first true value of ``condition``, polled; an AssertionError naming ``what`` after ``timeout``."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}")


def captures_folder(env: dict[str, str]) -> Path:
    return Path(env["XDG_CACHE_HOME"]) / "glmv-desktop" / "captures"


@contextmanager
def app_session(display: dict[str, str], profile: Path, base_url: str) -> Iterator[dict[str, str]]:
    """The app running on ``display`` with its profile under ``profile``, answering on its command channel;
    yields the environment in which `glmv` commands reach it. The app is stopped afterwards."""
    dirs = {name: str(profile / name) for name in ("config", "data", "cache", "state")}
    env = {
        **display,
        "XDG_CONFIG_HOME": dirs["config"],
        "XDG_DATA_HOME": dirs["data"],
        "XDG_CACHE_HOME": dirs["cache"],
        "XDG_STATE_HOME": dirs["state"],
        "GLMV_INSTANCE": f"test-{profile}",
    }
    settings = Path(dirs["config"]) / "glmv-desktop" / "settings.json"
    settings.parent.mkdir(parents=True)
    settings.write_text(json.dumps({"backend": "api", "preset": "vllm", "base_url": base_url, "model": "glm-4.6v"}))
    log = profile / "app.log"
    with log.open("wb") as out:
        app = subprocess.Popen([sys.executable, "-m", "app.cli"], env=env, cwd=xvfb.ROOT, stdout=out, stderr=out)
    probe = "from app.ui.instance import send_command; print(send_command('show', 1000))"

    def answers() -> bool:
        if app.poll() is not None:
            raise AssertionError(f"the app exited with {app.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
        out = subprocess.run([sys.executable, "-c", probe], env=env, cwd=xvfb.ROOT, capture_output=True, text=True)
        return out.stdout.strip() == "ok"

    try:
        until(answers, 60, "the app to start and answer on its command channel")
        yield env
    finally:
        app.terminate()
        try:
            app.wait(10)
        except subprocess.TimeoutExpired:
            app.kill()
            app.wait()
