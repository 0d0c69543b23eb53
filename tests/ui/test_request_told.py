"""What the model is told about each attachment (``app.core.media.told``), read in the request body a real loopback
server received: each file introduced by its name and kind, pages and slides labelled with their document and
number, a note naming the pages left out, text layers labelled alike, screenshots named as screenshots with their
size; the same words from the window, from `glmv ask` and in the local engine's messages."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pymupdf
import pytest
from PIL import Image
from PySide6.QtCore import Qt

from app.core.backends.api import ApiBackend
from app.core.backends.base import GenerationOptions
from app.core.capture.geometry import Rect, Screen
from app.core.capture.metadata import capture_png_info
from app.core.conversation import Attachment, Conversation
from app.core.events import Done
from app.core.media import prepare
from app.core.media.budget import check_message
from app.core.media.told import told_parts, told_text_tokens
from tests.support.openai_server import dialect_stream
from tests.support.paths import CORPUS, ROOT


def texts(body: dict) -> list[str]:
    """The text parts of the last question, in order (the images between them left out)."""
    return [p["text"] for p in body["messages"][-1]["content"] if p["type"] == "text"]


def kinds(body: dict) -> list[str]:
    return [p["type"] for p in body["messages"][-1]["content"]]


def screenshot(path: Path, size: tuple[int, int], screen: tuple[int, int] = (1920, 1080)) -> Path:
    """A PNG as the app's capture saves it: with the rectangle it came from and the screens of the desktop."""
    width, height = size
    screens = [Screen.from_qt("M1", Rect(0, 0, *screen), 1.0)]
    Image.new("RGB", size, (20, 90, 160)).save(path, pnginfo=capture_png_info(Rect(100, 50, width, height), screens))
    return path


def full_screenshot(path: Path) -> Path:
    screens = [Screen.from_qt("M1", Rect(0, 0, 1280, 800), 1.0)]
    Image.new("RGB", (1280, 800), (200, 200, 200)).save(path, pnginfo=capture_png_info(Rect(0, 0, 1280, 800), screens))
    return path


def pdf(path: Path, pages: int, *, blank: tuple[int, ...] = ()) -> Path:
    doc = pymupdf.open()
    for n in range(1, pages + 1):
        page = doc.new_page()
        if n not in blank:
            page.insert_text((72, 72), f"Page {n} says the quarterly revenue grew in every region. " * 3, fontsize=9)
    doc.save(path)
    return path


def ask(server, attachments: list[Attachment], question: str = "What is this?") -> dict:
    server.enqueue(dialect_stream("vllm", "", "Seen."))
    backend = ApiBackend("vllm", base_url=server.url, model="glm-4.6v")
    events = list(backend.stream(Conversation().ask(question, attachments), GenerationOptions()))
    assert isinstance(events[-1], Done), events[-1]
    return server.last.body


@pytest.mark.skipif(not (CORPUS / "mupdf_explored.pdf").exists(), reason="the shared corpus is not here")
def test_the_book_the_deck_the_chart_and_a_screenshot_are_each_introduced_and_the_pages_left_out_are_named(
    openai_server, tmp_path
):
    """The request of the report that asked for this: 285 pages, 8 slides and a chart went as 94 images labelled
    "Page N" and "Slide N". Now each file says what it is, each page whose it is, and the book says it goes on."""
    shot = screenshot(tmp_path / "region-20250101-120000-000.png", (801, 448))
    attachments = [
        Attachment(CORPUS / "mupdf_explored.pdf"),
        Attachment(CORPUS / "cht-chart-type.pptx"),
        Attachment(CORPUS / "glmv-bench-chart.jpeg"),
        Attachment(shot),
    ]
    body = ask(openai_server, attachments, "Summarise these.")
    said = texts(body)
    whole = "".join(said)
    images = kinds(body).count("image_url")
    # Every image comes straight after the text that names it.
    content = body["messages"][-1]["content"]
    assert all(content[i - 1]["type"] == "text" for i, p in enumerate(content) if p["type"] == "image_url")
    assert said[0].startswith(
        "File mupdf_explored.pdf: a PDF document of 285 pages. Pages 1-85 follow, each as an image.\n"
    )
    assert "mupdf_explored.pdf, page 1 of 285\n" in said[0]
    assert "mupdf_explored.pdf, page 3 of 285\n" in said
    assert whole.count("mupdf_explored.pdf, page ") == 85
    assert (
        "Left out of mupdf_explored.pdf: pages 86-285 (they did not fit in one message). If the answer may depend "
        "on them, say so: the person can send them in a later message." in whole
    )
    assert "File cht-chart-type.pptx: a slide deck of 8 slides. All 8 follow, each as an image." in whole
    assert [f"cht-chart-type.pptx, slide {n} of 8" in whole for n in range(1, 9)] == [True] * 8
    assert "File glmv-bench-chart.jpeg: an image, 1122 x 1514 pixels.\n" in said
    assert "Screenshot region-20250101-120000-000.png: part of the screen, 801 x 448 pixels.\n" in said
    assert images == 85 + 8 + 1 + 1
    assert said[-1] == "Summarise these."
    assert "Page 1" not in said and "Slide 1" not in said  # no label that names no document


def test_a_screenshot_of_the_whole_screen_says_so_and_an_ordinary_image_is_an_image(openai_server, tmp_path):
    shot = full_screenshot(tmp_path / "screenshot-1.png")
    photo = tmp_path / "photo.png"
    Image.new("RGB", (300, 200), (10, 200, 10)).save(photo)
    said = texts(ask(openai_server, [Attachment(shot), Attachment(photo)]))
    assert said == [
        "Screenshot screenshot-1.png: the whole screen, 1280 x 800 pixels.\n",
        "File photo.png: an image, 300 x 200 pixels.\n",
        "What is this?",
    ]


