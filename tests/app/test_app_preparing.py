"""Sending a question whose files are still being prepared, in the assembled app on a real X server
(``tests.support.app_window``): the empty answer says which file and page it prepares, and Stop (Escape or the button)
ends it at once, with nothing sent and the question kept (issue 12, point 3).

The deck goes last, and its LibreOffice is held at a gate (``GLMV_SOFFICE`` points at a script that waits for a
file, then runs the real soffice) until the test has seen what it checks: a warm LibreOffice converts the deck in
about a second, which made "Enter lands while the deck is read" a race the test sometimes lost.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

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

PREPARED = "__import__('app.core.media.prepared', fromlist=['SHARED']).SHARED"
SHOWN = "w.view.streaming_card.view.placeholderText() if w.view.streaming_card is not None else ''"


def held_soffice(folder: Path) -> tuple[Path, Path]:
    """A soffice that waits until the returned gate file exists, then is the real one."""
    real = shutil.which("soffice") or shutil.which("libreoffice")
    gate = folder / "gate"
    script = folder / "soffice"
    script.write_text(f'#!/bin/sh\nwhile [ ! -e "{gate}" ]; do sleep 0.05; done\nexec "{real}" "$@"\n')
    script.chmod(0o755)
    return script, gate


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    if not (shutil.which("soffice") or shutil.which("libreoffice")):
        pytest.skip("LibreOffice is not installed")
    folder = tmp_path_factory.mktemp("preparing")
    soffice, gate = held_soffice(folder)
    gate.touch()  # open until a test closes it
    with running_app(folder, env={"GLMV_SOFFICE": str(soffice)}) as running:
        running.gate = gate  # type: ignore[attr-defined]
        yield running


@pytest.fixture
def fresh(app):
    start_new_chat(app)
    look(app, f"{PREPARED}.clear()")  # nothing kept before
    app.gate.unlink(missing_ok=True)
    yield app
    app.gate.touch()
    until(lambda: not look(app, "w.is_streaming()"), 60, "the answer to end")
    # A chip's preparation goes on after a stopped answer; the next test's clear must not come before it ends.
    until(lambda: look(app, f"{PREPARED}.preparing()") == 0, 60, "the files to be prepared")
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
    app.gate.touch()  # the deck is converted now, and the question goes
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
    app.gate.touch()
    until(lambda: look(app, f"{PREPARED}.preparing()") == 0, 60, "the deck to be prepared")
    time.sleep(1)  # the stopped answer sends nothing after the deck is ready
    assert len(app.server.chat_requests) == before
