"""ApiBackend against a real HTTP server on 127.0.0.1: what each dialect streams becomes the right events, the
request carries what each server expects, and every fault ends as a clear ``Failed``."""

from __future__ import annotations

import base64
import io
import json
import threading
import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from PIL import Image

from app.core.backends.api import ApiBackend, parse_retry_after
from app.core.backends.base import GenerationOptions
from app.core.backends.dialects import PRESETS, get_preset
from app.core.backends.factory import needs_key_but_has_none
from app.core.conversation import Attachment, Conversation, Message
from app.core.events import Answer, Boxes, Done, Thinking
from app.core.secrets import (
    KeyringUnavailable,
    KeyVault,
    account_name,
    find_api_key,
    get_api_key,
    keyring_available,
    set_api_key,
)
from app.core.settings import Settings
from tests.support.openai_server import (
    USAGE,
    HangUp,
    JsonReply,
    OpenAIServer,
    Silent,
    Stream,
    closed_port_url,
    dialect_chunks,
    dialect_stream,
    error_reply,
    vllm_error,
)
from tests.support.videos import make_video

REASONING = "The user greets me. I should answer <politely> & briefly."
ANSWER = "Hello! 你好 — how can I help?"


def run(backend: ApiBackend, conversation: Conversation | None = None, **options) -> list:
    conversation = conversation or Conversation().ask("hi")
    return list(backend.stream(conversation, GenerationOptions(**options)))


def texts(events: list, kind: type) -> str:
    return "".join(e.text for e in events if isinstance(e, kind))


def vllm(server: OpenAIServer, **kwargs) -> ApiBackend:
    kwargs.setdefault("model", "glm-4.6v")
    return ApiBackend("vllm", base_url=server.url, **kwargs)


# -- dialects -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("style", ["zai", "bigmodel", "vllm", "sglang", "llamacpp", "openai"])
def test_each_dialect_streams_thinking_then_answer(openai_server, style):
    openai_server.enqueue(dialect_stream(style, REASONING, ANSWER, piece=2))
    base = openai_server.zai_url if style in ("zai", "bigmodel") else openai_server.url
    events = run(ApiBackend(style, base_url=base, model="glm-4.6v", api_key="k"))
    assert texts(events, Thinking) == REASONING
    assert texts(events, Answer) == ANSWER
    first_answer = next(i for i, e in enumerate(events) if isinstance(e, Answer))
    assert not any(isinstance(e, Thinking) for e in events[first_answer:])
    assert events[-1] == Done("stop", USAGE)


def test_zai_preset_posts_to_the_paas_path_with_the_thinking_field(openai_server):
    openai_server.enqueue(dialect_stream("zai", "r", "a"))
    run(ApiBackend("zai", base_url=openai_server.zai_url, api_key="k"), thinking=False)
    request = openai_server.last
    assert request.path == "/api/paas/v4/chat/completions"
    assert request.body["model"] == "glm-4.6v"
    assert request.body["thinking"] == {"type": "disabled"}
    assert "chat_template_kwargs" not in request.body
    assert "stream_options" not in request.body
    assert request.body["stream"] is True


@pytest.mark.parametrize("style", ["vllm", "sglang", "llamacpp", "openai"])
@pytest.mark.parametrize("thinking", [True, False])
def test_open_servers_switch_thinking_through_the_chat_template(openai_server, style, thinking):
    run(ApiBackend(style, base_url=openai_server.url, model="m"), thinking=thinking)
    body = openai_server.last.body
    assert body["chat_template_kwargs"] == {"enable_thinking": thinking}
    assert "thinking" not in body
    assert body["stream_options"] == {"include_usage": True}
    assert body["model"] == "m"


def test_boxes_in_the_answer_become_a_boxes_event(openai_server):
    answer = "The cat is at <|begin_of_box|>[[100, 200, 300, 400]]<|end_of_box|>."
    openai_server.enqueue(dialect_stream("vllm", "find the cat", answer, piece=5))
    events = run(vllm(openai_server))
    boxes = [e for e in events if isinstance(e, Boxes)]
    assert len(boxes) == 1
    assert [b.as_list() for b in boxes[0].boxes] == [[100, 200, 300, 400]]
    assert "<|begin_of_box|>" not in texts(events, Answer)
    assert isinstance(events[-1], Done)


