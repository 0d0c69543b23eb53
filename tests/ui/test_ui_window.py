"""The main window (real Qt widgets, offscreen) against the real loopback OpenAI-compatible server, through the
real ApiBackend, with a real history store in a temporary folder."""

from __future__ import annotations

import sys

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QGuiApplication, QImage
from PySide6.QtWidgets import QApplication, QPlainTextEdit, QTextBrowser, QToolButton

from app.ui.transcript import AnswerCard, Banner, UserCard
from tests.support.openai_server import Stream, dialect_chunks, dialect_stream, error_reply
from tests.support.paths import ROOT
from tests.support.window import ask, wait_answer

pytestmark = pytest.mark.gui


def answer_view(window) -> QTextBrowser:
    return window.findChild(QTextBrowser, "answer")


def answer_text(window) -> str:
    return answer_view(window).toPlainText().strip()


def test_named_widgets_are_there_for_people_and_tests(windows):
    window = windows()
    for cls, name in (
        (QPlainTextEdit, "composer"),
        (QToolButton, "send"),
        (QToolButton, "stop"),
        (QPlainTextEdit, "thinking"),
    ):
        widget = window.findChild(cls, name)
        assert widget is not None and widget.accessibleName() == name, name
    assert window.findChild(QWidget_, "attachments").accessibleName() == "attachments"
    assert window.findChild(QWidget_, "history").accessibleName() == "history"
    assert "glm-4.6v" in window.status.text()


QWidget_ = __import__("PySide6.QtWidgets", fromlist=["QWidget"]).QWidget


def test_a_question_with_an_image_fills_thinking_and_answer_separately(qtbot, windows, openai_server, image):
    openai_server.enqueue(dialect_stream("vllm", reasoning="A red rectangle, 64 by 48.", answer="It is a **red** box."))
    window = windows()
    ask(qtbot, window, "What is this?", [image])
    wait_answer(qtbot, window)
    assert window.findChild(QPlainTextEdit, "thinking").toPlainText() == "A red rectangle, 64 by 48."
    answer = answer_text(window)
    assert answer == "It is a red box." and "rectangle" not in answer
    assert "thought for" in window.thinking.time.text()
    sent = openai_server.last.body["messages"][-1]["content"]
    assert any(part.get("type") == "image_url" for part in sent)
    assert window.composer.input.toPlainText() == "" and window.composer.strip.chips() == []
    window.store.flush()
    question, reply = window.store.messages(window.conversation_id)
    assert question.text == "What is this?" and question.attachments[0].name == "red.png"
    assert (reply.text, reply.thinking, reply.status) == ("It is a **red** box.", "A red rectangle, 64 by 48.", "done")
    assert window.sidebar.list.item(0).text() == "What is this?"


def test_stop_keeps_and_saves_the_partial_answer(qtbot, windows, openai_server):
    full = "".join(f"word{i} " for i in range(400))
    openai_server.enqueue(dialect_stream("vllm", reasoning="ok", answer=full, piece=6, delay=0.01))
    window = windows()
    ask(qtbot, window, "Write a lot")
    qtbot.waitUntil(lambda: answer_view(window) is not None and len(answer_text(window)) > 30)
    assert window.findChild(QToolButton, "stop").isEnabled()
    qtbot.mouseClick(window.findChild(QToolButton, "stop"), Qt.MouseButton.LeftButton)
    wait_answer(qtbot, window)
    card = window.answer_cards()[-1]
    shown = card.view.toPlainText()
    assert card.turn.status == "stopped" and "stopped" in card.meta.text()
    assert shown and full.startswith(shown) and len(shown) < len(full)
    window.store.flush()
    saved = window.store.messages(window.conversation_id)[-1]
    assert (saved.status, saved.text) == ("stopped", shown)
    assert not window.banners()


