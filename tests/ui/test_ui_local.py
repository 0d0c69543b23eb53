"""The local backend in the window: chosen in the settings dialog, loaded on a worker with its progress in the
status bar, answering through the real engine on the tiny scripted checkpoint (real transformers, CPU), and the
dialog's download section against a folder laid out as the Hugging Face cache (no network)."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPlainTextEdit, QPushButton, QTextBrowser

from app.ui.model_download import DownloadCancelled, fetch
from app.ui.settings_dialog import SettingsDialog
from glmv_local import download
from tests.support.tiny_glmv import SCRIPT_ANSWER, SCRIPT_THINKING, fake_cache

pytestmark = [pytest.mark.gui, pytest.mark.slow]


@pytest.fixture
def screenshot(tmp_path) -> Path:
    path = tmp_path / "screenshot.png"
    image = Image.new("RGB", (640, 400), "navy")
    image.paste((250, 200, 0), (100, 100, 300, 200))
    image.save(path)
    return path


@pytest.fixture
def window(fresh_window):
    return fresh_window


def choose_local(window, folder: Path) -> SettingsDialog:
    """What a person does in Settings: pick the local backend, give the folder, Save."""
    dialog = SettingsDialog(window.settings, window.vault, window.tasks, window)
    dialog.backend.setCurrentIndex(dialog.backend.findData("local"))
    assert dialog.pages.currentIndex() == 1
    dialog.local_folder.setText(str(folder))
    window.apply_settings(dialog.result_settings())
    return dialog


def test_the_local_backend_loads_with_progress_and_answers_in_both_panes(qtbot, window, scripted_glmv_dir, screenshot):
    messages: list[str] = []
    window.statusBar().messageChanged.connect(messages.append)
    choose_local(window, scripted_glmv_dir)
    assert window.settings.backend == "local" and window.settings.local_folder == str(scripted_glmv_dir)
    # Loading runs on a worker: the window answers at once and shows that it is loading.
    assert window.loading.isVisible() and "loading…" in window.status.text()
    qtbot.waitUntil(lambda: window.backend.engine.is_loaded and not window.loading.isVisible(), timeout=120000)
    assert any(m.startswith("Checking") for m in messages) and any("weights" in m for m in messages)
    status = window.status.text()
    assert status.startswith("Local · scripted-glm-4.6v · CPU"), status
    assert window.status.toolTip() == f"Model: {scripted_glmv_dir}"
    window.add_files([screenshot])
    (chip,) = window.composer.strip.chips()
    qtbot.waitUntil(lambda: chip.ready, timeout=30000)
    assert chip.error is None and "tokens" in chip.detail.text()
    composer = window.findChild(QPlainTextEdit, "composer")
    composer.setFocus()
    qtbot.keyClicks(composer, "What is on the screen?")
    qtbot.keyClick(composer, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.conversation_id is not None and not window.is_streaming(), timeout=120000)
    assert window.findChild(QPlainTextEdit, "thinking").toPlainText() == SCRIPT_THINKING
    assert window.findChild(QTextBrowser, "answer").toPlainText().strip() == SCRIPT_ANSWER
    assert not window.banners()
    # Saving settings again without touching the model keeps the loaded one.
    loaded = window.backend
    choose_local(window, scripted_glmv_dir)
    assert window.backend is loaded and window.backend.engine.is_loaded


def test_a_folder_without_weights_says_so_in_a_banner(qtbot, window, tiny_glmv_dir, tmp_path):
    broken = Path(shutil.copytree(tiny_glmv_dir, tmp_path / "no-weights"))
    for weights in broken.glob("*.safetensors"):
        weights.unlink()
    choose_local(window, broken)
    qtbot.waitUntil(lambda: not window.loading.isVisible(), timeout=60000)
    (banner,) = window.banners()
    assert "The local model did not load" in banner.text.text() and "no-weights" in banner.text.text()
    assert "not loaded yet" in window.status.text()


def test_download_finds_a_cached_model_and_reaches_100_percent(qtbot, window, tiny_glmv_dir, tmp_path, monkeypatch):
    snapshot = fake_cache(tiny_glmv_dir, tmp_path / "hub", "zai-org/Tiny-GLM-V")
    monkeypatch.setattr(download, "cache_dir", lambda explicit=None: tmp_path / "hub")
    dialog = SettingsDialog(window.settings, window.vault, window.tasks, window)
    dialog.backend.setCurrentIndex(dialog.backend.findData("local"))
    dialog.local_model.setText("zai-org/Tiny-GLM-V")
    panel = dialog.download
    qtbot.waitUntil(lambda: "GB free" in panel.where.text(), timeout=10000)
    assert str(tmp_path / "hub") in panel.where.text()
    button = dialog.findChild(QPushButton, "download")
    assert button.text() == "Download"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not panel.busy, timeout=30000)
    assert panel.result == snapshot
    assert panel.progress.value() == panel.progress.maximum() == 1000
    assert panel.message.text() == f"Ready: the complete model is at {snapshot}"
    dialog.reject()


def test_download_of_a_damaged_cached_model_offline_says_what_to_do(
    qtbot, window, tiny_glmv_dir, tmp_path, monkeypatch
):
    snapshot = fake_cache(tiny_glmv_dir, tmp_path / "hub", "zai-org/Tiny-GLM-V")
    next(snapshot.glob("*.safetensors")).resolve().unlink()  # the weights never finished arriving
    monkeypatch.setattr(download, "cache_dir", lambda explicit=None: tmp_path / "hub")
    dialog = SettingsDialog(window.settings, window.vault, window.tasks, window)
    dialog.local_model.setText("zai-org/Tiny-GLM-V")
    qtbot.mouseClick(dialog.download.download, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.download.busy, timeout=30000)
    assert dialog.download.result is None and not dialog.download.progress.isVisible()
    assert "Offline mode is on" in dialog.download.message.text()
    dialog.reject()


def test_a_folder_is_checked_rather_than_downloaded(qtbot, window, tiny_glmv_dir):
    dialog = SettingsDialog(window.settings, window.vault, window.tasks, window)
    dialog.local_folder.setText(str(tiny_glmv_dir))
    qtbot.waitUntil(lambda: dialog.download.download.text() == "Check folder", timeout=5000)
    qtbot.mouseClick(dialog.download.download, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.download.busy, timeout=30000)
    assert dialog.download.result == tiny_glmv_dir
    dialog.reject()


def test_cancel_stops_the_download_at_the_next_chunk(monkeypatch):
    """The cancel path, as huggingface_hub drives it: the byte callback raises and the download unwinds."""
    cancel = threading.Event()
    seen: list = []
    report = seen.append
    progress_calls: list = []

    def resolve(model, progress=None, **kwargs):
        progress(download.DownloadProgress(done=1, total=10))
        progress_calls.append(1)
        cancel.set()
        progress(download.DownloadProgress(done=2, total=10))
        progress_calls.append(2)
        raise AssertionError("the download went on after Cancel")

    # Only the transfer from the Hub (the network) is replaced; what it calls back is the real code.
    monkeypatch.setattr(download, "resolve", resolve)
    with pytest.raises(DownloadCancelled):
        fetch("zai-org/Some-Model", report, cancel)
    assert progress_calls == [1] and [p.done for p in seen] == [1]
