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


LOOP = " ".join(f"I should check step {i} again." for i in range(10_000))  # 300 KB of thinking, one paragraph


def test_thinking_in_one_huge_paragraph_is_shown_in_bounded_paragraphs_and_kept_as_written(
    qtbot, windows, openai_server
):
    """A model thinking in a loop without a newline: QPlainTextEdit laid the paragraph out whole at each piece
    (a 2 MB one blocked the window 70 s). Shown with breaks, streamed and reopened alike; stored verbatim."""
    from app.core.long_text import PARAGRAPH_CHARS
    from tests.support.openai_server import dialect_stream
    from tests.support.window import ask, wait_answer

    openai_server.enqueue(dialect_stream("vllm", reasoning=LOOP, answer="Done."))
    window = windows()
    ask(qtbot, window, "Check every step")
    wait_answer(qtbot, window)
    streamed = window.thinking.view.toPlainText()
    assert max(len(p) for p in streamed.split("\n")) <= PARAGRAPH_CHARS + 200
    assert streamed.replace("\n", "") == LOOP
    window.store.flush()
    assert window.store.messages(window.conversation_id)[-1].thinking == LOOP
    window.thinking.clear()
    window.view.select_answer(window.answer_cards()[-1].message_id)  # shown again, as when reopened
    assert window.thinking.view.toPlainText() == streamed