def test_the_text_layer_is_labelled_like_the_pages_and_pages_without_text_go_as_images(openai_server, tmp_path):
    report = pdf(tmp_path / "report.pdf", 6, blank=(4,))
    said = texts(ask(openai_server, [Attachment(report, pages="2-5", text_layer=True)]))
    head = said[0]
    assert head.startswith(
        "File report.pdf: a PDF document of 6 pages. The text of pages 2-3, 5 follows; page 4 has no text and "
        "follows as an image.\n"
    )
    assert "--- report.pdf, page 2 of 6 ---\nPage 2 says" in head
    assert "--- report.pdf, page 5 of 6 ---\nPage 5 says" in head
    assert head.endswith("report.pdf, page 4 of 6\n")  # the label of the page that goes as an image
    assert said[1] == (
        "Left out of report.pdf: pages 1, 6 (not chosen for this question). If the answer may depend on them, say "
        "so: the person can send them in a later message.\n"
    )


def test_pages_chosen_and_pages_that_did_not_fit_are_told_apart(tmp_path):
    """A selection that does not fit either: the note says which pages were not chosen and which had no room."""
    from app.core.media.parts import MediaTarget

    report = prepare(Attachment(pdf(tmp_path / "long.pdf", 30), pages="3-30"), MediaTarget(image_tokens_budget=2000))
    assert report.pages_used and report.pages_used[0] == 3 and len(report.pages_used) < 28
    last = report.pages_used[-1]
    note = told_parts(report)[-1].text  # type: ignore[union-attr]
    assert note.startswith(
        f"Left out of long.pdf: pages {last + 1}-30 (they did not fit in one message) and pages 1-2 "
    )
    assert "(not chosen for this question)" in note


def test_the_budget_counts_every_word_the_model_is_told(tmp_path):
    report = prepare(Attachment(pdf(tmp_path / "r.pdf", 3), pages="1-2"), ApiBackend("vllm").media_target)
    words = "".join(p.text for p in told_parts(report) if hasattr(p, "text"))
    assert "Left out of r.pdf" in words and "r.pdf, page 2 of 3" in words
    cost = check_message([report], "", ApiBackend("vllm").media_target).attachments[0]
    assert cost.text_tokens == told_text_tokens(report) > 0
    assert cost.tokens == sum(p.tokens for p in report.parts if hasattr(p, "tokens")) + told_text_tokens(report)


def glmv_ask(server, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "ask", "--preset", "vllm", "--base-url", server.url, "--model", "m", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_window_and_glmv_ask_tell_the_model_the_same_words(qtbot, windows, openai_server, tmp_path):
    report = pdf(tmp_path / "report.pdf", 7)
    shot = screenshot(tmp_path / "region-1.png", (640, 360))
    openai_server.enqueue(dialect_stream("vllm", "", "Seen."))
    done = glmv_ask(openai_server, "--attach", str(report), "--attach", str(shot), "--pages", "2-4", "What grew?")
    assert done.returncode == 0, done.stderr
    from_terminal = openai_server.last.body

    window = windows()
    window.add_files([report, shot])
    chip = window.composer.strip.chips()[0]
    qtbot.waitUntil(lambda: all(c.ready for c in window.composer.strip.chips()), timeout=30000)
    chip.pages.setFocus()
    qtbot.keyClicks(chip.pages, "2-4")
    qtbot.keyClick(chip.pages, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: chip.ready and chip.attachment.pages == "2-4", timeout=30000)
    openai_server.enqueue(dialect_stream("vllm", "", "Seen."))
    window.composer.input.setFocus()
    qtbot.keyClicks(window.composer.input, "What grew?")
    qtbot.keyClick(window.composer.input, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not window.is_streaming() and window.conversation_id is not None, timeout=30000)
    from_window = openai_server.last.body

    assert texts(from_window) == texts(from_terminal)
    pages, note, shot_and_question = ["text", "image_url"] * 3, ["text"], ["text", "image_url", "text"]
    assert kinds(from_window) == kinds(from_terminal) == pages + note + shot_and_question
    said = texts(from_window)
    assert said[0] == "File report.pdf: a PDF document of 7 pages. Pages 2-4 follow, each as an image.\n" + (
        "report.pdf, page 2 of 7\n"
    )
    assert said[3:5] == [
        "Left out of report.pdf: pages 1, 5-7 (not chosen for this question). If the answer may depend on them, "
        "say so: the person can send them in a later message.\n",
        "Screenshot region-1.png: part of the screen, 640 x 360 pixels.\n",
    ]


def test_the_local_engine_is_told_the_same_words(tmp_path):
    pytest.importorskip("transformers")
    from app.core.backends.local import LocalBackend
    from glmv_local import chat

    report = pdf(tmp_path / "report.pdf", 3)
    conversation = Conversation().ask("Which page?", [Attachment(report, pages="2")])
    (message,) = LocalBackend("unused").messages(conversation, GenerationOptions())
    words = [p.text for p in message.parts if isinstance(p, chat.Text)]
    assert words == [
        "File report.pdf: a PDF document of 3 pages. Page 2 follows as an image.\nreport.pdf, page 2 of 3\n",
        "Left out of report.pdf: pages 1, 3 (not chosen for this question). If the answer may depend on them, say "
        "so: the person can send them in a later message.\n",
        "Which page?",
    ]
