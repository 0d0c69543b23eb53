"""The welcome on the first start: what it recommends for each kind of machine, what it says leaves the computer,
what it saves (and that a key never lands in the settings file), and the model download it offers, run against a
folder laid out as the Hugging Face cache (no network)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QDialog

from app.core import hardware
from app.core import settings as settings_io
from app.core.secrets import KeyVault
from app.core.settings import Settings
from app.ui import first_run
from app.ui.first_run import FirstRunDialog, Machine
from app.ui.workers import Tasks
from glmv_local import download
from tests.support.tiny_glmv import fake_cache

pytestmark = pytest.mark.gui

GIB = hardware.GIB


def machine(*gpus: hardware.Gpu, engine: bool = True) -> Machine:
    return Machine(tuple(gpus), hardware.local_fit(list(gpus)), engine, 32 * GIB)


RTX_4090 = hardware.Gpu("nvidia", "NVIDIA GeForce RTX 4090", 24 * GIB, "nvidia-smi")
RTX_4070 = hardware.Gpu("nvidia", "NVIDIA GeForce RTX 4070", 12 * GIB, "nvidia-smi")
M3_MAX = hardware.Gpu("apple", "Apple M3 Max", 64 * GIB, "sysctl")


@pytest.fixture
def parts(qtbot, tmp_path):
    tasks = Tasks()
    vault = KeyVault(tmp_path / "config", use_keyring=False)
    yield tasks, vault, tmp_path
    assert tasks.wait(30)


def dialog_for(qtbot, parts, **kw) -> FirstRunDialog:
    tasks, vault, _ = parts
    made = FirstRunDialog(Settings(), vault, tasks, **kw)
    qtbot.addWidget(made)
    made.show()
    return made


def test_needed_until_settings_are_saved(tmp_path):
    path = tmp_path / "settings.json"
    assert first_run.needed(path)
    settings_io.save(Settings(), path)
    assert not first_run.needed(path)


def test_big_nvidia_gpu_recommends_the_local_model(qtbot, parts):
    dialog = dialog_for(qtbot, parts, machine=machine(RTX_4090))
    assert dialog.local_choice.isChecked() and dialog.local_box.isEnabled() and not dialog.api_box.isEnabled()
    assert "RTX 4090 (24 GiB memory)" in dialog.machine_label.text()
    assert dialog.local_detail.text().startswith("Recommended here.")
    assert "Nothing leaves this computer" in dialog.local_privacy.text()
    assert dialog.changes() == {
        "backend": "local",
        "local_model": first_run.FLASH,
        "local_folder": "",
        "quantization": "none",
    }


def test_twelve_gigabyte_gpu_gets_4bit(qtbot, parts):
    dialog = dialog_for(qtbot, parts, machine=machine(RTX_4070))
    assert dialog.local_choice.isChecked()
    assert "4-bit" in dialog.local_detail.text()
    assert dialog.changes()["quantization"] == "4bit"


def test_apple_silicon_with_enough_memory_recommends_local(qtbot, parts):
    dialog = dialog_for(qtbot, parts, machine=machine(M3_MAX))
    assert dialog.local_choice.isChecked()
    assert "MPS" in dialog.local_detail.text()


def test_no_gpu_recommends_a_server_but_leaves_local_possible(qtbot, parts):
    dialog = dialog_for(qtbot, parts, machine=machine())
    assert dialog.api_choice.isChecked() and dialog.local_choice.isEnabled()
    assert dialog.local_detail.text().startswith("Not recommended here")
    assert "no NVIDIA or Apple GPU found" in dialog.machine_label.text()


def test_api_only_install_cannot_choose_local(qtbot, parts):
    dialog = dialog_for(qtbot, parts, machine=machine(RTX_4090, engine=False))
    assert not dialog.local_choice.isEnabled() and dialog.api_choice.isChecked()
    assert "API-only install" in dialog.local_detail.text()
    assert "GLMV_LOCAL=1 scripts/setup" in dialog.local_detail.text()


def test_this_machine_is_looked_at_on_a_worker(qtbot, parts):
    dialog = dialog_for(qtbot, parts)
    qtbot.waitUntil(lambda: dialog.machine is not None, timeout=20000)
    found = first_run.detect()
    assert dialog.machine == found
    assert dialog.machine_label.text() == found.describe()
    assert dialog.local_choice.isChecked() == (found.engine and found.fit.recommended)


@pytest.mark.parametrize(
    ("preset", "base_url", "expected"),
    [
        ("zai", "", "Sent to api.z.ai (Z.ai (international cloud))"),
        ("bigmodel", "", "Sent to open.bigmodel.cn"),
        ("vllm", "", "Sent to the server on this computer (127.0.0.1:8000)"),
        ("vllm", "http://gpu-box:8000/v1", "Sent to the server at gpu-box:8000"),
        ("llamacpp", "http://localhost:8080/v1", "Sent to the server on this computer (localhost:8080)"),
    ],
)
def test_privacy_note_names_where_things_go(preset, base_url, expected):
    note = first_run.privacy_note(preset, base_url)
    assert note.startswith(expected)
    assert "screenshots" in note


def test_privacy_text_follows_the_chosen_server(qtbot, parts):
    dialog = dialog_for(qtbot, parts, machine=machine())
    dialog.preset.setCurrentIndex(dialog.preset.findData("vllm"))
    assert "this computer (127.0.0.1:8000)" in dialog.api_privacy.text()
    qtbot.keyClicks(dialog.base_url, "http://cluster.example:8000/v1")
    assert "cluster.example:8000" in dialog.api_privacy.text()
    assert dialog.changes() == {
        "backend": "api",
        "preset": "vllm",
        "base_url": "http://cluster.example:8000/v1",
        "model": "",
    }


def test_start_with_a_key_saves_settings_and_keeps_the_key_out_of_them(qtbot, parts):
    tasks, vault, tmp_path = parts
    path = tmp_path / "config" / "settings.json"
    key = "0123456789abcdef0123456789abcdef.FirstRunSecret"

    def choose() -> None:
        dialog = next(w for w in QApplication.topLevelWidgets() if isinstance(w, FirstRunDialog) and w.isVisible())
        dialog.preset.setCurrentIndex(dialog.preset.findData("bigmodel"))
        dialog.api_choice.setChecked(True)
        dialog.key.setText(key)
        qtbot.mouseClick(dialog.start, Qt.MouseButton.LeftButton)

    QTimer.singleShot(300, choose)
    chosen = first_run.run_first_start(Settings(), vault, tasks, path=path)
    assert chosen is not None and chosen.backend == "api" and chosen.preset == "bigmodel"
    assert settings_io.load(path) == chosen
    assert key not in path.read_text()
    assert vault.get("bigmodel") == key
    assert oct(vault.file.stat().st_mode & 0o777) == "0o600"
    assert not first_run.needed(path)


def test_decide_later_saves_nothing(qtbot, parts):
    tasks, vault, tmp_path = parts
    path = tmp_path / "config" / "settings.json"

    def later() -> None:
        dialog = next(w for w in QApplication.topLevelWidgets() if isinstance(w, FirstRunDialog) and w.isVisible())
        dialog.reject()

    QTimer.singleShot(300, later)
    assert first_run.run_first_start(Settings(), vault, tasks, path=path) is None
    assert first_run.needed(path)


def test_local_choice_without_a_key_field_touches_no_vault(qtbot, parts):
    _, vault, _ = parts
    dialog = dialog_for(qtbot, parts, machine=machine(RTX_4090))
    dialog.key.setText("typed-but-local-chosen")
    dialog.accept()
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert dialog.result_settings().backend == "local"
    assert not vault.file.exists()


@pytest.mark.slow
def test_download_panel_fetches_the_model_with_progress(qtbot, parts, tiny_glmv_dir, monkeypatch):
    _, _, tmp_path = parts
    snapshot = fake_cache(tiny_glmv_dir, tmp_path / "hub", "zai-org/Tiny-GLM-V")
    monkeypatch.setattr(download, "cache_dir", lambda explicit=None: tmp_path / "hub")
    dialog = dialog_for(qtbot, parts, machine=machine(RTX_4090), model="zai-org/Tiny-GLM-V")
    panel = dialog.download
    qtbot.waitUntil(lambda: "GB free" in panel.where.text(), timeout=10000)
    assert str(tmp_path / "hub") in panel.where.text()
    qtbot.mouseClick(panel.download, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not panel.busy, timeout=30000)
    assert panel.result == snapshot
    assert panel.progress.value() == 1000
    dialog.accept()
    assert dialog.result_settings().local_model == "zai-org/Tiny-GLM-V"


def test_flash_download_states_its_size_and_the_disk(qtbot, parts):
    dialog = dialog_for(qtbot, parts, machine=machine(RTX_4090))
    qtbot.waitUntil(lambda: "GB free" in dialog.download.where.text(), timeout=10000)
    assert "about 20.6 GB" in dialog.download.where.text()
