"""A video bigger than one request to the server can carry (issue 13): re-encoded smaller or sent as frames
before anything is sent, said so by `glmv inspect`, and streamed from its file instead of held as base64."""

from __future__ import annotations

import base64
import dataclasses
import json
import subprocess
import sys

from app.core.backends.api import ApiBackend
from app.core.backends.base import GenerationOptions
from app.core.backends.dialects import MB, get_preset
from app.core.conversation import Attachment, Conversation
from app.core.events import Done, Failed
from app.core.media import ImagePart, MediaTarget, VideoPart, prepare
from tests.support.openai_server import dialect_stream
from tests.support.paths import ROOT
from tests.support.videos import noisy_video, padded_video


def test_open_servers_bound_a_request_and_a_video_fits_within_it():
    for name in ("vllm", "sglang", "openai"):
        dialect = get_preset(name).dialect
        assert dialect.max_request_bytes is not None
        limit = dialect.media_target.max_video_bytes
        assert limit is not None and limit * 4 / 3 < dialect.max_request_bytes
        assert dialect.capabilities.max_video_bytes == limit
    zai = get_preset("zai").dialect
    assert zai.media_target.max_video_bytes == 200 * MB


def test_a_video_over_the_request_limit_is_re_encoded_before_sending(openai_server, tmp_path):
    clip = padded_video(tmp_path / "big.mp4", 12 * MB)
    backend = ApiBackend("vllm", base_url=openai_server.url, model="m")
    backend.dialect = dataclasses.replace(backend.dialect, max_request_bytes=8 * MB)
    limit = backend.media_target.max_video_bytes
    assert limit is not None and limit < 6 * MB
    openai_server.enqueue(dialect_stream("vllm", "", "seen"))
    events = list(backend.stream(Conversation().ask("what?", [Attachment(clip)]), GenerationOptions()))
    assert isinstance(events[-1], Done), events[-1]
    request = openai_server.last
    assert len(request.raw) <= 8 * MB and int(request.headers["content-length"]) == len(request.raw)
    (video,) = [p for p in request.body["messages"][-1]["content"] if p["type"] == "video_url"]
    head, data = video["video_url"]["url"].split(",", 1)
    sent = base64.b64decode(data)
    assert head == "data:video/mp4;base64" and len(sent) <= limit and sent[4:8] == b"ftyp"


def test_a_video_that_cannot_be_made_small_enough_goes_as_frames(tmp_path):
    clip = noisy_video(tmp_path / "noise.mp4")
    report = prepare(Attachment(clip), MediaTarget(accepts_video=True, max_video_bytes=1000))
    assert report.parts and all(isinstance(p, ImagePart) for p in report.parts)
    assert report.renderer == "opencv (frames)"
    assert any("sent as" in w and "frames" in w and "1 KB" in w for w in report.warnings), report.warnings


def test_a_video_within_the_limit_is_streamed_from_its_file_byte_for_byte(openai_server, tmp_path):
    clip = noisy_video(tmp_path / "clip.mp4")
    backend = ApiBackend("vllm", base_url=openai_server.url, model="m")
    openai_server.enqueue(dialect_stream("vllm", "", "seen"))
    events = list(backend.stream(Conversation().ask("Ünïcödé?", [Attachment(clip)]), GenerationOptions()))
    assert isinstance(events[-1], Done), events[-1]
    request = openai_server.last
    assert int(request.headers["content-length"]) == len(request.raw)
    content = json.loads(request.raw)["messages"][-1]["content"]
    (video,) = [p for p in content if p["type"] == "video_url"]
    assert base64.b64decode(video["video_url"]["url"].split(",", 1)[1]) == clip.read_bytes()
    assert content[-1] == {"type": "text", "text": "Ünïcödé?"}
    assert isinstance(prepare(Attachment(clip), backend.media_target).parts[0], VideoPart)


def test_two_videos_over_the_request_limit_together_are_refused_before_sending(openai_server, tmp_path):
    first, second = noisy_video(tmp_path / "a.mp4"), noisy_video(tmp_path / "b.mp4")
    backend = ApiBackend("vllm", base_url=openai_server.url, model="m")
    size = first.stat().st_size
    backend.dialect = dataclasses.replace(backend.dialect, max_request_bytes=int(size * 4 / 3 * 1.6))
    events = list(backend.stream(Conversation().ask("?", [Attachment(first), Attachment(second)]), GenerationOptions()))
    (failed,) = events
    assert isinstance(failed, Failed) and failed.kind == "input"
    assert "request" in failed.message and "fewer" in failed.message
    assert openai_server.chat_requests == []


def test_inspect_says_a_video_too_big_for_the_server_is_re_encoded(tmp_path):
    limit = get_preset("openai").dialect.media_target.max_video_bytes
    assert limit is not None
    clip = padded_video(tmp_path / "big.mp4", limit + MB)
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "inspect", "--preset", "openai", str(clip)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "re-encoded to MP4" in result.stdout and f"{limit / 1e6:.0f} MB" in result.stdout
    assert "via opencv (transcoded)" in result.stdout
