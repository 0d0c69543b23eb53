"""What a file is, read from its first bytes rather than trusted from its name (which ``app.core.file_kinds``
reads)."""

from __future__ import annotations

import errno
import os
import zipfile
from pathlib import Path

from app.core.file_kinds import kind_by_name
from app.core.media.archives import directory_problem

# ISO media files ("ftyp" boxes) are video unless their brand says still image (phone photos: HEIC, AVIF).
HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}
AVIF_BRANDS = {b"avif", b"avis"}
# A BMP's info header is one of these sizes; "BM" alone also starts ordinary text ("BMW ...").
_BMP_HEADER_SIZES = {12, 16, 40, 52, 56, 64, 108, 124}


def sniff(head: bytes) -> str | None:
    """The kind the first bytes announce: image, pdf, video, zip, ole, or None when they say nothing."""
    if head.startswith(b"%PDF") or b"%PDF-" in head[:1024]:
        return "pdf"
    if head.startswith((b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"II*\x00", b"MM\x00*")):
        return "image"
    if head.startswith(b"BM") and len(head) >= 18 and int.from_bytes(head[14:18], "little") in _BMP_HEADER_SIZES:
        return "image"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "video"
    if head[4:8] == b"ftyp" and head[8:12] in HEIF_BRANDS | AVIF_BRANDS:
        return "image"
    if head[4:8] == b"ftyp" or head.startswith(b"\x1a\x45\xdf\xa3"):
        return "video"
    if _is_transport_stream(head):
        return "video"
    if head.startswith(b"PK\x03\x04"):
        return "zip"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return "ole"
    return None


def _is_transport_stream(head: bytes) -> bool:
    """MPEG-TS (.ts) has a 0x47 sync byte every 188 bytes; camcorder M2TS (.mts, .m2ts) every 192, after a
    4-byte timestamp. Twenty-odd sync bytes in a row do not happen by chance in text."""
    for packet, offset in ((188, 0), (192, 4)):
        starts = range(offset, len(head), packet)
        if len(starts) >= 4 and all(head[i] == 0x47 for i in starts):
            return True
    return False


def expected_kind(path: Path) -> str | None:
    """The kind the file's suffix suggests (``app.core.file_kinds``), or None."""
    kind = kind_by_name(path)
    return kind.name if kind is not None else None


def _zip_kind(path: Path) -> str | None:
    if directory_problem(path) is not None:
        # Listing it would cost memory; the extension decides and the handler refuses it with the reason.
        return None
    try:
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
    except (zipfile.BadZipFile, OSError):
        return None
    if any(n.startswith("ppt/") for n in names):
        return "slides"
    if any(n.startswith("word/") for n in names):
        return "document"
    if "content.xml" in names:  # OpenDocument: the mimetype entry says which
        return "slides" if path.suffix.lower() == ".odp" else "document"
    if path.suffix.lower() == ".key":
        return "slides"
    return None


_TEXT_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")
# Bytes that never occur in text (everything under 0x20 but tab, newlines, form feed and escape; DEL).
_BINARY_BYTES = bytes([*range(0x01, 0x09), 0x0B, *range(0x0E, 0x1B), *range(0x1C, 0x20), 0x7F])


def _looks_like_text(head: bytes) -> bool:
    """UTF-8, text with a byte-order mark (UTF-16/32), or legacy 8-bit text (cp1252, Latin-1)."""
    if head.startswith(_TEXT_BOMS):
        return True
    if not head or b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as e:
        # A multi-byte character cut at the end of the sample is still text.
        if e.start >= len(head) - 3 and e.reason == "unexpected end of data":
            return True
        return len(head.translate(None, _BINARY_BYTES)) >= 0.99 * len(head)
    return True


def access_problem(path: Path, *, attached: bool = False) -> str | None:
    """Why ``path`` cannot be opened, said as what happened ("is a symbolic link that loops back on itself"),
    or None when it can be. ``attached`` says the person chose the file earlier, so a missing one was moved or
    deleted since."""
    try:
        os.stat(path)
    except OSError as e:
        if e.errno == errno.ELOOP:
            return (
                "is a symbolic link that loops back on itself (directly or through other links); attach the file itself"
            )
        if e.errno == errno.ENOENT and path.is_symlink():
            return f"is a symbolic link to {os.readlink(path)}, which does not exist; attach the file itself"
        if e.errno == errno.ENOENT:
            if attached:
                return "no such file; it may have been moved or deleted since it was attached: attach it again"
            return "no such file"
        if e.errno in (errno.EACCES, errno.EPERM):
            return "permission denied; check the file's permissions, or copy it somewhere you can read and attach that"
        return f"cannot be read ({e.strerror or e})"
    return None


def detect_kind(path: Path) -> tuple[str, str | None]:
    """(kind, warning): image, pdf, slides, video, document, text or unknown.

    The content decides; when it disagrees with the file's extension the warning says so. An empty file is
    "empty".
    """
    if path.exists() and not path.is_file():  # a pipe or device would block the read or never end
        raise OSError(errno.EINVAL, "not a regular file")
    with open(path, "rb") as f:
        head = f.read(4096)
    if not head:
        return "empty", None
    expected = expected_kind(path)
    sniffed = sniff(head)
    if sniffed == "zip":
        sniffed = _zip_kind(path)
    elif sniffed == "ole":
        sniffed = expected if expected in ("slides", "document") else None
    if sniffed is None:
        if _looks_like_text(head):
            sniffed = "text"
        else:
            if expected is None:
                return "unknown", None
            return expected, f"the content does not look like {expected} ({path.suffix})"
    if expected is not None and expected != sniffed:
        return sniffed, f"the name says {expected} ({path.suffix}) but the content is {sniffed}"
    return sniffed, None
