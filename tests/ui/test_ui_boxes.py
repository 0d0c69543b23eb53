"""Boxes in the answer pane: real widgets (offscreen), a real ApiBackend stream from the loopback server, the real
main window's composer for "ask about this region", and a real history store."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

from PIL import Image, ImageDraw
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QGuiApplication, QImage

from app.core.backends.api import ApiBackend
from app.core.backends.base import GenerationOptions
from app.core.capture.geometry import Rect, Screen
from app.core.capture.metadata import capture_png_info
from app.core.conversation import Attachment, Conversation
from app.core.events import Answer, Box, Boxes, Done
from app.core.grounding.drawing import color_for
from app.core.grounding.pixels import to_pixels
from app.core.secrets import KeyVault
from app.core.session import Turn
from app.core.settings import Settings
from app.core.store import Store
from app.ui import theme
from app.ui.boxes_view import BoxCanvas, BoxViewer
from app.ui.main import build_main_window
from app.ui.transcript import AnswerCard, Thumbnail, Transcript, UserCard
from tests.support.documents import PAGE_COLOURS, pdf_with_pages
from tests.support.openai_server import dialect_stream
from tests.support.window import ask, wait_answer

pytestmark = pytest.mark.gui

ANSWER = (
    "The export button is here: <|begin_of_box|>[[700, 830, 860, 900]]<|end_of_box|> "
    "and the menu here: <|begin_of_box|>[[0, 0, 160, 60]]<|end_of_box|>."
)
SCREENS = (
    Screen.from_qt("DP-1", Rect(-1600, 0, 1600, 900), 1.0),
    Screen.from_qt("HDMI-1", Rect(0, 0, 1280, 720), 1.25),
)


def screenshot(path: Path, size=(1600, 900), capture: Rect | None = None) -> Path:
    image = Image.new("RGB", size, (245, 245, 245))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, size[0], size[1] * 0.06), fill=(40, 44, 52))
    draw.rectangle((0, size[1] * 0.06, size[0] * 0.15, size[1]), fill=(30, 30, 30))
    draw.rectangle((size[0] * 0.7, size[1] * 0.83, size[0] * 0.86, size[1] * 0.9), fill=(0, 120, 215))
    image.save(path, pnginfo=capture_png_info(capture, SCREENS) if capture is not None else None)
    return path


def stream_into(transcript: Transcript, card: AnswerCard, server, question: Conversation) -> None:
    """What the window does with each event: answer text appended, box groups added as they arrive."""
    backend = ApiBackend("vllm", base_url=server.url, model="glm-4.6v", api_key="k")
    for event in backend.stream(question, GenerationOptions(), None):
        if isinstance(event, Answer):
            card.view.append_text(event.text)
        elif isinstance(event, Boxes):
            card.add_boxes(event)
        elif isinstance(event, Done):
            break
    backend.close()


@pytest.fixture
def main_window(qtbot, tmp_path, openai_server):
    """The real main window on a real store, talking to the loopback server."""
    window, store = window_on(qtbot, tmp_path, openai_server, tmp_path / "data")
    yield window
    openai_server.release()
    assert window.wait_for_workers(15)
    window.close()
    store.close()


@pytest.fixture
def transcript(qtbot):
    view = Transcript()
    view.resize(900, 900)
    qtbot.addWidget(view)
    view.show()
    return view


def question_and_answer(transcript: Transcript, images: list[Path]) -> AnswerCard:
    colors = theme.colors(False)
    transcript.add(UserCard("q1", "where is export?", images, colors), user=True)
    card = AnswerCard(Turn("a1", "assistant", model="glm-4.6v"), colors)
    transcript.add(card)
    return card


def expected_rect(canvas: BoxCanvas, box: Box) -> tuple[float, float, float, float]:
    sw, sh = canvas.source_size
    s = min(canvas.width() / sw, canvas.height() / sh)
    p = to_pixels(box, sw, sh)
    oy = (canvas.height() - sh * s) / 2
    return (p.left * s, oy + p.top * s, p.width * s, p.height * s)


def pixel(image: QImage, x: float, y: float) -> tuple[int, int, int]:
    c = image.pixelColor(int(x), int(y))
    return c.red(), c.green(), c.blue()


def test_boxes_streamed_from_the_server_are_drawn_on_the_question_image(qtbot, transcript, openai_server, tmp_path):
    shot = screenshot(tmp_path / "shot.png")
    card = question_and_answer(transcript, [shot])
    openai_server.enqueue(dialect_stream("vllm", "looking", ANSWER))
    stream_into(transcript, card, openai_server, Conversation().ask("where?", [Attachment(shot)]))
    panel = card.boxes_panel
    qtbot.waitUntil(lambda: panel.isVisible() and panel.canvases and panel.canvases[0].width() > 100)
    assert [len(g.boxes) for g in card.groups] == [1, 1]
    (canvas,) = panel.canvases
    assert canvas.source_size == (1600, 900) and canvas.isVisible()
    boxes = [Box(700, 830, 860, 900), Box(0, 0, 160, 60)]
    got = [(r.x(), r.y(), r.width(), r.height()) for r in canvas.box_rects()]
    for rect, box in zip(got, boxes, strict=True):
        assert rect == pytest.approx(expected_rect(canvas, box))
    # The picture itself: each box's colour on its edge, the image untouched in between.
    image = canvas.grab().toImage()
    first = canvas.box_rects()[0]
    assert pixel(image, first.left(), first.center().y()) == pytest.approx(color_for(0), abs=40)
    assert pixel(image, first.center().x(), first.bottom()) == pytest.approx(color_for(0), abs=40)
    second = canvas.box_rects()[1]
    assert pixel(image, second.right(), second.bottom() - 2) == pytest.approx(color_for(1), abs=40)
    assert "2 boxes on shot.png" in panel.caption.text()
    assert "[[700, 830, 860, 900]]" in card.view.toPlainText()


def test_the_toggle_hides_and_shows_the_boxes(qtbot, transcript, tmp_path):
    shot = screenshot(tmp_path / "shot.png")
    card = question_and_answer(transcript, [shot])
    card.set_boxes([[700, 830, 860, 900, "Export"]])
    panel = card.boxes_panel
    qtbot.waitUntil(lambda: panel.isVisible() and panel.canvases[0].width() > 100)
    canvas = panel.canvases[0]
    rect = canvas.box_rects()[0]
    edge = (rect.left(), rect.center().y())
    assert pixel(canvas.grab().toImage(), *edge) == pytest.approx(color_for(0), abs=40)
    qtbot.mouseClick(panel.toggle, Qt.MouseButton.LeftButton)
    assert not canvas.show_boxes and panel.toggle.text() == "Show boxes"
    assert pixel(canvas.grab().toImage(), *edge) != pytest.approx(color_for(0), abs=40)
    assert canvas.box_at(rect.center()) is None  # hidden boxes are not clickable
    qtbot.mouseClick(panel.toggle, Qt.MouseButton.LeftButton)
    assert canvas.show_boxes and panel.toggle.text() == "Hide boxes"
    assert canvas.box_at(rect.center()) == 0


def test_several_images_and_groups_pair_in_order(qtbot, transcript, openai_server, tmp_path):
    first = screenshot(tmp_path / "a.png", (800, 600))
    second = screenshot(tmp_path / "b.png", (333, 777))
    card = question_and_answer(transcript, [first, second])
    answer = "A <|begin_of_box|>[[10, 10, 500, 500]]<|end_of_box|> B <|begin_of_box|>[500, 500, 990, 990]<|end_of_box|>"
    openai_server.enqueue(dialect_stream("vllm", "", answer))
    stream_into(transcript, card, openai_server, Conversation().ask("?", [Attachment(first), Attachment(second)]))
    qtbot.waitUntil(lambda: len(card.boxes_panel.canvases) == 2)
    a, b = card.boxes_panel.canvases
    assert (a.source_size, b.source_size) == ((800, 600), (333, 777))
    assert [p.box for p in a.boxes] == [Box(10, 10, 500, 500)] and [p.index for p in b.boxes] == [1]
    # Stored at the end in the flat form (what StreamRun saves): the groups as they came are kept.
    card.set_boxes([[10, 10, 500, 500, None], [500, 500, 990, 990, None]])
    assert len(card.boxes_panel.canvases) == 2 and len(card.groups) == 2


def test_a_follow_up_without_images_points_at_the_last_question_with_some(qtbot, transcript, tmp_path):
    shot = screenshot(tmp_path / "shot.png")
    colors = theme.colors(False)
    transcript.add(UserCard("q1", "what is this?", [shot], colors), user=True)
    transcript.add(AnswerCard(Turn("a1", "assistant"), colors), user=False)
    transcript.add(UserCard("q2", "and where is export?", [], colors), user=True)
    card = AnswerCard(Turn("a2", "assistant"), colors)
    transcript.add(card)
    card.set_boxes([Boxes((Box(700, 830, 860, 900),))])
    assert card.boxes_panel.images[0].path == shot


def test_a_follow_up_with_only_text_attachments_points_at_the_earlier_images(qtbot, transcript, tmp_path):
    shot = screenshot(tmp_path / "shot.png")
    notes = tmp_path / "notes.txt"
    notes.write_text("the export button is blue")
    colors = theme.colors(False)
    transcript.add(UserCard("q1", "what is this?", [shot], colors), user=True)
    transcript.add(AnswerCard(Turn("a1", "assistant"), colors), user=False)
    transcript.add(UserCard("q2", "with these notes, where is export?", [notes], colors), user=True)
    card = AnswerCard(Turn("a2", "assistant"), colors)
    transcript.add(card)
    card.set_boxes([Boxes((Box(700, 830, 860, 900),))])
    assert [item.title for item in card.boxes_panel.images] == ["shot.png"]


def test_copy_coordinates_says_where_on_the_real_screen(qtbot, transcript, tmp_path):
    # The shot covers HDMI-1 (scale 1.25: 1600x900 native pixels at x 0..1600).
    shot = screenshot(tmp_path / "shot.png", capture=Rect(0, 0, 1600, 900))
    card = question_and_answer(transcript, [shot])
    card.set_boxes([Boxes((Box(700, 830, 860, 900, "Export"),))])
    qtbot.mouseClick(card.boxes_panel.copy, Qt.MouseButton.LeftButton)
    text = QGuiApplication.clipboard().text()
    assert text.splitlines() == [
        "shot.png (image 1):",
        "  1 Export: x=1120, y=747, w=256, h=63 on screen 2 (HDMI-1), center (1248, 778) in screen pixels; "
        "logical x=896, y=597.6, w=204.8, h=50.4, center (998.4, 622.8) at scale 1.25",
    ]
    assert "(screen 2)" in card.boxes_panel.caption.text()


def test_boxes_without_an_image_still_give_their_coordinates(qtbot, transcript, tmp_path):
    gone = screenshot(tmp_path / "gone.png")
    card = question_and_answer(transcript, [gone])
    gone.unlink()  # moved away after it was asked about
    card.set_boxes([Boxes((Box(1, 2, 3, 4, "x"),))])
    panel = card.boxes_panel
    assert panel.canvases == [] and panel.isVisibleTo(card)
    assert "1 box with no image to draw on (coordinates only)" in panel.caption.text()
    assert not panel.toggle.isVisibleTo(panel)
    assert panel.coordinates_text().splitlines()[-1] == "  1 x: [1, 2, 3, 4]"


def test_a_corrupt_image_keeps_its_boxes_as_coordinates(qtbot, transcript, tmp_path):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    card = question_and_answer(transcript, [broken])
    card.set_boxes([Boxes((Box(10, 20, 30, 40),))])
    assert card.boxes_panel.canvases == [] and "1 box with no image to draw on" in card.boxes_panel.caption.text()


def test_a_photo_larger_than_the_viewer_decodes_is_shown_and_cropped_from_the_original(qtbot, tmp_path):
    from app.ui import boxes_view

    big = screenshot(tmp_path / "big.png", size=(6400, 3600))
    viewer = BoxViewer(big, [boxes_view.Placed(0, Box(700, 830, 860, 900))])
    qtbot.addWidget(viewer)
    viewer.show()
    assert viewer.canvas.image.width() == boxes_view.VIEWER_DECODE_SIDE and viewer.canvas.source_size == (6400, 3600)
    qtbot.waitUntil(lambda: viewer.canvas.width() > 100)
    with qtbot.waitSignal(viewer.region_cropped) as cropped:
        point = viewer.canvas.box_rects()[0].center().toPoint()
        qtbot.mouseClick(viewer.canvas, Qt.MouseButton.LeftButton, pos=point)
    with Image.open(cropped.args[0]) as crop:
        assert crop.size == (1024, 252)


def composer_paths(window) -> list[Path]:
    return [Path(a.path) for a in window.composer.strip.attachments()]


def test_clicking_a_box_asks_about_its_region_in_the_window(qtbot, main_window, openai_server, tmp_path):
    shot = screenshot(tmp_path / "shot.png", size=(1601, 901))
    openai_server.enqueue(dialect_stream("vllm", "looking", ANSWER))
    window = main_window
    ask(qtbot, window, "where is export?", [shot])
    wait_answer(qtbot, window)
    window.store.flush()
    stored = window.store.messages(window.conversation_id)[-1]
    card = window.answer_cards()[-1]
    card.set_boxes(stored.boxes)  # what the window does when it opens history
    panel = card.boxes_panel
    qtbot.waitUntil(lambda: panel.isVisible() and panel.canvases[0].width() > 100)
    canvas = panel.canvases[0]
    rect = canvas.box_rects()[0]
    qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=rect.center().toPoint())
    qtbot.waitUntil(lambda: len(window.composer.strip.chips()) == 1)
    (crop,) = composer_paths(window)
    p = to_pixels(Box(700, 830, 860, 900), 1601, 901)
    with Image.open(crop) as image:
        assert image.size == (p.width, p.height) == (256, 63)
        assert image.convert("RGB").getpixel((p.width // 2, p.height // 2)) == (0, 120, 215)


def test_dragging_a_region_in_the_large_view_of_an_attachment_asks_about_it(
    qtbot, main_window, openai_server, tmp_path
):
    shot = screenshot(tmp_path / "big.png", size=(2400, 1350))
    openai_server.enqueue(dialect_stream("vllm", "", "A window."))
    window = main_window
    ask(qtbot, window, "what is this?", [shot])
    wait_answer(qtbot, window)
    question = next(c for c in window.transcript.cards() if isinstance(c, UserCard))
    (thumb,) = question.findChildren(Thumbnail)
    qtbot.mouseClick(thumb, Qt.MouseButton.LeftButton)
    viewer = thumb.viewer
    assert isinstance(viewer, BoxViewer)
    qtbot.waitUntil(lambda: viewer.isVisible() and viewer.canvas.width() > 100)
    canvas = viewer.canvas
    assert canvas.width() < 2400 and viewer.zoom is None  # zoomed to fit
    start, end = (
        QPointF(canvas.width() * 0.25, canvas.height() * 0.5),
        QPointF(canvas.width() * 0.75, canvas.height() * 0.9),
    )
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=start.toPoint())
    qtbot.mouseMove(canvas, pos=QPoint(int(start.x()) + 20, int(start.y()) + 20))
    qtbot.mouseMove(canvas, pos=end.toPoint())
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=end.toPoint())
    region = canvas.selection
    assert region is not None and viewer.ask.isEnabled()
    x1, y1 = canvas.to_source(QPointF(start.toPoint()))
    x2, y2 = canvas.to_source(QPointF(end.toPoint()))
    assert (region.left, region.top, region.right, region.bottom) == (round(x1), round(y1), round(x2), round(y2))
    assert abs(region.width - 1200) < 8 and abs(region.height - 540) < 8  # half the width, 40% of the height
    qtbot.mouseClick(viewer.ask, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(window.composer.strip.chips()) == 1)
    with Image.open(composer_paths(window)[0]) as crop:
        assert crop.size == (region.width, region.height)


def test_the_viewer_zooms(qtbot, tmp_path):
    shot = screenshot(tmp_path / "s.png", size=(3000, 2000))
    viewer = BoxViewer(shot, [])
    qtbot.addWidget(viewer)
    viewer.resize(800, 600)
    viewer.show()
    qtbot.waitUntil(lambda: viewer.canvas.width() > 10)
    fit = viewer.current_zoom()
    assert viewer.canvas.width() == round(3000 * fit) <= viewer.scroll_area.viewport().width()
    qtbot.mouseClick(viewer.actual, Qt.MouseButton.LeftButton)
    assert viewer.canvas.size().toTuple() == (3000, 2000)
    qtbot.mouseClick(viewer.zoom_out, Qt.MouseButton.LeftButton)
    assert viewer.canvas.width() == 2400
    qtbot.mouseClick(viewer.fit, Qt.MouseButton.LeftButton)
    assert viewer.canvas.width() == round(3000 * fit)
    viewer.activateWindow()
    qtbot.waitUntil(viewer.isActiveWindow)
    qtbot.keyClick(viewer, "1")  # the keyboard shortcuts
    assert viewer.canvas.width() == 3000
    qtbot.keyClick(viewer, "-")
    assert viewer.canvas.width() == 2400
    qtbot.keyClick(viewer, "0")
    assert viewer.zoom is None and viewer.canvas.width() == round(3000 * viewer.fit_zoom())


def test_the_window_draws_streamed_boxes_and_finds_them_again_after_a_restart(qtbot, tmp_path, openai_server):
    """Through the real window: box groups drawn while the answer streams, saved with their image numbers, and
    drawn again when the conversation is reopened in a new window on the same history."""
    shot = screenshot(tmp_path / "shot.png")
    window, store = window_on(qtbot, tmp_path, openai_server, tmp_path / "data")
    openai_server.enqueue(dialect_stream("vllm", "looking", ANSWER))
    ask(qtbot, window, "where is export?", [shot])
    wait_answer(qtbot, window)
    (card,) = window.answer_cards()
    assert [[b.as_list() for b in g.boxes] for g in card.groups] == [[[700, 830, 860, 900]], [[0, 0, 160, 60]]]
    qtbot.waitUntil(lambda: bool(card.boxes_panel.canvases))
    assert card.boxes_panel.canvases[0].source_size == (1600, 900)
    conversation = window.conversation_id
    assert window.wait_for_workers(15)
    window.close()
    store.close()

    again, store = window_on(qtbot, tmp_path, openai_server, tmp_path / "data")
    again.open_conversation(conversation)
    (card,) = again.answer_cards()
    assert [[b.as_list() for b in g.boxes] for g in card.groups] == [[[700, 830, 860, 900]], [[0, 0, 160, 60]]]
    qtbot.waitUntil(lambda: bool(card.boxes_panel.canvases))
    assert "2 boxes on" in card.boxes_panel.caption.text()
    assert again.wait_for_workers(15)
    again.close()
    store.close()


# -- pages, slides and frames: the images the model saw ---------------------------------------------------------

TWO_GROUPS = (
    "The chart: <|begin_of_box|>[[100, 150, 500, 350]]<|end_of_box|> "
    "and the table: <|begin_of_box|>[[200, 650, 900, 900]]<|end_of_box|>."
)
THREE_GROUPS = TWO_GROUPS + " The button: <|begin_of_box|>[[700, 830, 860, 900]]<|end_of_box|>."


def window_on(qtbot, tmp_path: Path, server, data: Path):
    """A real main window on the history in ``data``, talking to the loopback server."""
    store = Store(data)
    window = build_main_window(
        Settings(preset="vllm", base_url=server.url, model="glm-4.6v"),
        ApiBackend("vllm", base_url=server.url, model="glm-4.6v", api_key="k"),
        store=store,
        vault=KeyVault(tmp_path / "config", use_keyring=False),
        settings_path=tmp_path / "config" / "settings.json",
    )
    qtbot.addWidget(window)
    window.show()
    return window, store


def close(window, store) -> None:
    assert window.wait_for_workers(15)
    window.close()
    store.close()


def attach(qtbot, window, *attachments: Attachment) -> None:
    for attachment in attachments:
        window.composer.strip.add(attachment)
    qtbot.waitUntil(lambda: all(c.ready for c in window.composer.strip.chips()), timeout=15000)


def send(qtbot, window, text: str) -> None:
    ask(qtbot, window, text)


def drawn_titles(panel) -> list[str]:
    return [item.title for item in panel.images if not item.image.needs_pixels]


def page_shown(canvas: BoxCanvas) -> int:
    """Which test PDF page a canvas shows, from the colour near the top of the drawn image."""
    image = canvas.grab().toImage()
    target = canvas.image_rect()
    colour = pixel(image, target.center().x(), target.top() + target.height() * 0.1)
    distances = [sum(abs(a - b) for a, b in zip(colour, c, strict=True)) for c in PAGE_COLOURS]
    assert min(distances) < 60, colour
    return distances.index(min(distances)) + 1


def test_boxes_stream_onto_the_pdf_pages_the_model_saw_in_the_window(qtbot, tmp_path, openai_server):
    """A 3-page PDF and a screenshot: the model saw Page 1, Page 2, Page 3, the screenshot. While the answer is
    still streaming, the first group is drawn on the rendered Page 1 and the second on Page 2."""
    pdf = pdf_with_pages(tmp_path / "report.pdf")
    shot = screenshot(tmp_path / "shot.png")
    window, store = window_on(qtbot, tmp_path, openai_server, tmp_path / "data")
    openai_server.enqueue(dialect_stream("vllm", "looking", TWO_GROUPS, ending="stall"))
    attach(qtbot, window, Attachment(pdf), Attachment(shot))
    send(qtbot, window, "where are the chart and the table?")
    qtbot.waitUntil(lambda: bool(window.answer_cards()) and len(window.answer_cards()[0].groups) == 2, timeout=10000)
    card = window.answer_cards()[0]
    panel = card.boxes_panel
    qtbot.waitUntil(lambda: len(panel.canvases) == 2, timeout=15000)
    assert window.is_streaming()  # drawn live, before the answer ends
    assert drawn_titles(panel) == ["report.pdf (Page 1)", "report.pdf (Page 2)"]
    assert panel.caption.text() == "1 box on report.pdf (Page 1) · 1 box on report.pdf (Page 2)"
    first, second = panel.canvases
    qtbot.waitUntil(lambda: first.width() > 100)
    assert (page_shown(first), page_shown(second)) == (1, 2)
    # The box sits at its proportions of the rendered page, in the first box's colour.
    rect = first.box_rects()[0]
    assert (rect.x(), rect.y(), rect.width(), rect.height()) == pytest.approx(
        expected_rect(first, Box(100, 150, 500, 350))
    )
    image = first.grab().toImage()
    assert pixel(image, rect.left(), rect.center().y()) == pytest.approx(color_for(0), abs=40)
    question = window.transcript.question_for(card)
    assert question is not None and question.reports is not None and question.reports[0] is not None
    window.stop()
    openai_server.release()
    wait_answer(qtbot, window)
    assert drawn_titles(card.boxes_panel) == ["report.pdf (Page 1)", "report.pdf (Page 2)"]
    close(window, store)


def test_chosen_pages_count_as_the_model_saw_them_live_after_reopening_and_in_the_cli(qtbot, tmp_path, openai_server):
    """Pages 2-3 of the PDF, then a screenshot: three groups land on Page 2, Page 3 and the screenshot, live and
    after the conversation is reopened in a new window on the same history; the CLI counts the same images."""
    from app.cli import _question_images

    pdf = pdf_with_pages(tmp_path / "report.pdf")
    shot = screenshot(tmp_path / "shot.png")
    window, store = window_on(qtbot, tmp_path, openai_server, tmp_path / "data")
    openai_server.enqueue(dialect_stream("vllm", "looking", THREE_GROUPS))
    attach(qtbot, window, Attachment(pdf, pages="2-3"), Attachment(shot))
    send(qtbot, window, "where?")
    wait_answer(qtbot, window)
    (card,) = window.answer_cards()
    expected = ["report.pdf (Page 2)", "report.pdf (Page 3)", "shot.png"]
    qtbot.waitUntil(lambda: len(card.boxes_panel.canvases) == 3, timeout=15000)
    assert drawn_titles(card.boxes_panel) == expected
    assert [page_shown(c) for c in card.boxes_panel.canvases[:2]] == [2, 3]
    assert card.boxes_panel.canvases[2].source_size == (1600, 900)
    sent = [p["text"] for p in openai_server.last.body["messages"][0]["content"] if p["type"] == "text"]
    assert [text.splitlines()[-1] for text in sent[:2]] == ["report.pdf, page 2 of 3", "report.pdf, page 3 of 3"]
    backend = ApiBackend("vllm", base_url=openai_server.url, model="glm-4.6v", api_key="k")
    cli_names = [
        name
        for name, _ in _question_images([(Attachment(pdf, pages="2-3"), "pdf"), (Attachment(shot), "image")], backend)
    ]
    assert cli_names == [i.title for i in window.transcript.question_for(card).found.images] == expected
    conversation = window.conversation_id
    close(window, store)

    again, store = window_on(qtbot, tmp_path, openai_server, tmp_path / "data")
    assert again.wait_for_workers(15)
    again.new_chat()  # the window opened the last conversation by itself; open it again, as from the history list
    again.open_conversation(conversation)
    (card,) = again.answer_cards()
    assert "finding the pages" in card.boxes_panel.caption.text()  # documents are prepared on a worker
    qtbot.waitUntil(lambda: len(card.boxes_panel.canvases) == 3, timeout=15000)
    assert drawn_titles(card.boxes_panel) == expected
    assert [page_shown(c) for c in card.boxes_panel.canvases[:2]] == [2, 3]
    question = again.transcript.question_for(card)
    assert question is not None and question.reports is None and question.sources[0].pages == "2-3"
    assert question.sources[0].path != pdf  # the copy in the history's folder
    assert card.boxes_panel.caption.text() == (
        "1 box on report.pdf (Page 2) · 1 box on report.pdf (Page 3) · 1 box on shot.png"
    )
    # Asking about the box on Page 2 renders that part of the page again, sharper than the page that was sent.
    canvas = card.boxes_panel.canvases[0]
    qtbot.waitUntil(lambda: canvas.width() > 100)
    qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=canvas.box_rects()[0].center().toPoint())
    qtbot.waitUntil(lambda: len(again.composer.strip.chips()) == 1)
    (region,) = composer_paths(again)
    assert region.name.startswith("report-page-2-region-")
    on_sent = to_pixels(Box(100, 150, 500, 350), *canvas.source_size)
    with Image.open(region) as crop:
        assert crop.width > 2 * on_sent.width
        assert abs(crop.width / crop.height - on_sent.width / on_sent.height) < 0.05
        assert crop.convert("RGB").getpixel((3, 3)) == pytest.approx(PAGE_COLOURS[1], abs=10)
    close(again, store)


def test_pages_sent_as_text_are_not_images_and_boxes_without_pages_say_why(qtbot, tmp_path, openai_server):
    """The text layer of page 1 went as text: the first image is Page 2. A reopened PDF that is gone leaves its
    boxes as coordinates, saying why."""
    pdf = pdf_with_pages(tmp_path / "report.pdf", text_on=(1,))
    window, store = window_on(qtbot, tmp_path, openai_server, tmp_path / "data")
    openai_server.enqueue(dialect_stream("vllm", "", TWO_GROUPS))
    attach(qtbot, window, Attachment(pdf, text_layer=True))
    send(qtbot, window, "where?")
    wait_answer(qtbot, window)
    (card,) = window.answer_cards()
    qtbot.waitUntil(lambda: len(card.boxes_panel.canvases) == 2, timeout=15000)
    assert drawn_titles(card.boxes_panel) == ["report.pdf (Page 2)", "report.pdf (Page 3)"]
    conversation = window.conversation_id
    store.flush()
    stored = store.messages(conversation)[0].attachments[0].path
    close(window, store)
    stored.unlink()

    again, store = window_on(qtbot, tmp_path, openai_server, tmp_path / "data")
    again.open_conversation(conversation)
    (card,) = again.answer_cards()
    qtbot.waitUntil(lambda: "coordinates only" in card.boxes_panel.caption.text(), timeout=15000)
    assert card.boxes_panel.canvases == []
    assert "2 boxes with no image to draw on (coordinates only): " in card.boxes_panel.caption.text()
    assert "moved or deleted" in card.boxes_panel.caption.text()
    close(again, store)


def test_a_look_at_an_answer_with_a_box_on_a_pdf_page(qtbot, tmp_path, openai_server):
    """The answer card as people see it, saved as a PNG (pytest --basetemp=DIR keeps it to look at)."""
    pdf = pdf_with_pages(tmp_path / "report.pdf", text_on=(2,))
    window, store = window_on(qtbot, tmp_path, openai_server, tmp_path / "data")
    window.resize(1280, 900)
    answer = "The paragraph is here: <|begin_of_box|>[[40, 380, 960, 620]]<|end_of_box|>."
    openai_server.enqueue(dialect_stream("vllm", "", answer))
    attach(qtbot, window, Attachment(pdf, pages="2"))
    send(qtbot, window, "where is the paragraph?")
    wait_answer(qtbot, window)
    (card,) = window.answer_cards()
    qtbot.waitUntil(lambda: len(card.boxes_panel.canvases) == 1, timeout=15000)
    qtbot.waitUntil(lambda: card.boxes_panel.canvases[0].width() > 100)
    shot = tmp_path / "answer-card-pdf-page.png"
    assert card.grab().save(str(shot))
    assert window.grab().save(str(tmp_path / "window-pdf-page.png"))
    assert card.boxes_panel.caption.text() == "1 box on report.pdf (Page 2)"
    canvas = card.boxes_panel.canvases[0]
    image = canvas.grab().toImage()
    rect = canvas.box_rects()[0]
    assert pixel(image, rect.left(), rect.center().y()) == pytest.approx(color_for(0), abs=40)
    assert page_shown(canvas) == 2
    close(window, store)


def test_a_region_dragged_on_a_pdf_page_in_the_large_view_is_rendered_again(qtbot, tmp_path):
    from app.core.grounding.pairing import question_images
    from app.core.media.parts import MediaTarget

    pdf = pdf_with_pages(tmp_path / "report.pdf", text_on=(3,))
    page = question_images([Attachment(pdf)], MediaTarget()).images[2]
    viewer = BoxViewer(page, [])
    qtbot.addWidget(viewer)
    viewer.resize(900, 900)
    viewer.show()
    assert viewer.windowTitle() == "report.pdf (Page 3)" and viewer.canvas.source_size == page.size
    qtbot.waitUntil(lambda: viewer.canvas.width() > 100)
    canvas = viewer.canvas
    start, end = (
        QPointF(canvas.width() * 0.1, canvas.height() * 0.38),
        QPointF(canvas.width() * 0.9, canvas.height() * 0.62),
    )
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=start.toPoint())
    qtbot.mouseMove(canvas, pos=QPoint(int(start.x()) + 20, int(start.y()) + 20))
    qtbot.mouseMove(canvas, pos=end.toPoint())
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=end.toPoint())
    region = canvas.selection
    assert region is not None
    with qtbot.waitSignal(viewer.region_cropped) as cropped:
        qtbot.mouseClick(viewer.ask, Qt.MouseButton.LeftButton)
    with Image.open(cropped.args[0]) as crop:
        assert crop.width > 1.5 * region.width  # from the page itself, not the pixels that were sent
        assert abs(crop.width / crop.height - region.width / region.height) < 0.05
        assert crop.convert("RGB").getpixel((2, 2)) == pytest.approx(PAGE_COLOURS[2], abs=10)


def test_a_box_group_longer_than_what_is_kept_is_drawn_and_said_so(qtbot, transcript, openai_server, tmp_path):
    from app.core.reasoning import MAX_BOX_GROUP_CHARS

    shot = screenshot(tmp_path / "shot.png", (800, 600))
    card = question_and_answer(transcript, [shot])
    said: list[str] = []
    card.copied.connect(said.append)
    quads = ", ".join(f"[{i % 900}, {i % 700}, {i % 900 + 9}, {i % 700 + 9}]" for i in range(MAX_BOX_GROUP_CHARS // 10))
    answer = "All of them: <|begin_of_box|>[" + quads + "]<|end_of_box|>"
    openai_server.enqueue(dialect_stream("vllm", "", answer, piece=65536))
    stream_into(transcript, card, openai_server, Conversation().ask("?", [Attachment(shot)]))
    qtbot.waitUntil(lambda: len(card.boxes_panel.canvases) == 1, timeout=20000)
    (canvas,) = card.boxes_panel.canvases
    assert 10_000 < len(canvas.boxes) < MAX_BOX_GROUP_CHARS // 10
    assert said and said[-1].startswith("The model listed more boxes than are kept of one group; the first")
