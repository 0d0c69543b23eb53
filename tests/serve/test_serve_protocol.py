"""`glmv serve`'s request parsing and answer building, without a model: each bad field is a 400 that names it,
and the engine's text becomes reasoning, answer (grounding markers as written), stop and usage."""

from __future__ import annotations

import base64
import io
import json

import pytest
from PIL import Image

from app.serve.completion import Completion, StopScanner
from app.serve.errors import ApiError
from app.serve.media import check_counts, decode_data, resolve
from app.serve.protocol import MediaRef, parse_chat_request
from app.serve.service import is_loopback
from glmv_local import chat, jobs

USER = [{"role": "user", "content": "Hi"}]


def parsed(**fields):
    return parse_chat_request({"model": "m", "messages": USER, **fields})


def refused(body) -> ApiError:
    with pytest.raises(ApiError) as caught:
        parse_chat_request(body)
    assert caught.value.status == 400
    return caught.value


def test_defaults_and_the_fields_clients_send():
    request = parsed()
    assert request.thinking and not request.stream and request.max_tokens is None and request.stop == ()
    request = parsed(
        stream=True,
        stream_options={"include_usage": True},
        max_completion_tokens=12,
        max_tokens=99,
        temperature=0.7,
        top_p=0.9,
        top_k=-1,
        seed=5,
        stop="\n\n",
        ignore_eos=True,
        user="someone",
        presence_penalty=0,
    )
    assert request.stream and request.include_usage and request.max_tokens == 12
    assert (request.temperature, request.top_p, request.top_k, request.seed) == (0.7, 0.9, None, 5)
    assert request.stop == ("\n\n",) and request.ignore_eos


@pytest.mark.parametrize(
    ("fields", "thinking"),
    [
        ({"thinking": {"type": "disabled"}}, False),
        ({"thinking": {"type": "enabled"}}, True),
        ({"chat_template_kwargs": {"enable_thinking": False}}, False),
        ({"chat_template_kwargs": {"enable_thinking": True}, "thinking": {"type": "enabled"}}, True),
        ({"chat_template_kwargs": {}}, True),
    ],
)
def test_both_thinking_switches(fields, thinking):
    assert parsed(**fields).thinking is thinking


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ([], None),
        ({"messages": []}, "messages"),
        ({"messages": [{"role": "assistant", "content": "Hi"}]}, "messages"),
        ({"messages": [{"role": "robot", "content": "Hi"}]}, "messages[0]"),
        ({"messages": [{"role": "tool", "content": "42", "tool_call_id": "x"}, *USER]}, "messages[0]"),
        ({"messages": [{"role": "user", "content": [{"type": "audio"}]}]}, "messages[0].content[0]"),
        ({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}]}, None),
        ({"messages": [{"role": "system", "content": [{"type": "image_url", "image_url": "x"}]}, *USER]}, None),
        ({"messages": USER, "max_tokens": 0}, "max_tokens"),
        ({"messages": USER, "max_tokens": "10"}, "max_tokens"),
        ({"messages": USER, "temperature": 3}, "temperature"),
        ({"messages": USER, "top_p": 0}, "top_p"),
        ({"messages": USER, "stop": ["a", "b", "c", "d", "e"]}, "stop"),
        ({"messages": USER, "n": 2}, "n"),
        ({"messages": USER, "tools": [{"type": "function"}]}, "tools"),
        ({"messages": USER, "response_format": {"type": "json_object"}}, "response_format"),
        ({"messages": USER, "thinking": {"type": "maybe"}}, "thinking"),
        ({"messages": USER, "thinking": {"type": "enabled"}, "chat_template_kwargs": {"enable_thinking": False}}, None),
        ({"messages": USER, "stream": "yes"}, "stream"),
    ],
)
def test_bad_fields_are_400_naming_the_field(body, param):
    error = refused(body)
    if param:
        assert error.param == param
    assert error.body()["error"]["type"] == "invalid_request_error" and error.message


def png(width: int = 64, height: int = 48) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), "teal").save(out, "PNG")
    return out.getvalue()


