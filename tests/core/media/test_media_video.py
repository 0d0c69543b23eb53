"""Video files: probing, GLM frame sampling with timestamps, whole-file sending and transcoding."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from PIL import Image

from app.core.conversation import Attachment
from app.core.media import ImagePart, MediaError, MediaTarget, VideoPart, prepare
from app.core.media.video import MAX_FRAMES, glm_fps, probe, sample_times, video_tokens
from tests.support.videos import make_video


def frames(report) -> list[ImagePart]:
    return [p for p in report.parts if isinstance(p, ImagePart)]


def test_probe_reads_duration_fps_and_size(tmp_path):
    info = probe(make_video(tmp_path / "clip.mp4", 3, fps=10))
    assert info.frames == 30 and info.fps == pytest.approx(10)
    assert info.duration == pytest.approx(3.0)
    assert (info.width, info.height) == (160, 120)


def test_glm_sampling_rule():
    assert glm_fps(10) == 3 and glm_fps(30) == 3 and glm_fps(31) == 1 and glm_fps(300) == 1 and glm_fps(301) == 0.5
    assert sample_times(2, 100) == pytest.approx([0, 1 / 3, 2 / 3, 1, 4 / 3, 5 / 3])
    assert len(sample_times(120, 1000)) == 120
    assert len(sample_times(1000, 1000)) == 500
    spread = sample_times(600, 50)
    assert len(spread) == 50 and spread[-1] < 600 and spread[-1] > 550


def test_frames_are_sampled_with_timestamps_for_backends_without_video(tmp_path):
    report = prepare(Attachment(make_video(tmp_path / "clip.mp4", 3)), MediaTarget())
    assert report.kind == "video" and report.renderer == "opencv (frames)"
    parts = frames(report)
    assert len(parts) == 9  # 3 s at 3 frames a second
    assert [p.label for p in parts[:4]] == ["at 0.0 seconds", "at 0.3 seconds", "at 0.7 seconds", "at 1.0 seconds"]
    # The content matches the time: red in the first second, green in the second, blue in the third.
    for part, expected in ((parts[0], (255, 0, 0)), (parts[4], (0, 255, 0)), (parts[8], (0, 0, 255))):
        img = Image.open(io.BytesIO(part.data)).convert("RGB")
        pixel = img.getpixel((img.width // 2, img.height // 2))
        assert all(abs(a - b) < 40 for a, b in zip(pixel, expected, strict=True)), (part.label, pixel)
    assert report.warnings == []


def test_long_video_frames_are_capped_and_spread(tmp_path):
    path = make_video(tmp_path / "long.mp4", 60, fps=4, size=(64, 48))
    report = prepare(Attachment(path), MediaTarget(image_tokens_budget=20 * 256))
    parts = frames(report)
    assert len(parts) == 20
    assert parts[-1].label is not None and float(parts[-1].label.split()[1]) > 50
    assert sum(p.tokens for p in parts) <= 20 * 256 + 20 * 28
    assert any("spread evenly" in w for w in report.warnings)
    assert len(frames(prepare(Attachment(path), MediaTarget()))) == min(60, MAX_FRAMES)


def test_backends_with_video_get_the_file(tmp_path):
    path = make_video(tmp_path / "clip.mp4", 2)
    report = prepare(Attachment(path), MediaTarget(accepts_video=True, max_video_bytes=200_000_000))
    (part,) = report.parts
    assert isinstance(part, VideoPart)
    assert part.path == path and part.mime == "video/mp4"
    assert part.duration == pytest.approx(2.0) and part.fps == pytest.approx(10)
    assert part.size_bytes == path.stat().st_size
    assert part.tokens == video_tokens(probe(path), MediaTarget()) > 0
    assert report.renderer == "file"


def test_video_over_the_byte_limit_is_transcoded_smaller(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "noisy.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10, (320, 240))
    for _ in range(20):
        writer.write(rng.integers(0, 255, (240, 320, 3), np.uint8))
    writer.release()
    size = path.stat().st_size
    report = prepare(Attachment(path), MediaTarget(accepts_video=True, max_video_bytes=size // 3))
    (part,) = report.parts
    assert isinstance(part, VideoPart)
    assert part.path != path and part.size_bytes <= size // 3 and part.mime == "video/mp4"
    assert probe(part.path).frames > 0
    assert any("re-encoded" in w for w in report.warnings)


def test_containers_the_api_does_not_take_are_transcoded(tmp_path):
    path = make_video(tmp_path / "clip.avi", 1)
    report = prepare(Attachment(path), MediaTarget(accepts_video=True))
    (part,) = report.parts
    assert isinstance(part, VideoPart) and part.path.suffix == ".mp4"


def test_video_without_frames_is_a_clear_error(tmp_path):
    empty = tmp_path / "empty.mp4"
    writer = cv2.VideoWriter(str(empty), cv2.VideoWriter_fourcc(*"mp4v"), 10, (64, 48))
    writer.release()
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 64)
    assert empty.stat().st_size > 0  # a container with a header and no frames
    for path in (empty, garbage):
        with pytest.raises(MediaError, match="no video frame could be decoded"):
            prepare(Attachment(path, kind="video"), MediaTarget())
