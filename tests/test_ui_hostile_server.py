"""The window against a hostile or broken server (issue 13): real Qt widgets offscreen, the real loopback server,
the real ApiBackend and a real history store."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from app.core.settings import KeyVault, Settings
from app.ui.settings_dialog import SettingsDialog
from app.ui.workers import Tasks

pytestmark = pytest.mark.gui


def test_the_answer_time_limit_is_set_in_the_server_settings(qtbot, tmp_path):
    tasks = Tasks()
    dialog = SettingsDialog(Settings(answer_timeout=45), KeyVault(tmp_path, use_keyring=False), tasks)
    qtbot.addWidget(dialog)
    assert dialog.answer_timeout.value() == 45
    dialog.answer_timeout.setValue(300)
    assert dialog.result_settings().answer_timeout == 300
