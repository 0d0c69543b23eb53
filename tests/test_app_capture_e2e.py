"""The whole path a person takes, on a real X server: the app is running, a desktop shortcut runs
`glmv capture --full`, the capture lands in the composer, the person types a question and presses Enter, and the
server receives the question with the screenshot.

Everything is real: Xvfb, the app started as `python -m app.cli`, the command channel, mss, the composer, the
history store in a temporary profile, and the loopback OpenAI-compatible server behind the vllm preset.
"""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests import xvfb
from tests.openai_server import dialect_stream, openai_server_fixture  # noqa: F401
from tests.test_capture_x11 import H, W, pattern

pytestmark = [pytest.mark.gui, pytest.mark.skipif(xvfb.missing() is not None, reason=xvfb.missing() or "")]
PAINTER = Path(__file__).with_name("test_capture_x11.py")


def _glmv(env: dict, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        env=env,
        cwd=xvfb.ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _until(condition, timeout: float, what: str):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def app_env(tmp_path, openai_server):
    with xvfb.xvfb(W, H) as env:
        painter = xvfb.start([str(PAINTER), "paint"], env)
        profile = {name: str(tmp_path / name) for name in ("config", "data", "cache", "state")}
        env = {
            **env,
            "XDG_CONFIG_HOME": profile["config"],
            "XDG_DATA_HOME": profile["data"],
            "XDG_CACHE_HOME": profile["cache"],
            "XDG_STATE_HOME": profile["state"],
            "GLMV_INSTANCE": f"e2e-{os.getpid()}-{tmp_path.name}",
        }
        settings = Path(profile["config"]) / "glmv-desktop" / "settings.json"
        settings.parent.mkdir(parents=True)
        settings.write_text(
            json.dumps({"backend": "api", "preset": "vllm", "base_url": openai_server.url, "model": "glm-4.6v"})
        )
        app = subprocess.Popen(
            [sys.executable, "-m", "app.cli"], env=env, cwd=xvfb.ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        try:
            yield env, tmp_path
        finally:
            app.terminate()
            try:
                app.wait(10)
            except subprocess.TimeoutExpired:
                app.kill()
                app.wait()
            xvfb.stop(painter)


def test_glmv_capture_full_attaches_the_screen_and_the_question_reaches_the_server(app_env, openai_server):
    env, _ = app_env
    probe = "from app.ui.instance import send_command; print(send_command('show', 1000))"
    _until(
        lambda: (
            subprocess.run([sys.executable, "-c", probe], env=env, cwd=xvfb.ROOT, capture_output=True, text=True)
            .stdout.strip()
            .endswith("ok")
        ),
        60,
        "the app to start and answer on its command channel",
    )
    done = _glmv(env, "capture", "--full")
    assert done.returncode == 0, done.stderr
    captures = Path(env["XDG_CACHE_HOME"]) / "glmv-desktop" / "captures"
    (shot,) = _until(lambda: list(captures.glob("*.png")), 20, "the capture file")
    from PIL import Image

    _until(lambda: shot.stat().st_size > 0, 5, "the capture to be written")
    with Image.open(shot) as image:
        pixels = np.asarray(image.convert("RGB"))
    # The app's own window overlapped the screen and was hidden for the capture: only the pattern is there.
    assert pixels.shape == (H, W, 3) and np.array_equal(pixels, pattern())
    # ...and it says where on the desktop it was taken, for mapping grounding boxes back to the screen.
    from app.core.capture.geometry import Rect
    from app.core.grounding import read_capture_metadata

    where = read_capture_metadata(shot)
    assert where is not None and where.rect == Rect(0, 0, W, H)
    assert [(s.geometry, s.scale) for s in where.screens] == [(Rect(0, 0, W, H), 1.0)]

    openai_server.enqueue(dialect_stream("vllm", reasoning="A test pattern.", answer="Colour gradients."))
    window = subprocess.run(
        ["xdotool", "search", "--onlyvisible", "--name", "^GLM-V"], env=env, capture_output=True, text=True
    ).stdout.split()
    assert window, "the main window is not on the X server"
    typed = subprocess.run(
        ["xdotool", "windowfocus", "--sync", window[0], "type", "--delay", "20", "What is on my screen?"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert typed.returncode == 0, typed.stderr
    subprocess.run(["xdotool", "key", "--window", window[0], "Return"], env=env, check=True)
    _until(lambda: openai_server.chat_requests, 30, "the question to reach the server")
    content = openai_server.chat_requests[-1].body["messages"][-1]["content"]
    texts = [p["text"] for p in content if p["type"] == "text"]
    images = [p["image_url"]["url"] for p in content if p["type"] == "image_url"]
    assert texts[-1] == "What is on my screen?" and len(images) == 1
    data = base64.b64decode(images[0].split(",", 1)[1])
    with Image.open(io.BytesIO(data)) as sent:
        # The screen at its own size: it is within the budget, and vLLM's processor rounds it to 28s itself.
        assert sent.size == (W, H)