def test_a_401_shows_the_banner_and_keeps_the_draft(qtbot, windows, openai_server, image):
    openai_server.enqueue(error_reply(401, "Invalid API key", code="1000"))
    window = windows(key="wrong")
    ask(qtbot, window, "Describe the picture", [image])
    wait_answer(qtbot, window)
    qtbot.waitUntil(lambda: bool(window.banners()))
    (banner,) = window.banners()
    assert isinstance(banner, Banner) and banner.kind == "auth"
    # A widget added to a shown layout becomes visible on the next pass of the event loop.
    qtbot.waitUntil(banner.isVisible)
    assert "key" in banner.text.text().lower()
    # The question is still in the conversation and back in the composer with its attachment.
    assert [type(c) for c in window.transcript.cards()] == [UserCard, Banner]
    assert window.composer.input.toPlainText() == "Describe the picture"
    qtbot.waitUntil(lambda: [c.path.name for c in window.composer.strip.chips()] == ["red.png"])
    window.store.flush()
    (question,) = window.store.messages(window.conversation_id)
    assert question.text == "Describe the picture" and question.attachments
    # Retry with the server now accepting: the same question is answered.
    openai_server.enqueue(dialect_stream("vllm", answer="A red picture."))
    qtbot.mouseClick(banner.retry_button, Qt.MouseButton.LeftButton)
    wait_answer(qtbot, window)
    assert answer_text(window) == "A red picture."
    assert not window.banners()


def test_dropping_a_pdf_adds_it_with_its_page_count(qtbot, windows, tmp_path):
    fitz = pytest.importorskip("fitz")
    if not (ROOT / "app" / "core" / "media" / "pdf.py").exists():
        pytest.skip("PDF support (app/core/media/pdf.py) has not landed")
    pdf = tmp_path / "report.pdf"
    doc = fitz.open()
    for n in range(3):
        doc.new_page().insert_text((72, 72), f"Page {n + 1} of the quarterly report")
    doc.save(pdf)
    window = windows()
    data = QMimeData()
    data.setUrls([QUrl.fromLocalFile(str(pdf))])
    centre = window.rect().center()
    enter = QDragEnterEvent(centre, Qt.DropAction.CopyAction, data, Qt.MouseButton.LeftButton, Qt.KeyboardModifier(0))
    QApplication.sendEvent(window, enter)
    assert enter.isAccepted()
    drop = QDropEvent(
        QPointF(centre), Qt.DropAction.CopyAction, data, Qt.MouseButton.LeftButton, Qt.KeyboardModifier(0)
    )
    QApplication.sendEvent(window, drop)
    (chip,) = window.composer.strip.chips()
    qtbot.waitUntil(lambda: chip.ready, timeout=15000)
    assert chip.error is None
    assert "3 pages" in chip.detail.text() and "tokens" in chip.detail.text()
    assert window.findChild(QWidget_, "attachments").isVisible()
    qtbot.mouseClick(chip.remove, Qt.MouseButton.LeftButton, pos=QPoint(3, 3))
    qtbot.waitUntil(lambda: window.composer.strip.chips() == [])


def test_a_pasted_image_is_attached_as_a_png(windows, tmp_path):
    window = windows()
    pasted = QImage(40, 30, QImage.Format.Format_RGB32)
    pasted.fill(Qt.GlobalColor.blue)
    data = QMimeData()
    data.setImageData(pasted)
    window.composer.input.insertFromMimeData(data)
    (chip,) = window.composer.strip.chips()
    saved = QImage(str(chip.path))
    assert chip.path.suffix == ".png" and chip.path.read_bytes().startswith(b"\x89PNG")
    assert saved.size().toTuple() == (40, 30) and saved.pixelColor(5, 5) == Qt.GlobalColor.blue
    # In the app's data folder, readable by its owner only: never the temporary folder all users share.
    assert chip.path.parent == tmp_path / "data" / "pasted"
    if sys.platform != "win32":
        assert (chip.path.stat().st_mode & 0o777, chip.path.parent.stat().st_mode & 0o777) == (0o600, 0o700)


