"""Screen recordings: frames in, a small MP4 out.

A recording has a fixed frame rate so the model sees real time: each grab is placed in the slot its timestamp
falls in; a slot the grabber missed repeats the previous frame and a second grab for a slot already filled is
discarded, and both are counted so a benchmark can say whether the machine kept up. Frames are scaled to at
most 1280 px wide (the model sees far less anyway) and encoded to H.264 with PyAV when it is installed, else
to MPEG-4 Part 2 ('mp4v') with OpenCV, whose writer fails silently unless asked, so we ask.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from app.core import private_files
from app.core.capture.screenshotters import CaptureError

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

DEFAULT_FPS = 10
DEFAULT_MAX_SECONDS = 60
MAX_WIDTH = 1280


def output_size(width: int, height: int, max_width: int = MAX_WIDTH) -> tuple[int, int]:
    """Scaled to fit ``max_width`` keeping the aspect, both sides even (yuv420p halves the chroma planes)."""
    if width <= 0 or height <= 0:
        raise CaptureError("The area to record is empty; select a larger region.")
    if width > max_width:
        height = round(height * max_width / width)
        width = max_width
    return max(2, width - width % 2), max(2, height - height % 2)


class SourceEnded(CaptureError):
    """Raised by a recording's ``grab`` when its source has stopped for good (the desktop stopped sharing the
    screen): the recording ends there and is kept, and the message says why it ended."""


class Encoder(Protocol):
    name: str

    def write(self, bgr: np.ndarray) -> None: ...

    def close(self) -> None: ...


class PyAVEncoder:
    """H.264 (libx264, yuv420p, so every player and the model's video decoder accept it) in MP4."""

    name = "h264 (PyAV)"

    def __init__(self, path: Path, size: tuple[int, int], fps: int, preset: str = "veryfast", crf: int = 26) -> None:
        import av

        self._container = av.open(str(path), mode="w")
        try:
            stream = self._container.add_stream("libx264", rate=fps)
            stream.width, stream.height = size
            stream.pix_fmt = "yuv420p"
            stream.options = {"preset": preset, "crf": str(crf)}
        except Exception:
            self._container.close()
            raise
        self._stream = stream
        self._av = av

    def write(self, bgr: np.ndarray) -> None:
        frame = self._av.VideoFrame.from_ndarray(bgr, format="bgr24")
        for packet in self._stream.encode(frame):
            self._container.mux(packet)

    def close(self) -> None:
        try:
            for packet in self._stream.encode():
                self._container.mux(packet)
        finally:
            self._container.close()


class OpenCVEncoder:
    """MPEG-4 Part 2 through OpenCV's bundled FFmpeg: no H.264 licence needed, plays everywhere."""

    name = "mp4v (OpenCV)"

    def __init__(self, path: Path, size: tuple[int, int], fps: int) -> None:
        import cv2

        self._writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), float(fps), size)
        if not self._writer.isOpened():
            raise CaptureError(
                f"OpenCV could not open a video writer for {path} (its FFmpeg backend is missing?). "
                "Install PyAV (pip install av) for H.264 recordings."
            )

    def write(self, bgr: np.ndarray) -> None:
        self._writer.write(bgr)

    def close(self) -> None:
        self._writer.release()


def open_encoder(path: Path, size: tuple[int, int], fps: int, prefer: str = "auto") -> Encoder:
    """``prefer``: "auto" (PyAV when importable), "pyav" or "opencv"."""
    if prefer in ("auto", "pyav"):
        try:
            return PyAVEncoder(path, size, fps)
        except ImportError:
            if prefer == "pyav":
                raise CaptureError("PyAV is not installed: pip install av") from None
        except Exception as e:
            if prefer == "pyav":
                raise CaptureError(f"PyAV could not start an H.264 encoder: {e}") from e
            log.warning("PyAV could not start an H.264 encoder (%s); using OpenCV", e)
    return OpenCVEncoder(path, size, fps)


@dataclass
class RecordingReport:
    path: Path
    encoder: str
    fps: int
    size: tuple[int, int]
    frames: int
    repeated: int
    discarded: int
    full: bool


