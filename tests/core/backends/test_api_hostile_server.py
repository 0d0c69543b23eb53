"""ApiBackend against a hostile or broken server on 127.0.0.1 (issue 13): whatever it sends, the client's memory
stays bounded, its time limit holds, and each fault ends as a clear ``Failed``."""

from __future__ import annotations

import json
import time

import pytest

from app.core.backends.api import MAX_BODY_BYTES, MAX_SSE_LINE_BYTES, ApiBackend
from app.core.backends.base import GenerationOptions
from app.core.conversation import Conversation
from app.core.events import Answer, Done, Failed
from tests.support.openai_server import (
    Lazy,
    OpenAIServer,
    Stream,
    dialect_chunks,
)

MB = 2**20


def run(backend: ApiBackend, conversation: Conversation | None = None, **options) -> list:
    conversation = conversation or Conversation().ask("hi")
    return list(backend.stream(conversation, GenerationOptions(**options)))


def vllm(server: OpenAIServer, **kwargs) -> ApiBackend:
    kwargs.setdefault("model", "glm-4.6v")
    return ApiBackend("vllm", base_url=server.url, **kwargs)


def answer_of(events: list) -> str:
    return "".join(e.text for e in events if isinstance(e, Answer))


# -- bounded reads --------------------------------------------------------------------------------------------


def test_a_huge_web_page_on_status_200_is_not_read_whole(openai_server):
    page = Lazy(64 * MB, "text/html; charset=utf-8", head=b"<html><body>Welcome to nginx!")
    openai_server.enqueue(page)
    events = run(vllm(openai_server))
    (failed,) = events
    assert isinstance(failed, Failed) and failed.kind == "server"
    assert "text/html" in failed.message and f"more than {MAX_BODY_BYTES // MB} MB" in failed.message
    assert "--base-url" in failed.message
    assert page.sent < 16 * MB  # the client hung up instead of reading on


def test_a_huge_error_body_is_read_only_as_far_as_the_message_needs(openai_server):
    body = Lazy(64 * MB, "application/json", status=500, head=b'{"error": {"message": "boom')
    openai_server.enqueue(body)
    (failed,) = run(vllm(openai_server))
    assert failed.kind == "server" and "HTTP 500" in failed.message
    assert body.sent < 16 * MB


def test_a_huge_models_list_is_not_read_whole(openai_server):
    backend = ApiBackend("vllm", base_url=openai_server.url)  # no model: asks /models
    openai_server.models = ["m" * (MAX_BODY_BYTES + MB)]
    (failed,) = run(backend)
    assert failed.kind == "server" and "/models" in failed.message and "more than" in failed.message


def test_an_sse_line_without_an_end_is_cut_off_at_the_cap_keeping_what_arrived(openai_server):
    head = b"".join(b"data: " + json.dumps(c).encode() + b"\n\n" for c in dialect_chunks("vllm", "", "kept")[:-2])
    line = Lazy(3 * MAX_SSE_LINE_BYTES, "text/event-stream", head=head + b'data: {"choices": "')
    openai_server.enqueue(line)
    events = run(vllm(openai_server))
    assert answer_of(events) == "kept"
    failed = events[-1]
    assert isinstance(failed, Failed) and failed.kind == "server"
    assert f"longer than {MAX_SSE_LINE_BYTES // MB} MB" in failed.message and "what arrived is kept" in failed.message
    assert line.sent < 2 * MAX_SSE_LINE_BYTES  # the client hung up; socket buffers took a few MB more


def test_an_sse_event_of_endless_data_lines_is_cut_off_too(openai_server):
    lines = Lazy(MAX_SSE_LINE_BYTES + 8 * MB, "text/event-stream", fill=b"data: xxxxxxxxxxxxxxxxxxxxxxxxx\n")
    openai_server.enqueue(lines)
    (failed,) = run(vllm(openai_server))
    assert failed.kind == "server" and "longer than" in failed.message


@pytest.mark.parametrize("newline", [b"\n", b"\r\n", b"\r"])
def test_sse_lines_end_with_any_of_the_three_newlines(openai_server, newline):
    events = [b"data: " + json.dumps(c).encode() + newline + newline for c in dialect_chunks("vllm", "", "ok")]
    body = b": comment" + newline + b"".join(events) + b"data: [DONE]" + newline + newline
    openai_server.enqueue(Lazy(0, "text/event-stream", head=body))
    events_out = run(vllm(openai_server))
    assert answer_of(events_out) == "ok" and not isinstance(events_out[-1], Failed)


# -- the time limit is on answer events, not on bytes ---------------------------------------------------------


def tokens_then(tail: list, **kwargs) -> Stream:
    """Some answer, then ``tail`` (keep-alives, stray bytes), one piece every ``delay`` seconds."""
    return Stream([*dialect_chunks("vllm", "", "kept")[:-2], *tail], done=False, **kwargs)


