"""Bad input, each with a clear message and no crash; other attachments in the same message are unaffected."""

from __future__ import annotations

import io
import struct
import time
import zipfile
import zlib
from pathlib import Path

import cv2
import numpy as np
import pymupdf
import pytest
from PIL import Image

from app.core.conversation import Attachment
from app.core.media import ImagePart, MediaError, MediaReport, MediaTarget, TextPart, VideoPart, prepare
from app.core.media import slides as slides_module
from app.core.media.libreoffice import find_soffice
from tests.support.documents import deck, hand_made_pdf, minimal_docx

needs_libreoffice = pytest.mark.skipif(find_soffice() is None, reason="LibreOffice (soffice) is not installed")


def many_pages_pdf(path: Path, count: int) -> Path:
    """A valid PDF of ``count`` pages sharing one content stream, written directly (MuPDF's new_page takes
    about a millisecond a page, which is ten seconds for 10,000)."""
    content = (
        b"BT /F1 12 Tf 72 700 Td (A page of a very long document, with enough words to count as text.) Tj "
        b"0 -16 Td (A second line of the same page, which the text layer carries along.) Tj ET"
    )
    kids = b" ".join(b"%d 0 R" % (5 + i) for i in range(count))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [" + kids + b"] /Count %d /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 4 0 R >> >> >>" % count,
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        *[b"<< /Type /Page /Parent 2 0 R /Contents 3 0 R >>"] * count,
    ]
    return hand_made_pdf(path, *objects)


