"""PDF pages to model input: budgeted rendering, page choice, text layer, passwords, repair, the corpus."""

from __future__ import annotations

import io
from pathlib import Path

import pymupdf
import pytest
from PIL import Image

from app.core.conversation import Attachment
from app.core.media import ImagePart, MediaError, MediaTarget, TextPart, prepare
from app.core.media.images import image_tokens
from app.core.media.pages import PageSpecError, format_pages, parse_pages, plan_pages
from tests.support.paths import CORPUS


def corpus(name: str) -> Path:
    path = CORPUS / name
    if not path.exists():
        pytest.skip(f"corpus file {name} not available")
    return path


def make_pdf(path: Path, pages: int, *, size: tuple[float, float] = (612, 792), text: str = "Page body") -> Path:
    doc = pymupdf.open()
    for i in range(pages):
        page = doc.new_page(width=size[0], height=size[1])
        page.insert_textbox(pymupdf.Rect(72, 60, size[0] - 72, 190), f"{text} {i + 1}", fontsize=9)
        page.draw_rect(pymupdf.Rect(100, 200, 300, 400), color=(1, 0, 0), fill=(1, 0, 0))
    doc.save(path)
    doc.close()
    return path


def images(report) -> list[ImagePart]:
    return [p for p in report.parts if isinstance(p, ImagePart)]


def test_pages_are_rendered_in_order_with_labels_at_the_processor_size(tmp_path):
    report = prepare(Attachment(make_pdf(tmp_path / "three.pdf", 3)), MediaTarget())
    assert report.kind == "pdf"
    assert report.renderer == "pymupdf"
    assert report.pages_total == 3
    assert report.pages_used == [1, 2, 3]
    parts = images(report)
    assert [p.label for p in parts] == ["Page 1", "Page 2", "Page 3"]
    for part in parts:
        assert part.width % 28 == 0 and part.height % 28 == 0
        assert part.tokens == image_tokens(part.width, part.height, MediaTarget())
        # The page keeps its aspect ratio (Letter: 11/8.5) within the rounding to 28 pixels.
        assert abs(part.height / part.width - 792 / 612) < 0.05
        assert part.width >= 612 * 80 / 72 - 28  # at least the legible resolution
    assert report.warnings == []


def test_rendered_pixels_are_the_page_content(tmp_path):
    part = images(prepare(Attachment(make_pdf(tmp_path / "red.pdf", 1)), MediaTarget()))[0]
    img = Image.open(io.BytesIO(part.data)).convert("RGB")
    sx, sy = img.width / 612, img.height / 792
    assert img.getpixel((int(200 * sx), int(300 * sy))) == (255, 0, 0)
    assert img.getpixel((int(500 * sx), int(700 * sy))) == (255, 255, 255)


def test_page_selection_is_honoured_in_the_given_order(tmp_path):
    path = make_pdf(tmp_path / "ten.pdf", 10)
    report = prepare(Attachment(path, pages="9, 2-3"), MediaTarget())
    assert report.pages_used == [9, 2, 3]
    assert [p.label for p in images(report)] == ["Page 9", "Page 2", "Page 3"]
    # The number is a field of each image, not only words in its label.
    assert [p.page for p in images(report)] == [9, 2, 3]


def test_selection_past_the_end_is_a_clear_error(tmp_path):
    path = make_pdf(tmp_path / "two.pdf", 2)
    with pytest.raises(MediaError, match=r"two\.pdf: .*names no page.*2 page"):
        prepare(Attachment(path, pages="5-7"), MediaTarget())
    with pytest.raises(MediaError, match="cannot read page selection"):
        prepare(Attachment(path, pages="one"), MediaTarget())


def test_a_document_over_the_budget_sends_the_first_pages_and_names_them(tmp_path):
    path = make_pdf(tmp_path / "long.pdf", 40)
    target = MediaTarget(image_tokens_budget=8000)
    report = prepare(Attachment(path), target)
    sent = report.pages_used
    assert sent is not None and 1 < len(sent) < 40
    assert sent == list(range(1, len(sent) + 1))
    assert sum(p.tokens for p in images(report)) <= 8000
    (warning,) = report.warnings
    assert f"pages 1-{len(sent)} are sent, {len(sent) + 1}-40 are not" in warning
    assert "--pages" in warning and "text layer" in warning


def test_few_pages_get_more_pixels_than_many(tmp_path):
    path = make_pdf(tmp_path / "doc.pdf", 30)
    one = images(prepare(Attachment(path, pages="1"), MediaTarget()))[0]
    many = images(prepare(Attachment(path), MediaTarget(image_tokens_budget=30 * 1000)))[0]
    assert one.width > many.width
    assert one.width <= 612 * 150 / 72 + 28  # capped: more pixels would not show more


def test_text_layer_goes_as_text_and_lets_more_pages_fit(tmp_path):
    path = make_pdf(tmp_path / "text.pdf", 40, text="The quick brown fox jumps over the lazy dog. " * 4)
    target = MediaTarget(image_tokens_budget=8000)
    report = prepare(Attachment(path, text_layer=True), target)
    assert report.pages_used == list(range(1, 41))
    assert images(report) == []
    (text,) = [p.text for p in report.parts if isinstance(p, TextPart)]
    assert "--- text.pdf, page 1 of 40 ---" in text and "--- text.pdf, page 40 of 40 ---" in text
    assert "lazy dog" in text


