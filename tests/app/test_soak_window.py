"""The window soak in CI: 200 rounds of the assembled app used as people mix things (tests/support/soak_window.py); any
crash or freeze fails it with the app's log and crash.log. `python tests/support/soak_window.py --rounds 1000` runs
the long one."""

from __future__ import annotations

import os

import pytest

from tests.support import xvfb
from tests.support.soak_window import run

pytestmark = [pytest.mark.gui, pytest.mark.skipif(xvfb.missing() is not None, reason=xvfb.missing() or "")]


@pytest.mark.timeout(900)
def test_two_hundred_rounds_of_mixed_use_neither_crash_nor_freeze_the_app(tmp_path):
    rounds = int(os.environ.get("GLMV_WINDOW_SOAK_ROUNDS", "200"))
    report = run(rounds, seed=int(os.environ.get("GLMV_WINDOW_SOAK_SEED", "2")), out=tmp_path, say=lambda _: None)
    print(report.line())
    assert report.failure is None, report.failure
    assert report.rounds == rounds
    assert sum(report.stumbles.values()) <= rounds // 10, f"the window stopped reacting as it should: {report.line()}"