def solid_png(path: Path, width: int, height: int) -> Path:
    """A huge single-colour PNG written row by row, so making it never holds the pixels in memory."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    packer = zlib.compressobj(9)
    row = b"\x00" + b"\x00" * width  # filter byte + greyscale zeros
    body = bytearray()
    for _ in range(height):
        body += packer.compress(row)
    body += packer.flush()
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.write(chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)))
        f.write(chunk(b"IDAT", bytes(body)))
        f.write(chunk(b"IEND", b""))
    return path


@pytest.fixture(scope="session")
def ten_thousand_pages(tmp_path_factory) -> Path:
    return many_pages_pdf(tmp_path_factory.mktemp("big") / "10000.pdf", 10_000)


@pytest.fixture(scope="session")
def giant_image(tmp_path_factory) -> Path:
    return solid_png(tmp_path_factory.mktemp("giant") / "giant.png", 20_000, 20_000)


def small_pdf(path: Path, pages: int = 2) -> Path:
    doc = pymupdf.open()
    for i in range(pages):
        doc.new_page().insert_text((72, 72), f"page {i + 1}", fontsize=14)
    doc.save(path)
    return path


def small_png(path: Path) -> Path:
    Image.new("RGB", (200, 100), (10, 120, 200)).save(path)
    return path


def small_video(path: Path) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10, (64, 48))
    for _ in range(10):
        writer.write(np.full((48, 64, 3), 128, np.uint8))
    writer.release()
    return path


def test_corrupt_pdf(tmp_path):
    path = tmp_path / "corrupt.pdf"
    path.write_bytes(b"%PDF-1.4\n" + b"\x8f\x00garbage" * 500)
    with pytest.raises(MediaError, match=r"corrupt\.pdf: the PDF is (damaged|has no pages)"):
        prepare(Attachment(path), MediaTarget())


def test_encrypted_pdf_without_password(tmp_path):
    path = tmp_path / "locked.pdf"
    doc = pymupdf.open()
    doc.new_page()
    doc.save(path, encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw="pw", owner_pw="owner")
    with pytest.raises(MediaError, match=r"locked\.pdf: the PDF is password-protected"):
        prepare(Attachment(path), MediaTarget())


@pytest.mark.parametrize("name", ["empty.pdf", "empty.png", "empty.pptx", "empty.mp4", "empty.txt", "empty.docx"])
def test_zero_byte_files(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"")
    with pytest.raises(MediaError, match=r"the file is empty \(0 bytes\)"):
        prepare(Attachment(path), MediaTarget())


def test_content_not_matching_the_extension_is_read_by_content(tmp_path):
    png_named_pdf = small_png(tmp_path / "picture.png").rename(tmp_path / "report.pdf")
    report = prepare(Attachment(png_named_pdf), MediaTarget())
    assert report.kind == "image" and isinstance(report.parts[0], ImagePart)
    assert any("name says pdf" in w for w in report.warnings)
    pdf_named_jpg = small_pdf(tmp_path / "doc.pdf").rename(tmp_path / "photo.jpg")
    report = prepare(Attachment(pdf_named_jpg), MediaTarget())
    assert report.kind == "pdf" and report.pages_used == [1, 2]
    assert any("content is pdf" in w for w in report.warnings)


def test_binary_junk_with_a_pdf_name(tmp_path):
    path = tmp_path / "junk.pdf"
    path.write_bytes(bytes(range(256)) * 20)
    with pytest.raises(MediaError, match=r"junk\.pdf: the PDF is damaged"):
        prepare(Attachment(path), MediaTarget())


def test_ten_thousand_page_pdf_renders_only_what_fits(ten_thousand_pages):
    start = time.perf_counter()
    report = prepare(Attachment(ten_thousand_pages), MediaTarget())
    elapsed = time.perf_counter() - start
    assert report.pages_total == 10_000
    assert report.pages_used is not None and 10 < len(report.pages_used) < 200
    assert len(report.parts) == len(report.pages_used)
    assert any("10000 pages do not fit" in w for w in report.warnings)
    assert elapsed < 60  # only the sent pages are rendered (about 1 s here); all 10,000 would take minutes


def test_ten_thousand_page_pdf_with_a_page_choice(ten_thousand_pages):
    report = prepare(Attachment(ten_thousand_pages, pages="9999-"), MediaTarget())
    assert report.pages_used == [9999, 10000]
    assert [p.label for p in report.parts] == ["Page 9999", "Page 10000"]


def test_ten_thousand_page_pdf_text_layer_stops_at_the_budget(ten_thousand_pages):
    report = prepare(Attachment(ten_thousand_pages, text_layer=True), MediaTarget(context_tokens=16_000))
    assert report.pages_used is not None and len(report.pages_used) < 10_000
    assert any("too long for one message" in w for w in report.warnings)


def test_twenty_thousand_pixel_square_image(giant_image):
    assert giant_image.stat().st_size < 2_000_000  # small on disk, 400 megapixels decoded
    with pytest.raises(MediaError, match=r"giant\.png: the image is too large to open safely"):
        prepare(Attachment(giant_image), MediaTarget())


def test_truncated_jpeg(tmp_path):
    buf = io.BytesIO()
    rng = np.random.default_rng(1)
    Image.fromarray(rng.integers(0, 255, (400, 600, 3), np.uint8)).save(buf, "JPEG", quality=90)
    path = tmp_path / "cut.jpg"
    path.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    with pytest.raises(MediaError, match=r"cut\.jpg: the image is corrupt or truncated"):
        prepare(Attachment(path), MediaTarget())


def test_pptx_that_is_not_a_zip(tmp_path):
    path = tmp_path / "deck.pptx"
    path.write_bytes(b"\x00\x01\x02\x03" * 1000)
    with pytest.raises(MediaError, match=r"deck\.pptx: not a PowerPoint file"):
        prepare(Attachment(path), MediaTarget())
    # Control characters without NULs pass for text at first sight; the text reader then refuses them.
    path.write_bytes(b"\x01\x02\x03\x04" * 1000)
    with pytest.raises(MediaError, match=r"deck\.pptx: the name says \.pptx .* damaged or mis-named"):
        prepare(Attachment(path), MediaTarget())
    report = MediaReport(str(path), "slides")
    with pytest.raises(MediaError, match="not a PowerPoint file"):
        slides_module.prepare(Attachment(path), MediaTarget(), report, renderer="python-pptx")


def test_zip_that_is_not_a_deck(tmp_path):
    path = tmp_path / "fake.pptx"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("hello.txt", "not a presentation")
    report = MediaReport(str(path), "slides")
    with pytest.raises(MediaError, match=r"fake\.pptx: .*(python-pptx can read|damaged)"):
        slides_module.prepare(Attachment(path), MediaTarget(), report, renderer="python-pptx")


@pytest.mark.parametrize("renderer", ["python-pptx", pytest.param("libreoffice", marks=needs_libreoffice)])
def test_deck_with_no_slides(tmp_path, renderer):
    path = deck(tmp_path / "empty_deck.pptx", slides=0)
    report = MediaReport(str(path), "slides")
    with pytest.raises(MediaError, match=r"empty_deck\.pptx: the presentation has no slides"):
        slides_module.prepare(Attachment(path), MediaTarget(), report, renderer=renderer)


def test_video_with_no_decodable_frames(tmp_path):
    path = tmp_path / "broken.mp4"
    path.write_bytes(b"\x00\x00\x00\x18ftypisom" + b"\x00\x01" * 4000)
    with pytest.raises(MediaError, match=r"broken\.mp4: no video frame could be decoded"):
        prepare(Attachment(path), MediaTarget())


@pytest.mark.parametrize("maker", [small_pdf, small_png, small_video, deck])
def test_file_deleted_between_attaching_and_sending(tmp_path, maker):
    suffix = {"small_pdf": ".pdf", "small_png": ".png", "small_video": ".mp4", "deck": ".pptx"}[maker.__name__]
    path = maker(tmp_path / f"file{suffix}")
    attachment = Attachment(path)
    path.unlink()
    with pytest.raises(MediaError, match=rf"file\{suffix}: no such file"):
        prepare(attachment, MediaTarget())


def test_document_without_libreoffice_names_the_package(tmp_path, monkeypatch):
    monkeypatch.setenv("GLMV_SOFFICE", "")
    path = minimal_docx(tmp_path / "letter.docx")
    with pytest.raises(MediaError, match=r"letter\.docx: .*LibreOffice.*apt install libreoffice-writer"):
        prepare(Attachment(path), MediaTarget())


@needs_libreoffice
def test_document_through_libreoffice(tmp_path):
    report = prepare(Attachment(minimal_docx(tmp_path / "letter.docx")), MediaTarget())
    assert report.kind == "document" and report.renderer == "libreoffice"
    assert report.pages_used == [1] and [p.label for p in report.parts] == ["Page 1"]
    text = prepare(Attachment(tmp_path / "letter.docx", text_layer=True), MediaTarget())
    assert "test letter" in "".join(p.text for p in text.parts if isinstance(p, TextPart))


def test_mixed_attachments_in_order_and_one_bad_one_does_not_spoil_the_rest(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("remember the milk")
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4\n" + b"\x00junk" * 100)
    attachments = [
        Attachment(small_pdf(tmp_path / "a.pdf")),
        Attachment(small_png(tmp_path / "b.png")),
        Attachment(broken),
        Attachment(notes),
        Attachment(deck(tmp_path / "c.pptx", 2)),
        Attachment(small_video(tmp_path / "d.mp4")),
    ]
    results: list[MediaReport | str] = []
    for attachment in attachments:
        try:
            results.append(prepare(attachment, MediaTarget(accepts_video=True)))
        except MediaError as e:
            results.append(str(e))
    kinds = [r.kind if isinstance(r, MediaReport) else "error" for r in results]
    assert kinds == ["pdf", "image", "error", "text", "slides", "video"]
    assert "broken.pdf" in results[2]
    assert isinstance(results[0], MediaReport) and results[0].pages_used == [1, 2]
    assert isinstance(results[3], MediaReport) and "remember the milk" in results[3].parts[0].text
    assert isinstance(results[4], MediaReport) and results[4].pages_used == [1, 2]
    assert isinstance(results[5], MediaReport) and isinstance(results[5].parts[0], VideoPart)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _tiff_ifd(tags: list[tuple[int, int, int, int]], next_offset: int) -> bytes:
    return (
        struct.pack("<H", len(tags)) + b"".join(struct.pack("<HHII", *t) for t in tags) + struct.pack("<I", next_offset)
    )


def _tiff_with_a_second_frame_without_dimensions() -> bytes:
    """A 1x1 grey TIFF whose second IFD has no width or height: Pillow raises TypeError counting its frames."""
    tags = [(256, 3, 1, 1), (257, 3, 1, 1), (258, 3, 1, 8), (259, 3, 1, 1), (262, 3, 1, 1), (273, 4, 1, 8)]
    tags += [(277, 3, 1, 1), (278, 3, 1, 1), (279, 4, 1, 1)]
    first_at = 10
    second_at = first_at + len(_tiff_ifd(tags, 0))
    return (
        b"II*\x00"
        + struct.pack("<I", first_at)
        + b"\x80\x00"
        + _tiff_ifd(tags, second_at)
        + _tiff_ifd([(259, 3, 1, 1)], 0)
    )


# As in Pillow's own Tests/images (crash-2020-10-test.tif, png_decompression_dos.png, seek_too_large.tif), which
# gave tracebacks through glmv inspect: errors Pillow raises as TypeError and ValueError while opening.
PILLOW_PARSE_ERRORS = {
    "frame-without-dimensions.tif": _tiff_with_a_second_frame_without_dimensions(),
    "text-chunk-bomb.png": b"\x89PNG\r\n\x1a\n"
    + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
    + _png_chunk(b"zTXt", b"Comment\x00\x00" + zlib.compress(b"\0" * 2_000_000, 9))
    + _png_chunk(b"IDAT", zlib.compress(b"\x00\x00"))
    + _png_chunk(b"IEND", b""),
    "frame-past-the-end.tif": b"II+\x00\x08\x00\x00\x00\xff\xff\xff\xff\xff\xff\xff\x80",
}


@pytest.mark.parametrize("name", sorted(PILLOW_PARSE_ERRORS))
def test_images_pillow_refuses_with_type_or_value_errors_are_named_corrupt(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(PILLOW_PARSE_ERRORS[name])
    with pytest.raises(MediaError, match=f"^{name}: the image is corrupt or truncated"):
        prepare(Attachment(path), MediaTarget())
