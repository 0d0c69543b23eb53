"""`glmv ask` as a real subprocess against a hostile or broken server (issue 13): what it prints and how it ends."""

from __future__ import annotations

import time

import pytest

from tests.support.cli import glmv
from tests.support.openai_server import (
    ECHOED_KEY as KEY,
)
from tests.support.openai_server import (
    Stream,
    dialect_chunks,
    dialect_stream,
    key_echoes,
)


def test_timeout_holds_against_keep_alive_comments(openai_server):
    pings = Stream([*dialect_chunks("vllm", "", "kept")[:-2], *[": ping\n\n"] * 400], done=False, delay=0.05)
    openai_server.enqueue(pings)
    started = time.monotonic()
    result = glmv("ask", "--preset", "vllm", "--base-url", openai_server.url, "--model", "m", "--timeout", "1", "hi")
    assert time.monotonic() - started < 10  # the pings go on for 20 s
    assert result.returncode == 1
    assert result.stdout == "kept\n"
    assert "sent no answer for 1 s" in result.stderr and "--timeout" in result.stderr


def test_ask_uses_the_key_the_window_saved_in_its_file_when_there_is_no_keyring(openai_server, tmp_path):
    from app.core.secrets import KeyVault

    openai_server.enqueue(dialect_stream("zai", "", "ok"))
    url = openai_server.zai_url
    vault = KeyVault(tmp_path / "config" / "glmv-desktop", use_keyring=False)
    assert vault.set("zai", "zk-saved-in-the-file", url) == str(vault.file)
    env = {"XDG_CONFIG_HOME": str(tmp_path / "config"), "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    result = glmv("ask", "--preset", "zai", "--base-url", url, "hi", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "ok\n"
    assert openai_server.last.headers["authorization"] == "Bearer zk-saved-in-the-file"


def test_ask_without_any_key_names_the_file_the_window_would_use(openai_server, tmp_path):
    env = {"XDG_CONFIG_HOME": str(tmp_path / "config"), "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    result = glmv("ask", "--preset", "zai", "--base-url", openai_server.zai_url, "hi", env=env)
    assert result.returncode == 2
    assert "no API key for Z.ai" in result.stderr
    assert str(tmp_path / "config" / "glmv-desktop" / "api-keys.json") in result.stderr


# -- a server that echoes the key -----------------------------------------------------------------------------

ECHOES = key_echoes()


@pytest.mark.parametrize("reply", ECHOES, ids=["401", "400", "in-stream"])
def test_a_key_the_server_echoes_is_masked_on_stderr_stdout_and_in_the_log(openai_server, tmp_path, reply):
    env = {"GLMV_API_KEY": KEY, "XDG_STATE_HOME": str(tmp_path / "state")}
    base = ["ask", "--preset", "vllm", "--base-url", openai_server.url, "--model", "m", "hi"]
    openai_server.enqueue(reply)
    plain = glmv("--verbose", *base, env=env)
    openai_server.enqueue(reply)
    as_json = glmv(*base, "--json", env=env)
    assert openai_server.last.headers["authorization"] == f"Bearer {KEY}"  # it was sent, and echoed
    for result in (plain, as_json):
        assert result.returncode == 1
        assert KEY not in result.stdout + result.stderr
    assert "[redacted]" in plain.stderr and "[redacted]" in as_json.stdout
    (log,) = (tmp_path / "state").rglob("*.log")
    text = log.read_text()
    assert "[redacted]" in text and KEY not in text
