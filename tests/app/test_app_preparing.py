"""Sending a question whose files are still being prepared, in the assembled app on a real X server
(``tests.support.app_window``): the empty answer says which file and page it prepares, and Stop (Escape or the button)
ends it at once, with nothing sent and the question kept (issue 12, point 3).

The deck goes last: LibreOffice takes seconds to convert it, so Enter lands while its chip still reads it.
"""

from __future__ import annotations

import time

import pytest

from tests.support import xvfb
from tests.support.app_window import (
    attach_from_dialog,
    click,
    key,
    look,
    running_app,
    settle,
    snapshot,
    start_new_chat,
    type_text,
)
from tests.support.openai_server import dialect_stream
from tests.support.paths import CORPUS
from tests.support.profiled_app import until

FILES = ("mupdf_explored.pdf", "glmv-bench-chart.jpeg", "cht-chart-type.pptx")

pytestmark = [
    pytest.mark.gui,
    pytest.mark.skipif(xvfb.missing() is not None, reason=xvfb.missing() or ""),
    pytest.mark.skipif(not (CORPUS / FILES[0]).exists(), reason="the shared corpus is not here"),
]

SHOWN = "w.view.streaming_card.view.placeholderText() if w.view.streaming_card is not None else ''"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    with running_app(tmp_path_factory.mktemp("preparing")) as running:
        yield running


@pytest.fixture
def fresh(app):
    start_new_chat(app)
    look(app, "__import__('app.core.media.prepared', fromlist=['SHARED']).SHARED.clear()")  # nothing kept before
    yield app
    until(lambda: not look(app, "w.is_streaming()"), 60, "the answer to end")
    assert app.proc.poll() is None, f"the app exited: {app.log.read_text()[-3000:]}"


def ask_with_three_files(app, question: str) -> None:
    for name in FILES:
        attach_from_dialog(app, CORPUS / name)
    look(app, "w.focus_composer()")
    type_text(app, question)
    assert not look(app, "all(c.ready for c in w.composer.strip.chips())"), "the deck was read before Enter"
    key(app, "Return")


def test_the_empty_answer_says_what_is_being_prepared(fresh):
    app = fresh
    app.server.enqueue(dialect_stream("vllm", reasoning="Looking.", answer="A manual, a chart and a deck."))
    before = len(app.server.chat_requests)
    ask_with_three_files(app, "What are these three?")
    said = until(lambda: look(app, SHOWN), 20, "the answer to say what it prepares")
    settle(app, 0.2)
    snapshot(app, "01-preparing")
    assert said.startswith("Preparing ") and said.endswith("…"), said
    assert any(name in said for name in FILES), said
    assert look(app, "w.thinking.view.placeholderText()").startswith("Preparing ")
    assert len(app.server.chat_requests) == before
    until(lambda: len(app.server.chat_requests) > before, 60, "the question to reach the server")
    until(lambda: not look(app, "w.is_streaming()"), 30, "the answer")
    snapshot(app, "02-answered")
    sent = app.server.last.body["messages"][-1]["content"]
    assert sum(part["type"] == "image_url" for part in sent) == 85 + 1 + 8
    assert look(app, "w.answer_cards()[-1].view.placeholderText()") == ""
    assert not look(app, "w.thinking.view.placeholderText()").startswith("Preparing ")


@pytest.mark.parametrize("how", ["Escape", "the Stop button"])
def test_stop_while_preparing_sends_nothing_and_keeps_the_question(fresh, how):
    app = fresh
    before = len(app.server.chat_requests)
    ask_with_three_files(app, "Compare the chart with the deck")
    until(lambda: look(app, SHOWN), 20, "the answer to say what it prepares")
    if how == "Escape":
        key(app, "Escape")
    else:
        click(app, "w.composer.stop")
    pressed = time.monotonic()
    until(lambda: not look(app, "w.is_streaming()"), 5, "Escape to end the answer", every=0.05)
    stopped_in = time.monotonic() - pressed
    settle(app)
    snapshot(app, "03-stopped-while-preparing")
    assert stopped_in < 1.5, (how, stopped_in)
    assert "nothing was sent" in look(app, "w.statusBar().currentMessage()")
    questions = look(app, "[t.text for t in w.session.turns if t.role == 'user']")
    assert questions == ["Compare the chart with the deck"]
    assert look(app, "[a.name for a in w.session.turns[0].attachments]") == list(FILES)
    stored = look(app, "[m.text for m in w.store.messages(w.conversation_id) if m.role == 'user']")
    assert stored == ["Compare the chart with the deck"]
    time.sleep(4)  # the deck's chip finishes its conversion; the stopped answer sends nothing after it
    assert len(app.server.chat_requests) == before