def test_reasoning_is_read_once_when_a_server_sends_both_fields(openai_server):
    chunks = dialect_chunks("vllm", "", "ok")
    chunks.insert(1, {"choices": [{"index": 0, "delta": {"reasoning": "same", "reasoning_content": "same"}}]})
    openai_server.enqueue(Stream(chunks))
    assert texts(run(vllm(openai_server)), Thinking) == "same"


def test_odd_chunk_shapes_are_skipped_not_fatal(openai_server):
    chunks = dialect_chunks("vllm", "r", "ok")
    odd = [
        "data: [1, 2]\n\n",
        {"choices": ["x"]},
        {"choices": [{"delta": "x"}]},
        {"choices": [{"delta": {"content": None}}]},
    ]
    odd.append({"choices": [{"delta": {"content": ["part"], "reasoning": 5}}], "usage": "n/a"})
    openai_server.enqueue(Stream([chunks[0], *odd, *chunks[1:]]))
    events = run(vllm(openai_server))
    assert (texts(events, Thinking), texts(events, Answer)) == ("r", "ok")
    assert events[-1] == Done("stop", USAGE)


def test_a_server_that_ignores_stream_true_still_answers(openai_server):
    completion = {
        "choices": [{"message": {"content": "whole", "reasoning_content": "thought"}, "finish_reason": "stop"}],
        "usage": USAGE,
    }
    openai_server.enqueue(JsonReply(200, completion))
    events = run(vllm(openai_server))
    assert texts(events, Thinking) == "thought"
    assert texts(events, Answer) == "whole"
    assert events[-1] == Done("stop", USAGE)


def test_model_is_asked_from_the_server_when_the_preset_has_none(openai_server):
    openai_server.models = ["zai-org/GLM-4.6V"]
    backend = ApiBackend("vllm", base_url=openai_server.url)
    events = run(backend)
    assert isinstance(events[-1], Done)
    assert openai_server.requests[0].path == "/v1/models"
    assert openai_server.last.body["model"] == "zai-org/GLM-4.6V"


# -- request shape --------------------------------------------------------------------------------------------


def test_history_is_sent_without_reasoning_and_with_the_system_prompt(openai_server):
    conversation = Conversation(system_prompt="Be terse.")
    conversation.messages += [
        Message("user", "first question"),
        Message("assistant", "first answer", thinking="SECRET-REASONING-1"),
        Message("user", "second question"),
        Message("assistant", "second answer", thinking="SECRET-REASONING-2"),
    ]
    conversation.ask("third question")
    run(vllm(openai_server), conversation)
    request = openai_server.last
    assert request.body["messages"] == [
        {"role": "system", "content": "Be terse."},
        {"role": "user", "content": "first question"},
        {"role": "assistant", "content": "first answer"},
        {"role": "user", "content": "second question"},
        {"role": "assistant", "content": "second answer"},
        {"role": "user", "content": "third question"},
    ]
    assert b"SECRET-REASONING" not in request.raw

    run(vllm(openai_server), conversation, history_turns=1)
    assert [m["content"] for m in openai_server.last.body["messages"]] == [
        "Be terse.",
        "second question",
        "second answer",
        "third question",
    ]


def test_options_are_sent_and_clamped_to_the_dialect_limits(openai_server):
    run(vllm(openai_server), max_tokens=100000, temperature=1.5, top_p=0.6)
    body = openai_server.last.body
    assert (body["max_tokens"], body["temperature"], body["top_p"]) == (100000, 1.5, 0.6)

    zai = ApiBackend("zai", base_url=openai_server.zai_url, api_key="k")
    run(zai, max_tokens=100000, temperature=1.5)
    body = openai_server.last.body
    assert (body["max_tokens"], body["temperature"]) == (32768, 1.0)


def test_api_key_goes_in_the_bearer_header_only_when_there_is_one(openai_server):
    run(vllm(openai_server, api_key="sk-test-123"))
    assert openai_server.last.headers["authorization"] == "Bearer sk-test-123"
    assert openai_server.last.headers["accept"] == "text/event-stream"
    run(vllm(openai_server))
    assert "authorization" not in openai_server.last.headers


def test_the_key_never_shows_in_the_backend_repr(openai_server):
    backend = vllm(openai_server, api_key="sk-very-secret")
    assert "sk-very-secret" not in repr(backend)


def _png(path: Path, size=(640, 480)) -> Path:
    Image.new("RGB", size, (30, 120, 200)).save(path)
    return path


