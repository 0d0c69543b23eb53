"""Real video files made for tests with OpenCV: clips whose colour says the second, noise that compresses badly
as a camera's footage does, and a big file for the price of a small one to decode."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from app.core.backends.dialects import MB

COLORS = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0)]


def make_video(path: Path, seconds: float, fps: float = 10, size: tuple[int, int] = (160, 120)) -> Path:
    """A real mp4v clip whose colour changes every second (red, green, blue, yellow, ...)."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    assert writer.isOpened()
    for i in range(round(seconds * fps)):
        r, g, b = COLORS[int(i / fps) % len(COLORS)]
        writer.write(np.full((size[1], size[0], 3), (b, g, r), np.uint8))
    writer.release()
    return path


def noisy_video(path: Path, frames: int = 40, size: tuple[int, int] = (320, 240)) -> Path:
    """A real mp4v clip of random pixels (which compresses badly, as a camera's footage does)."""
    rng = np.random.default_rng(13)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), 10, size)
    assert writer.isOpened()
    for _ in range(frames):
        writer.write(rng.integers(0, 256, (size[1], size[0], 3), np.uint8))
    writer.release()
    return path


def padded_video(path: Path, size: int) -> Path:
    """A real short clip made ``size`` bytes long by a trailing MP4 ``free`` box, written a MB at a time: a big
    video file for the price of a small one to decode."""
    noisy_video(path)
    pad = size - path.stat().st_size
    assert 8 <= pad < 2**32
    with path.open("ab") as f:
        f.write(pad.to_bytes(4, "big") + b"free")
        left, block = pad - 8, bytes(MB)
        while left > 0:
            f.write(block[: min(left, MB)])
            left -= MB
    return path