def test_a_broken_attachment_is_named_and_blocks_sending(qtbot, windows, tmp_path):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n" + b"not really a png")
    window = windows()
    window.add_files([broken])
    (chip,) = window.composer.strip.chips()
    qtbot.waitUntil(lambda: chip.ready, timeout=10000)
    assert chip.error and "broken.png" in chip.error
    ask(qtbot, window, "What is it?")
    assert window.conversation_id is None and "Remove it to send" in window.statusBar().currentMessage()


def test_regenerate_replaces_the_answer(qtbot, windows, openai_server):
    openai_server.enqueue(dialect_stream("vllm", answer="First try."), dialect_stream("vllm", answer="Second try."))
    window = windows()
    ask(qtbot, window, "Tell me a fact")
    wait_answer(qtbot, window)
    assert answer_text(window) == "First try."
    card = window.answer_cards()[-1]
    qtbot.mouseClick(card.regenerate, Qt.MouseButton.LeftButton)
    wait_answer(qtbot, window)
    assert [c.view.toPlainText().strip() for c in window.answer_cards()] == ["Second try."]
    assert answer_text(window) == "Second try."
    first, second = openai_server.chat_requests
    assert first.body["messages"] == second.body["messages"]
    window.store.flush()
    assert [m.text for m in window.store.messages(window.conversation_id)] == ["Tell me a fact", "Second try."]


def test_edit_and_resend_a_past_question(qtbot, windows, openai_server):
    openai_server.enqueue(
        dialect_stream("vllm", answer="Paris."),
        dialect_stream("vllm", answer="About 2.1 million."),
        dialect_stream("vllm", answer="Berlin."),
    )
    window = windows()
    ask(qtbot, window, "Capital of France?")
    wait_answer(qtbot, window)
    ask(qtbot, window, "Population?")
    wait_answer(qtbot, window)
    first_question = window.transcript.cards()[0]
    assert isinstance(first_question, UserCard)
    qtbot.mouseClick(first_question.edit, Qt.MouseButton.LeftButton)
    composer = window.findChild(QPlainTextEdit, "composer")
    assert composer.toPlainText() == "Capital of France?"
    composer.clear()
    ask(qtbot, window, "Capital of Germany?")
    wait_answer(qtbot, window)
    cards = window.transcript.cards()
    assert [type(c) for c in cards] == [UserCard, AnswerCard]
    assert cards[0].text.text() == "Capital of Germany?" and cards[1].view.toPlainText().strip() == "Berlin."
    sent = openai_server.last.body["messages"]
    assert [m["role"] for m in sent] == ["user"] and "Germany" in str(sent[0]["content"])
    window.store.flush()
    assert [m.text for m in window.store.messages(window.conversation_id)] == ["Capital of Germany?", "Berlin."]


def test_history_survives_a_restart_on_the_same_data_folder(qtbot, windows, openai_server, tmp_path, image):
    openai_server.enqueue(dialect_stream("vllm", reasoning="Thinking hard.", answer="Saved answer with `code`."))
    window = windows(tmp_path / "shared")
    ask(qtbot, window, "Remember this", [image])
    wait_answer(qtbot, window)
    conversation_id = window.conversation_id
    window.close()
    window.store.close()

    again = windows(tmp_path / "shared")
    assert again.conversation_id == conversation_id
    assert again.sidebar.ids() == [conversation_id]
    question, _ = again.transcript.cards()
    assert question.text.text() == "Remember this" and question.attachments[0].name == "red.png"
    assert answer_text(again) == "Saved answer with code."
    assert again.findChild(QPlainTextEdit, "thinking").toPlainText() == "Thinking hard."


