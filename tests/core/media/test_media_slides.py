"""Slide decks: the python-pptx renderer (always) and the LibreOffice path (when soffice is installed)."""

from __future__ import annotations

import io
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pptx import Presentation
from pptx.chart.data import CategoryChartData
from pptx.dml.color import RGBColor
from pptx.enum.chart import XL_CHART_TYPE
from pptx.enum.shapes import MSO_SHAPE
from pptx.util import Inches, Pt

from app.core.conversation import Attachment
from app.core.media import ImagePart, MediaError, MediaTarget, TextPart, prepare
from app.core.media import slides as slides_module
from app.core.media.libreoffice import ConversionCancelled, converted_pdf, find_soffice
from app.core.media.parts import MediaReport
from tests.support.paths import CORPUS

needs_libreoffice = pytest.mark.skipif(find_soffice() is None, reason="LibreOffice (soffice) is not installed")


def corpus(name: str) -> Path:
    path = CORPUS / name
    if not path.exists():
        pytest.skip(f"corpus file {name} not available")
    return path


def build_deck(path: Path, slides: int = 3) -> Path:
    """A deck with a title slide, filled shapes and a picture, a table, a bar chart and a pie chart, and notes."""
    prs = Presentation()
    prs.slide_width, prs.slide_height = Inches(13.333), Inches(7.5)
    title = prs.slides.add_slide(prs.slide_layouts[0])
    title.shapes.title.text = "Quarterly Review"
    title.placeholders[1].text = "Prepared for the board"
    title.notes_slide.notes_text_frame.text = "Welcome everyone; remember the budget question."
    if slides >= 2:
        s = prs.slides.add_slide(prs.slide_layouts[6])
        box = s.shapes.add_shape(MSO_SHAPE.RECTANGLE, Inches(0.5), Inches(0.5), Inches(4), Inches(3))
        box.fill.solid()
        box.fill.fore_color.rgb = RGBColor(0xFF, 0x00, 0x00)
        box.line.fill.background()
        oval = s.shapes.add_shape(MSO_SHAPE.OVAL, Inches(5), Inches(0.5), Inches(3), Inches(3))
        oval.fill.solid()
        oval.fill.fore_color.rgb = RGBColor(0x00, 0x00, 0xFF)
        tb = s.shapes.add_textbox(Inches(0.5), Inches(4), Inches(8), Inches(1))
        tb.text_frame.text = "Revenue grew 12% in Q3"
        tb.text_frame.paragraphs[0].runs[0].font.size = Pt(40)
        buf = io.BytesIO()
        Image.new("RGB", (64, 64), (0, 160, 0)).save(buf, "PNG")
        buf.seek(0)
        s.shapes.add_picture(buf, Inches(9), Inches(0.5), Inches(3), Inches(3))
        rows, cols = 3, 3
        table = s.shapes.add_table(rows, cols, Inches(0.5), Inches(5.2), Inches(8), Inches(1.5)).table
        for r in range(rows):
            for c in range(cols):
                table.cell(r, c).text = f"R{r}C{c}"
    if slides >= 3:
        s = prs.slides.add_slide(prs.slide_layouts[6])
        data = CategoryChartData()
        data.categories = ["East", "West", "North"]
        data.add_series("2024", (5.0, 9.0, 3.0))
        s.shapes.add_chart(XL_CHART_TYPE.COLUMN_CLUSTERED, Inches(0.5), Inches(0.5), Inches(6), Inches(6), data)
        pie = CategoryChartData()
        pie.categories = ["A", "B"]
        pie.add_series("Share", (75.0, 25.0))
        s.shapes.add_chart(XL_CHART_TYPE.PIE, Inches(7), Inches(0.5), Inches(6), Inches(6), pie)
    for i in range(3, slides):
        s = prs.slides.add_slide(prs.slide_layouts[1])
        s.shapes.title.text = f"Topic {i + 1}"
        s.placeholders[1].text = f"Point one about topic {i + 1}\nPoint two"
    prs.save(path)
    return path


def render(path: Path, renderer: str, pages: str | None = None, target: MediaTarget | None = None) -> MediaReport:
    report = MediaReport(str(path), "slides")
    slides_module.prepare(Attachment(path, pages=pages), target or MediaTarget(), report, renderer=renderer)
    return report


