"""Documents in the window (real widgets, offscreen; real PDFs rendered by PyMuPDF; the real loopback server):
password prompts, the page chooser, the text-layer switch, warnings, and the message budget against the context.

The one replacement is ``QInputDialog.getText``: a modal dialog cannot be typed into from a test, so it answers
with the password a person would type.
"""

from __future__ import annotations

from pathlib import Path

import pymupdf
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QInputDialog, QPlainTextEdit

from tests.support.openai_server import dialect_stream

pytestmark = pytest.mark.gui

PASSWORD = "s3cret"


def make_pdf(path: Path, pages: int, *, size: tuple[float, float] = (612, 792), text: bool = True) -> Path:
    doc = pymupdf.open()
    for n in range(pages):
        page = doc.new_page(width=size[0], height=size[1])
        if text:
            page.insert_text(
                (72, 72), f"Page {n + 1}: quarterly revenue grew in every region this quarter.", fontsize=11
            )
            page.insert_text((72, 100), "Costs fell, margins rose and the outlook for next year is steady.")
    doc.save(path)
    doc.close()
    return path


def encrypted_pdf(path: Path, pages: int = 3) -> Path:
    doc = pymupdf.open()
    for n in range(pages):
        doc.new_page().insert_text((72, 72), f"Secret page {n + 1}")
    doc.save(path, encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw=PASSWORD, owner_pw="owner")
    doc.close()
    return path


# Pages this large cost about 6,000 image tokens each even at the lowest legible resolution, so 15 of them do not
# fit one attachment's budget (half the 128K context) and two such documents overflow the context.
BIG_PAGE = (2000.0, 2000.0)


@pytest.fixture
def window(windows):
    """The main window against the loopback server (see tests/ui/test_ui_window.py: it waits for workers after)."""
    return windows()


@pytest.fixture
def answers(monkeypatch):
    """What the person types into the password dialog, in order; the prompts they saw are recorded."""
    replies: list[tuple[str, bool]] = []
    prompts: list[str] = []

    def get_text(parent, title, label, echo=None, *args, **kwargs):
        prompts.append(label)
        assert echo == QLineEdit_.EchoMode.Password, "the password must not be shown as it is typed"
        return replies.pop(0) if replies else ("", False)

    monkeypatch.setattr(QInputDialog, "getText", staticmethod(get_text))
    return replies, prompts


QLineEdit_ = __import__("PySide6.QtWidgets", fromlist=["QLineEdit"]).QLineEdit


def ready(qtbot, chip, timeout: int = 30000) -> None:
    qtbot.waitUntil(lambda: chip.ready, timeout=timeout)


def type_question(qtbot, window, text: str) -> QPlainTextEdit:
    composer = window.findChild(QPlainTextEdit, "composer")
    composer.setFocus()
    qtbot.keyClicks(composer, text)
    return composer


def image_parts(request_body: dict) -> list[dict]:
    content = request_body["messages"][-1]["content"]
    return [p for p in content if p.get("type") == "image_url"]


def test_an_encrypted_pdf_asks_for_its_password_again_after_a_wrong_one(qtbot, window, answers, tmp_path, image):
    replies, prompts = answers
    replies.extend([("not it", True), (PASSWORD, True)])
    type_question(qtbot, window, "What do the secret pages say?")
    window.add_files([image])
    window.add_attachment_path(str(encrypted_pdf(tmp_path / "locked.pdf")))
    chip = window.composer.strip.chips()[1]
    qtbot.waitUntil(lambda: chip.ready and chip.error is None, timeout=30000)
    assert len(prompts) == 2
    assert "locked.pdf is password-protected" in prompts[0] and "Wrong password for locked.pdf" in prompts[1]
    assert chip.attachment.password == PASSWORD
    assert "3 pages" in chip.detail.text() and "tokens" in chip.detail.text()
    # Nothing else moved: the question and the other attachment are as they were.
    assert window.composer.input.toPlainText() == "What do the secret pages say?"
    assert [c.path.name for c in window.composer.strip.chips()] == ["red.png", "locked.pdf"]


def test_cancelling_the_password_keeps_everything_and_can_be_retried(
    qtbot, window, answers, openai_server, tmp_path, image
):
    replies, prompts = answers
    replies.append(("", False))
    type_question(qtbot, window, "Summarise")
    window.add_files([image, encrypted_pdf(tmp_path / "locked.pdf")])
    pdf_chip = window.composer.strip.chips()[1]
    qtbot.waitUntil(lambda: len(prompts) == 1, timeout=30000)
    assert pdf_chip.error and "password" in pdf_chip.error
    assert pdf_chip.detail.text() == "password needed" and pdf_chip.unlock.isVisible()
    assert window.composer.input.toPlainText() == "Summarise"
    assert len(window.composer.strip.chips()) == 2
    # Sending now is refused and says why; nothing is lost.
    qtbot.keyClick(window.composer.input, Qt.Key.Key_Return)
    assert window.conversation_id is None and "Remove it to send" in window.statusBar().currentMessage()
    # The person finds the password later.
    replies.append((PASSWORD, True))
    qtbot.mouseClick(pdf_chip.unlock, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: pdf_chip.ready and pdf_chip.error is None, timeout=30000)
    assert not pdf_chip.unlock.isVisible()
    openai_server.enqueue(dialect_stream("vllm", answer="Three secret pages."))
    qtbot.keyClick(window.composer.input, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not window.is_streaming() and window.conversation_id is not None, timeout=30000)
    sent = openai_server.last.body["messages"][-1]["content"]
    texts = [p["text"].splitlines()[-1] for p in sent if p.get("type") == "text"]
    assert texts[1:] == ["locked.pdf, page 1 of 3", "locked.pdf, page 2 of 3", "locked.pdf, page 3 of 3", "Summarise"]
    assert len(image_parts(openai_server.last.body)) == 4  # the picture and three unlocked pages