class Recorder:
    """Timestamped frames to a fixed-rate video. Not thread-safe: one feeder at a time."""

    def __init__(
        self,
        path: Path,
        source_size: tuple[int, int],
        fps: int = DEFAULT_FPS,
        max_seconds: float = DEFAULT_MAX_SECONDS,
        max_width: int = MAX_WIDTH,
        encoder: str = "auto",
    ) -> None:
        if fps <= 0 or max_seconds <= 0:
            raise CaptureError("Frame rate and maximum length must be positive; check the recording settings.")
        self.path = Path(path)
        private_files.private_folder(self.path.parent)
        self.fps = int(fps)
        self.max_frames = max(1, math.floor(max_seconds * fps))
        self.source_size = source_size
        self.size = output_size(*source_size, max_width=max_width)
        # The encoders open the file themselves and keep the mode they find.
        new = not self.path.exists()
        private_files.create(self.path)
        try:
            self._encoder = open_encoder(self.path, self.size, self.fps, encoder)
        except BaseException:
            if new:
                self.path.unlink(missing_ok=True)
            raise
        self._t0: float | None = None
        self._last: np.ndarray | None = None
        self.next_slot = 0
        self.repeated = 0
        self.discarded = 0
        self._closed = False

    @property
    def full(self) -> bool:
        return self.next_slot >= self.max_frames

    def add(self, pixels: np.ndarray, t: float) -> bool:
        """Place a BGR or BGRA frame taken at time ``t`` (seconds, any monotonic clock). False once full."""
        if self._closed or self.full:
            return False
        if self._t0 is None:
            self._t0 = t
        slot = min(round((t - self._t0) * self.fps), self.max_frames - 1)
        if slot < self.next_slot:
            self.discarded += 1
            return True
        frame = self._prepare(pixels)
        while self.next_slot < slot and self._last is not None:
            self._encoder.write(self._last)
            self.repeated += 1
            self.next_slot += 1
        self._encoder.write(frame)
        self._last = frame
        self.next_slot = slot + 1
        return not self.full

    def _prepare(self, pixels: np.ndarray) -> np.ndarray:
        import cv2
        import numpy as np

        h, w = pixels.shape[:2]
        if (w, h) != self.source_size:
            raise CaptureError(
                f"A frame of {w}x{h} arrived in a {self.source_size[0]}x{self.source_size[1]} recording."
            )
        bgr = pixels[..., :3]
        if (w, h) != self.size:
            return cv2.resize(bgr, self.size, interpolation=cv2.INTER_AREA)
        return np.ascontiguousarray(bgr)

    def finish(self) -> RecordingReport:
        if not self._closed:
            self._closed = True
            self._encoder.close()
        if self.next_slot == 0:
            self.path.unlink(missing_ok=True)
            raise CaptureError("The recording ended before its first frame; nothing was saved.")
        return RecordingReport(
            self.path, self._encoder.name, self.fps, self.size, self.next_slot, self.repeated, self.discarded, self.full
        )

    def cancel(self) -> None:
        if not self._closed:
            self._closed = True
            try:
                self._encoder.close()
            except Exception as e:
                log.debug("closing a cancelled recording: %s", e)
        self.path.unlink(missing_ok=True)


class RecordingSession:
    """Grabs on a fixed schedule on one thread and encodes on another, so a slow frame to encode does not
    delay the next grab. ``on_end`` is called (on the encoder thread) with a RecordingReport, None when
    cancelled, or the exception that stopped it."""

    def __init__(
        self,
        grab: Callable[[], np.ndarray],
        recorder: Recorder,
        on_end: Callable[[RecordingReport | BaseException | None], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.grab = grab
        self.recorder = recorder
        self.on_end = on_end
        self.clock = clock
        self._stop = threading.Event()
        self._cancelled = False
        self._queue: queue.Queue = queue.Queue(maxsize=max(4, recorder.fps * 2))
        self._grabber = threading.Thread(target=self._grab_loop, name="recording-grab", daemon=True)
        self._encoder = threading.Thread(target=self._encode_loop, name="recording-encode", daemon=True)
        self.started_at: float | None = None
        self.result: RecordingReport | BaseException | None = None
        self.late_grabs = 0
        self.ended_by = ""  # why the source ended the recording, when it did

    def start(self) -> None:
        self.started_at = self.clock()
        self._grabber.start()
        self._encoder.start()

    @property
    def elapsed_s(self) -> float:
        return 0.0 if self.started_at is None else self.clock() - self.started_at

    @property
    def running(self) -> bool:
        return self._encoder.is_alive()

    def stop(self) -> None:
        self._stop.set()

    def cancel(self) -> None:
        self._cancelled = True
        self._stop.set()

    def join(self, timeout: float | None = None) -> None:
        self._grabber.join(timeout)
        self._encoder.join(timeout)

    def _grab_loop(self) -> None:
        fps = self.recorder.fps
        start = self.started_at if self.started_at is not None else self.clock()
        limit = self.recorder.max_frames
        slot = 0
        try:
            while not self._stop.is_set() and slot < limit:
                delay = start + slot / fps - self.clock()
                if delay > 0 and self._stop.wait(delay):
                    break
                t = self.clock()
                late = t - (start + slot / fps)
                if late > 0.5 / fps:
                    self.late_grabs += 1
                if late < 1 / fps:
                    # Woken late by the OS, but before the next frame was due: this grab is that slot's frame.
                    self._queue.put((self.grab(), slot / fps))
                    slot += 1
                else:
                    # A whole frame or more was missed: the recorder repeats the last one to keep the timing.
                    self._queue.put((self.grab(), t - start))
                    slot = round((t - start) * fps) + 1
        except SourceEnded as e:
            self.ended_by = str(e)
        except BaseException as e:
            self._queue.put(e)
        finally:
            self._queue.put(None)

    def _encode_loop(self) -> None:
        result: RecordingReport | BaseException | None = None
        try:
            while True:
                item = self._queue.get()
                if item is None:
                    break
                if isinstance(item, BaseException):
                    raise item
                if not self._cancelled and not self.recorder.add(*item):
                    self._stop.set()
            if self._cancelled:
                self.recorder.cancel()
            else:
                result = self.recorder.finish()
        except BaseException as e:
            self._stop.set()
            self.recorder.cancel()
            result = e
        self.result = result
        if self.on_end is not None:
            self.on_end(result)