def test_images_as_data_url_and_bare_base64_decode_within_the_pixel_budget():
    from app.core.media import MediaTarget

    b64 = base64.b64encode(png(2000, 1000)).decode()
    request = parse_chat_request(
        {
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{b64}"}},
                        {"type": "image_url", "image_url": b64},
                        {"type": "text", "text": "Compare"},
                    ],
                }
            ]
        }
    )
    target = MediaTarget(max_pixels=28 * 28 * 64)
    resolved = resolve(request, target, fetch=None, limit=10**7)
    parts = resolved.messages[0].parts
    assert [type(p) for p in parts] == [chat.Image, chat.Image, chat.Text]
    for part in parts[:2]:
        assert isinstance(part, chat.Image)
        assert part.image.width * part.image.height * 2 <= target.max_pixels


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("data:image/png;base64,%%%", None),
        ("data:text/plain;base64,aGk=", None),
        ("data:image/png,rawbytes", None),
        ("/home/me/picture.png", None),
        (base64.b64encode(b"not an image at all").decode(), "invalid_image"),
        ("https://example.com/cat.png", "remote_media_refused"),
    ],
)
def test_unreadable_or_remote_images_are_400(url, code):
    request = parse_chat_request(
        {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": url}}]}]}
    )
    from app.core.media import MediaTarget

    with pytest.raises(ApiError) as caught:
        resolve(request, MediaTarget(), fetch=None, limit=10**7)
    assert caught.value.status == 400 and caught.value.param == "messages[0].content[0]"
    if code:
        assert caught.value.code == code
    if url.startswith("https"):
        assert "--allow-remote-images" in caught.value.message


def test_an_oversized_image_is_413_before_decoding():
    ref = MediaRef("image", "data:image/png;base64," + "A" * 4000, "messages[0].content[0]")
    with pytest.raises(ApiError) as caught:
        decode_data(ref, 1000)
    assert caught.value.status == 413


def test_video_without_video_support_is_400_saying_what_to_install():
    request = parse_chat_request(
        {
            "messages": [
                {"role": "user", "content": [{"type": "video_url", "video_url": {"url": "data:video/mp4;base64,AAAA"}}]}
            ]
        }
    )
    with pytest.raises(ApiError) as caught:
        check_counts(request, video=False, video_needs="install torchvision")
    assert caught.value.status == 400 and "torchvision" in caught.value.message


def run(completion: Completion, pieces: list[str], reason: str = "stop"):
    out = []
    for n, text in enumerate(pieces, 1):
        out += completion.feed(jobs.Text(text, n))
    out += completion.finish()
    return out, completion.response(jobs.Finished(reason, jobs.Stats(prompt_tokens=7, completion_tokens=len(pieces))))


def test_thinking_goes_to_reasoning_and_grounding_markers_stay_in_the_answer():
    pieces = ["<think>", "look", "</think>", "\n", "The cat ", "<|begin_of_box|>", "[[1, 2, 3, 4]]", "<|end_of_box|>"]
    stream, response = run(Completion("m"), pieces)
    assert stream[0] == ("reasoning", "look")
    assert "".join(t for k, t in stream if k == "content") == "The cat <|begin_of_box|>[[1, 2, 3, 4]]<|end_of_box|>"
    message = response["choices"][0]["message"]
    assert message["reasoning_content"] == message["reasoning"] == "look"
    assert message["content"] == "The cat <|begin_of_box|>[[1, 2, 3, 4]]<|end_of_box|>"
    assert response["usage"] == {
        "prompt_tokens": 7,
        "completion_tokens": 8,
        "total_tokens": 15,
        "completion_tokens_details": {"reasoning_tokens": 2},
    }
    assert response["choices"][0]["finish_reason"] == "stop"


def test_without_thinking_there_is_no_reasoning_and_length_is_reported():
    _, response = run(Completion("m"), ["Just ", "this"], reason="length")
    choice = response["choices"][0]
    assert choice["message"]["content"] == "Just this" and choice["message"]["reasoning_content"] is None
    assert choice["finish_reason"] == "length"


def test_a_stop_sequence_cuts_the_answer_even_across_pieces():
    completion = Completion("m", ("END",))
    stream, response = run(completion, ["<think>x</think>", "one E", "N", "D two"], reason="cancelled")
    assert completion.stopped
    assert response["choices"][0]["message"]["content"] == "one "
    assert response["choices"][0]["finish_reason"] == "stop"
    assert "".join(t for k, t in stream if k == "content") == "one "


def test_stop_scanner_holds_back_only_a_possible_start():
    scanner = StopScanner(("abc", "xy"))
    assert scanner.feed("12a") == ("12", False)
    assert scanner.feed("b") == ("", False)
    assert scanner.feed("d x") == ("abd ", False)
    assert scanner.feed("y rest") == ("", True)


def test_chunks_are_server_sent_events_the_sdk_reads():
    completion = Completion("m")
    data = completion.piece_chunk(("reasoning", "hm")).decode()
    assert data.startswith("data: ") and data.endswith("\n\n")
    chunk = json.loads(data[6:])
    assert chunk["object"] == "chat.completion.chunk"
    assert chunk["choices"][0]["delta"] == {"reasoning_content": "hm", "reasoning": "hm"}


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        *[("127.0.0.1", True), ("127.3.0.1", True), ("::1", True), ("[::1]", True), ("localhost", True)],
        *[("0.0.0.0", False), ("::", False), ("192.168.1.5", False), ("example.com", False), ("", False)],
    ],
)
def test_loopback_hosts(host, loopback):
    assert is_loopback(host) is loopback


def test_the_inbox_hands_over_events_from_another_thread_and_times_out_for_keepalives():
    import asyncio
    import threading

    from app.serve.app import Inbox

    async def scenario():
        inbox = Inbox(asyncio.get_running_loop())
        assert await inbox.take(0.05) == []  # nothing came: the stream sends a keep-alive
        threading.Timer(0.05, inbox.put, args=(jobs.Text("a", 1),)).start()
        first = await inbox.take(5)
        inbox.put(jobs.Text("b", 2))
        inbox.put(jobs.Text("c", 3))
        return first, await inbox.take(5)

    first, batch = asyncio.run(scenario())
    assert [e.text for e in first] == ["a"]
    assert [e.text for e in batch] == ["b", "c"]  # what arrived meanwhile goes out in one batch
