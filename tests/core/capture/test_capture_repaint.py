"""Hiding our windows before a capture waits until the screen under them has been drawn again, as the X server's
Damage reports say, rather than a fixed time: checked on Xvfb against a window below that repaints late, and the
uncovered-area arithmetic on its own.

The X11 side runs in a subprocess (``python tests/core/capture/test_capture_repaint.py SCENARIO ...``); the
pattern painter (``tests.support.screen_pattern``) is the window below, and stopping it (SIGSTOP) makes it repaint
late.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from app.core.capture.damage import undrawn
from app.core.capture.geometry import Rect
from tests.support import xvfb
from tests.support.qt_events import run_until
from tests.support.screen_pattern import load_rgb, pattern

OWN = Rect(200, 200, 600, 400)


def test_undrawn_is_what_no_drawn_rectangle_covers():
    area = Rect(0, 0, 10, 10)
    assert undrawn([area], []) == [area]
    assert undrawn([area], [Rect(-5, -5, 20, 20)]) == []
    assert undrawn([area], [Rect(0, 0, 10, 4), Rect(0, 4, 3, 6), Rect(3, 4, 7, 6)]) == []
    assert undrawn([Rect(0, 0, 0, 10)], []) == []
    hole = Rect(2, 3, 4, 5)
    left = undrawn([area], [hole, Rect(50, 50, 5, 5)])
    assert sum(r.width * r.height for r in left) == 100 - 20
    assert not any(r.intersects(hole) for r in left)
    assert all(not a.intersects(b) for i, a in enumerate(left) for b in left[i + 1 :])
    assert undrawn([area, Rect(20, 0, 5, 5)], [area]) == [Rect(20, 0, 5, 5)]


x11 = pytest.mark.skipif(xvfb.missing() is not None, reason=xvfb.missing() or "")


@pytest.fixture(scope="module")
def display(painted_display):
    try:
        yield painted_display.env, painted_display.painter.pid
    finally:
        os.kill(painted_display.painter.pid, signal.SIGCONT)


def run_scenario(display, tmp_path: Path, *args: str) -> dict:
    env, painter = display
    try:
        out = subprocess.run(
            [sys.executable, __file__, *args, str(painter), str(tmp_path)],
            env=env,
            cwd=xvfb.ROOT,
            capture_output=True,
            text=True,
            timeout=90,
        )
    finally:
        os.kill(painter, signal.SIGCONT)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads((tmp_path / "result.json").read_text())


@x11
def test_damage_reports_the_repaint_of_what_our_window_uncovered_and_nothing_before_it(display, tmp_path):
    result = run_scenario(display, tmp_path, "damage")
    assert result["undrawn_while_stopped"] == [[OWN.x, OWN.y, OWN.width, OWN.height]]
    assert result["undrawn_after"] == []


@x11
def test_a_window_below_that_repaints_late_is_waited_for(display, tmp_path):
    """The window below is stopped for longer than the fixed delay: the capture waits for its repaint."""
    result = run_scenario(display, tmp_path, "late")
    assert result["failed"] is None
    assert np.array_equal(load_rgb(result["path"]), pattern()), "our own window was captured"
    assert result["seconds"] >= result["stalled"]
    assert result["window_visible_after"] is True


# ----- the process on the X server -----


def _own_window(app):
    from PySide6.QtGui import QColor, QPalette
    from PySide6.QtWidgets import QWidget

    own = QWidget()
    own.setAutoFillBackground(True)
    palette = own.palette()
    palette.setColor(QPalette.ColorRole.Window, QColor(255, 0, 255))
    own.setPalette(palette)
    own.setGeometry(OWN.x, OWN.y, OWN.width, OWN.height)
    own.show()
    _wait(app, lambda: own.windowHandle().isExposed())
    _wait(app, lambda: False, 0.3)
    return own


def _wait(app, condition, timeout: float = 20.0) -> bool:
    """Looks every 2 ms: the repaint this measures takes one or two."""
    return run_until(app, condition, timeout, step=0.002)


def _scenario_damage(painter: int, out: Path) -> dict:
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QApplication

    from app.core.capture.damage import RootDamage

    app = QApplication([])
    own = _own_window(app)
    damage = RootDamage.open()
    assert damage is not None, "no DAMAGE extension on Xvfb"
    damage.arm()
    os.kill(painter, signal.SIGSTOP)
    own.hide()
    QGuiApplication.sync()
    left = [OWN]

    def all_drawn() -> bool:
        left[:] = undrawn(left, damage.drawn())
        return not left

    _wait(app, all_drawn, 0.15)
    stopped = [[r.x, r.y, r.width, r.height] for r in left]
    os.kill(painter, signal.SIGCONT)
    _wait(app, all_drawn, 5.0)
    damage.close()
    return {"undrawn_while_stopped": stopped, "undrawn_after": [[r.x, r.y, r.width, r.height] for r in left]}


def _scenario_late(painter: int, out: Path) -> dict:
    from PySide6.QtWidgets import QApplication

    from app.ui.capture.controller import CaptureController

    app = QApplication([])
    controller = CaptureController(folder=out / "captures")
    captured: list[str] = []
    failed: list[str] = []
    controller.captured.connect(captured.append)
    controller.failed.connect(failed.append)
    controller.hide_delay_ms = 20  # what a blind wait would give: the capture would show our window
    own = _own_window(app)
    stall = 0.06  # past that, well within the cap (MAX_HIDE_DELAY_MS)
    os.kill(painter, signal.SIGSTOP)
    threading.Timer(stall, os.kill, (painter, signal.SIGCONT)).start()
    start = time.monotonic()
    controller.full_screen()
    _wait(app, lambda: captured or failed)
    return {
        "path": captured[0] if captured else None,
        "failed": failed[0] if failed else None,
        "seconds": time.monotonic() - start,
        "stalled": stall,
        "window_visible_after": own.isVisible(),
    }


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
    name, painter_pid, folder = sys.argv[1:]
    scenario = globals()["_scenario_" + name]
    (Path(folder) / "result.json").write_text(json.dumps(scenario(int(painter_pid), Path(folder))))