@pytest.mark.parametrize(("preset", "data_uri"), [("zai", False), ("bigmodel", False), ("vllm", True)])
def test_images_are_sent_as_base64_or_data_uri_per_dialect(openai_server, tmp_path, preset, data_uri):
    png = _png(tmp_path / "shot.png")
    base = openai_server.zai_url if preset in ("zai", "bigmodel") else openai_server.url
    backend = ApiBackend(preset, base_url=base, model="glm-4.6v", api_key="k")
    conversation = Conversation().ask("what is this?", [Attachment(png)])
    assert isinstance(run(backend, conversation)[-1], Done)
    content = openai_server.last.body["messages"][-1]["content"]
    # The image after the words that introduce it (``media.told``), the question last.
    assert [p["type"] for p in content] == ["text", "image_url", "text"]
    assert content[0]["text"].startswith("File shot.png: an image, 640 x 480 pixels.")
    assert content[-1] == {"type": "text", "text": "what is this?"}
    url = content[1]["image_url"]["url"]
    if data_uri:
        prefix, _, payload = url.partition(",")
        assert prefix in ("data:image/png;base64", "data:image/jpeg;base64")
    else:
        assert not url.startswith("data:")
        payload = url
    raw = base64.b64decode(payload, validate=True)
    assert raw[:8] == b"\x89PNG\r\n\x1a\n" or raw[:3] == b"\xff\xd8\xff"


@pytest.mark.parametrize(
    ("preset", "screen", "sent"),
    [
        ("zai", (1920, 1080), (1920, 1080)),
        ("vllm", (1920, 1080), (1920, 1080)),
        ("sglang", (1920, 1080), (1920, 1080)),
        ("vllm", (3840, 2160), (2912, 1624)),  # over the pixel budget: downscaled here, by the processor's rule
        ("llamacpp", (1920, 1080), (1932, 1092)),
        ("openai", (1920, 1080), (1932, 1092)),
    ],
)
def test_servers_running_the_processor_get_screenshots_within_the_budget_at_their_own_size(
    openai_server, tmp_path, preset, screen, sent
):
    """vLLM, SGLang and Z.ai resize with the processor's own rule, so rounding to 28 here is time spent for
    nothing; llama.cpp pads to its own rounding and an unknown server may not resize at all: those get the
    processor's size, which keeps the token estimate and the boxes true."""
    png = _png(tmp_path / "screen.png", screen)
    base = openai_server.zai_url if preset == "zai" else openai_server.url
    backend = ApiBackend(preset, base_url=base, model="glm-4.6v", api_key="k")
    assert isinstance(run(backend, Conversation().ask("what is this?", [Attachment(png)]))[-1], Done)
    url = openai_server.last.body["messages"][-1]["content"][1]["image_url"]["url"]
    with Image.open(io.BytesIO(base64.b64decode(url.split(",")[-1]))) as image:
        assert image.size == sent


def test_past_questions_keep_their_images(openai_server, tmp_path):
    png = _png(tmp_path / "a.png")
    conversation = Conversation().ask("look", [Attachment(png)])
    conversation.messages.append(Message("assistant", "a blue square", thinking="hmm"))
    conversation.ask("and the colour?")
    run(vllm(openai_server), conversation)
    messages = openai_server.last.body["messages"]
    assert [p["type"] for p in messages[0]["content"]] == ["text", "image_url", "text"]
    assert messages[1] == {"role": "assistant", "content": "a blue square"}
    assert messages[2] == {"role": "user", "content": "and the colour?"}


def test_unusable_attachment_fails_as_input_before_any_request(openai_server, tmp_path):
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10)
    events = run(vllm(openai_server), Conversation().ask("x", [Attachment(tmp_path / "missing.png")]))
    assert events[-1].kind == "input" and "no such file" in events[-1].message
    events = run(vllm(openai_server), Conversation().ask("x", [Attachment(bad)]))
    assert events[-1].kind == "input"
    assert openai_server.chat_requests == []


def test_more_images_than_the_dialect_allows_is_an_input_failure(openai_server, tmp_path):
    png = _png(tmp_path / "tiny.png", (56, 56))
    attachments = [Attachment(png) for _ in range(151)]
    backend = ApiBackend("zai", base_url=openai_server.zai_url, api_key="k")
    events = run(backend, Conversation().ask("many", attachments))
    assert events == [events[-1]]
    assert events[-1].kind == "input"
    assert "151 images" in events[-1].message and "150" in events[-1].message
    assert openai_server.chat_requests == []


