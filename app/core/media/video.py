"""Video files: sent whole to backends that take video, else as frames sampled the way GLM's processor does.

GLM-4.6V's video processor samples 3 frames a second up to 30 s, 1 up to 300 s and 0.5 beyond, and shows the
model each frame's time as "{t:.1f} seconds". Backends without video input (llama.cpp) get the same frames as
images with those labels, so the model sees the same evidence either way.
"""

from __future__ import annotations

import dataclasses
import math
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from app.core.conversation import Attachment
from app.core.file_kinds import mime_type
from app.core.media import MediaError, step
from app.core.media.budget import image_budget
from app.core.media.images import fit_size, image_part, smart_resize
from app.core.media.parts import MediaReport, MediaTarget, VideoPart

# The processor's limits (transformers Glm46VVideoProcessor): at most 640 frames (two per temporal patch) and
# 28*28*2*30000 pixels over the whole clip.
GLM_MAX_FRAMES = 640
GLM_VIDEO_MAX_PIXELS = 28 * 28 * 2 * 30000
GLM_VIDEO_MIN_PIXELS = 112 * 112
# Frames sent as images: no more than this many, and no smaller than MIN_FRAME_TOKENS each (about 600x340).
MAX_FRAMES = 120
MIN_FRAME_TOKENS = 256
MAX_FRAME_TOKENS = 1024
# Containers the video APIs take (Z.ai: mp4, mkv, mov); others are transcoded to mp4. The MIME type each is sent
# as comes from app.core.file_kinds.
SENDABLE = frozenset({".mp4", ".m4v", ".mov", ".mkv"})


@dataclass(frozen=True)
class VideoInfo:
    frames: int
    fps: float
    width: int
    height: int

    @property
    def duration(self) -> float:
        return self.frames / self.fps if self.fps > 0 else 0.0


def glm_fps(duration: float) -> float:
    """Frames a second GLM's processor samples for a clip of this length."""
    if duration <= 30:
        return 3.0
    if duration <= 300:
        return 1.0
    return 0.5


def sample_times(duration: float, max_frames: int) -> list[float]:
    """Times (seconds) to sample: the GLM rate, spread evenly over the clip when that would exceed
    ``max_frames``."""
    if duration <= 0:
        return [0.0]
    rate = glm_fps(duration)
    count = max(1, math.floor(duration * rate + 1e-9))
    if count <= max_frames:
        return [i / rate for i in range(count)]
    step = duration / max_frames
    return [i * step for i in range(max_frames)]


def probe(path: Path) -> VideoInfo:
    """Frame count, frame rate and size; ``MediaError`` when no frame can be decoded."""
    import cv2

    name = path.name
    if not path.exists():
        raise MediaError(f"{name}: the file is gone (moved or deleted after it was attached); attach it again")
    cap = cv2.VideoCapture(str(path))
    try:
        if not cap.isOpened():
            raise MediaError(_undecodable(name))
        ok, frame = cap.read()
        if not ok or frame is None:
            raise MediaError(_undecodable(name))
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        frames = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        if frames <= 0:  # some containers do not say: count by decoding
            frames = 1
            while cap.grab():
                frames += 1
        height, width = frame.shape[:2]
        return VideoInfo(frames, fps if 0 < fps < 1000 else 25.0, width, height)
    finally:
        cap.release()


def _undecodable(name: str) -> str:
    return (
        f"{name}: no video frame could be decoded; the file is damaged, empty or uses a codec this app cannot "
        "read. Re-encode it as H.264 MP4 (e.g. ffmpeg -i IN -c:v libx264 OUT.mp4) and attach it again"
    )


