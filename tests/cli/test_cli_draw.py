"""`glmv ask --draw OUT.png` as a real subprocess against the loopback server: the drawn file's box pixels are
where the model's 0..1000 boxes put them on the ORIGINAL image, whatever size was sent."""

from __future__ import annotations

import base64
import io
import json

import numpy as np
import pytest
from PIL import Image

from app.core.events import Box
from app.core.grounding.drawing import color_for
from app.core.grounding.pixels import to_pixels
from tests.support.cli import glmv
from tests.support.documents import page_number_of, pdf_with_pages
from tests.support.openai_server import dialect_stream

ANSWER = "The button is at <|begin_of_box|>[[100, 200, 300, 400]]<|end_of_box|>."


def ask(server, *args: str):
    return glmv("ask", "--preset", "vllm", "--base-url", server.url, "--model", "m", *args, "where?")


def stroke_colour_around(pixels: np.ndarray, box: Box) -> list[tuple[int, ...]]:
    """The colours just outside the middle of each side of where ``box`` belongs."""
    h, w = pixels.shape[:2]
    p = to_pixels(box, w, h)
    mid_x, mid_y = (p.left + p.right) // 2, (p.top + p.bottom) // 2
    return [
        tuple(int(v) for v in pixels[y, x])
        for x, y in ((p.left - 2, mid_y), (p.right + 1, mid_y), (mid_x, p.top - 2), (mid_x, p.bottom + 1))
    ]


