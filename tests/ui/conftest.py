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
