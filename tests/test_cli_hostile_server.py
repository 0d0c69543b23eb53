"""`glmv ask` as a real subprocess against a hostile or broken server (issue 13): what it prints and how it ends."""

from __future__ import annotations

import time

from tests.openai_server import Stream, dialect_chunks, openai_server_fixture  # noqa: F401 (the fixture)
from tests.test_cli import glmv


def test_timeout_holds_against_keep_alive_comments(openai_server):
    pings = Stream([*dialect_chunks("vllm", "", "kept")[:-2], *[": ping\n\n"] * 400], done=False, delay=0.05)
    openai_server.enqueue(pings)
    started = time.monotonic()
    result = glmv("ask", "--preset", "vllm", "--base-url", openai_server.url, "--model", "m", "--timeout", "1", "hi")
    assert time.monotonic() - started < 10  # the pings go on for 20 s
    assert result.returncode == 1
    assert result.stdout == "kept\n"
    assert "sent no answer for 1 s" in result.stderr and "--timeout" in result.stderr
