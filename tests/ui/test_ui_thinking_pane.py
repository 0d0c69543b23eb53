"""The thinking pane says one thing at a time (real widget, offscreen)."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from app.ui.panes import ThinkingPane

pytestmark = pytest.mark.gui


def test_an_answer_without_thinking_is_not_also_told_its_reasoning_is_coming(qtbot):
    pane = ThinkingPane()
    qtbot.addWidget(pane)
    assert pane.view.placeholderText()  # before any answer: where the reasoning will appear
    pane.show_thinking("", None, "no thinking for this answer")
    assert pane.time.text() == "no thinking for this answer"
    assert pane.view.placeholderText() == "", "the placeholder promises reasoning next to 'no thinking'"
    pane.clear()  # the next answer streams: its reasoning appears here
    assert pane.view.placeholderText()
    pane.show_thinking("Looked at the chart.", 1.5)
    assert pane.time.text() == "thought for 1.5 s"
