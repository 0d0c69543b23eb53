"""The recorder writes real MP4 files (H.264 through PyAV, MPEG-4 through OpenCV) that OpenCV decodes back;
frame timing is checked through the slot accounting with explicit timestamps."""

from __future__ import annotations

import time

import numpy as np
import pytest

from app.core.capture.recorder import Recorder, RecordingReport, RecordingSession, SourceEnded, output_size
from app.core.capture.screenshotters import CaptureError

ENCODERS = ["pyav", "opencv"]


def frame(value: int, size: tuple[int, int] = (320, 240)) -> np.ndarray:
    w, h = size
    pixels = np.zeros((h, w, 4), np.uint8)
    pixels[..., 1] = value
    pixels[: h // 2, : w // 2, 2] = 200
    return pixels


def decode(path) -> tuple[list[np.ndarray], float]:
    import cv2

    capture = cv2.VideoCapture(str(path))
    assert capture.isOpened(), f"{path} does not open as a video"
    frames = []
    while True:
        ok, image = capture.read()
        if not ok:
            break
        frames.append(image)
    return frames, capture.get(cv2.CAP_PROP_FPS)


@pytest.fixture(params=ENCODERS)
def encoder(request):
    if request.param == "pyav":
        pytest.importorskip("av")
    return request.param


def test_output_size_fits_1280_wide_with_even_sides():
    assert output_size(1920, 1080) == (1280, 720)
    assert output_size(3840, 1600) == (1280, 532)
    assert output_size(801, 601) == (800, 600)
    assert output_size(1, 1) == (2, 2)
    with pytest.raises(CaptureError):
        output_size(0, 10)


def test_frames_land_in_their_time_slots(tmp_path, encoder):
    path = tmp_path / "slots.mp4"
    recorder = Recorder(path, (320, 240), fps=10, max_seconds=10, encoder=encoder)
    for i, t in enumerate([0.0, 0.1, 0.2, 0.5, 0.52, 0.6]):
        recorder.add(frame(40 * i), t)
    report = recorder.finish()
    assert (report.frames, report.repeated, report.discarded) == (7, 2, 1)
    frames, fps = decode(path)
    assert fps == pytest.approx(10)
    assert len(frames) == 7
    greens = [int(f[200, 300, 1]) for f in frames]
    expected = [0, 40, 80, 80, 80, 120, 200]
    assert all(abs(g - e) <= 12 for g, e in zip(greens, expected, strict=True)), greens


def test_large_frames_are_scaled_and_encoded(tmp_path, encoder):
    path = tmp_path / "big.mp4"
    recorder = Recorder(path, (1920, 1080), fps=10, max_seconds=5, encoder=encoder)
    for i in range(20):
        recorder.add(frame(i * 10, (1920, 1080)), i / 10)
    report = recorder.finish()
    assert report.size == (1280, 720)
    assert report.encoder.startswith("h264" if encoder == "pyav" else "mp4v")
    frames, _ = decode(path)
    assert len(frames) == 20 and frames[0].shape == (720, 1280, 3)
    assert frames[0][100, 100, 2] > 150 and frames[0][600, 1000, 2] < 50, "content must survive the scaling"


def test_recording_stops_at_its_maximum_length(tmp_path):
    recorder = Recorder(tmp_path / "max.mp4", (64, 48), fps=5, max_seconds=1, encoder="opencv")
    accepted = [recorder.add(frame(i, (64, 48)), i / 5) for i in range(8)]
    assert accepted == [True, True, True, True, False, False, False, False]
    report = recorder.finish()
    assert report.full and report.frames / report.fps == 1.0  # one second at 5 fps


def test_cancel_leaves_no_file_and_empty_recording_is_an_error(tmp_path):
    recorder = Recorder(tmp_path / "c.mp4", (64, 48), encoder="opencv")
    recorder.add(frame(1, (64, 48)), 0.0)
    recorder.cancel()
    assert not (tmp_path / "c.mp4").exists()
    empty = Recorder(tmp_path / "e.mp4", (64, 48), encoder="opencv")
    with pytest.raises(CaptureError, match="before its first frame"):
        empty.finish()
    assert not (tmp_path / "e.mp4").exists()


def test_bad_input_is_refused_with_a_message(tmp_path):
    with pytest.raises(CaptureError, match="positive"):
        Recorder(tmp_path / "x.mp4", (64, 48), fps=0)
    recorder = Recorder(tmp_path / "y.mp4", (64, 48), encoder="opencv")
    with pytest.raises(CaptureError, match="arrived in a 64x48"):
        recorder.add(frame(0, (32, 32)), 0.0)
    recorder.cancel()


def test_opencv_writer_that_cannot_open_is_reported(tmp_path):
    folder = tmp_path / "is-a-directory.mp4"
    folder.mkdir()
    with pytest.raises(CaptureError, match="could not open a video writer"):
        Recorder(folder, (64, 48), encoder="opencv")


def test_session_grabs_on_schedule_and_finishes(tmp_path, encoder):
    ended: list = []
    counter = iter(range(10**6))
    recorder = Recorder(tmp_path / "s.mp4", (320, 240), fps=20, max_seconds=0.5, encoder=encoder)
    session = RecordingSession(lambda: frame(next(counter) % 250), recorder, ended.append)
    session.start()
    session.join(10)
    assert len(ended) == 1 and isinstance(ended[0], RecordingReport)
    report = ended[0]
    assert report.full and report.frames == 10
    frames, _ = decode(report.path)
    assert len(frames) == 10


def test_session_stop_cancel_and_grab_failure(tmp_path):
    ended: list = []
    recorder = Recorder(tmp_path / "stop.mp4", (64, 48), fps=10, max_seconds=30, encoder="opencv")
    session = RecordingSession(lambda: frame(9, (64, 48)), recorder, ended.append)
    session.start()
    time.sleep(0.35)
    session.stop()
    session.join(5)
    assert isinstance(ended[-1], RecordingReport) and 2 <= ended[-1].frames <= 6

    recorder = Recorder(tmp_path / "cancel.mp4", (64, 48), fps=10, max_seconds=30, encoder="opencv")
    session = RecordingSession(lambda: frame(9, (64, 48)), recorder, ended.append)
    session.start()
    time.sleep(0.2)
    session.cancel()
    session.join(5)
    assert ended[-1] is None and not (tmp_path / "cancel.mp4").exists()

    def broken() -> np.ndarray:
        raise CaptureError("The screen could not be read.")

    recorder = Recorder(tmp_path / "broken.mp4", (64, 48), fps=10, max_seconds=30, encoder="opencv")
    session = RecordingSession(broken, recorder, ended.append)
    session.start()
    session.join(5)
    assert isinstance(ended[-1], CaptureError) and not (tmp_path / "broken.mp4").exists()


def test_a_source_that_ends_ends_the_recording_and_keeps_it(tmp_path):
    """The desktop's "stop sharing" on Wayland: the frames so far are the recording, and it says why it ended."""
    grabs = iter(range(10**6))

    def grab() -> np.ndarray:
        if next(grabs) == 5:
            raise SourceEnded("The desktop stopped sharing the screen, so the recording ended there.")
        return frame(9, (64, 48))

    ended: list = []
    recorder = Recorder(tmp_path / "ended.mp4", (64, 48), fps=10, max_seconds=30, encoder="opencv")
    session = RecordingSession(grab, recorder, ended.append)
    session.start()
    session.join(5)
    (report,) = ended
    assert isinstance(report, RecordingReport) and report.frames == 5 and not report.full
    assert len(decode(report.path)[0]) == 5
    assert session.ended_by == "The desktop stopped sharing the screen, so the recording ended there."


def test_a_grab_woken_late_still_fills_its_own_slot(tmp_path):
    """The OS may wake the grabber most of a frame late on a busy machine; that frame was not missed, so it must
    not be counted a frame later (which would repeat the previous one, a dropped frame in the video)."""
    readings = iter(range(10**6))

    def clock() -> float:
        # From the 8th reading on the clock is 70 ms ahead: one wake-up reads as 0.7 of a frame late.
        return time.monotonic() + (0.07 if next(readings) >= 8 else 0.0)

    ended: list = []
    recorder = Recorder(tmp_path / "late.mp4", (64, 48), fps=10, max_seconds=1.0, encoder="opencv")
    session = RecordingSession(lambda: frame(9, (64, 48)), recorder, ended.append, clock=clock)
    session.start()
    session.join(10)
    (report,) = ended
    assert isinstance(report, RecordingReport)
    assert (report.frames, report.repeated, report.discarded) == (10, 0, 0)
    assert session.late_grabs == 1
