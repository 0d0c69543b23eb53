"""Thinking per question: switched on or off for one question through the backend's dialect, with a thinking
budget where the backend can hold the model to one (vLLM's field; the local engine closes the thinking block
itself), read in the request body a loopback server received and in what the tiny scripted model wrote."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from app.core.backends.api import ApiBackend
from app.core.backends.base import GenerationOptions, ThinkingChoice
from app.core.conversation import Conversation
from app.core.events import Answer, Done, Thinking
from app.core.session import Session

ROOT = Path(__file__).resolve().parents[3]


def backend(server, preset: str = "vllm") -> ApiBackend:
    base = server.zai_url if preset in ("zai", "bigmodel") else server.url
    return ApiBackend(preset, base_url=base, model="glm-4.6v", api_key="k")


def test_a_question_asked_without_thinking_says_so_in_each_dialect(openai_server):
    for preset, off in (
        ("zai", {"thinking": {"type": "disabled"}}),
        ("bigmodel", {"thinking": {"type": "disabled"}}),
        ("vllm", {"chat_template_kwargs": {"enable_thinking": False}}),
        ("sglang", {"chat_template_kwargs": {"enable_thinking": False}}),
        ("llamacpp", {"chat_template_kwargs": {"enable_thinking": False}}),
    ):
        session = Session(backend(openai_server, preset))
        session.send("Quick one", thinking=ThinkingChoice(on=False, budget=500))
        body = openai_server.last.body
        assert {k: body[k] for k in off} == off, preset
        assert "thinking_token_budget" not in body, preset


def test_the_budget_goes_where_the_server_takes_one_and_nowhere_else(openai_server):
    session = Session(backend(openai_server, "vllm"))
    answer = session.send("Think briefly", thinking=ThinkingChoice(budget=256))
    body = openai_server.last.body
    assert body["chat_template_kwargs"] == {"enable_thinking": True} and body["thinking_token_budget"] == 256
    assert answer is not None and answer.thinking_choice == ThinkingChoice(True, 256)
    zai = Session(backend(openai_server, "zai"))
    answer = zai.send("Think briefly", thinking=ThinkingChoice(budget=256))
    assert openai_server.last.body["thinking"] == {"type": "enabled"}
    assert "thinking_token_budget" not in openai_server.last.body
    # What the thinking pane shows is what the backend could follow: Z.ai takes no budget.
    assert answer is not None and answer.thinking_choice == ThinkingChoice(True, None)


def test_the_choice_holds_for_its_question_only_and_again_when_it_is_answered_again(openai_server):
    session = Session(backend(openai_server, "vllm"), options=GenerationOptions(thinking=True))
    session.send("No thinking here", thinking=ThinkingChoice(on=False))
    assert openai_server.last.body["chat_template_kwargs"] == {"enable_thinking": False}
    session.regenerate()
    assert openai_server.last.body["chat_template_kwargs"] == {"enable_thinking": False}
    session.send("And this one as the settings say")
    assert openai_server.last.body["chat_template_kwargs"] == {"enable_thinking": True}
    assert "thinking_token_budget" not in openai_server.last.body
    assert [t.thinking_choice for t in session.turns if t.role == "assistant"] == [
        ThinkingChoice(False, None),
        ThinkingChoice(True, None),
    ]


def glmv(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args], cwd=ROOT, capture_output=True, text=True, timeout=60
    )


def test_glmv_ask_sends_a_budget_and_says_when_the_server_takes_none(openai_server):
    done = glmv("ask", "--preset", "vllm", "--base-url", openai_server.url, "--thinking-budget", "64", "Hi")
    assert done.returncode == 0, done.stderr
    assert openai_server.last.body["thinking_token_budget"] == 64
    done = glmv("ask", "--preset", "sglang", "--base-url", openai_server.url, "--thinking-budget", "64", "Hi")
    assert "takes no thinking budget" in done.stderr, done.stderr
    assert "thinking_token_budget" not in openai_server.last.body
    bad = glmv("ask", "--preset", "vllm", "--base-url", openai_server.url, "--thinking-budget", "-3", "Hi")
    assert bad.returncode == 2 and "must be 0 or more" in bad.stderr


# ------------------------------------------------------------------------------------------ the local engine


@pytest.fixture(scope="module")
def scripted(scripted_glmv_dir):
    pytest.importorskip("transformers")
    from app.core.backends.local import LocalBackend

    local = LocalBackend(str(scripted_glmv_dir), dtype="float32")
    yield local
    local.unload()


def said(backend, options: GenerationOptions) -> tuple[str, str, Done]:
    events = list(backend.stream(Conversation().ask("Plan it"), options))
    thinking = "".join(e.text for e in events if isinstance(e, Thinking))
    answer = "".join(e.text for e in events if isinstance(e, Answer))
    assert isinstance(events[-1], Done), events[-1]
    return thinking, answer, events[-1]


@pytest.mark.slow
def test_the_local_engine_closes_the_thinking_block_when_the_budget_is_spent(scripted):
    """The scripted model writes <think>Plan</think>OK: with two tokens of thinking allowed it is stopped after
    "Pl" and answers; with none, it answers at once; without a budget it thinks to the end."""
    assert scripted.capabilities.thinking_budget
    assert said(scripted, GenerationOptions(thinking=True))[:2] == ("Plan", "OK")
    thinking, answer, done = said(scripted, GenerationOptions(thinking=True, thinking_budget=2))
    assert (thinking, answer) == ("Pl", "OK")
    assert done.usage["completion_tokens"] == 7  # <think> P l </think> O K <|user|>
    assert said(scripted, GenerationOptions(thinking=True, thinking_budget=0))[:2] == ("", "OK")
    # A budget means nothing with thinking off.
    assert (
        said(scripted, GenerationOptions(thinking=False, thinking_budget=2))[1]
        == said(scripted, GenerationOptions(thinking=False))[1]
    )


@pytest.mark.parametrize(
    ("stored", "read"),
    [
        ({"on": False, "budget": None}, ThinkingChoice(False)),
        ({"on": True, "budget": 2048}, ThinkingChoice(True, 2048)),
        (None, None),
        ({"on": "yes"}, None),
        ({"on": True, "budget": -5}, None),
        ({"on": True, "budget": True}, None),
        ({"on": True, "budget": 1.5}, None),
        (["on"], None),
    ],
)
def test_the_choice_reads_back_from_the_history_and_anything_damaged_reads_as_unknown(stored, read):
    assert ThinkingChoice.from_dict(stored) == read
    if read is not None:
        assert ThinkingChoice.from_dict(read.to_dict()) == read