# -- faults ---------------------------------------------------------------------------------------------------


def test_401_says_the_key_was_rejected_by_that_host(openai_server):
    openai_server.enqueue(error_reply(401, "令牌已过期或验证不正确", code="1000"))
    events = run(vllm(openai_server, api_key="sk-wrong"))
    (failed,) = events
    assert failed.kind == "auth" and not failed.retryable
    assert f"rejected by 127.0.0.1:{openai_server.port}" in failed.message
    assert "令牌已过期或验证不正确" in failed.message
    assert "region-specific" in failed.message
    assert "sk-wrong" not in failed.message


def test_401_without_a_key_says_to_set_one(openai_server):
    openai_server.enqueue(error_reply(401, "missing key"))
    (failed,) = run(vllm(openai_server))
    assert failed.kind == "auth" and "GLMV_API_KEY" in failed.message


def test_429_honours_retry_after(openai_server):
    openai_server.enqueue(error_reply(429, "Rate limit reached", retry_after="7"))
    (failed,) = run(vllm(openai_server))
    assert failed.kind == "rate_limit" and failed.retryable
    assert failed.retry_after == 7
    assert "wait 7 s" in failed.message and "Rate limit reached" in failed.message


def test_429_retry_after_as_an_http_date(openai_server):
    when = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=30), usegmt=True)
    openai_server.enqueue(error_reply(429, "slow down", retry_after=when))
    (failed,) = run(vllm(openai_server))
    assert 25 <= failed.retry_after <= 31


@pytest.mark.parametrize(
    ("code", "advice", "retryable"),
    [("1113", "no balance left", False), ("1302", "too many requests are running at once", True)],
)
def test_zai_rate_limit_codes_get_their_own_advice(openai_server, code, advice, retryable):
    openai_server.enqueue(error_reply(429, "provider text", code=code))
    (failed,) = run(ApiBackend("zai", base_url=openai_server.zai_url, api_key="k"))
    assert failed.kind == "rate_limit" and failed.retryable is retryable
    assert advice in failed.message and f"code {code}" in failed.message


@pytest.mark.parametrize(
    "reply",
    [
        error_reply(400, "Unknown Model, please check the model code.", code="1211"),
        vllm_error(404, "The model `nope` does not exist."),
    ],
)
def test_unknown_model(openai_server, reply):
    openai_server.enqueue(reply)
    (failed,) = run(vllm(openai_server, model="nope"))
    assert failed.kind == "model"
    assert "the server does not know model 'nope'" in failed.message and "--model" in failed.message


def test_wrong_path_says_to_check_the_base_url(openai_server):
    backend = ApiBackend("vllm", base_url=f"http://127.0.0.1:{openai_server.port}/wrong", model="m")
    (failed,) = run(backend)
    assert failed.kind == "server" and "--base-url" in failed.message


@pytest.mark.parametrize(("status", "words"), [(500, "internal error"), (502, "internal error"), (503, "overloaded")])
def test_server_errors_are_retryable(openai_server, status, words):
    openai_server.enqueue(error_reply(status, "upstream trouble", retry_after="2"))
    (failed,) = run(vllm(openai_server))
    assert failed.kind == "server" and failed.retryable and failed.retry_after == 2
    assert words in failed.message and f"HTTP {status}" in failed.message and "upstream trouble" in failed.message


def test_in_stream_error_event_ends_as_failed_keeping_what_arrived(openai_server):
    chunks = dialect_chunks("zai", "thinking...", "partial", usage={})[:-1]
    chunks.append({"error": {"code": "1234", "message": "Network error, please try again later"}})
    openai_server.enqueue(Stream(chunks, done=False))
    events = run(ApiBackend("zai", base_url=openai_server.zai_url, api_key="k"))
    assert texts(events, Thinking) == "thinking..." and texts(events, Answer) == "partial"
    failed = events[-1]
    assert failed.kind == "server" and "Network error, please try again later" in failed.message


def test_malformed_data_line_keeps_what_arrived(openai_server):
    chunks = dialect_chunks("vllm", "r", "partial answer")[:-2]
    openai_server.enqueue(Stream([*chunks, 'data: {"choices": [{"delta": {"content": "x"\n\n'], done=False))
    events = run(vllm(openai_server))
    assert texts(events, Answer) == "partial answer"
    assert events[-1].kind == "server" and "not JSON" in events[-1].message


