"""The conversation flow as a person meets it, in the assembled app on a real X server (``tests.support.app_window``):
new chats, switching, retrying, editing and deleting, with the attachments and the sidebar they leave behind.

One app serves the module; each test starts from a new chat with an empty composer.
"""

from __future__ import annotations

import time

import pytest

from tests.support import xvfb
from tests.support.app_window import (
    activate,
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
from tests.support.openai_server import dialect_stream, error_reply
from tests.support.paths import CORPUS
from tests.support.profiled_app import glmv, xdotool
from tests.support.profiled_app import until as _until

pytestmark = [pytest.mark.gui, pytest.mark.skipif(xvfb.missing() is not None, reason=xvfb.missing() or "")]


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    with running_app(tmp_path_factory.mktemp("flow")) as running:
        yield running


@pytest.fixture
def fresh(app):
    start_new_chat(app)
    assert look(app, "w.conversation_id") is None
    yield app
    assert app.proc.poll() is None, f"the app exited: {app.log.read_text()[-3000:]}"


def ask(app, question: str, answer: str = "Seen.") -> str | list[dict]:
    """Type the question, press Enter, wait for the answer; the content parts the server received."""
    app.server.enqueue(dialect_stream("vllm", reasoning="Looking.", answer=answer))
    count = len(app.server.chat_requests)
    look(app, "w.focus_composer()")
    type_text(app, question)
    key(app, "Return")
    _until(lambda: len(app.server.chat_requests) > count, 30, "the question to reach the server")
    _until(lambda: not look(app, "w.is_streaming()"), 30, "the answer")
    return app.server.chat_requests[-1].body["messages"][-1]["content"]


def images(content: str | list[dict]) -> int:
    """How many images went with a question (a question alone goes as a string)."""
    if isinstance(content, str):
        return 0
    return sum(1 for part in content if part["type"] == "image_url")


def chips(app) -> list[str]:
    return look(app, "[c.path.name for c in w.composer.strip.chips() if c.isVisible()]")


def capture(app) -> None:
    before = len(chips(app))
    done = glmv(app, "capture", "--full")
    assert done.returncode == 0, done.stderr
    _until(lambda: len(chips(app)) > before, 10, "the capture in the composer")


def open_in_sidebar(app, conversation_id: str) -> None:
    """A click on the conversation's row in the history."""
    y = look(
        app,
        f"w.sidebar.list.visualItemRect(w.sidebar.list.item(w.sidebar.ids().index({conversation_id!r}))).center().y()",
    )
    click(app, "w.sidebar.list.viewport()", 40, y)
    settle(app)


def test_attachments_stay_with_the_conversation_they_were_added_in(fresh):
    app = fresh
    ask(app, "First conversation")
    first = look(app, "w.conversation_id")
    capture(app)
    capture(app)
    assert len(chips(app)) == 2
    snapshot(app, "01-two-captures-attached")

    key(app, "ctrl+n")
    settle(app)
    snapshot(app, "01-new-chat")
    assert chips(app) == [], "the new chat's composer shows the other conversation's attachments"
    assert not look(app, "w.composer.strip.isVisible()")
    assert images(ask(app, "A fresh question")) == 0, "old screenshots went out with the new chat's question"

    # Back in the first conversation, its screenshots are where they were left, and go with its next question.
    open_in_sidebar(app, first)
    settle(app)
    assert look(app, "w.conversation_id") == first
    snapshot(app, "01-back-in-the-first")
    assert len(chips(app)) == 2, "the first conversation's attachments were lost"
    assert images(ask(app, "About these two?")) == 2


def answer_texts(app) -> list[str]:
    return look(app, "[c.view.plain_text() for c in w.answer_cards()]")


def editing_note(app) -> str:
    return look(app, "w.composer.edit_note.text()")


def test_retry_after_a_dropped_answer_keeps_it_until_a_new_one_comes(fresh):
    app = fresh
    partial = "The first half of the answer"
    app.server.enqueue(dialect_stream("vllm", reasoning="Looking.", answer=partial, ending="drop", done=False))
    look(app, "w.focus_composer()")
    type_text(app, "A question the server drops")
    key(app, "Return")
    _until(lambda: look(app, "len(w.banners())") == 1 and not look(app, "w.is_streaming()"), 30, "the banner")
    assert answer_texts(app) == [partial]
    assert "kept" in look(app, "w.banners()[0].text.text()")

    # Retry, and the server fails again before a word: what was kept stays, the composer is not touched.
    app.server.enqueue(error_reply(400, "The model is not loaded"))
    count = len(app.server.chat_requests)
    click(app, "w.banners()[0].retry_button")
    _until(lambda: len(app.server.chat_requests) > count and not look(app, "w.is_streaming()"), 30, "the retry")
    settle(app)
    snapshot(app, "02-retry-failed")
    assert answer_texts(app) == [partial], "the partial answer the banner said was kept is gone"
    assert editing_note(app) == "", "the composer switched to editing the question"
    assert look(app, "w.composer.input.toPlainText()") == ""
    assert look(app, "len(w.banners())") == 1
    # The store agrees: the conversation opened again shows the same.
    first = look(app, "w.conversation_id")
    key(app, "ctrl+n")
    open_in_sidebar(app, first)
    assert answer_texts(app) == [partial]

    # Retry once more with the server back: the new answer replaces the partial one.
    app.server.enqueue(dialect_stream("vllm", reasoning="Again.", answer="The whole answer."))
    click(app, "w.banners()[0].retry_button")
    _until(lambda: answer_texts(app) == ["The whole answer."] and not look(app, "w.is_streaming()"), 30, "it")
    assert look(app, "len(w.banners())") == 0


def test_cancel_edit_after_a_question_that_got_nothing_empties_the_composer(fresh):
    app = fresh
    capture(app)
    app.server.enqueue(error_reply(400, "The model is not loaded"))
    look(app, "w.focus_composer()")
    type_text(app, "Nobody answers this")
    key(app, "Return")
    # Nothing arrived: the question goes back into the composer to be sent again.
    _until(lambda: editing_note(app) != "", 30, "the question back in the composer")
    assert look(app, "w.composer.input.toPlainText()") == "Nobody answers this"
    assert len(chips(app)) == 1
    snapshot(app, "02-editing-after-nothing")
    click(app, "w.composer.cancel_edit")
    settle(app)
    snapshot(app, "02-edit-cancelled")
    assert editing_note(app) == ""
    assert look(app, "w.composer.input.toPlainText()") == ""
    assert chips(app) == [], "Cancel edit left the question's attachment in the composer"


def sidebar_titles(app) -> list[str]:
    return look(app, "[w.sidebar.list.item(r).text() for r in range(w.sidebar.list.count())]")


def test_edit_and_resend_of_the_first_question_renames_the_conversation_for_good(fresh):
    app = fresh
    ask(app, "Original wording of the question")
    conversation = look(app, "w.conversation_id")
    click(app, "w.transcript.cards()[0].edit")
    settle(app)
    key(app, "ctrl+a")
    type_text(app, "Edited wording")
    key(app, "Return")
    _until(lambda: not look(app, "w.is_streaming()") and look(app, "len(w.answer_cards())") == 1, 30, "the answer")
    assert sidebar_titles(app)[0] == "Edited wording"
    time.sleep(1.0)
    settle(app)
    assert sidebar_titles(app)[0] == "Edited wording", "the old title came back"
    # Whatever reads the list again (a search, the next start) finds the new title too.
    look(app, "w.store.flush(5.0)")
    assert look(app, f"w.store.conversation({conversation!r}).title") == "Edited wording"
    click(app, "w.sidebar.search")
    type_text(app, "wording")
    time.sleep(0.6)
    settle(app)
    assert sidebar_titles(app) == ["Edited wording"]
    key(app, "ctrl+a", "BackSpace")
    time.sleep(0.6)
    settle(app)
    snapshot(app, "03-after-edit")
    assert sidebar_titles(app)[0] == "Edited wording"


def confirm(app) -> None:
    """Enter on the confirmation that comes up (X focus put on it, as a window manager does for a new dialog)."""
    _until(lambda: look(app, "app.activeModalWidget() is not None"), 10, "the confirmation")
    xdotool(app, "windowfocus", "--sync", str(look(app, "int(app.activeModalWidget().winId())")))
    key(app, "Return")
    _until(lambda: look(app, "app.activeModalWidget() is None"), 10, "the confirmation to close")
    activate(app)


def highlighted(app) -> list[str]:
    return look(app, "[i.data(256) for i in w.sidebar.list.selectedItems()]")


def test_after_a_delete_the_sidebar_still_elides_and_highlights_the_conversation_shown(fresh):
    app = fresh
    long = "A very long question about the spreadsheet that never seems to end, with more words"
    for n in range(3):
        key(app, "ctrl+n")
        ask(app, f"{long} number {n}")
    shown = look(app, "w.conversation_id")
    ids = look(app, "w.sidebar.ids()")
    assert ids[0] == shown and highlighted(app) == [shown]
    assert not look(app, "w.sidebar.list.horizontalScrollBar().isVisible()")
    # Delete another conversation from its context menu, as a person does.
    row_y = look(app, "w.sidebar.list.visualItemRect(w.sidebar.list.item(2)).center().y()")
    click(app, "w.sidebar.list.viewport()", 40, row_y, button="3")
    _until(lambda: look(app, "app.activePopupWidget() is not None"), 10, "the context menu")
    menu = "app.activePopupWidget()"
    delete = f"next(a for a in {menu}.actions() if a.text() == 'Delete')"
    x, y, _, _ = look(app, f"rect({menu})")
    middle = look(app, f"{menu}.actionGeometry({delete}).center().toTuple()")
    xdotool(app, "mousemove", "--sync", str(x + middle[0]), str(y + middle[1]), "sleep", "0.2", "click", "1")
    confirm(app)
    _until(lambda: look(app, "w.sidebar.ids()") == ids[:2] + ids[3:], 10, "the row gone")
    settle(app)
    snapshot(app, "04-after-delete")
    assert look(app, "w.conversation_id") == shown
    assert highlighted(app) == [shown], "the highlighted row is not the conversation on screen"
    assert not look(app, "w.sidebar.list.horizontalScrollBar().isVisible()"), "a horizontal scroll bar appeared"
    width = look(app, "w.sidebar.list.viewport().width()")
    rects = look(app, "[w.sidebar.list.visualItemRect(w.sidebar.list.item(r)).right() for r in range(2)]")
    assert all(right <= width for right in rects), ("titles no longer elide", rects, width)
    # Deleting the conversation shown (the Delete key on its row) leaves a new chat, no row highlighted.
    click(
        app,
        "w.sidebar.list.viewport()",
        40,
        look(app, "w.sidebar.list.visualItemRect(w.sidebar.list.item(0)).center().y()"),
    )
    key(app, "Delete")
    confirm(app)
    _until(lambda: look(app, "w.sidebar.ids()") == ids[1:2] + ids[3:], 10, "the row gone")
    settle(app)
    snapshot(app, "04-after-deleting-the-one-shown")
    assert look(app, "w.conversation_id") is None
    assert highlighted(app) == []
    assert not look(app, "w.sidebar.list.horizontalScrollBar().isVisible()")


def hover(app, widget: str) -> str:
    """The tooltip a person sees after resting the pointer on ``widget``."""
    x, y, w, h = look(app, f"rect({widget})")
    xdotool(app, "mousemove", "--sync", str(x + w // 2 - 2), str(y + h // 2 - 1), "sleep", "0.2")
    xdotool(app, "mousemove", "--sync", str(x + w // 2), str(y + h // 2))
    return _until(lambda: look(app, "__import__('PySide6.QtWidgets').QtWidgets.QToolTip.text()"), 10, "a tooltip")


@pytest.mark.skipif(not (CORPUS / "mupdf_explored.pdf").exists(), reason="the shared corpus is not here")
def test_a_long_pdf_a_deck_and_an_image_all_show_and_say_which_pages_go(fresh):
    app = fresh
    for name in ("mupdf_explored.pdf", "cht-chart-type.pptx", "glmv-bench-chart.jpeg"):
        attach_from_dialog(app, CORPUS / name)
    ready = "len(w.composer.strip.chips()) == 3 and all(c.ready for c in w.composer.strip.chips())"
    _until(lambda: look(app, ready), 120, "the three attachments read")
    settle(app, 0.5)
    snapshot(app, "05-three-attachments")
    strip = look(app, "rect(w.composer.strip.viewport())")
    for x, y, width, height in look(app, "[rect(c) for c in w.composer.strip.chips()]"):
        assert strip[0] <= x and x + width <= strip[0] + strip[2], "a chip is cut off at the side"
        assert strip[1] <= y and y + height <= strip[1] + strip[3], "a chip is cut off at the bottom"
    assert look(app, "w.composer.strip.chips()[0].warning.isVisible()")
    tip = hover(app, "w.composer.strip.chips()[0].warning")
    snapshot(app, "05-warning-tooltip")
    assert "pages 1-85 are sent, 86-285 are not" in tip
    line = look(app, "w.composer.budget.text()")
    assert "mupdf_explored.pdf: pages 1-85 of 285 go" in line, line
    for _ in range(3):
        click(app, "w.composer.strip.chips()[0].remove")
    _until(lambda: chips(app) == [], 10, "the attachments removed")