def images(report: MediaReport) -> list[ImagePart]:
    return [p for p in report.parts if isinstance(p, ImagePart)]


def decoded(part: ImagePart) -> Image.Image:
    return Image.open(io.BytesIO(part.data)).convert("RGB")


def colored(img: Image.Image) -> np.ndarray:
    """Mask of saturated pixels (chart marks, fills), leaving out black, white and greys."""
    rgb = np.asarray(img.convert("RGB"), np.int16)
    return (rgb.max(axis=2) - rgb.min(axis=2)) > 60


def near(pixel: tuple[int, ...], expected: tuple[int, int, int], tolerance: int = 40) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, expected, strict=False))


def test_python_pptx_draws_every_slide_with_labels_and_notes(tmp_path):
    report = render(build_deck(tmp_path / "deck.pptx"), "python-pptx")
    assert report.renderer == "python-pptx"
    assert report.pages_total == 3 and report.pages_used == [1, 2, 3]
    parts = images(report)
    assert [p.label for p in parts] == ["Slide 1", "Slide 2", "Slide 3"]
    for part in parts:
        assert abs(part.width / part.height - 13.333 / 7.5) < 0.05
        assert part.width % 28 == 0 and part.height % 28 == 0
    notes = [p.text for p in report.parts if isinstance(p, TextPart)]
    assert notes == ["Speaker notes for slide 1:\nWelcome everyone; remember the budget question."]
    assert report.parts[1] == TextPart(notes[0])  # notes follow their slide
    assert report.warnings == []


def test_python_pptx_draws_shapes_pictures_and_text_where_they_are(tmp_path):
    part = images(render(build_deck(tmp_path / "deck.pptx"), "python-pptx", pages="2"))[0]
    img = decoded(part)
    sx, sy = img.width / 13.333, img.height / 7.5  # pixels per inch
    assert near(img.getpixel((int(2.5 * sx), int(2 * sy))), (255, 0, 0))  # red rectangle
    assert near(img.getpixel((int(6.5 * sx), int(2 * sy))), (0, 0, 255))  # blue oval centre
    assert near(img.getpixel((int(5.1 * sx), int(0.6 * sy))), (255, 255, 255))  # outside the oval's curve
    assert near(img.getpixel((int(10.5 * sx), int(2 * sy))), (0, 160, 0))  # the picture
    # The 40 pt text: dark pixels in its line, none below it.
    text_band = np.asarray(img.crop((int(0.6 * sx), int(4.05 * sy), int(8 * sx), int(4.75 * sy))).convert("L"))
    assert text_band.min() < 100
    # The table: a styled header row in the theme's accent colour.
    header = img.getpixel((int(1 * sx), int(5.3 * sy)))
    assert header[2] > header[0] and header != (255, 255, 255)


