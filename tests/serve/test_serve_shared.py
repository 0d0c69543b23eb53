"""The server in-process on an engine someone else owns (the window's "share" setting): it takes turns with the
owner's own questions, never loads or unloads the model itself, says how many wait, and stops cleanly; plus
what only an in-process server can show: Host and content-type checks, remote images when allowed, the refusal
to listen beyond loopback without a key, and a soak of many clients that come and go."""

from __future__ import annotations

import base64
import http.server
import io
import os
import random
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import openai
import pytest
from PIL import Image

from app.serve.server import LocalServer, ServeError
from app.serve.service import ServeOptions, Service
from app.serve.share import SharedModel
from glmv_local.chat import ChatMessage
from glmv_local.engine import Engine
from tests.support.tiny_glmv import SCRIPT_ANSWER, SCRIPT_THINKING

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def engine(scripted_glmv_dir):
    engine = Engine(model=str(scripted_glmv_dir), dtype="float32")
    engine.load()
    yield engine
    engine.unload()


@pytest.fixture
def shared(engine):
    shared = SharedModel(engine, 0, "glm-4.6v-flash")
    yield shared
    shared.stop()


def client(url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=url, api_key="unused", max_retries=0, timeout=60)


def hi() -> list[dict]:
    return [{"role": "user", "content": "Hi"}]


def wait_until(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.02)


def test_the_shared_model_answers_other_tools_and_takes_turns_with_its_owner(engine, shared):
    answer = client(shared.url).chat.completions.create(model="glm-4.6v-flash", messages=hi())
    assert answer.choices[0].message.content == SCRIPT_ANSWER
    assert answer.choices[0].message.reasoning_content == SCRIPT_THINKING
    wait_until(lambda: not shared.answering)
    assert shared.status() == f"Shared on 127.0.0.1:{shared.server.address.port}"

    # The owner's own long question holds the engine; the server's requests line up behind it.
    own = engine.stream([ChatMessage.text("user", "Go on")], max_new_tokens=20000, ignore_eos=True)
    pieces = iter(own)
    next(pieces)
    results: list[str] = []

    def ask() -> None:
        done = client(shared.url).chat.completions.create(model="m", messages=hi())
        results.append(done.choices[0].message.content or "")

    askers = [threading.Thread(target=ask) for _ in range(2)]
    for thread in askers:
        thread.start()
    wait_until(lambda: shared.waiting == 1 and shared.answering)
    assert shared.status().endswith(" · answering · 1 waiting")
    own.cancel()
    for thread in askers:
        thread.join(30)
    assert results == [SCRIPT_ANSWER, SCRIPT_ANSWER]
    wait_until(lambda: not shared.answering)
    assert shared.waiting == 0


def test_stopping_the_share_keeps_the_model_and_frees_the_port(engine):
    shared = SharedModel(engine, 0, "m")
    port = shared.server.address.port
    health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=10)
    assert health.status_code == 200 and health.json()["status"] == "ok"
    shared.stop()
    assert engine.is_loaded
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/health", timeout=5)
    again = SharedModel(engine, port, "m")  # the same port can be shared again at once
    again.stop()


def test_an_engine_still_loading_answers_503_and_is_not_loaded_by_the_server(scripted_glmv_dir):
    loading = Engine(model=str(scripted_glmv_dir), dtype="float32")
    shared = SharedModel(loading, 0, "m")
    try:
        with pytest.raises(openai.InternalServerError) as caught:
            client(shared.url).chat.completions.create(model="m", messages=hi())
        assert caught.value.status_code == 503 and "loading" in caught.value.message
        assert caught.value.response.headers["retry-after"] == "5"
        health = httpx.get(shared.url.removesuffix("/v1") + "/health", timeout=10)
        assert health.status_code == 503 and health.json()["status"] == "loading"
        assert not loading.is_loaded
    finally:
        shared.stop()


def test_the_port_in_use_is_an_error_that_says_so(shared):
    with pytest.raises(ServeError, match="pick another --port"):
        SharedModel(shared.engine, shared.server.address.port, "m")


def test_requests_for_other_hosts_and_non_json_bodies_are_refused(shared):
    base = shared.url.removesuffix("/v1")
    rebound = httpx.get(base + "/health", headers={"Host": "attacker.example"}, timeout=10)
    assert rebound.status_code == 400 and rebound.json()["error"]["code"] == "invalid_host"
    assert httpx.get(base + "/health", headers={"Host": "localhost:1234"}, timeout=10).status_code == 200
    form = httpx.post(shared.url + "/chat/completions", content=b'{"messages": []}', timeout=10)
    assert form.status_code == 400 and "application/json" in form.json()["error"]["message"]
    missing = httpx.get(base + "/v1/embeddings", timeout=10)
    assert missing.status_code == 404 and "/v1/chat/completions" in missing.json()["error"]["message"]


