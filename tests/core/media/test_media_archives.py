"""Zip-based documents (.pptx, .docx, .odp, .odt, ...) whose archive would unpack to far more than the file:
refused from the central directory before python-pptx or LibreOffice reads a byte of them, with a clear message;
LibreOffice runs under a memory limit besides its time limit."""

from __future__ import annotations

import struct
import subprocess
import time
import zipfile
from pathlib import Path

import pytest

from app.core.conversation import Attachment
from app.core.media import MediaError, MediaTarget, archives, prepare
from app.core.media.libreoffice import ConversionError, converted_pdf, find_soffice
from tests.support.cli import glmv
from tests.support.documents import deck, minimal_docx
from tests.support.paths import CORPUS

needs_libreoffice = pytest.mark.skipif(find_soffice() is None, reason="LibreOffice (soffice) is not installed")
GB = 1024**3


def declare_size(path: Path, member: str, size: int) -> Path:
    """Rewrite the uncompressed size ``member`` declares, in its local header and its central directory entry,
    as a crafted bomb does: the file stays small, the archive claims ``size`` bytes for it (up to 4 GiB - 1)."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as z:
        info = z.getinfo(member)
        end = data.rindex(b"PK\x05\x06")
        start = struct.unpack_from("<I", data, end + 16)[0]
    struct.pack_into("<I", data, info.header_offset + 22, size)
    at = start
    while data[at : at + 4] == b"PK\x01\x02":
        name_len, extra_len, comment_len = struct.unpack_from("<HHH", data, at + 28)
        if data[at + 46 : at + 46 + name_len].decode() == member:
            struct.pack_into("<I", data, at + 24, size)
        at += 46 + name_len + extra_len + comment_len
    path.write_bytes(bytes(data))
    return path


def with_member(source: Path, out: Path, name: str, data: bytes, *, compress: int = zipfile.ZIP_DEFLATED) -> Path:
    out.write_bytes(source.read_bytes())
    with zipfile.ZipFile(out, "a", compression=compress, compresslevel=1) as z:
        z.writestr(name, data)
    return out


def pptx_bomb(tmp_path: Path, suffix: str = ".pptx") -> Path:
    """A 30 KB deck with one media member that declares 3 GB of zeros (the corpus case: 3 MB holding 3 GB)."""
    base = deck(tmp_path / "base.pptx", 2)
    bomb = with_member(base, tmp_path / f"bomb{suffix}", "ppt/media/image1.bin", bytes(1 << 20))
    return declare_size(bomb, "ppt/media/image1.bin", 3 * 10**9)


def docx_bomb(tmp_path: Path, suffix: str = ".docx") -> Path:
    base = minimal_docx(tmp_path / "base.docx")
    bomb = with_member(base, tmp_path / f"bomb{suffix}", "word/media/image1.png", bytes(1 << 20))
    return declare_size(bomb, "word/media/image1.png", 3 * 10**9)


def _refused(path: Path, **options) -> str:
    started = time.monotonic()
    with pytest.raises(MediaError) as raised:
        prepare(Attachment(path), MediaTarget(), **options)
    assert time.monotonic() - started < 3
    return str(raised.value)


@pytest.mark.parametrize("renderer", ["python-pptx", "libreoffice"])
def test_a_deck_declaring_3_gb_is_refused_before_it_is_read(tmp_path, monkeypatch, renderer):
    if renderer == "libreoffice" and find_soffice() is None:
        pytest.skip("LibreOffice is not installed")
    if renderer == "python-pptx":
        monkeypatch.setenv("GLMV_SOFFICE", "")
    message = _refused(pptx_bomb(tmp_path))
    assert message.startswith("bomb.pptx: ")
    assert "3.0 GB" in message and "zip bomb" in message and "export it as PDF" in message


def test_a_docx_declaring_3_gb_is_refused_before_libreoffice_starts(tmp_path, monkeypatch):
    monkeypatch.setattr(subprocess, "Popen", None)  # LibreOffice must not even be started
    message = _refused(docx_bomb(tmp_path))
    assert message.startswith("bomb.docx: ") and "zip bomb" in message


@pytest.mark.parametrize(("maker", "suffix"), [(pptx_bomb, ".odp"), (docx_bomb, ".odt"), (pptx_bomb, ".key")])
def test_other_zip_based_formats_are_checked_too(tmp_path, maker, suffix):
    message = _refused(maker(tmp_path, suffix))
    assert f"bomb{suffix}: " in message and "zip bomb" in message


def test_a_real_member_of_extreme_ratio_is_refused(tmp_path):
    """64 MB of zeros deflate to 64 KB: a ratio of ~1000 no photo, video or XML part has."""
    base = deck(tmp_path / "base.pptx")
    bomb = with_member(base, tmp_path / "zeros.pptx", "ppt/media/media1.bin", bytes(64 << 20))
    assert bomb.stat().st_size < 1 << 20
    message = _refused(bomb)
    assert "ppt/media/media1.bin" in message and "times" in message and "zip bomb" in message


def test_a_bomb_cut_into_members_under_the_floor_is_refused(tmp_path):
    base = deck(tmp_path / "base.pptx")
    path = tmp_path / "pieces.pptx"
    path.write_bytes(base.read_bytes())
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        for i in range(4):
            z.writestr(f"ppt/media/piece{i}.bin", bytes(archives.RATIO_FLOOR // 2))
    message = _refused(path)
    assert "pieces.pptx: its " in message and "times" in message and "zip bomb" in message


def test_too_many_members_is_refused(tmp_path):
    path = tmp_path / "many.docx"
    minimal_docx(path)
    with zipfile.ZipFile(path, "a") as z:
        for i in range(archives.MAX_MEMBERS + 1):
            z.writestr(f"word/media/x{i}.bin", b"")
    message = _refused(path)
    assert "10,00" in message and f"files, more than the {archives.MAX_MEMBERS:,} any document has" in message


def test_total_over_the_limit_is_refused_even_at_an_ordinary_ratio(tmp_path, monkeypatch):
    monkeypatch.setattr(archives, "MAX_TOTAL", 1 << 20)
    base = deck(tmp_path / "base.pptx")
    path = with_member(base, tmp_path / "video.pptx", "ppt/media/v.mp4", bytes(2 << 20), compress=zipfile.ZIP_STORED)
    message = _refused(path)
    assert "video.pptx: " in message and "unpacks to 2.2 MB, more than the 1.0 MB" in message


def test_a_highly_compressible_small_part_is_fine(tmp_path):
    """XML compresses 20-100 times, and a small part of zeros harms nobody: only large members count."""
    base = deck(tmp_path / "base.pptx")
    path = with_member(base, tmp_path / "ok.pptx", "ppt/media/pad.bin", bytes(4 << 20))
    assert archives.zip_problem(path) is None


def test_ordinary_files_pass(tmp_path):
    assert archives.zip_problem(deck(tmp_path / "d.pptx", 3)) is None
    assert archives.zip_problem(minimal_docx(tmp_path / "l.docx")) is None
    for name in ("cht-chart-type.pptx", "dml-fill.pptx"):
        if (CORPUS / name).exists():
            assert archives.zip_problem(CORPUS / name) is None


def test_a_damaged_archive_is_left_to_the_reader(tmp_path):
    """Not a zip, or a cut one: no verdict here; python-pptx or LibreOffice says what is wrong."""
    cut = tmp_path / "cut.pptx"
    cut.write_bytes(deck(tmp_path / "d.pptx").read_bytes()[:2000])
    assert archives.zip_problem(cut) is None
    junk = tmp_path / "junk.pptx"
    junk.write_bytes(b"PK\x03\x04" + bytes(100))
    assert archives.zip_problem(junk) is None


def test_glmv_inspect_on_a_bomb_exits_2_with_the_message(tmp_path):
    result = glmv("inspect", str(pptx_bomb(tmp_path)), str(docx_bomb(tmp_path)), timeout=60)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "glmv: bomb.pptx: " in result.stderr and "glmv: bomb.docx: " in result.stderr


@needs_libreoffice
def test_libreoffice_runs_under_a_memory_limit(tmp_path):
    """300 MB of address space is too little for soffice: the limit is applied, and its failure is explained."""
    with (
        pytest.raises(ConversionError) as raised,
        converted_pdf(minimal_docx(tmp_path / "l.docx"), memory_limit=300 << 20),
    ):
        pass
    message = str(raised.value)
    assert message.startswith("l.docx: LibreOffice stopped") and "300 MB of memory" in message
    assert "Stack" not in message and "/usr/" not in message


@needs_libreoffice
def test_libreoffice_converts_within_the_default_limit(tmp_path):
    with converted_pdf(minimal_docx(tmp_path / "l.docx")) as pdf:
        assert pdf.stat().st_size > 0
