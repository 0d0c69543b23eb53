"""A bug in any step of a capture ends that capture: our hidden windows come back, the person is told what failed
and where the log is, the traceback is logged, the controller is not left busy, and whoever asked hears
"failed". The steps are made to fail where such bugs were found: the hiding step on the Qt thread (a QRect
compared as a Rect), and the overlays shown after the worker's grab.

The screenshots are real: mss grabs a private Xvfb display while the widgets stay offscreen.
"""

from __future__ import annotations

import logging

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

import app.ui.capture.controller as controller_module
from app.core.capture.commands import CaptureOutcome
from app.core.capture.screenshotters import MssScreenshotter
from app.ui.capture.controller import CaptureController
from tests.support import xvfb

pytestmark = [pytest.mark.gui, pytest.mark.skipif(xvfb.missing() is not None, reason=xvfb.missing() or "")]


@pytest.fixture(scope="module")
def x_display():
    with xvfb.xvfb(1024, 1024) as env:  # holds the offscreen platform's 800 x 800 screen
        yield env["DISPLAY"]


@pytest.fixture
def setup(qtbot, tmp_path, monkeypatch, x_display):
    monkeypatch.setenv("DISPLAY", x_display)
    own = QWidget()
    own.setGeometry(10, 10, 300, 200)
    own.show()
    qtbot.addWidget(own)
    controller = CaptureController(folder=tmp_path, handlers=[MssScreenshotter()], windows=lambda: [own])
    controller.hide_delay_ms = 0
    failed: list[str] = []
    controller.failed.connect(failed.append)
    return controller, own, failed


def _ended(qtbot, outcomes: list[CaptureOutcome]) -> CaptureOutcome:
    qtbot.waitUntil(lambda: bool(outcomes), timeout=10000)
    (outcome,) = outcomes
    return outcome


def _next_capture_works(qtbot, controller: CaptureController) -> None:
    outcomes: list[CaptureOutcome] = []
    controller.full_screen(outcomes.append)
    outcome = _ended(qtbot, outcomes)
    assert outcome.status == "captured", outcome


def test_an_exception_while_hiding_our_windows_ends_the_capture(qtbot, setup, monkeypatch, caplog):
    controller, own, failed = setup

    def broken(rect, targets):
        raise TypeError("'>' not supported between instances of 'builtin_function_or_method' and 'int'")

    outcomes: list[CaptureOutcome] = []
    with monkeypatch.context() as patch, caplog.at_level(logging.ERROR):
        patch.setattr(controller_module, "overlaps_any", broken)
        controller.region(outcomes.append)
        outcome = _ended(qtbot, outcomes)
    assert outcome.status == "failed" and "TypeError" in outcome.detail and "glmv.log" in outcome.detail
    assert failed == [outcome.detail], "the window's banner gets the same message"
    assert not controller.busy and controller.selector is None
    assert own.isVisible()
    assert any(r.exc_info and r.exc_info[0] is TypeError for r in caplog.records), "the traceback is logged"
    _next_capture_works(qtbot, controller)


def test_an_exception_showing_the_overlays_after_the_grab_restores_the_hidden_window(qtbot, setup, monkeypatch):
    controller, own, _ = setup

    def broken(*args, **kwargs):
        raise RuntimeError("no overlay today")

    outcomes: list[CaptureOutcome] = []
    with monkeypatch.context() as patch:
        patch.setattr(controller_module, "RegionSelector", broken)
        controller.region(outcomes.append)
        assert not own.isVisible(), "hidden while the screens are frozen"
        outcome = _ended(qtbot, outcomes)
    assert outcome.status == "failed" and "no overlay today" in outcome.detail
    assert own.isVisible() and not controller.busy
    _next_capture_works(qtbot, controller)


def test_a_second_capture_while_one_runs_is_answered_busy_and_the_first_still_ends(qtbot, setup):
    controller, own, _ = setup
    first: list[CaptureOutcome] = []
    second: list[CaptureOutcome] = []
    controller.region(first.append)
    controller.full_screen(second.append)
    assert second and second[0].status == "busy"
    qtbot.waitUntil(lambda: controller.selector is not None, timeout=10000)
    qtbot.keyClick(controller.selector.overlays[0], Qt.Key.Key_Escape)
    assert first == [CaptureOutcome("cancelled", "")]
    assert own.isVisible() and not controller.busy
