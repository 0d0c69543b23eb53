"""The window shares the model it has loaded: turned on in Settings, other tools get answers from the same engine
(the openai SDK here), the status bar says it is shared and how many requests wait, and turning it off or a port
that is taken is said plainly."""

from __future__ import annotations

import socket
import threading

import httpx
import openai
import pytest

from app.ui.settings_dialog import SettingsDialog
from tests.support.tiny_glmv import SCRIPT_ANSWER

pytestmark = [pytest.mark.gui, pytest.mark.slow]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def window(fresh_window):
    return fresh_window


def share_in_settings(window, folder, port: int, on: bool = True) -> None:
    """What a person does: the local backend, its folder, "Share ... on 127.0.0.1:" with a port, Save."""
    dialog = SettingsDialog(window.settings, window.vault, window.tasks, window)
    dialog.backend.setCurrentIndex(dialog.backend.findData("local"))
    dialog.local_folder.setText(str(folder))
    dialog.share.enabled.setChecked(on)
    dialog.share.port.setValue(port)
    window.apply_settings(dialog.result_settings())


def test_the_loaded_model_is_shared_and_the_status_bar_counts_the_waiting(qtbot, window, scripted_glmv_dir):
    port = free_port()
    share_in_settings(window, scripted_glmv_dir, port)
    assert window.settings.share_model and window.settings.share_port == port
    label = window.sharing.label
    qtbot.waitUntil(lambda: label.isVisible() and label.text() == f"Shared on 127.0.0.1:{port}", timeout=10000)
    qtbot.waitUntil(lambda: window.backend.engine.is_loaded, timeout=120000)
    sdk = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="any", max_retries=0, timeout=60)
    answer = sdk.chat.completions.create(model="m", messages=[{"role": "user", "content": "Hi"}])
    assert answer.choices[0].message.content == SCRIPT_ANSWER
    assert sdk.models.list().data[0].id == "scripted-glm-4.6v"

    long = sdk.chat.completions.create(
        model="m",
        messages=[{"role": "user", "content": "Go on"}],
        stream=True,
        max_tokens=20000,
        extra_body={"ignore_eos": True},
    )
    next(iter(long))
    waiting = threading.Thread(
        target=lambda: sdk.chat.completions.create(model="m", messages=[{"role": "user", "content": "Me too"}])
    )
    waiting.start()
    qtbot.waitUntil(lambda: label.text().endswith("· answering · 1 waiting"), timeout=10000)
    long.close()
    waiting.join(30)
    qtbot.waitUntil(lambda: label.text() == f"Shared on 127.0.0.1:{port}", timeout=10000)

    share_in_settings(window, scripted_glmv_dir, port, on=False)
    assert not label.isVisible() and window.backend.engine.is_loaded
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/health", timeout=5)


def test_a_port_that_is_taken_is_said_in_the_status_bar(qtbot, window, scripted_glmv_dir):
    messages: list[str] = []
    window.statusBar().messageChanged.connect(messages.append)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        share_in_settings(window, scripted_glmv_dir, taken.getsockname()[1])
        label = window.sharing.label
        qtbot.waitUntil(lambda: label.isVisible() and label.text() == "Not shared", timeout=10000)
        assert any("The model is not shared" in m and "pick another --port" in m for m in messages)
        assert "pick another --port" in label.toolTip()
        assert window.sharing.shared is None