def test_choosing_pages_updates_the_estimate_and_sends_only_those(qtbot, window, openai_server, tmp_path):
    window.add_attachment_path(str(make_pdf(tmp_path / "report.pdf", 5)))
    (chip,) = window.composer.strip.chips()
    ready(qtbot, chip)
    assert chip.detail.text().startswith("5 pages · ~")
    all_tokens = chip.info.tokens
    assert chip.pages.isVisible() and chip.text_layer.isVisible()
    chip.pages.setFocus()
    qtbot.keyClicks(chip.pages, "1-2")
    assert "2 of 5: 1-2" in chip.pages.toolTip()
    qtbot.keyClick(chip.pages, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: chip.ready and chip.attachment.pages == "1-2", timeout=30000)
    assert chip.info.pages_used == 2 and "5 pages (2 sent)" in chip.detail.text()
    assert chip.info.tokens < all_tokens
    openai_server.enqueue(dialect_stream("vllm", answer="Revenue grew."))
    composer = type_question(qtbot, window, "What grew?")
    qtbot.keyClick(composer, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not window.is_streaming() and window.conversation_id is not None, timeout=30000)
    images = image_parts(openai_server.last.body)
    assert len(images) == 2
    labels = [p["text"] for p in openai_server.last.body["messages"][-1]["content"] if p.get("type") == "text"]
    assert [label.splitlines()[-1] for label in labels] == [
        "report.pdf, page 1 of 5",
        "report.pdf, page 2 of 5",
        "Left out of report.pdf: pages 3-5 (not chosen for this question). If the answer may depend on them, say so: "
        "the person can send them in a later message.",
        "What grew?",
    ]
    window.store.flush()
    question = window.store.messages(window.conversation_id)[0]
    assert question.attachments[0].pages == "1-2"


def test_a_page_selection_that_names_no_page_is_refused_in_place(qtbot, window, tmp_path):
    window.add_files([make_pdf(tmp_path / "report.pdf", 5)])
    (chip,) = window.composer.strip.chips()
    ready(qtbot, chip)
    tokens = chip.info.tokens
    chip.pages.setFocus()
    qtbot.keyClicks(chip.pages, "9-12")
    qtbot.keyClick(chip.pages, Qt.Key.Key_Return)
    assert chip.pages.property("invalid") is True
    assert "names no page of this document, which has 5" in chip.pages.toolTip()
    assert chip.attachment.pages is None and chip.ready and chip.info.tokens == tokens
    chip.pages.clear()
    qtbot.keyClicks(chip.pages, "2-1")
    assert "runs backwards" in chip.pages.toolTip()


def test_the_text_layer_goes_as_text_instead_of_page_images(qtbot, window, openai_server, tmp_path):
    window.add_files([make_pdf(tmp_path / "report.pdf", 4)])
    (chip,) = window.composer.strip.chips()
    ready(qtbot, chip)
    image_tokens = chip.info.tokens
    qtbot.mouseClick(chip.text_layer, Qt.MouseButton.LeftButton, pos=QPoint(4, 4))
    qtbot.waitUntil(lambda: chip.ready and chip.attachment.text_layer, timeout=30000)
    assert chip.info.tokens < image_tokens / 4
    assert chip.detail.text().endswith("· text")
    openai_server.enqueue(dialect_stream("vllm", answer="Steady."))
    composer = type_question(qtbot, window, "Outlook?")
    qtbot.keyClick(composer, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not window.is_streaming() and window.conversation_id is not None, timeout=30000)
    body = openai_server.last.body
    assert image_parts(body) == []
    text = body["messages"][-1]["content"][0]["text"]
    assert "--- report.pdf, page 4 of 4 ---" in text and "quarterly revenue grew" in text


def test_a_pdf_over_its_budget_shows_which_pages_are_left_out(qtbot, window, tmp_path):
    window.add_files([make_pdf(tmp_path / "posters.pdf", 15, size=BIG_PAGE, text=False)])
    (chip,) = window.composer.strip.chips()
    ready(qtbot, chip, 60000)
    assert chip.error is None
    sent = chip.info.pages_used
    assert sent is not None and 0 < sent < 15
    assert f"15 pages ({sent} sent)" in chip.detail.text()
    assert chip.warning.isVisible()
    assert "do not fit the image budget" in chip.warning.toolTip() and "page picker" in chip.warning.toolTip()
    assert chip.toolTip() == chip.warning.toolTip()