def test_selecting_a_past_answer_shows_its_thinking(qtbot, windows, openai_server):
    openai_server.enqueue(
        dialect_stream("vllm", reasoning="first reasoning", answer="One."),
        dialect_stream("vllm", reasoning="second reasoning", answer="Two."),
    )
    window = windows()
    ask(qtbot, window, "q1")
    wait_answer(qtbot, window)
    ask(qtbot, window, "q2")
    wait_answer(qtbot, window)
    thinking = window.findChild(QPlainTextEdit, "thinking")
    assert thinking.toPlainText() == "second reasoning"
    first = window.answer_cards()[0]
    qtbot.mouseClick(first, Qt.MouseButton.LeftButton, pos=QPoint(4, 4))
    assert thinking.toPlainText() == "first reasoning"
    window.thinking.set_collapsed(True)
    assert not thinking.isVisible()


def test_deleting_a_conversation_removes_its_files(qtbot, windows, openai_server, image):
    window = windows()
    ask(qtbot, window, "Keep this image", [image])
    wait_answer(qtbot, window)
    window.store.flush()
    conversation_id = window.conversation_id
    folder = window.store.folder / "attachments" / conversation_id
    assert any(folder.rglob("red.png"))
    window.delete_conversation(conversation_id)
    window.store.flush()
    assert not folder.exists()
    assert window.store.conversation(conversation_id) is None
    assert window.sidebar.ids() == [] and window.conversation_id is None
    assert window.transcript.cards() == []


def test_search_filters_the_history(qtbot, windows, openai_server):
    openai_server.enqueue(dialect_stream("vllm", answer="About owls."), dialect_stream("vllm", answer="About cats."))
    window = windows()
    ask(qtbot, window, "Tell me about birds")
    wait_answer(qtbot, window)
    window.new_chat()
    assert window.sidebar.current_id() is None
    ask(qtbot, window, "Tell me about pets")
    wait_answer(qtbot, window)
    window.store.flush()
    qtbot.keyClicks(window.sidebar.search, "owls")
    qtbot.waitUntil(lambda: window.sidebar.list.count() == 1, timeout=3000)
    assert window.sidebar.list.item(0).text() == "Tell me about birds"