@pytest.mark.parametrize(
    "tail",
    [[": ping\n\n"] * 200, [b" "] * 200, [{"choices": [{"index": 0, "delta": {"content": ""}}]}] * 200],
    ids=["keep-alive comments", "a byte at a time", "empty deltas"],
)
def test_keep_alives_without_answer_end_the_stream_at_the_time_limit(openai_server, tail):
    openai_server.enqueue(tokens_then(tail, delay=0.05))  # 10 s of keep-alives after the answer
    started = time.monotonic()
    events = run(vllm(openai_server, read_timeout=0.6))
    took = time.monotonic() - started
    assert answer_of(events) == "kept"
    failed = events[-1]
    assert isinstance(failed, Failed) and failed.kind == "network" and failed.retryable
    assert "sent no answer for 0.6 s" in failed.message and "what arrived is kept" in failed.message
    assert "--timeout" in failed.message
    assert took < 3.0


def test_the_limit_is_between_events_not_on_the_whole_answer(openai_server):
    openai_server.enqueue(Stream(dialect_chunks("vllm", "hm", "slow but steady", piece=1), delay=0.04))
    started = time.monotonic()
    events = run(vllm(openai_server, read_timeout=0.6))
    assert time.monotonic() - started > 0.6
    assert answer_of(events) == "slow but steady" and isinstance(events[-1], Done)


def test_a_silent_stall_still_says_the_server_stopped_sending(openai_server):
    openai_server.enqueue(Stream(dialect_chunks("vllm", "", "kept")[:-2], ending="stall"))
    events = run(vllm(openai_server, read_timeout=0.5))
    assert answer_of(events) == "kept"
    assert events[-1].kind == "network" and "stopped sending for 0.5 s" in events[-1].message


def test_the_window_s_answer_time_limit_is_the_same_idle_limit(openai_server, tmp_path):
    from app.core.backends.factory import make_backend
    from app.core.secrets import KeyVault
    from app.core.settings import Settings, from_dict

    assert Settings().answer_timeout == 120
    assert from_dict({"answer_timeout": 0}).answer_timeout == 120  # out of range: the default, with a warning
    settings = from_dict({"preset": "vllm", "base_url": openai_server.url, "model": "m", "answer_timeout": 1})
    backend = make_backend(settings, KeyVault(tmp_path, use_keyring=False))
    openai_server.enqueue(tokens_then([": ping\n\n"] * 200, delay=0.05))
    started = time.monotonic()
    events = run(backend)
    assert time.monotonic() - started < 4.0
    assert answer_of(events) == "kept" and "sent no answer for 1 s" in events[-1].message


# -- redirects ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirect_says_where_the_server_pointed_and_which_base_url_to_set(openai_server, status):
    moved = "https://api.example.com/v4/chat/completions"
    openai_server.enqueue(Lazy(0, None, status=status, headers={"Location": moved}))
    (failed,) = run(vllm(openai_server))
    assert failed.kind == "server" and not failed.retryable
    assert f"redirected the request to {moved} (HTTP {status})" in failed.message
    assert "set the base URL to https://api.example.com/v4" in failed.message and "--base-url" in failed.message


def test_a_relative_redirect_is_named_in_full(openai_server):
    openai_server.enqueue(Lazy(0, None, status=307, headers={"Location": "/api/v2/chat/completions"}))
    (failed,) = run(vllm(openai_server))
    assert f"to http://127.0.0.1:{openai_server.port}/api/v2/chat/completions" in failed.message
    assert f"set the base URL to http://127.0.0.1:{openai_server.port}/api/v2" in failed.message


def test_a_redirect_elsewhere_or_without_a_location_says_so(openai_server):
    openai_server.enqueue(Lazy(0, None, status=302, headers={"Location": "https://login.example.com/sso"}))
    (failed,) = run(vllm(openai_server))
    assert "redirected the request to https://login.example.com/sso (HTTP 302)" in failed.message
    assert "not a chat endpoint" in failed.message and "--base-url" in failed.message
    openai_server.enqueue(Lazy(0, None, status=307))
    (failed,) = run(vllm(openai_server))
    assert "redirected the request (HTTP 307) without saying where" in failed.message


def test_a_redirected_model_list_says_so_too(openai_server):
    backend = ApiBackend("vllm", base_url=openai_server.url)  # no model: asks /models first
    openai_server.models_reply = Lazy(0, None, status=308, headers={"Location": "https://new.example.com/v1/models"})
    (failed,) = run(backend)
    assert "redirected the request to https://new.example.com/v1/models (HTTP 308)" in failed.message
    assert "set the base URL to https://new.example.com/v1" in failed.message