def test_a_message_over_the_context_says_by_how_much_and_how_to_fit(qtbot, window, openai_server, tmp_path):
    first = make_pdf(tmp_path / "posters-a.pdf", 15, size=BIG_PAGE, text=False)
    second = make_pdf(tmp_path / "posters-b.pdf", 15, size=BIG_PAGE, text=False)
    composer = type_question(qtbot, window, "Compare these")
    window.add_files([first, second])
    chips = window.composer.strip.chips()
    for chip in chips:
        ready(qtbot, chip, 60000)
    budget = window.composer.budget
    qtbot.waitUntil(lambda: budget.over)
    assert budget.isVisible()
    assert budget.text().startswith("Over the 128K context by ")
    assert "choose fewer pages or send the text layer" in budget.text()
    assert "To fit: send fewer pages of posters-" in budget.toolTip()
    assert not window.composer.send.isEnabled()
    qtbot.keyClick(composer, Qt.Key.Key_Return)
    assert window.conversation_id is None and openai_server.chat_requests == []
    assert window.composer.input.toPlainText() == "Compare these"
    # The way out: fewer pages of one document.
    chips[1].pages.setFocus()
    qtbot.keyClicks(chips[1].pages, "1-3")
    qtbot.keyClick(chips[1].pages, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: chips[1].ready and not budget.over, timeout=60000)
    assert budget.text().startswith("This question ~") and "of 128K context tokens" in budget.text()
    assert window.composer.send.isEnabled()


def test_the_budget_counts_every_attachment_and_the_question(qtbot, window, tmp_path, image):
    window.add_files([image, make_pdf(tmp_path / "report.pdf", 2)])
    for chip in window.composer.strip.chips():
        ready(qtbot, chip)
    budget = window.composer.budget
    qtbot.waitUntil(lambda: budget.budget is not None and len(budget.budget.attachments) == 2)
    before = budget.budget.total_tokens
    for chip, cost in zip(window.composer.strip.chips(), budget.budget.attachments, strict=True):
        # The budget adds the words that introduce each file and label each page image (``media.told``).
        assert Path(cost.path) == chip.path and chip.info.tokens < cost.tokens <= chip.info.tokens + 40
    assert before == sum(c.tokens for c in budget.budget.attachments)
    type_question(qtbot, window, "word " * 200)
    assert budget.budget.total_tokens > before + 200
    assert "red.png" in budget.toolTip() and "report.pdf" in budget.toolTip()


def test_the_budget_line_names_the_question_apart_from_the_conversation_and_holds_still(
    qtbot, window, openai_server, tmp_path, image
):
    """The question's own cost, then the total with the earlier turns: the same question shows the same line
    after Settings are saved (every attachment read again) and after a trip to another conversation."""
    openai_server.enqueue(dialect_stream("vllm", reasoning="Looking.", answer="A red rectangle."))
    window.add_files([make_pdf(tmp_path / "report.pdf", 2)])
    ready(qtbot, window.composer.strip.chips()[0])
    qtbot.keyClick(type_question(qtbot, window, "What is in it?"), Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not window.is_streaming() and len(window.answer_cards()) == 1, timeout=15000)
    window.add_files([image])
    ready(qtbot, window.composer.strip.chips()[0])
    type_question(qtbot, window, "And this one?")
    budget = window.composer.budget
    line = budget.text()
    question = budget.budget.prompt_tokens + budget.budget.attachments[0].tokens
    total = budget.budget.total_tokens
    assert line == f"This question ~{question:,} tokens · with the conversation so far ~{total:,} of 128K"
    assert total > question + 500, "the earlier PDF pages are not counted"

    window.apply_settings(window.settings)
    qtbot.waitUntil(lambda: all(c.ready for c in window.composer.strip.chips()), timeout=30000)
    assert budget.text() == line, "saving Settings changed the count of the same question"
    shown = window.conversation_id
    window.new_chat()
    assert not budget.isVisible() and budget.toolTip() == ""
    window.open_conversation(shown)
    qtbot.waitUntil(lambda: all(c.ready for c in window.composer.strip.chips()), timeout=30000)
    assert budget.text() == line, "coming back to the conversation changed the count"
    window.new_chat()
    window.add_files([image])
    ready(qtbot, window.composer.strip.chips()[0])
    assert budget.text() == f"This question ~{budget.budget.attachments[0].tokens:,} of 128K context tokens"


def test_add_attachment_path_and_focus_composer(qtbot, window, image):
    window.add_attachment_path(str(image))
    (chip,) = window.composer.strip.chips()
    ready(qtbot, chip)
    assert chip.error is None and chip.path == image
    window.focus_composer()
    qtbot.waitUntil(lambda: window.composer.input.hasFocus())