def test_shift_enter_makes_a_new_line_and_does_not_send(qtbot, windows, openai_server):
    window = windows()
    composer = window.findChild(QPlainTextEdit, "composer")
    qtbot.keyClicks(composer, "line one")
    qtbot.keyClick(composer, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClicks(composer, "line two")
    assert composer.toPlainText() == "line one\nline two"
    assert openai_server.chat_requests == [] and window.conversation_id is None


def test_a_stream_cut_mid_answer_keeps_what_arrived(qtbot, windows, openai_server):
    chunks = dialect_chunks("vllm", answer="Half of the answer", piece=5)
    openai_server.enqueue(Stream(chunks[:-2], done=False, ending="drop"))
    window = windows()
    ask(qtbot, window, "Go")
    wait_answer(qtbot, window)
    qtbot.waitUntil(lambda: bool(window.banners()))
    assert window.answer_cards()[-1].view.toPlainText().startswith("Half of")
    window.store.flush()
    saved = window.store.messages(window.conversation_id)[-1]
    assert saved.status == "failed" and saved.text.startswith("Half of")


def test_a_banner_starts_its_sentence_with_a_capital_and_leaves_names_as_they_are(qtbot, windows, openai_server):
    openai_server.enqueue(dialect_stream("vllm", answer="Half of the answer", ending="drop", done=False))
    window = windows()
    ask(qtbot, window, "Go")
    wait_answer(qtbot, window)
    qtbot.waitUntil(lambda: bool(window.banners()))
    assert window.banners()[0].text.text().startswith("The connection to 127.0.0.1:")
    # The stored message, shown again when the conversation is opened, reads the same.
    shown = window.conversation_id
    window.store.flush()
    window.new_chat()
    window.open_conversation(shown)
    assert window.banners()[0].text.text().startswith("The connection to 127.0.0.1:")
    # A message that starts with a file or program name keeps it as it is spelled.
    for message in ("report.pdf could not be read", "glmv-bench.jpeg is too large", "ffmpeg was not found"):
        window.show_banner("capture", message, retryable=False)
        assert window.banners()[-1].text.text() == message


def test_a_long_pasted_question_is_sent_whole_and_its_card_shows_its_start_with_show_all(qtbot, windows, openai_server):
    """A pasted 300 KB log: a QLabel laid it out in about a second, each time the conversation was shown (at
    every start when it was the last one). The card shows its start, "Show all" the whole text; nothing is cut
    from what is sent, stored or edited."""
    log = "\n".join(
        f"2026-12-01 12:00:{i % 60:02d} worker-{i % 7} processed item {i} in {i % 97} ms" for i in range(5000)
    )
    log += "\n" + "x" * 20_000  # and one line without a space
    window = windows()
    composer = window.findChild(QPlainTextEdit, "composer")
    composer.setFocus()
    QGuiApplication.clipboard().setText(log)
    qtbot.keyClick(composer, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(composer, Qt.Key.Key_Return)
    wait_answer(qtbot, window)
    assert openai_server.last.body["messages"][-1]["content"] == log
    (card,) = [c for c in window.transcript.cards() if isinstance(c, UserCard)]
    shown = card.text.text()
    assert len(shown) < 5_000 and log.startswith(shown.rstrip("…").replace("\u200b", ""))
    assert card.show_all.isVisibleTo(card) and "characters" in card.show_all.text()
    qtbot.waitUntil(lambda: card.isVisible() and card.edit.geometry().left() > 0)
    assert card.text.geometry().right() < card.edit.geometry().left()  # wrapped beside the edit button
    assert card.text.height() >= card.text.heightForWidth(card.text.width())  # and not clipped below
    card.show_all.linkActivated.emit("show")
    viewers = [w for w in QApplication.topLevelWidgets() if w.findChild(QPlainTextEdit, "wholeBlock")]
    assert viewers and viewers[-1].findChild(QPlainTextEdit, "wholeBlock").toPlainText() == log
    viewers[-1].close()
    qtbot.mouseClick(card.edit, Qt.MouseButton.LeftButton)
    assert window.findChild(QPlainTextEdit, "composer").toPlainText() == log
    window.store.flush()
    assert window.store.messages(window.conversation_id)[0].text == log


@pytest.mark.parametrize("width", [760, 900, 1400])
def test_a_long_paragraph_wraps_inside_its_card_in_a_narrow_window(qtbot, windows, width):
    """It ran under the edit button and past the card's edge when the window was narrow (the text's minimum
    width was 520 px whatever room the card had), and a label narrower than its hint was clipped below."""
    window = windows()
    window.resize(width, 700)
    for _ in range(2):  # the second pair brings the transcript's scroll bar, which narrows the first card
        ask(qtbot, window, " ".join(f"word{i}" for i in range(300)))
        wait_answer(qtbot, window)
    qtbot.waitUntil(lambda: window.transcript.verticalScrollBar().isVisible())
    for card in [c for c in window.transcript.cards() if isinstance(c, UserCard)]:
        qtbot.waitUntil(lambda card=card: card.isVisible() and card.edit.geometry().left() > 0)
        qtbot.wait(50)
        assert card.width() <= card.maximumWidth()
        assert card.geometry().right() < window.transcript.viewport().width()
        assert card.text.geometry().right() < card.edit.geometry().left()
        assert card.text.height() >= card.text.heightForWidth(card.text.width())
        assert card.text.text().endswith("word299") and not card.show_all.isVisibleTo(card)


def test_a_short_question_is_shown_whole_without_show_all(qtbot, windows):
    window = windows()
    ask(qtbot, window, "What is on the screen?")
    (card,) = [c for c in window.transcript.cards() if isinstance(c, UserCard)]
    assert card.text.text() == "What is on the screen?" and not card.show_all.isVisibleTo(card)
