"""The log file: rotation in the given folder, levels, and nothing secret or image-like ever written."""

from __future__ import annotations

import base64
import logging
import os
import sys

import pytest

from app.core import logs
from tests.support.paths import ROOT


@pytest.fixture
def log_path(tmp_path):
    path = logs.setup_logging(False, folder=tmp_path / "log", secrets=["0123-my-configured-key-XYZ"])
    yield path
    for handler in list(logs._installed):
        logging.getLogger().removeHandler(handler)
        handler.close()
    logs._installed.clear()


def read(path) -> str:
    for handler in logs._installed:
        handler.flush()
    return path.read_text(encoding="utf-8")


def test_file_in_the_folder_with_info_and_not_debug(log_path, tmp_path):
    log = logging.getLogger("app.test")
    log.debug("a debug line")
    log.info("an info line %d", 7)
    text = read(log_path)
    assert log_path == tmp_path / "log" / "glmv.log"
    assert "an info line 7" in text
    assert "a debug line" not in text


def test_verbose_writes_debug_to_file_and_stderr(tmp_path, capsys):
    path = logs.setup_logging(True, folder=tmp_path)
    try:
        logging.getLogger("app.test").debug("deep detail")
        assert "deep detail" in read(path)
        assert "deep detail" in capsys.readouterr().err
    finally:
        logs.setup_logging(False, folder=tmp_path)


def test_verbose_terminal_shows_escapes_in_records_inert(tmp_path, capsys):
    """A server reply or file name quoted in a record cannot drive the terminal; the file keeps the record whole."""
    path = logs.setup_logging(True, folder=tmp_path)
    try:
        logging.getLogger("app.test").debug("server said %r then %s", "x", "\x1b]0;pwned\x07\x1b[2J\x9b6n")
        err = capsys.readouterr().err
        assert "server said" in err and "\u241b]0;pwned\u2407" in err
        assert not any(c in err for c in "\x1b\x07\x9b")
        assert "\x1b[2J" in read(path)
    finally:
        logs.setup_logging(False, folder=tmp_path)


def test_quiet_terminal_without_verbose(log_path, capsys):
    logging.getLogger("app.test").warning("only in the file")
    assert "only in the file" in read(log_path)
    assert "only in the file" not in capsys.readouterr().err


def test_second_setup_replaces_the_first(tmp_path):
    logs.setup_logging(True, folder=tmp_path / "a")
    logs.setup_logging(False, folder=tmp_path / "b")
    mine = [h for h in logging.getLogger().handlers if h in logs._installed]
    assert len(mine) == 1
    logging.getLogger("app.test").warning("once")
    assert "once" not in (tmp_path / "a" / "glmv.log").read_text()
    assert (tmp_path / "b" / "glmv.log").read_text().count("once") == 1


SECRETS = [
    ("headers %s", ({"Authorization": "Bearer abcdefgh12345678secret"},), "abcdefgh12345678secret"),
    ("Authorization: Bearer %s", ("tok_abcdefghijklmnop",), "tok_abcdefghijklmnop"),
    ("key %s", ("sk-proj-AbCdEfGhIjKlMnOpQrSt",), "AbCdEfGhIjKlMnOpQrSt"),
    ("zai key %s", ("0123456789abcdef0123456789abcdef.AbCdEfGhIjKlMnOp",), "AbCdEfGhIjKlMnOp"),
    ("url %s", ("https://h/v1?api_key=plainsecretvalue99&x=1",), "plainsecretvalue99"),
    ("hf %s", ("hf_abcdefghijklmnopqrstuvwxyz0123",), "abcdefghijklmnopqrstuvwxyz0123"),
    ("configured %s", ("0123-my-configured-key-XYZ",), "0123-my-configured-key-XYZ"),
]


@pytest.mark.parametrize(("msg", "args", "secret"), SECRETS)
def test_secrets_never_reach_the_file(log_path, msg, args, secret):
    logging.getLogger("app.core.backends.api").info(msg, *args)
    text = read(log_path)
    assert secret not in text
    assert logs.REDACTED in text


def test_key_from_environment_and_remembered_later(tmp_path, monkeypatch):
    monkeypatch.setenv("GLMV_API_KEY", "env-key-value-1234")
    path = logs.setup_logging(False, folder=tmp_path)
    logs.remember_secret("typed-in-settings-5678")
    logging.getLogger("app").warning("sent env-key-value-1234 then typed-in-settings-5678")
    text = read(path)
    assert "env-key-value-1234" not in text and "typed-in-settings-5678" not in text
    assert text.count(logs.REDACTED) == 2


def test_image_data_is_truncated(log_path):
    png = base64.b64encode(os.urandom(30000)).decode()
    logging.getLogger("app").info("body %s", {"image_url": {"url": f"data:image/png;base64,{png}"}})
    logging.getLogger("app").info("bare %s end", png)
    text = read(log_path)
    assert png[:200] not in text
    assert "data:image/png;base64,[" in text
    assert "chars omitted" in text
    assert len(text) < 2000


def test_exception_text_is_redacted(log_path):
    try:
        raise RuntimeError("server said: Authorization: Bearer leakedtoken123456")
    except RuntimeError:
        logging.getLogger("app").exception("request failed")
    text = read(log_path)
    assert "RuntimeError" in text
    assert "leakedtoken123456" not in text


def test_ordinary_text_is_kept():
    text = "max_tokens=16384 tokens: 512 sha256 " + "ab" * 32 + " path /home/u/.cache/huggingface/hub"
    assert logs.redact(text) == text


def test_bad_format_arguments_still_log(log_path):
    logging.getLogger("app").info("two %s %s", "only-one")
    assert "could not be formatted" in read(log_path)


def test_unwritable_folder_falls_back_to_stderr(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    path = logs.setup_logging(False, folder=blocker / "log")
    try:
        assert "cannot write the log file" in capsys.readouterr().err
        logging.getLogger("app").warning("still shown")
        assert "still shown" in capsys.readouterr().err
        assert not path.exists()
    finally:
        logs.setup_logging(False, folder=tmp_path / "ok")


def test_default_folder_is_the_platform_log_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    if not sys.platform.startswith("linux"):
        pytest.skip("XDG folders apply on Linux")
    assert logs.log_folder() == tmp_path / "glmv-desktop" / "log"


def test_a_crash_of_the_process_leaves_every_thread_s_stack_in_crash_log(tmp_path):
    """A real segmentation fault in a child process that enabled the crash traces as the app does."""
    import subprocess

    code = (
        "import ctypes, sys, threading, time\n"
        "from pathlib import Path\n"
        "from app.core.logs import enable_crash_traces\n"
        "enable_crash_traces(Path(sys.argv[1]))\n"
        "threading.Thread(target=time.sleep, args=(30,), name='worker', daemon=True).start()\n"
        "ctypes.string_at(0)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)], cwd=ROOT, env={"PYTHONPATH": str(ROOT)}, timeout=60
    )
    assert done.returncode != 0
    text = (tmp_path / "crash.log").read_text()
    assert "started" in text.splitlines()[0]
    assert "Fatal Python error: Segmentation fault" in text
    assert "Current thread 0x" in text and "Thread 0x" in text, "every thread's stack, not only the one that crashed"