def test_connection_dropped_mid_stream_is_a_retryable_network_failure_and_not_retried(openai_server):
    chunks = dialect_chunks("vllm", "r", "partial answer")[:-2]
    openai_server.enqueue(Stream(chunks, ending="drop"))
    events = run(vllm(openai_server))
    assert texts(events, Answer) == "partial answer"
    failed = events[-1]
    assert failed.kind == "network" and failed.retryable and "dropped" in failed.message
    assert len(openai_server.chat_requests) == 1


def test_stalled_stream_says_the_server_stopped_sending(openai_server):
    openai_server.enqueue(Stream(dialect_chunks("vllm", "r", "partial")[:-2], ending="stall"))
    started = time.monotonic()
    events = run(vllm(openai_server, read_timeout=0.4))
    assert time.monotonic() - started < 3
    assert texts(events, Answer) == "partial"
    assert events[-1].kind == "network" and "stopped sending for 0.4 s" in events[-1].message
    assert len(openai_server.chat_requests) == 1


def test_no_headers_within_the_read_timeout(openai_server):
    openai_server.enqueue(Silent())
    (failed,) = run(vllm(openai_server, read_timeout=0.4))
    assert failed.kind == "network" and "sent nothing for 0.4 s" in failed.message
    assert len(openai_server.chat_requests) == 1


def test_connection_refused_says_is_the_server_running():
    url = closed_port_url()
    (failed,) = run(ApiBackend("vllm", base_url=url, model="m"))
    assert failed.kind == "network"
    assert f"could not connect to {url}: is the server running?" in failed.message


def test_hang_ups_before_the_first_byte_are_retried(openai_server):
    openai_server.enqueue(HangUp(), HangUp())
    events = run(vllm(openai_server))
    assert isinstance(events[-1], Done)
    assert len(openai_server.chat_requests) == 3


def test_retries_give_up_after_a_few_attempts(openai_server):
    openai_server.enqueue(HangUp(), HangUp(), HangUp(), HangUp())
    (failed,) = run(vllm(openai_server))
    assert failed.kind == "network" and failed.retryable
    assert len(openai_server.chat_requests) == 3


# -- cancel ---------------------------------------------------------------------------------------------------


def test_cancel_mid_stream_closes_promptly_and_keeps_what_arrived(openai_server):
    openai_server.enqueue(Stream(dialect_chunks("vllm", "r", "partial")[:-2], ending="stall"))
    cancel = threading.Event()
    events, cancelled_at = [], None
    for event in vllm(openai_server).stream(Conversation().ask("hi"), GenerationOptions(), cancel):
        events.append(event)
        if texts(events, Answer) == "partial" and cancelled_at is None:
            threading.Timer(0.1, cancel.set).start()
            cancelled_at = time.monotonic() + 0.1
    assert time.monotonic() - cancelled_at < 1.0
    assert texts(events, Answer) == "partial"
    assert events[-1].kind == "cancelled"


def test_cancel_while_waiting_for_the_first_byte(openai_server):
    openai_server.enqueue(Silent())
    cancel = threading.Event()
    threading.Timer(0.2, cancel.set).start()
    started = time.monotonic()
    (failed,) = run_with(vllm(openai_server), cancel)
    assert failed.kind == "cancelled"
    assert time.monotonic() - started < 1.2


def run_with(backend: ApiBackend, cancel: threading.Event) -> list:
    return list(backend.stream(Conversation().ask("hi"), GenerationOptions(), cancel))


def test_cancel_set_before_streaming_sends_nothing(openai_server):
    cancel = threading.Event()
    cancel.set()
    (failed,) = run_with(vllm(openai_server), cancel)
    assert failed.kind == "cancelled"
    assert openai_server.chat_requests == []


# -- small parts ----------------------------------------------------------------------------------------------


def test_parse_retry_after():
    assert parse_retry_after("12") == 12
    assert parse_retry_after(" 0.5 ") == 0.5
    assert parse_retry_after("-3") == 0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    past = format_datetime(datetime.now(timezone.utc) - timedelta(seconds=30), usegmt=True)
    assert parse_retry_after(past) == 0


