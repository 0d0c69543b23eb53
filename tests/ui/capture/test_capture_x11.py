"""Screen capture against a real X server (Xvfb): full screen, region selection driven by xdotool at scales
1, 1.5 and 2, cancelling, and recordings decoded back with OpenCV.

A helper process paints a pattern whose every pixel says where it is (``tests.support.screen_pattern``), so a
crop that is off by one pixel, a mis-scaled selection or a capture of our own window shows up as a difference.
The app side runs in a second process (``python tests/ui/capture/test_capture_x11.py SCENARIO ...``) because the
test process itself is offscreen.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.support import xvfb
from tests.support.qt_events import run_until as _wait
from tests.support.screen_pattern import H, W, decode, load_rgb, pattern

pytestmark = pytest.mark.skipif(xvfb.missing() is not None, reason=xvfb.missing() or "")


@pytest.fixture(scope="module")
def display(painted_display):
    return painted_display.env


def run_scenario(env: dict, tmp_path: Path, *args: str, extra_env: dict | None = None, timeout: int = 90) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, *args, str(tmp_path)],
        env={**env, **(extra_env or {})},
        cwd=xvfb.ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads((tmp_path / "result.json").read_text())


def test_full_capture_equals_the_screen_and_hides_our_window(display, tmp_path):
    result = run_scenario(display, tmp_path, "full")
    assert result["failed"] is None
    shot = load_rgb(result["path"])
    assert shot.shape == (H, W, 3)
    assert np.array_equal(shot, load_rgb(result["mss"])), "differs from an mss grab of the same screen"
    assert np.array_equal(shot, pattern()), "our own window was captured or pixels moved"
    assert result["window_visible_after"] is True
    assert result["window_visible_during"] is False


def test_capture_command_from_a_second_process_captures_the_screen(display, tmp_path):
    result = run_scenario(display, tmp_path, "command")
    assert result["failed"] is None
    assert result["sent"] == f"captured {result['path']}", "the sender hears where the capture went"
    assert np.array_equal(load_rgb(result["path"]), pattern())


def test_active_window_capture_is_that_window(display, tmp_path):
    result = run_scenario(display, tmp_path, "window")
    assert result["failed"] is None
    shot = load_rgb(result["path"])
    assert shot.shape == (400, 500, 3)
    assert (shot == [255, 0, 255]).all()


@pytest.mark.parametrize("scale", ["1", "1.5", "2"])
def test_region_selection_with_xdotool_is_exactly_that_crop(display, tmp_path, scale):
    x0, y0, x1, y1 = 300, 201, 1101, 649
    result = run_scenario(
        display, tmp_path, "region", str(x0), str(y0), str(x1), str(y1), extra_env={"QT_SCALE_FACTOR": scale}
    )
    assert result["failed"] is None
    assert result["screens"][0]["scale"] == float(scale)
    crop = load_rgb(result["path"])
    assert crop.shape == (y1 - y0, x1 - x0, 3)
    assert np.array_equal(crop, pattern()[y0:y1, x0:x1])


@pytest.mark.parametrize("how", ["key Escape", "click 3"])
def test_escape_or_right_click_cancels_the_selection(display, tmp_path, how):
    result = run_scenario(display, tmp_path, "cancel", how)
    assert result == {"captured": [], "failed": [], "busy": False, "overlays_left": 0}


@pytest.mark.parametrize("encoder", ["pyav", "opencv"])
def test_three_second_full_screen_recording_is_a_playable_mp4(display, tmp_path, encoder):
    import cv2

    if encoder == "pyav":
        pytest.importorskip("av")
    result = run_scenario(display, tmp_path, "record", encoder)
    assert result["failed"] is None
    assert result["recording_changes"] == [True, False]
    assert any("maximum length" in n for n in result["notices"])
    assert any("controls stay hidden" in n for n in result["notices"]), "the bar would have been recorded"
    frames, fps = decode(result["path"])
    assert fps == pytest.approx(10, abs=0.01)
    assert 27 <= len(frames) <= 30 == result["frames"]
    assert frames[0].shape == (720, 1280, 3)
    expected = cv2.resize(pattern()[..., ::-1], (1280, 720), interpolation=cv2.INTER_AREA)
    assert np.abs(frames[len(frames) // 2].astype(int) - expected).mean() < 12


def test_region_recording_keeps_bar_and_border_outside(display, tmp_path):
    x0, y0, x1, y1 = 400, 300, 1000, 700
    result = run_scenario(display, tmp_path, "record-region", str(x0), str(y0), str(x1), str(y1))
    assert result["failed"] is None
    bar = result["bar"]
    assert bar is not None
    left, top, width, height = bar
    assert left + width <= x0 or left >= x1 or top + height <= y0 or top >= y1
    for sx, sy, sw, sh in result["border"]:
        assert sx + sw <= x0 or sx >= x1 or sy + sh <= y0 or sy >= y1
    frames, _ = decode(result["path"])
    assert frames[0].shape == (y1 - y0, x1 - x0, 3)
    expected = pattern()[y0:y1, x0:x1, ::-1]
    assert np.abs(frames[len(frames) // 2].astype(int) - expected).mean() < 12


def test_recording_stops_by_toggle_and_cancels_from_the_bar(display, tmp_path):
    result = run_scenario(display, tmp_path, "record-stop-cancel")
    assert result["failed"] == []
    assert len(result["captured"]) == 1 and result["captured"][0].endswith(".mp4")
    frames, _ = decode(result["captured"][0])
    assert 8 <= len(frames) <= 20, "about 1.2 s at 10 fps"
    assert result["notices"] == ["Recording cancelled; nothing was saved."]
    assert result["files"] == [Path(result["captured"][0]).name]
    assert result["recording_changes"] == [True, False, True, False]


# ----- the processes on the X server -----


def _app(out: Path):
    from PySide6.QtWidgets import QApplication

    from app.ui.capture.controller import CaptureController

    app = QApplication([])
    controller = CaptureController(folder=out / "captures")
    result: dict = {"captured": [], "failed": [], "notices": [], "recording_changes": []}
    controller.captured.connect(result["captured"].append)
    controller.failed.connect(result["failed"].append)
    controller.notice.connect(result["notices"].append)
    controller.recording_changed.connect(result["recording_changes"].append)
    return app, controller, result


def _overlays_up(controller) -> bool:
    selector = controller.selector
    return bool(selector and selector.overlays) and all(
        o.isVisible() and o.windowHandle() and o.windowHandle().isExposed() for o in selector.overlays
    )


def _xdotool(*args: str) -> None:
    subprocess.run(["xdotool", *args], check=True, timeout=20)


def _drag(x0: int, y0: int, x1: int, y1: int) -> None:
    mx, my = (x0 + x1) // 2, (y0 + y1) // 2
    _xdotool("mousemove", str(x0), str(y0), "sleep", "0.1", "mousedown", "1", "sleep", "0.1")
    _xdotool("mousemove", str(mx), str(my), "sleep", "0.1", "mousemove", str(x1), str(y1), "sleep", "0.1")
    _xdotool("mouseup", "1")


def _scenario_full(out: Path) -> dict:
    import mss
    from PIL import Image
    from PySide6.QtGui import QColor, QPalette
    from PySide6.QtWidgets import QWidget

    app, controller, result = _app(out)
    controller.hide_delay_ms = 100  # the fallback wait where X11 Damage reports are not to be had
    with getattr(mss, "MSS", mss.mss)() as sct:
        raw = sct.grab({"left": 0, "top": 0, "width": W, "height": H})
    Image.frombytes("RGB", raw.size, raw.rgb).save(out / "mss.png")
    own = QWidget()
    own.setAutoFillBackground(True)
    palette = own.palette()
    palette.setColor(QPalette.ColorRole.Window, QColor(255, 0, 255))
    own.setPalette(palette)
    own.setGeometry(200, 200, 600, 400)
    own.show()
    _wait(app, lambda: own.windowHandle().isExposed())
    _wait(app, lambda: False, 0.3)
    controller.full_screen()
    during = own.isVisible()
    _wait(app, lambda: result["captured"] or result["failed"])
    return {
        "path": result["captured"][0] if result["captured"] else None,
        "failed": result["failed"][0] if result["failed"] else None,
        "mss": str(out / "mss.png"),
        "window_visible_during": during,
        "window_visible_after": own.isVisible(),
    }


def _scenario_command(out: Path) -> dict:
    import uuid

    from app.ui.instance import InstanceServer, route_commands

    app, controller, result = _app(out)
    server = InstanceServer("glmv-test-" + uuid.uuid4().hex[:8])
    assert server.listen()
    route_commands(server, {"capture-full": lambda reply: controller.run("capture_full", lambda o: reply(o.to_line()))})
    code = f"from app.ui.instance import send_command; print(send_command('capture-full', 5000, {server.name!r}))"
    sender = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    _wait(app, lambda: result["captured"] or result["failed"])
    sent = sender.communicate(timeout=20)[0].strip()
    return {
        "sent": sent,
        "path": result["captured"][0] if result["captured"] else None,
        "failed": result["failed"][0] if result["failed"] else None,
    }


def _scenario_window(out: Path) -> dict:
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QColor, QPalette
    from PySide6.QtWidgets import QWidget

    app, controller, result = _app(out)
    own = QWidget()
    own.setWindowFlags(Qt.WindowType.FramelessWindowHint)
    own.setAutoFillBackground(True)
    palette = own.palette()
    palette.setColor(QPalette.ColorRole.Window, QColor(255, 0, 255))
    own.setPalette(palette)
    own.setGeometry(300, 200, 500, 400)
    own.show()
    own.activateWindow()
    _wait(app, lambda: own.windowHandle().isExposed() and app.activeWindow() is own)
    _wait(app, lambda: False, 0.3)
    controller.active_window()
    _wait(app, lambda: result["captured"] or result["failed"])
    return {
        "path": result["captured"][0] if result["captured"] else None,
        "failed": result["failed"][0] if result["failed"] else None,
    }


def _screens() -> list[dict]:
    from app.ui.capture.qtscreens import all_screens

    return [{"name": i.name, "scale": i.scale, "geometry": list(vars(i.geometry).values())} for _, i in all_screens()]


def _scenario_region(out: Path, x0: str, y0: str, x1: str, y1: str) -> dict:
    app, controller, result = _app(out)
    controller.region()
    assert _wait(app, lambda: _overlays_up(controller)), "overlays did not show"
    _wait(app, lambda: False, 0.2)
    _drag(int(x0), int(y0), int(x1), int(y1))
    _wait(app, lambda: result["captured"] or result["failed"])
    return {
        "path": result["captured"][0] if result["captured"] else None,
        "failed": result["failed"][0] if result["failed"] else None,
        "screens": _screens(),
    }


def _scenario_cancel(out: Path, how: str) -> dict:
    app, controller, result = _app(out)
    controller.region()
    assert _wait(app, lambda: _overlays_up(controller)), "overlays did not show"
    _wait(app, lambda: False, 0.2)
    _xdotool("mousemove", "700", "500", *how.split())
    _wait(app, lambda: controller.selector is None, 5)
    _wait(app, lambda: False, 0.3)
    overlays = [w for w in app.topLevelWidgets() if w.isVisible()]
    return {
        "captured": result["captured"],
        "failed": result["failed"],
        "busy": controller.busy,
        "overlays_left": len(overlays),
    }


def _scenario_record(out: Path, encoder: str) -> dict:
    app, controller, result = _app(out)
    controller.fps, controller.max_seconds, controller.encoder = 10, 3, encoder
    controller.record_screen()
    _wait(app, lambda: result["captured"] or result["failed"], 30)
    report = controller.last_report
    return {
        "path": result["captured"][0] if result["captured"] else None,
        "failed": result["failed"][0] if result["failed"] else None,
        "notices": result["notices"],
        "recording_changes": result["recording_changes"],
        "frames": report.frames if report else None,
    }


def _scenario_record_region(out: Path, x0: str, y0: str, x1: str, y1: str) -> dict:
    app, controller, result = _app(out)
    controller.fps, controller.max_seconds = 10, 3
    controller.record_selection()
    assert _wait(app, lambda: _overlays_up(controller)), "overlays did not show"
    _wait(app, lambda: False, 0.2)
    _drag(int(x0), int(y0), int(x1), int(y1))
    _wait(app, lambda: controller.recording, 10)
    _wait(app, lambda: False, 0.5)
    bar = controller._bar.geometry() if controller._bar else None
    border = [s.geometry() for s in controller._border.strips] if controller._border else []
    _wait(app, lambda: result["captured"] or result["failed"], 30)
    return {
        "path": result["captured"][0] if result["captured"] else None,
        "failed": result["failed"][0] if result["failed"] else None,
        "bar": [bar.x(), bar.y(), bar.width(), bar.height()] if bar else None,
        "border": [[g.x(), g.y(), g.width(), g.height()] for g in border],
    }


def _scenario_record_stop_cancel(out: Path) -> dict:
    app, controller, result = _app(out)
    controller.fps, controller.max_seconds = 10, 30
    for finish in ("toggle", "bar"):
        controller.record_selection()
        assert _wait(app, lambda: _overlays_up(controller)), "overlays did not show"
        _wait(app, lambda: False, 0.2)
        _drag(500, 400, 900, 700)
        assert _wait(app, lambda: controller.recording, 10)
        _wait(app, lambda: False, 1.2)
        if finish == "toggle":
            controller.toggle_recording()
        else:
            button = controller._bar.cancel_button
            center = button.mapToGlobal(button.rect().center())
            _xdotool("mousemove", str(center.x()), str(center.y()), "click", "1")
        assert _wait(app, lambda: not controller.recording, 10)
    return {**result, "files": sorted(p.name for p in (out / "captures").iterdir())}


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
    name, *rest = sys.argv[1:]
    folder = Path(rest[-1])
    scenario = globals()["_scenario_" + name.replace("-", "_")]
    (folder / "result.json").write_text(json.dumps(scenario(folder, *rest[:-1])))
