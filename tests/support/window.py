"""The main window in the test process (real Qt widgets, offscreen) on a real store, and how a test drives it.

The ``windows`` fixture (tests/ui/conftest.py) builds these against the loopback server and waits for their
workers after the test; ``shown_window`` is for a test that brings its own backend and closes the window itself.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPlainTextEdit

from app.core.backends.api import ApiBackend
from app.core.secrets import KeyVault
from app.core.settings import Settings
from app.core.store import Store
from app.ui.main import build_main_window


def shown_window(qtbot, tmp_path: Path, backend: ApiBackend, folder: Path | None = None):
    """The main window on a history in ``folder`` (``tmp_path / "data"``), shown, with the vllm preset pointed
    where ``backend`` is; the caller waits for its workers and closes it and its store."""
    window = build_main_window(
        Settings(preset="vllm", base_url=backend.base_url, model="glm-4.6v"),
        backend,
        store=Store(folder or tmp_path / "data"),
        vault=KeyVault(tmp_path / "config", use_keyring=False),
        settings_path=tmp_path / "config" / "settings.json",
    )
    qtbot.addWidget(window)
    window.show()
    return window


def ask(qtbot, window, text: str, files: list[Path] = ()) -> None:
    """Attaches ``files`` (waiting until they are read), types ``text`` into the composer and presses Enter."""
    if files:
        window.add_files(list(files))
        qtbot.waitUntil(lambda: all(c.ready for c in window.composer.strip.chips()), timeout=10000)
    composer = window.findChild(QPlainTextEdit, "composer")
    composer.setFocus()
    qtbot.keyClicks(composer, text)
    qtbot.keyClick(composer, Qt.Key.Key_Return)


def wait_answer(qtbot, window) -> None:
    qtbot.waitUntil(lambda: not window.is_streaming(), timeout=15000)