def test_a_cloud_preset_asks_for_its_key_before_the_first_question_and_a_local_server_does_not(tmp_path):
    """Every preset a person can pick: one whose server is on the internet says in the empty window that its key
    is missing (in the cloud's own name, and where to paste it) until a key is saved; one on this computer asks
    for none. An unknown preset names the ones there are."""
    vault = KeyVault(tmp_path, use_keyring=False)
    local, cloud = [], []
    for name, preset in PRESETS.items():
        said = needs_key_but_has_none(Settings(preset=name), vault)
        if urlsplit(preset.base_url).hostname in ("127.0.0.1", "localhost"):
            assert said is None, name
            local.append(name)
            continue
        assert said is not None and preset.label in said and "Settings" in said, name
        vault.set(name, f"key-for-{name}")
        assert needs_key_but_has_none(Settings(preset=name), vault) is None, name
        cloud.append(name)
    assert local and cloud
    with pytest.raises(ValueError, match="choose one of: zai, bigmodel"):
        get_preset("nope")


def test_keys_come_from_the_named_variable_then_glmv_api_key(monkeypatch):
    monkeypatch.setenv("GLMV_API_KEY", "from-default")
    monkeypatch.setenv("MY_ZAI_KEY", "from-named")
    assert find_api_key("zai", env_var="MY_ZAI_KEY").value == "from-named"
    assert find_api_key("zai", env_var="UNSET_VARIABLE_X").source == "env:GLMV_API_KEY"
    assert "from-default" not in repr(find_api_key("zai"))


def test_keyring_accounts_are_per_preset_or_per_host():
    assert account_name("zai") == "zai"
    assert account_name("vllm", "http://127.0.0.1:8000/v1/") == "vllm"
    assert account_name("openai", "https://gpu-box.example:9000/v1") == "gpu-box.example:9000"


@pytest.mark.skipif(keyring_available(), reason="an OS keyring works here; the headless path cannot be checked")
def test_without_an_os_keyring_get_is_none_and_set_says_what_to_do(monkeypatch):
    monkeypatch.delenv("GLMV_API_KEY", raising=False)
    assert get_api_key("zai") is None
    assert find_api_key("zai") is None
    with pytest.raises(KeyringUnavailable, match="GLMV_API_KEY"):
        set_api_key("zai", "secret")


def test_request_json_is_plain_utf8(openai_server):
    run(vllm(openai_server), Conversation().ask("Ünïcödé 你好"))
    assert json.loads(openai_server.last.raw)["messages"][-1]["content"] == "Ünïcödé 你好"


# -- video ----------------------------------------------------------------------------------------------------


def test_a_recording_goes_as_a_video_to_servers_that_take_video(openai_server, tmp_path):
    clip = make_video(tmp_path / "recording.mp4", 3)
    openai_server.enqueue(dialect_stream("vllm", "watching", "A moving square."))
    events = run(vllm(openai_server), Conversation().ask("what happens?", [Attachment(clip)]))
    assert isinstance(events[-1], Done), events[-1]
    content = openai_server.last.body["messages"][-1]["content"]
    (video,) = [p for p in content if p["type"] == "video_url"]
    head, data = video["video_url"]["url"].split(",", 1)
    assert head == "data:video/mp4;base64" and base64.b64decode(data) == clip.read_bytes()
    assert not [p for p in content if p["type"] == "image_url"]


def test_a_recording_goes_as_timestamped_frames_to_llamacpp(openai_server, tmp_path):
    """llama.cpp takes no video: the GLM sampling rule picks frames, each sent as an image after its time."""
    clip = make_video(tmp_path / "recording.mp4", 2)
    openai_server.enqueue(dialect_stream("llamacpp", "watching", "A moving square."))
    backend = ApiBackend("llamacpp", base_url=openai_server.url, model="glm")
    events = run(backend, Conversation().ask("what happens?", [Attachment(clip)]))
    assert isinstance(events[-1], Done), events[-1]
    content = openai_server.last.body["messages"][-1]["content"]
    assert not [p for p in content if p["type"] == "video_url"]
    labels = [p["text"] for p in content if p["type"] == "text"][:-1]
    images = [p for p in content if p["type"] == "image_url"]
    assert len(images) == len(labels) == 6  # 3 frames a second for a clip under 30 s
    # The first frame's label comes after the words that introduce the video.
    assert labels[0].startswith("File recording.mp4: a video, as 6 frames") and labels[0].endswith("\nat 0.0 seconds\n")
    assert labels[1] == "at 0.3 seconds\n"