def video_tokens(info: VideoInfo, target: MediaTarget) -> int:
    """Estimated tokens for the whole clip through GLM's video processor (frames paired by the temporal patch)."""
    frames = min(GLM_MAX_FRAMES, 2 * len(sample_times(info.duration, GLM_MAX_FRAMES // 2)))
    frames = max(2, frames + (frames & 1))
    h, w = smart_resize(
        info.height,
        info.width,
        factor=target.factor,
        min_pixels=GLM_VIDEO_MIN_PIXELS,
        max_pixels=GLM_VIDEO_MAX_PIXELS,
        num_frames=frames,
    )
    return frames // 2 * (h // target.patch_size) * (w // target.patch_size) // (target.merge_size**2)


def prepare(
    attachment: Attachment, target: MediaTarget, report: MediaReport, *, cancel: threading.Event | None = None
) -> None:
    path = Path(attachment.path)
    info = probe(path)
    if info.duration <= 0:
        raise MediaError(_undecodable(path.name))
    if target.accepts_video:
        _as_video(path, info, target, report, cancel)
    else:
        _as_frames(path, info, target, report, cancel)


def _as_video(
    path: Path, info: VideoInfo, target: MediaTarget, report: MediaReport, cancel: threading.Event | None
) -> None:
    """The file as it is when the server takes it; else an MP4 re-encoded within the server's limit (which
    counts what fits in one request); else, when even that is too big, frames as images."""
    size = path.stat().st_size
    limit = target.max_video_bytes
    mime = mime_type(path) if path.suffix.lower() in SENDABLE else None
    send = path
    if mime is None or (limit is not None and size > limit):
        over = limit is not None and size > limit
        why = f"over the {_size(limit)} one request to this server can carry" if over else "not mp4/mov/mkv"
        try:
            send = transcode(path, info, limit)
        except MediaError:
            if not over:
                raise
            _as_frames(path, info, target, report, cancel)
            report.warnings.insert(
                0,
                f"the video ({_size(size)}) is {why}, and re-encoding could not bring it under that; it is sent as "
                f"{len(report.parts)} frames instead. Trim it to a shorter clip to send it as a video",
            )
            return
        mime = "video/mp4"
        new_size = send.stat().st_size
        report.warnings.append(
            f"the video is {why}: re-encoded to MP4 ({size / 1e6:.1f} MB -> {new_size / 1e6:.1f} MB) before sending"
        )
        size = new_size
        report.renderer = "opencv (transcoded)"
    else:
        report.renderer = "file"
    report.parts.append(VideoPart(send, mime, info.duration, info.fps, size, video_tokens(info, target)))


def _size(n: int | None) -> str:
    if n is None:
        return "no limit"
    return f"{n / 1e6:.0f} MB" if n >= 1e6 else f"{n / 1e3:.0f} KB"


def transcode(path: Path, info: VideoInfo, limit: int | None) -> Path:
    """An MP4 (mp4v) copy small enough for ``limit`` bytes: downscaled and, for long clips, fewer frames a second.

    The copy lives in a temporary folder of its own; the caller's store keeps or removes it with the message.
    """
    import cv2

    out_dir = Path(tempfile.mkdtemp(prefix="glmv-video-"))
    out = out_dir / f"{path.stem}.mp4"
    size = path.stat().st_size
    scale = min(1.0, math.sqrt(limit / size) * 0.8) if limit else 1.0
    for _attempt in range(4):
        width = max(16, int(info.width * scale) // 2 * 2)
        height = max(16, int(info.height * scale) // 2 * 2)
        keep_every = 1 if scale > 0.5 else 2
        fps = info.fps / keep_every
        cap = cv2.VideoCapture(str(path))
        writer = cv2.VideoWriter(str(out), cv2.VideoWriter.fourcc(*"mp4v"), fps, (width, height))
        try:
            index = 0
            while True:
                ok, frame = cap.read()
                if not ok:
                    break
                if index % keep_every == 0:
                    writer.write(cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA))
                index += 1
        finally:
            cap.release()
            writer.release()
        if limit is None or out.stat().st_size <= limit:
            return out
        scale *= 0.6
    assert limit is not None  # without a limit the first pass returned
    shutil.rmtree(out_dir, ignore_errors=True)
    raise MediaError(
        f"{path.name}: even re-encoded at {width}x{height} the video is over the {_size(limit)} limit; "
        "trim it to a shorter clip and attach that"
    )


def _as_frames(
    path: Path, info: VideoInfo, target: MediaTarget, report: MediaReport, cancel: threading.Event | None
) -> None:
    import cv2

    budget = image_budget(target)
    rule = sample_times(info.duration, 10**9)
    cap_count = max(1, min(MAX_FRAMES, budget // MIN_FRAME_TOKENS))
    times = sample_times(info.duration, cap_count)
    per_frame = max(MIN_FRAME_TOKENS, min(MAX_FRAME_TOKENS, budget // len(times)))
    capped = dataclasses.replace(target, max_pixels=min(target.max_pixels, 2 * per_frame * 784))
    scale = math.sqrt(per_frame * 784 / (info.width * info.height))
    width, height = fit_size(max(1, round(info.width * scale)), max(1, round(info.height * scale)), capped)
    cap = cv2.VideoCapture(str(path))
    position = 0  # index of the frame the next read returns
    skipped = 0
    try:
        for i, t in enumerate(times, 1):
            step(cancel, path.name, f"frame {i} of {len(times)}")
            index = min(info.frames - 1, round(t * info.fps))
            if index < position or index - position > 2 * info.fps:
                cap.set(cv2.CAP_PROP_POS_FRAMES, index)
                position = index
            while position < index and cap.grab():
                position += 1
            ok, frame = cap.read()
            position += 1
            if not ok or frame is None:
                skipped += 1
                continue
            rgb = cv2.cvtColor(cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2RGB)
            img = Image.fromarray(rgb)
            report.parts.append(image_part(img, target, label=f"at {t:.1f} seconds", source=str(path)))
    finally:
        cap.release()
    if not report.parts:
        raise MediaError(_undecodable(path.name))
    report.renderer = "opencv (frames)"
    if skipped:
        report.warnings.append(f"{skipped} frame(s) could not be decoded and were left out")
    if len(times) < len(rule):
        report.warnings.append(
            f"the {info.duration:.0f} s video would need {len(rule)} frames at {glm_fps(info.duration):g} a second; "
            f"{len(times)} frames spread evenly over it are sent to stay within the image budget. Trim the video "
            "to look at a part more closely"
        )
