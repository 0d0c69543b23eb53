"""The window against a hostile or broken server (issue 13): real Qt widgets offscreen, the real loopback server,
the real ApiBackend and a real history store."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPlainTextEdit

from app.core.backends.api import ApiBackend
from app.core.logs import setup_logging
from app.core.secrets import KeyVault
from app.core.settings import Settings
from app.ui.settings_dialog import SettingsDialog
from app.ui.workers import Tasks
from tests.support.openai_server import ECHOED_KEY as KEY
from tests.support.openai_server import Lazy, Stream, error_reply, key_echoes
from tests.support.videos import padded_video
from tests.support.window import shown_window

pytestmark = pytest.mark.gui


def test_the_answer_time_limit_is_set_in_the_server_settings(qtbot, tmp_path):
    tasks = Tasks()
    dialog = SettingsDialog(Settings(answer_timeout=45), KeyVault(tmp_path, use_keyring=False), tasks)
    qtbot.addWidget(dialog)
    assert dialog.answer_timeout.value() == 45
    dialog.answer_timeout.setValue(300)
    assert dialog.result_settings().answer_timeout == 300


ECHOES = key_echoes()


@pytest.mark.parametrize("reply", ECHOES, ids=["401", "400", "in-stream"])
def test_a_key_the_server_echoes_is_masked_in_the_banner_the_history_and_the_log(qtbot, tmp_path, openai_server, reply):
    log_file = setup_logging(folder=tmp_path / "log")
    window = shown_window(
        qtbot, tmp_path, ApiBackend("vllm", base_url=openai_server.url, model="glm-4.6v", api_key=KEY)
    )
    store = window.store
    try:
        openai_server.enqueue(reply)
        composer = window.findChild(QPlainTextEdit, "composer")
        composer.setFocus()
        qtbot.keyClicks(composer, "hi")
        qtbot.keyClick(composer, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: bool(window.banners()), timeout=15000)
        (banner,) = window.banners()
        assert KEY not in banner.text.text() and "[redacted]" in banner.text.text()
        assert openai_server.last.headers["authorization"] == f"Bearer {KEY}"
        qtbot.waitUntil(lambda: not window.is_streaming(), timeout=15000)
        store.flush()
        if isinstance(reply, Stream):  # a failure after some answer is stored with it; one before it is not
            _, answer = store.messages(window.conversation_id)
            assert answer.status == "failed" and "[redacted]" in (answer.error_message or "")
    finally:
        assert window.wait_for_workers(15)
        window.close()
        store.close()
    for path in (tmp_path / "data").iterdir():  # the database with its -wal and -shm
        assert KEY.encode() not in path.read_bytes(), path
    text = log_file.read_text()
    assert "[redacted]" in text and KEY not in text


def test_test_connection_masks_an_echoed_key_and_reads_a_bounded_body(openai_server):
    from app.core.backends.factory import BackendUnavailable, check_connection

    openai_server.models_reply = error_reply(400, f"request from {KEY} is malformed")
    with pytest.raises(BackendUnavailable) as raised:
        check_connection(openai_server.url, KEY)
    assert KEY not in str(raised.value) and "HTTP 400" in str(raised.value)
    huge = Lazy(64 * 2**20, "application/json", head=b'{"data": [{"id": "')
    openai_server.models_reply = huge
    assert check_connection(openai_server.url, KEY) == "Connected. The server did not list its models."
    assert huge.sent < 32 * 2**20


def test_the_attachment_chip_says_a_video_too_big_for_the_server_is_re_encoded(qtbot, tmp_path, openai_server):
    import dataclasses

    backend = ApiBackend("vllm", base_url=openai_server.url, model="glm-4.6v")
    backend.dialect = dataclasses.replace(backend.dialect, max_request_bytes=8 * 2**20)
    window = shown_window(qtbot, tmp_path, backend)
    store = window.store
    try:
        window.add_files([padded_video(tmp_path / "big.mp4", 12 * 2**20)])
        qtbot.waitUntil(lambda: all(c.ready for c in window.composer.strip.chips()), timeout=20000)
        (chip,) = window.composer.strip.chips()
        assert chip.info is not None and chip.info.error is None
        assert any("one request to this server can carry" in w and "re-encoded" in w for w in chip.info.warnings)
        assert chip.warning.isVisible()
    finally:
        assert window.wait_for_workers(15)
        window.close()
        store.close()