def test_no_other_address_than_loopback_without_a_key(engine):
    service = Service(engine, ServeOptions(model_name="m"))
    try:
        with pytest.raises(ServeError, match="without an API key"):
            LocalServer(service, "0.0.0.0", 0)
    finally:
        service.close()
    run = subprocess.run(
        [sys.executable, "-m", "app.cli", "serve", "--host", "0.0.0.0", "--model", "/nowhere"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2 and "--api-key-env" in run.stderr and "Traceback" not in run.stderr
    unset = subprocess.run(
        [sys.executable, "-m", "app.cli", "serve", "--api-key-env", "GLMV_TEST_NOT_SET", "--model", "/nowhere"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert unset.returncode == 2 and "GLMV_TEST_NOT_SET is not set" in unset.stderr


def test_a_model_that_does_not_load_ends_glmv_serve_with_the_reason(tmp_path):
    run = subprocess.run(
        [sys.executable, "-m", "app.cli", "serve", "--model", str(tmp_path / "no-model"), "--port", "0"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "XDG_STATE_HOME": str(tmp_path / "state"), "HF_HUB_OFFLINE": "1"},
    )
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert run.stderr.rstrip().splitlines()[-1].startswith("glmv serve: the model could not be loaded:")
    assert "no such directory" in run.stderr


@pytest.fixture
def picture_site(tmp_path):
    out = io.BytesIO()
    Image.new("RGB", (320, 200), "orange").save(out, "PNG")
    (tmp_path / "cat.png").write_bytes(out.getvalue())

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(tmp_path), **kwargs)

        def log_message(self, *args):
            pass

    site = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=site.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{site.server_address[1]}/cat.png"
    site.shutdown()


def test_remote_images_are_fetched_only_when_allowed(engine, picture_site):
    service = Service(engine, ServeOptions(model_name="m", allow_remote_images=True))
    server = LocalServer(service, "127.0.0.1", 0)
    server.start()
    try:
        sdk = client(server.url)
        image = [{"type": "image_url", "image_url": {"url": picture_site}}, {"type": "text", "text": "What?"}]
        seen = sdk.chat.completions.create(model="m", messages=[{"role": "user", "content": image}])
        plain = sdk.chat.completions.create(model="m", messages=[{"role": "user", "content": "What?"}])
        assert seen.choices[0].message.content == SCRIPT_ANSWER
        assert seen.usage.prompt_tokens - plain.usage.prompt_tokens >= 16
        missing = [{"type": "image_url", "image_url": {"url": picture_site + ".gone"}}]
        with pytest.raises(openai.BadRequestError, match="HTTP 404"):
            sdk.chat.completions.create(model="m", messages=[{"role": "user", "content": missing}])
    finally:
        server.stop()


def test_soak_many_clients_streaming_and_leaving(engine):
    """Eight clients, 48 requests: some read to the end, some leave at a random point, some leave while
    waiting. Every one ends, the line empties, no server thread is left behind, the engine still answers."""
    before = set(threading.enumerate())
    service = Service(engine, ServeOptions(model_name="m", max_queue=None))
    server = LocalServer(service, "127.0.0.1", 0)
    server.start()
    outcomes: list[str] = []
    errors: list[BaseException] = []
    rng = random.Random(18)
    plans = [rng.choice(["whole", "leave", "leave-early", "plain"]) for _ in range(48)]
    lock = threading.Lock()

    def worker(mine: list[str]) -> None:
        sdk = client(server.url)
        for plan in mine:
            try:
                if plan == "plain":
                    done = sdk.chat.completions.create(model="m", messages=hi())
                    outcome = done.choices[0].message.content or ""
                else:
                    stream = sdk.chat.completions.create(
                        model="m",
                        messages=hi(),
                        stream=True,
                        max_tokens=200 if plan == "whole" else 5000,
                        extra_body={"ignore_eos": plan != "whole"},
                    )
                    limit = {"whole": None, "leave": rng.randint(1, 30), "leave-early": 0}[plan]
                    for count, _ in enumerate(stream, 1):
                        if limit is not None and count > limit:
                            break
                    stream.close()
                    outcome = plan
                with lock:
                    outcomes.append(outcome)
            except BaseException as e:
                errors.append(e)

    threads = [threading.Thread(target=worker, args=(plans[i::8],)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(240)
    try:
        assert not errors, errors[:3]
        assert len(outcomes) == len(plans)
        assert all(o == SCRIPT_ANSWER for o in outcomes if o not in ("whole", "leave", "leave-early"))
        wait_until(lambda: not service.queue.running and service.queue.waiting == 0, 30)
        answer = client(server.url).chat.completions.create(model="m", messages=hi())
        assert answer.choices[0].message.content == SCRIPT_ANSWER
    finally:
        server.stop()
    wait_until(lambda: not set(threading.enumerate()) - before, 10)
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", server.address.port)) != 0


def test_base64_image_through_the_shared_model(shared):
    out = io.BytesIO()
    Image.new("RGB", (100, 80), "white").save(out, "JPEG")
    b64 = base64.b64encode(out.getvalue()).decode()
    content = [{"type": "image_url", "image_url": {"url": b64}}, {"type": "text", "text": "What?"}]
    answer = client(shared.url).chat.completions.create(model="m", messages=[{"role": "user", "content": content}])
    assert answer.choices[0].message.content == SCRIPT_ANSWER
