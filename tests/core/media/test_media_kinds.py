"""What a file is, from its content, and how ``app.core.media.prepare`` turns unusable input into clear errors."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from app.core.conversation import Attachment
from app.core.media import MediaError, MediaTarget, prepare
from app.core.media.kinds import detect_kind, sniff

TARGET = MediaTarget()


def picture(path: Path, fmt: str) -> Path:
    Image.new("RGB", (56, 56), (200, 30, 30)).save(path, fmt)
    return path


def zipped(path: Path, names: list[str]) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        for name in names:
            z.writestr(name, "<x/>")
    return path


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("a.png", "PNG"),
        ("a.jpg", "JPEG"),
        ("a.jpeg", "JPEG"),
        ("a.gif", "GIF"),
        ("a.bmp", "BMP"),
        ("a.tif", "TIFF"),
        ("a.webp", "WEBP"),
        ("a.avif", "AVIF"),
    ],
)
def test_images_are_recognised_by_content(tmp_path, name, fmt):
    assert detect_kind(picture(tmp_path / name, fmt)) == ("image", None)


def test_an_image_without_an_extension_is_still_an_image(tmp_path):
    assert detect_kind(picture(tmp_path / "clipboard", "PNG")) == ("image", None)


def test_pdf_is_recognised_by_content(tmp_path):
    path = tmp_path / "scan.pdf"
    Image.new("RGB", (100, 100), "white").save(path, "PDF")
    assert detect_kind(path) == ("pdf", None)


def test_pdf_behind_a_junk_preamble_is_still_a_pdf(tmp_path):
    path = tmp_path / "mail.pdf"
    Image.new("RGB", (100, 100), "white").save(path, "PDF")
    path.write_bytes(b"From: someone\r\n\r\n" + path.read_bytes())
    assert detect_kind(path) == ("pdf", None)


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00", "video"),
        (b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00", "video"),
        (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01", "video"),
        (b"RIFF\x00\x10\x00\x00AVI LIST", "video"),
        (b"RIFF\x00\x10\x00\x00WEBPVP8 ", "image"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", "image"),
        (b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1", "image"),
        (b"MM\x00*\x00\x00\x00\x08", "image"),
        (b"II*\x00\x08\x00\x00\x00", "image"),
        (b"RIFF\x00\x10\x00\x00WAVEfmt ", None),
        (b"BMW drivers were asked about their commute.\n" * 3, None),
    ],
)
def test_sniffing_headers(head, kind):
    assert sniff(head) == kind


def test_mpeg_transport_streams_are_video(tmp_path):
    packets = bytes([0x47, 0x40, 0x00, 0x10]) + bytes(184)
    ts = tmp_path / "recording.mts"
    ts.write_bytes(packets * 30)
    assert detect_kind(ts) == ("video", None)
    m2ts = tmp_path / "camcorder.m2ts"
    m2ts.write_bytes((b"\x00\x00\x00\x00" + packets) * 30)
    assert detect_kind(m2ts) == ("video", None)


def test_typescript_source_named_ts_stays_text(tmp_path):
    path = tmp_path / "main.ts"
    path.write_text("export const G = 1;\n" * 300)
    assert detect_kind(path) == ("text", None)


def test_text_starting_with_bm_is_text_not_a_bitmap(tmp_path):
    path = tmp_path / "cars.txt"
    path.write_text("BMW and Mini sales by quarter\n" * 20)
    assert detect_kind(path) == ("text", None)


@pytest.mark.parametrize(
    ("names", "suffix", "kind"),
    [
        (["[Content_Types].xml", "ppt/presentation.xml"], ".pptx", "slides"),
        (["[Content_Types].xml", "word/document.xml"], ".docx", "document"),
        (["mimetype", "content.xml"], ".odp", "slides"),
        (["mimetype", "content.xml"], ".odt", "document"),
        (["Index.zip", "Data/x.png"], ".key", "slides"),
    ],
)
def test_office_files_are_told_apart_by_their_zip_entries(tmp_path, names, suffix, kind):
    assert detect_kind(zipped(tmp_path / f"file{suffix}", names)) == (kind, None)


def test_a_presentation_renamed_to_zip_is_still_slides(tmp_path):
    path = zipped(tmp_path / "talk.zip", ["ppt/presentation.xml"])
    assert detect_kind(path) == ("slides", None)


def test_a_plain_zip_archive_is_unknown(tmp_path):
    assert detect_kind(zipped(tmp_path / "archive.zip", ["a.txt", "b.txt"])) == ("unknown", None)


def test_old_office_files_follow_their_extension(tmp_path):
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600)
    (tmp_path / "deck.ppt").write_bytes(ole)
    (tmp_path / "letter.doc").write_bytes(ole)
    (tmp_path / "sheet.xls").write_bytes(ole)
    assert detect_kind(tmp_path / "deck.ppt") == ("slides", None)
    assert detect_kind(tmp_path / "letter.doc") == ("document", None)
    assert detect_kind(tmp_path / "sheet.xls") == ("unknown", None)


@pytest.mark.parametrize(
    ("data", "name"),
    [
        ("héllo wörld ✓\n".encode(), "notes.txt"),
        ("héllo wörld\n".encode("cp1252"), "legacy.txt"),
        ("héllo wörld\n".encode("utf-16"), "windows.txt"),
        ("\ufeffa,b\n1,2\n".encode(), "table.csv"),
        (b"\x1b[31merror\x1b[0m at line 3\n", "build.log"),
        (b"plain words without an extension\n", "README"),
    ],
)
def test_text_in_any_common_encoding_is_text(tmp_path, data, name):
    path = tmp_path / name
    path.write_bytes(data)
    assert detect_kind(path) == ("text", None)


def test_utf8_cut_inside_a_character_at_the_sample_end_is_text(tmp_path):
    path = tmp_path / "long.md"
    path.write_bytes(b"a" * 4095 + "€ and more".encode())
    assert detect_kind(path) == ("text", None)


def test_binary_junk_is_unknown_or_flagged_when_named_like_something(tmp_path):
    junk = bytes(range(256)) * 8
    (tmp_path / "blob").write_bytes(junk)
    (tmp_path / "blob.png").write_bytes(junk)
    assert detect_kind(tmp_path / "blob") == ("unknown", None)
    kind, warning = detect_kind(tmp_path / "blob.png")
    assert kind == "image"
    assert warning == "the content does not look like image (.png)"


def test_a_text_file_named_png_is_text_with_a_warning(tmp_path):
    path = tmp_path / "diagram.png"
    path.write_text("graph TD; A-->B\n")
    assert detect_kind(path) == ("text", "the name says image (.png) but the content is text")


def test_a_png_named_pdf_is_an_image_with_a_warning(tmp_path):
    kind, warning = detect_kind(picture(tmp_path / "invoice.pdf", "PNG"))
    assert kind == "image"
    assert warning == "the name says pdf (.pdf) but the content is image"


def test_empty_file(tmp_path):
    (tmp_path / "nothing.txt").write_bytes(b"")
    assert detect_kind(tmp_path / "nothing.txt") == ("empty", None)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_a_named_pipe_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    with pytest.raises(OSError, match="not a regular file"):
        detect_kind(fifo)
    with pytest.raises(MediaError, match=r"pipe\.png: cannot be read \(not a regular file\)"):
        prepare(Attachment(fifo), TARGET)


# --- dispatch through app.core.media.prepare -------------------------------------------------------------------


def test_prepare_dispatches_an_image_and_keeps_the_kind_warning(tmp_path):
    path = picture(tmp_path / "photo.pdf", "PNG")
    report = prepare(Attachment(path), TARGET)
    assert report.kind == "image"
    assert report.path == str(path)
    assert report.warnings[0] == "the name says pdf (.pdf) but the content is image"
    assert len(report.parts) == 1


def test_prepare_text_named_png_goes_to_the_text_handler_with_a_warning(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("remember the milk\n")
    report = prepare(Attachment(path), TARGET)
    assert report.kind == "text"
    assert "the name says image (.png) but the content is text" in report.warnings


def test_prepare_missing_file(tmp_path):
    with pytest.raises(MediaError, match=r"gone\.png: no such file"):
        prepare(Attachment(tmp_path / "gone.png"), TARGET)


def test_prepare_folder(tmp_path):
    folder = tmp_path / "holiday.png"
    folder.mkdir()
    with pytest.raises(MediaError, match="is a folder; attach the files inside it"):
        prepare(Attachment(folder), TARGET)


def test_prepare_empty_file(tmp_path):
    path = tmp_path / "blank.png"
    path.write_bytes(b"")
    with pytest.raises(MediaError, match=r"blank\.png: the file is empty \(0 bytes\)"):
        prepare(Attachment(path), TARGET)


def test_prepare_unknown_content(tmp_path):
    path = tmp_path / "firmware.bin"
    path.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(MediaError, match="unsupported file type; attach images, PDFs"):
        prepare(Attachment(path), TARGET)


def test_prepare_honours_an_explicit_kind(tmp_path):
    path = picture(tmp_path / "page.dat", "PNG")
    with pytest.raises(MediaError, match="unsupported file type"):
        prepare(Attachment(path, kind="spreadsheet"), TARGET)
    report = prepare(Attachment(path, kind="image"), TARGET)
    assert report.kind == "image"