def test_python_pptx_draws_charts_from_their_data(tmp_path):
    img = decoded(images(render(build_deck(tmp_path / "deck.pptx"), "python-pptx", pages="3"))[0])
    sx, sy = img.width / 13.333, img.height / 7.5
    chart = img.crop((int(0.5 * sx), int(0.5 * sy), int(6.5 * sx), int(6.5 * sy)))
    marks = colored(chart)
    assert marks.mean() > 0.05  # bars are drawn
    # The tallest bar (West, 9) reaches higher than East (5), which reaches higher than North (3).
    tops = []
    for k in range(3):
        rows = np.flatnonzero(marks[:, marks.shape[1] * k // 3 : marks.shape[1] * (k + 1) // 3].any(axis=1))
        tops.append(rows.min() if rows.size else marks.shape[0])
    assert tops[1] < tops[0] < tops[2]
    pie = np.asarray(img.crop((int(7 * sx), int(0.5 * sy), int(13 * sx), int(6.5 * sy))), np.int16)
    slices = {tuple(v // 40) for v in pie[colored(Image.fromarray(pie.astype(np.uint8)))]}
    assert len(slices) >= 2  # two slices, two colours


def test_slide_selection_and_budget(tmp_path):
    path = build_deck(tmp_path / "long.pptx", slides=20)
    chosen = render(path, "python-pptx", pages="4, 2")
    assert chosen.pages_used == [4, 2] and [p.page for p in images(chosen)] == [4, 2]
    report = render(path, "python-pptx", target=MediaTarget(image_tokens_budget=3000))
    assert report.pages_used is not None and 1 <= len(report.pages_used) < 20
    assert sum(p.tokens for p in images(report)) <= 3000
    assert any("--pages" in w and "slides" in w for w in report.warnings)


def test_corpus_charts_render_without_notes(tmp_path):
    report = render(corpus("cht-chart-type.pptx"), "python-pptx")
    assert report.pages_used == list(range(1, 9))
    assert report.warnings == []
    for part in images(report):
        img = decoded(part)
        assert colored(img).sum() > 2000, part.label  # every slide shows coloured chart marks


def test_corpus_fills_render(tmp_path):
    report = render(corpus("dml-fill.pptx"), "python-pptx")
    img = decoded(images(report)[0])
    sx = img.width / 9144000
    # The solid RGB fill (2CB731) of the third shape, at its centre.
    cx, cy = int((3885002 + 1368245 / 2) * sx), int((457200 + 914400 * 0.15) * sx)
    assert near(img.getpixel((cx, cy)), (0x2C, 0xB7, 0x31))


def test_legacy_formats_need_libreoffice(tmp_path):
    path = tmp_path / "old.ppt"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600)
    with pytest.raises(MediaError, match=r"LibreOffice.*apt install libreoffice-impress"):
        render(path, "python-pptx")


def test_unknown_renderer_is_a_programming_error(tmp_path):
    with pytest.raises(ValueError, match="unknown slide renderer"):
        render(build_deck(tmp_path / "d.pptx", 1), "keynote")


def test_missing_libreoffice_falls_back_to_python_pptx(tmp_path, monkeypatch):
    monkeypatch.setenv("GLMV_SOFFICE", "")
    report = prepare(Attachment(build_deck(tmp_path / "d.pptx", 1)), MediaTarget())
    assert report.kind == "slides" and report.renderer == "python-pptx"


@needs_libreoffice
def test_libreoffice_renders_slides_through_pdf(tmp_path):
    report = render(build_deck(tmp_path / "deck.pptx"), "libreoffice")
    assert report.renderer == "libreoffice"
    assert report.pages_used == [1, 2, 3]
    parts = images(report)
    assert [p.label for p in parts] == ["Slide 1", "Slide 2", "Slide 3"]
    img = decoded(parts[1])
    sx, sy = img.width / 13.333, img.height / 7.5
    assert near(img.getpixel((int(2.5 * sx), int(2 * sy))), (255, 0, 0))
    assert any(isinstance(p, TextPart) and "budget question" in p.text for p in report.parts)


@needs_libreoffice
def test_libreoffice_is_the_default_when_installed(tmp_path):
    report = prepare(Attachment(build_deck(tmp_path / "d.pptx", 1)), MediaTarget())
    assert report.renderer == "libreoffice"


@needs_libreoffice
def test_libreoffice_slide_selection(tmp_path):
    report = render(build_deck(tmp_path / "deck.pptx"), "libreoffice", pages="3")
    assert report.pages_used == [3] and [p.label for p in images(report)] == ["Slide 3"]
    assert [p.page for p in images(report)] == [3]


@needs_libreoffice
def test_libreoffice_conversion_is_killed_on_cancel(tmp_path):
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(ConversionCancelled), converted_pdf(build_deck(tmp_path / "d.pptx", 1), cancel=cancel):
        pass


@needs_libreoffice
def test_libreoffice_time_limit(tmp_path):
    with (
        pytest.raises(Exception, match="did not finish within"),
        converted_pdf(build_deck(tmp_path / "d.pptx", 1), timeout=0.05),
    ):
        pass


@needs_libreoffice
def test_libreoffice_corpus_decks(tmp_path):
    for name, count in (("cht-chart-type.pptx", 8), ("dml-fill.pptx", 2)):
        report = render(corpus(name), "libreoffice")
        assert report.pages_used == list(range(1, count + 1))


def test_soffice_is_found_on_path_when_installed():
    assert (find_soffice() is not None) == bool(shutil.which("soffice") or shutil.which("libreoffice"))
