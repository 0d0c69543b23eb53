"""Fixtures of the window tests: a picture to attach and the factory of main windows on the loopback server."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt
from PySide6.QtGui import QImage

from app.core.backends.api import ApiBackend
from tests.support.window import shown_window


@pytest.fixture
def image(tmp_path) -> Path:
    """A 64 x 48 red PNG."""
    path = tmp_path / "red.png"
    img = QImage(64, 48, QImage.Format.Format_RGB32)
    img.fill(Qt.GlobalColor.red)
    assert img.save(str(path))
    return path


@pytest.fixture
def windows(qtbot, tmp_path, openai_server):
    """Builds windows on one data folder and, after the test, waits for their worker threads to finish
    (streams, attachment inspection, history writes) before closing them."""
    made: list = []

    def make(folder: Path | None = None, key: str | None = "test-key"):
        backend = ApiBackend("vllm", base_url=openai_server.url, model="glm-4.6v", api_key=key)
        window = shown_window(qtbot, tmp_path, backend, folder)
        made.append((window, window.store))
        return window

    yield make
    for window, store in made:
        window.session.stop()
        openai_server.release()
        assert window.wait_for_workers(15)
        window.close()
        store.close()


@pytest.fixture
def fresh_window(qtbot, tmp_path):
    """A window as after a fresh install: an API backend with no key, its settings in ``tmp_path/config``. After
    the test its workers are waited for, and a local model it loaded on the way is unloaded."""
    from app.core.secrets import KeyVault
    from app.core.settings import Settings
    from app.core.store import Store
    from app.ui.main import build_main_window

    store = Store(tmp_path / "data")
    made = build_main_window(
        Settings(preset="vllm", base_url="http://127.0.0.1:9/v1", model="glm-4.6v"),
        store=store,
        vault=KeyVault(tmp_path / "config", use_keyring=False),
        settings_path=tmp_path / "config" / "settings.json",
    )
    qtbot.addWidget(made)
    made.show()
    yield made
    made.session.stop()
    assert made.wait_for_workers(120)
    backend = made.backend
    made.close()
    if hasattr(backend, "unload"):
        backend.unload()
    store.close()