def test_draw_saves_the_original_image_with_the_box_where_it_belongs(openai_server, tmp_path):
    """A 3601x2801 screenshot is over the model's pixel budget, so a smaller copy is sent; the drawing is on
    the full-size original, the box at the same proportions."""
    source = tmp_path / "screen.png"
    Image.new("RGB", (3601, 2801), (250, 250, 250)).save(source, compress_level=1)
    out = tmp_path / "drawn.png"
    openai_server.enqueue(dialect_stream("vllm", "looking", ANSWER))
    result = ask(openai_server, "--attach", str(source), "--draw", str(out))
    assert result.returncode == 0, result.stderr
    assert f"drew 1 box on screen.png (image 1) to {out}" in result.stderr
    sent = openai_server.last.body["messages"][0]["content"][1]["image_url"]["url"]
    with Image.open(io.BytesIO(base64.b64decode(sent.split(",", 1)[1]))) as sent_image:
        assert sent_image.width < 3601  # the model saw a smaller copy
    with Image.open(out) as drawn:
        assert drawn.size == (3601, 2801)
        pixels = np.asarray(drawn.convert("RGB"))
    box = Box(100, 200, 300, 400)
    assert stroke_colour_around(pixels, box) == [color_for(0)] * 4
    p = to_pixels(box, 3601, 2801)
    assert (p.left, p.top, p.right, p.bottom) == (360, 560, 1080, 1120)
    assert tuple(pixels[(p.top + p.bottom) // 2, (p.left + p.right) // 2]) == (250, 250, 250)
    assert tuple(pixels[2000, 3000]) == (250, 250, 250)


def test_draw_with_two_images_and_two_groups_draws_the_first_and_says_what_it_left(openai_server, tmp_path):
    first, second = tmp_path / "a.png", tmp_path / "b.jpg"
    Image.new("RGB", (640, 480), (20, 20, 20)).save(first)
    Image.new("RGB", (300, 500), (255, 255, 255)).save(second)
    answer = (
        "Left: <|begin_of_box|>[[500, 500, 900, 900]]<|end_of_box|>, "
        "right: <|begin_of_box|>[[0, 0, 100, 100]]<|end_of_box|>."
    )
    openai_server.enqueue(dialect_stream("vllm", "", answer))
    out = tmp_path / "out.png"
    result = ask(openai_server, "--attach", str(first), "--attach", str(second), "--draw", str(out), "--json")
    assert result.returncode == 0, result.stderr
    assert [json.loads(line)["type"] for line in result.stdout.splitlines()].count("boxes") == 2
    assert "drew 1 box on a.png (image 1)" in result.stderr and "boxes for image 2 were not drawn" in result.stderr
    pixels = np.asarray(Image.open(out).convert("RGB"))
    assert pixels.shape[:2] == (480, 640)
    assert stroke_colour_around(pixels, Box(500, 500, 900, 900)) == [color_for(0)] * 4
    assert tuple(pixels[10, 10]) == (20, 20, 20)  # the second group's box is not on this image


def test_draw_on_a_pdf_page(openai_server, tmp_path):
    fitz = pytest.importorskip("fitz")
    pdf = tmp_path / "doc.pdf"
    document = fitz.open()
    document.new_page(width=595, height=842)
    document.save(pdf)
    openai_server.enqueue(dialect_stream("vllm", "", ANSWER))
    out = tmp_path / "page.png"
    result = ask(openai_server, "--attach", str(pdf), "--draw", str(out))
    assert result.returncode == 0, result.stderr
    assert "on doc.pdf" in result.stderr
    pixels = np.asarray(Image.open(out).convert("RGB"))
    h, w = pixels.shape[:2]
    assert abs(w / h - 595 / 842) < 0.02
    assert stroke_colour_around(pixels, Box(100, 200, 300, 400)) == [color_for(0)] * 4


def test_draw_without_an_image_is_refused_before_asking(openai_server, tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    result = ask(openai_server, "--attach", str(text), "--draw", str(tmp_path / "x.png"))
    assert result.returncode == 2
    assert "--draw needs an image to draw on" in result.stderr
    assert openai_server.chat_requests == []
    result = ask(openai_server, "--draw", str(tmp_path / "x.png"))
    assert result.returncode == 2 and "attach a screenshot" in result.stderr


def test_draw_into_a_missing_folder_is_refused_before_asking(openai_server, tmp_path):
    image = tmp_path / "a.png"
    Image.new("RGB", (10, 10)).save(image)
    result = ask(openai_server, "--attach", str(image), "--draw", str(tmp_path / "nope" / "x.png"))
    assert result.returncode == 2 and "does not exist" in result.stderr
    result = ask(openai_server, "--attach", str(image), "--draw", str(tmp_path))
    assert result.returncode == 2 and "is a folder" in result.stderr
    assert openai_server.chat_requests == []


def test_an_answer_without_boxes_draws_nothing_and_says_so(openai_server, tmp_path):
    image = tmp_path / "a.png"
    Image.new("RGB", (10, 10)).save(image)
    openai_server.enqueue(dialect_stream("vllm", "", "I see no button."))
    out = tmp_path / "x.png"
    result = ask(openai_server, "--attach", str(image), "--draw", str(out))
    assert result.returncode == 0
    assert result.stdout == "I see no button.\n"
    assert "no boxes; nothing was drawn" in result.stderr and not out.exists()


def test_draw_pairs_groups_with_pdf_pages_and_screenshots_as_the_model_saw_them(openai_server, tmp_path):
    """A 3-page PDF with pages 2-3 chosen, then a screenshot: the model saw Page 2, Page 3, the screenshot. The
    first group is drawn on Page 2 as it was rendered; --json says which image each group is on."""
    pdf = pdf_with_pages(tmp_path / "report.pdf")
    shot = tmp_path / "shot.png"
    Image.new("RGB", (800, 500), (250, 250, 250)).save(shot)
    answer = (
        "Chart: <|begin_of_box|>[[100, 200, 300, 400]]<|end_of_box|> "
        "table: <|begin_of_box|>[[500, 500, 600, 600]]<|end_of_box|>"
    )
    openai_server.enqueue(dialect_stream("vllm", "", answer))
    out = tmp_path / "out.png"
    args = ("--attach", str(pdf), "--attach", str(shot), "--pages", "2-3", "--draw", str(out), "--json")
    result = ask(openai_server, *args)
    assert result.returncode == 0, result.stderr
    assert [json.loads(line)["image"] for line in result.stdout.splitlines() if '"boxes"' in line] == [0, 1]
    assert f"drew 1 box on report.pdf (Page 2) (image 1) to {out}" in result.stderr
    assert "boxes for image 2 were not drawn" in result.stderr
    content = openai_server.last.body["messages"][0]["content"]
    labels = [p["text"].splitlines()[-1] for p in content if p["type"] == "text"][:2]
    assert labels == ["report.pdf, page 2 of 3", "report.pdf, page 3 of 3"]
    with Image.open(out) as drawn:
        assert page_number_of(drawn) == 2
        pixels = np.asarray(drawn.convert("RGB"))
    assert stroke_colour_around(pixels, Box(100, 200, 300, 400)) == [color_for(0)] * 4