def test_text_layer_sends_pages_without_text_as_images(tmp_path):
    path = tmp_path / "mixed.pdf"
    doc = pymupdf.open()
    doc.new_page().insert_text((72, 72), "A page with words on it. " * 10, fontsize=9)
    doc.new_page().draw_rect(pymupdf.Rect(50, 50, 300, 300), fill=(0, 0, 1))
    doc.save(path)
    report = prepare(Attachment(path, text_layer=True), MediaTarget())
    assert report.pages_used == [1, 2]
    assert [p.label for p in images(report)] == ["Page 2"]
    assert any("no text layer" in w for w in report.warnings)


def test_text_layer_over_the_context_keeps_the_first_pages_and_says_so(tmp_path):
    path = make_pdf(tmp_path / "book.pdf", 30, text="many words " * 60)
    report = prepare(Attachment(path, text_layer=True), MediaTarget(context_tokens=4000))
    assert report.pages_used and 1 < len(report.pages_used) < 30
    assert any("too long for one message" in w and "--pages" in w for w in report.warnings)
    assert report.tokens <= 4000


def encrypted_pdf(tmp_path: Path) -> Path:
    path = tmp_path / "secret.pdf"
    doc = pymupdf.open()
    doc.new_page().insert_text((72, 72), "secret content", fontsize=12)
    doc.save(path, encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw="s3cret", owner_pw="owner")
    return path


def test_encrypted_pdf_needs_its_password(tmp_path):
    path = encrypted_pdf(tmp_path)
    with pytest.raises(MediaError, match=r"password-protected.*--password"):
        prepare(Attachment(path), MediaTarget())
    with pytest.raises(MediaError, match="wrong password"):
        prepare(Attachment(path, password="guess"), MediaTarget())
    report = prepare(Attachment(path, password="s3cret"), MediaTarget())
    assert report.pages_used == [1]


def test_damaged_pdf_is_repaired_with_a_warning(tmp_path):
    good = make_pdf(tmp_path / "good.pdf", 2).read_bytes()
    # Cut the cross-reference table and trailer: MuPDF rebuilds them by scanning the objects.
    damaged = tmp_path / "damaged.pdf"
    damaged.write_bytes(good[: good.rindex(b"xref")])
    report = prepare(Attachment(damaged), MediaTarget())
    assert report.pages_used == [1, 2]
    assert any("repaired" in w for w in report.warnings)


def test_pdf_beyond_repair_is_a_clear_error(tmp_path):
    path = tmp_path / "broken.pdf"
    path.write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 40)
    with pytest.raises(MediaError, match=r"broken\.pdf: .*(damaged|no pages)"):
        prepare(Attachment(path), MediaTarget())


def test_parse_pages_forms():
    assert parse_pages("1-5, 9", 20) == [1, 2, 3, 4, 5, 9]
    assert parse_pages(" 3- ", 5) == [3, 4, 5]
    assert parse_pages("-2", 5) == [1, 2]
    assert parse_pages("1 3 5", 5) == [1, 3, 5]
    assert parse_pages("2 - 4; 2", 5) == [2, 3, 4]
    assert parse_pages("all", 3) == [1, 2, 3]
    assert parse_pages(None, 2) == [1, 2]
    notes: list[str] = []
    assert parse_pages("4-100, 200", 6, notes) == [4, 5, 6]
    assert notes == ["200: past the last page (6), skipped"]
    for bad in ("0", "5-3", "x", "1-2-3"):
        with pytest.raises(PageSpecError):
            parse_pages(bad, 10)


def test_format_pages_round_trips():
    assert format_pages([1, 2, 3, 5, 7, 8]) == "1-3, 5, 7-8"
    assert parse_pages(format_pages([1, 2, 3, 5, 7, 8]), 10) == [1, 2, 3, 5, 7, 8]


def test_plan_pages_prefers_legible_pages_over_thumbnails():
    plan = plan_pages(list(range(1, 101)), 10_000, min_tokens=500, max_tokens=2000)
    assert plan.pages == list(range(1, 21)) and plan.dropped == list(range(21, 101))
    assert plan.tokens_per_page == 500
    few = plan_pages([1, 2], 10_000, min_tokens=500, max_tokens=2000)
    assert few.pages == [1, 2] and few.tokens_per_page == 2000


def test_corpus_book_fits_the_budget_and_names_the_pages_sent():
    report = prepare(Attachment(corpus("mupdf_explored.pdf")), MediaTarget())
    assert report.pages_total == 285
    sent = report.pages_used
    assert sent is not None and 40 < len(sent) < 285
    assert sum(p.tokens for p in images(report)) <= 131072 // 2
    assert any(f"1-{len(sent)} are sent" in w for w in report.warnings)


def test_corpus_book_text_layer_carries_most_of_the_book():
    report = prepare(Attachment(corpus("mupdf_explored.pdf"), text_layer=True), MediaTarget())
    assert report.pages_used is not None and len(report.pages_used) > 150
    assert report.tokens < 131072 - 16384
    text = "".join(p.text for p in report.parts if isinstance(p, TextPart))
    assert "MuPDF" in text


def test_corpus_odd_page_size_keeps_its_shape():
    part = images(prepare(Attachment(corpus("github_sample.pdf")), MediaTarget()))[0]
    assert abs(part.height / part.width - 603 / 387) < 0.05


def test_corpus_bad_fonts_render_with_a_note():
    report = prepare(Attachment(corpus("has-bad-fonts.pdf")), MediaTarget())
    assert report.pages_used == [1]
    assert any("fonts are not embedded" in w for w in report.warnings)
