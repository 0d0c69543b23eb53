"""`glmv serve` on the scripted tiny model, driven by the official `openai` SDK and by `glmv ask`.

One server for the module, started as a person starts it (`python -m app.cli serve`), with a key, a queue of
one and a 1 MB request limit so 401, 429 and 413 can be reached. The scripted model thinks "Plan" and answers
"OK"; with ignore_eos it goes on with random tokens for as long as it is allowed, which is what the
disconnect and queue tests need. What the server logs on stderr is read for the cancel counts and checked for
keys and image data at the end.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import openai
import pytest
from PIL import Image

from tests.support.tiny_glmv import SCRIPT_ANSWER, SCRIPT_THINKING

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
KEY = "serve-test-key-7f3a9c"
KEY_ENV = "GLMV_TEST_SERVE_KEY"
LONG = {"ignore_eos": True}


class Served:
    def __init__(self, process: subprocess.Popen, env: dict) -> None:
        self.process = process
        self.env = env
        self.lines: list[str] = []
        self.url = ""
        self.ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line)
            found = re.search(r"listening on (http://\S+/v1)", line)
            if found:
                self.url = found.group(1)
            if "ready:" in line:
                self.ready.set()

    @property
    def log(self) -> str:
        return "".join(self.lines)

    def client(self, key: str = KEY, **kwargs) -> openai.OpenAI:
        return openai.OpenAI(base_url=self.url, api_key=key, max_retries=0, timeout=60, **kwargs)

    def wait_for_log(self, pattern: str, timeout: float = 30) -> re.Match:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = re.search(pattern, self.log)
            if found:
                return found
            time.sleep(0.05)
        raise AssertionError(f"{pattern!r} not in the server's log:\n{self.log}")

    def health(self) -> dict:
        return httpx.get(self.url.removesuffix("/v1") + "/health", timeout=10).json()

    def wait_idle(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            health = self.health()
            if not health["running"] and not health["waiting"]:
                return
            time.sleep(0.05)
        raise AssertionError(f"the server is still busy: {self.health()}")


def environment(tmp: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "GLMV_API_KEY"}
    env.update(
        PYTHONIOENCODING="utf-8",
        XDG_CONFIG_HOME=str(tmp / "config"),
        XDG_STATE_HOME=str(tmp / "state"),
        XDG_CACHE_HOME=str(tmp / "cache"),
        XDG_DATA_HOME=str(tmp / "data"),
    )
    env[KEY_ENV] = KEY
    return env


@pytest.fixture(scope="module")
def served(scripted_glmv_dir, tmp_path_factory):
    env = environment(tmp_path_factory.mktemp("serve"))
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "app.cli", "serve", "--model", str(scripted_glmv_dir), "--port", "0"),
            *("--api-key-env", KEY_ENV, "--max-queue", "1", "--max-request-mb", "1"),
        ],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    server = Served(process, env)
    try:
        if not server.ready.wait(180):
            raise AssertionError(f"glmv serve did not get ready:\n{server.log}")
        yield server
    finally:
        process.terminate()
        process.wait(30)


def data_url(width: int = 640, height: int = 400) -> str:
    image = Image.new("RGB", (width, height), "navy")
    image.paste((250, 200, 0), (100, 100, 300, 200))
    out = io.BytesIO()
    image.save(out, "PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


def ask(text: str, *images: str) -> list[dict]:
    parts = [{"type": "image_url", "image_url": {"url": url}} for url in images]
    return [{"role": "user", "content": [*parts, {"type": "text", "text": text}]}]


def test_a_stream_with_an_image_has_thinking_and_answer_apart_and_usage(served):
    client = served.client()
    plain = client.chat.completions.create(model="scripted", messages=ask("What is on the screen?"))
    stream = client.chat.completions.create(
        model="scripted",
        messages=ask("What is on the screen?", data_url()),
        stream=True,
        stream_options={"include_usage": True},
    )
    kinds, reasoning, also_reasoning, content, finish, usage = [], "", "", "", None, None
    for chunk in stream:
        if chunk.usage is not None:
            usage = chunk.usage
        if not chunk.choices:
            continue
        delta = chunk.choices[0].delta
        if getattr(delta, "reasoning_content", None):
            reasoning += delta.reasoning_content
            also_reasoning += delta.reasoning
            kinds.append("thinking")
        if delta.content:
            content += delta.content
            kinds.append("answer")
        finish = chunk.choices[0].finish_reason or finish
    assert reasoning == also_reasoning == SCRIPT_THINKING
    assert content == SCRIPT_ANSWER
    assert kinds == sorted(kinds, reverse=True)  # all the thinking, then all the answer
    assert finish == "stop"
    assert usage is not None and usage.completion_tokens == 9
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    # The image reached the model: its tokens are in the prompt (64 at most at the test's pixel budget).
    assert usage.prompt_tokens - plain.usage.prompt_tokens >= 16
    served.wait_idle()
    time.sleep(0.2)
    assert "went away" not in served.log  # a stream read to its end is not taken for a disconnect


def test_a_whole_completion_and_both_thinking_switches(served):
    client = served.client()
    on = client.chat.completions.create(model="scripted", messages=ask("Hi"))
    message = on.choices[0].message
    assert message.content == SCRIPT_ANSWER and message.reasoning_content == SCRIPT_THINKING
    assert on.choices[0].finish_reason == "stop" and on.model == "scripted-glm-4.6v"
    assert on.usage.completion_tokens == 9 and on.usage.completion_tokens_details.reasoning_tokens >= 5
    zai = client.chat.completions.create(model="x", messages=ask("Hi"), extra_body={"thinking": {"type": "disabled"}})
    vllm = client.chat.completions.create(
        model="x", messages=ask("Hi"), extra_body={"chat_template_kwargs": {"enable_thinking": False}}
    )
    enabled = client.chat.completions.create(
        model="x", messages=ask("Hi"), extra_body={"thinking": {"type": "enabled"}}
    )
    # Thinking off renders GLM's /nothink and an empty <think></think> into the prompt.
    assert zai.usage.prompt_tokens == vllm.usage.prompt_tokens > on.usage.prompt_tokens
    assert enabled.usage.prompt_tokens == on.usage.prompt_tokens


def test_stop_max_tokens_and_seed(served):
    client = served.client()
    stopped = client.chat.completions.create(model="x", messages=ask("Hi"), stop=["K"])
    assert stopped.choices[0].message.content == "O" and stopped.choices[0].finish_reason == "stop"
    short = client.chat.completions.create(model="x", messages=ask("Hi"), max_completion_tokens=3)
    assert short.choices[0].finish_reason == "length" and short.usage.completion_tokens == 3

    def sample(seed: int) -> str:
        answer = client.chat.completions.create(
            model="x", messages=ask("Hi"), temperature=2.0, max_tokens=40, seed=seed, extra_body=LONG
        )
        message = answer.choices[0].message
        return (getattr(message, "reasoning_content", None) or "") + (message.content or "")

    assert sample(7) == sample(7)
    assert sample(7) != sample(8)


def test_models_and_health(served):
    models = served.client().models.list()
    assert [m.id for m in models.data] == ["scripted-glm-4.6v"]
    health = served.health()
    assert health["status"] == "ok" and health["model"] == "scripted-glm-4.6v"


def test_a_client_that_disconnects_cancels_its_generation_within_two_tokens(served):
    served.wait_idle()
    stream = served.client().chat.completions.create(
        model="x", messages=ask("Go on"), stream=True, max_tokens=20000, extra_body=LONG
    )
    received = 0
    for chunk in stream:
        if chunk.choices and (chunk.choices[0].delta.content or getattr(chunk.choices[0].delta, "reasoning", None)):
            received += 1
            if received == 3:
                break
    stream.close()
    found = served.wait_for_log(
        r"request (\d+): the client went away at token (\d+); generation stopped at token (\d+)"
    )
    at_cancel, stopped = int(found.group(2)), int(found.group(3))
    assert at_cancel <= stopped <= at_cancel + 2
    assert stopped < 20000
    served.wait_idle(10)


def test_past_max_queue_is_429_with_retry_after_and_a_waiting_client_can_leave(served):
    served.wait_idle()
    client = served.client()
    running = client.chat.completions.create(
        model="x", messages=ask("Go on"), stream=True, max_tokens=20000, extra_body=LONG
    )
    next(iter(running))
    waiting = client.chat.completions.create(model="x", messages=ask("Then me"), stream=True)
    deadline = time.monotonic() + 10
    while served.health()["waiting"] != 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert served.health()["waiting"] == 1
    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(model="x", messages=ask("And me"))
    assert int(caught.value.response.headers["retry-after"]) >= 1
    assert "--max-queue 1" in caught.value.message
    assert caught.value.body["code"] == "queue_full"
    waiting.close()
    served.wait_for_log(r"request \d+: the client went away while waiting")
    running.close()
    served.wait_idle()


def test_a_wrong_or_missing_key_is_401(served):
    with pytest.raises(openai.AuthenticationError) as caught:
        served.client("not-the-key").chat.completions.create(model="x", messages=ask("Hi"))
    assert "Authorization: Bearer" in caught.value.message
    response = httpx.post(served.url + "/chat/completions", json={"messages": ask("Hi")}, timeout=10)
    assert response.status_code == 401 and response.json()["error"]["code"] == "invalid_api_key"
    assert httpx.get(served.url + "/models", timeout=10).status_code == 401


def test_a_request_over_the_size_limit_is_413(served):
    noise = Image.frombytes("RGB", (700, 700), os.urandom(700 * 700 * 3))
    out = io.BytesIO()
    noise.save(out, "PNG")
    url = "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()
    assert len(url) > 1024 * 1024
    with pytest.raises(openai.APIStatusError) as caught:
        served.client().chat.completions.create(model="x", messages=ask("What?", url))
    assert caught.value.status_code == 413 and "1 MB" in caught.value.message


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"messages": ask("What?", "https://example.com/cat.png")}, "--allow-remote-images"),
        ({"messages": ask("What?", "data:image/png;base64,bm90IGFuIGltYWdl")}, "image"),
        ({"messages": [{"role": "assistant", "content": "Hi"}]}, "end with a user message"),
        ({"messages": ask("Hi"), "n": 3}, "one choice"),
    ],
)
def test_bad_input_is_400_in_openai_format(served, body, words):
    with pytest.raises(openai.BadRequestError) as caught:
        served.client().chat.completions.create(model="x", **body)
    assert words in caught.value.message
    assert caught.value.body["type"] == "invalid_request_error"


def test_glmv_ask_round_trips_through_glmv_serve(served, tmp_path):
    screenshot = tmp_path / "screenshot.png"
    Image.new("RGB", (640, 400), "navy").save(screenshot)
    run = subprocess.run(
        [
            *(sys.executable, "-m", "app.cli", "ask", "--preset", "openai", "--base-url", served.url),
            *("--api-key-env", KEY_ENV, "--attach", str(screenshot), "--json", "What is this?"),
        ],
        cwd=ROOT,
        env=served.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    events = [json.loads(line) for line in run.stdout.splitlines() if line.strip()]
    assert "".join(e["text"] for e in events if e["type"] == "thinking") == SCRIPT_THINKING
    assert "".join(e["text"] for e in events if e["type"] == "answer") == SCRIPT_ANSWER
    assert events[-1]["type"] == "done" and events[-1]["finish_reason"] == "stop"
    assert events[-1]["usage"]["completion_tokens"] == 9


def test_the_log_has_no_key_and_no_image_data(served):
    served.wait_for_log(r"POST /v1/chat/completions HTTP/1.1\" 200")
    log = served.log
    assert KEY not in log
    assert not re.search(r"[A-Za-z0-9+/]{120,}", log)
    assert "chatcmpl-" in log  # the requests are logged, just not their data
