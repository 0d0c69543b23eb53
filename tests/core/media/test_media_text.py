"""Text-like files: encodings, size cap, binary content."""

from __future__ import annotations

import codecs

import pytest

from app.core.conversation import Attachment
from app.core.media import MediaError, MediaTarget, TextPart, prepare
from app.core.media.budget import text_char_cap
from app.core.media.text import decode


def text_of(report) -> str:
    (part,) = report.parts
    assert isinstance(part, TextPart)
    return part.text


def test_text_file_becomes_one_part_with_its_name(tmp_path):
    path = tmp_path / "notes.md"
    path.write_text("# Plan\n\n- ship it\n", encoding="utf-8")
    report = prepare(Attachment(path), MediaTarget())
    assert report.kind == "text"
    assert text_of(report) == "# Plan\n\n- ship it\n"
    assert report.renderer == "text (utf-8)"
    assert report.warnings == []
    assert report.tokens > 0


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (codecs.BOM_UTF8 + "naïve café".encode(), "utf-8-sig"),
        (codecs.BOM_UTF16_LE + "naïve café".encode("utf-16-le"), "utf-16"),
        (codecs.BOM_UTF16_BE + "naïve café".encode("utf-16-be"), "utf-16"),
        ("naïve café".encode("utf-16-le"), "utf-16-le"),
        ("naïve café".encode("cp1252"), "cp1252"),
        ("naïve café".encode(), "utf-8"),
    ],
)
def test_encodings(data, encoding):
    text, found = decode(data)
    assert (text, found) == ("naïve café", encoding)


def test_latin1_fallback_for_bytes_cp1252_leaves_undefined():
    text, found = decode("café".encode("latin-1") + b"\x81")
    assert found == "latin-1" and text.startswith("café")


def test_source_code_by_extension_and_csv(tmp_path):
    for name, body in (("main.py", "print('hi')\n"), ("data.csv", "a,b\n1,2\n"), ("cfg.json", '{"a": 1}')):
        path = tmp_path / name
        path.write_text(body)
        assert text_of(prepare(Attachment(path), MediaTarget())).endswith(body)


def test_long_text_is_cut_with_a_warning_saying_how_much_was_kept(tmp_path):
    target = MediaTarget(context_tokens=2000)
    cap = text_char_cap(target)
    path = tmp_path / "long.txt"
    path.write_text("y" * (cap * 3))
    report = prepare(Attachment(path), target)
    text = text_of(report)
    assert text.count("y") == cap
    assert f"kept the first {cap:,}" in report.warnings[0]
    assert "[... truncated" in text
    assert report.tokens <= target.context_tokens


def test_binary_content_with_a_text_name_is_refused(tmp_path):
    path = tmp_path / "data.txt"
    path.write_bytes(bytes(range(256)) * 8)
    with pytest.raises(MediaError, match=r"data\.txt: binary content.*not a text file"):
        prepare(Attachment(path, kind="text"), MediaTarget())


def test_control_characters_are_binary():
    with pytest.raises(ValueError, match="binary"):
        decode(bytes([1, 2, 3, 4, 5, 6, 7, 8, 14, 15, 16, 17]) * 20)


def test_file_gone_before_sending(tmp_path):
    path = tmp_path / "gone.txt"
    path.write_text("hello")
    attachment = Attachment(path)
    path.unlink()
    with pytest.raises(MediaError, match=r"gone\.txt"):
        prepare(attachment, MediaTarget())
