"""What a file is, read from its first bytes rather than trusted from its name."""

from __future__ import annotations

import zipfile
from pathlib import Path

IMAGE_EXTENSIONS = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff", ".gif", ".avif", ".heic", ".heif"}
VIDEO_EXTENSIONS = {".mp4", ".mov", ".m4v", ".mkv", ".webm", ".avi"}
SLIDE_EXTENSIONS = {".pptx", ".ppt", ".odp", ".key"}
TEXT_EXTENSIONS = {
    ".txt",
    ".md",
    ".markdown",
    ".csv",
    ".tsv",
    ".json",
    ".jsonl",
    ".yaml",
    ".yml",
    ".toml",
    ".ini",
    ".cfg",
    ".xml",
    ".html",
    ".htm",
    ".css",
    ".js",
    ".ts",
    ".tsx",
    ".jsx",
    ".py",
    ".c",
    ".h",
    ".cpp",
    ".hpp",
    ".cc",
    ".java",
    ".kt",
    ".go",
    ".rs",
    ".rb",
    ".php",
    ".sh",
    ".bash",
    ".zsh",
    ".ps1",
    ".sql",
    ".r",
    ".swift",
    ".m",
    ".cs",
    ".lua",
    ".pl",
    ".scala",
    ".tex",
    ".log",
    ".rst",
}
DOC_EXTENSIONS = {".docx", ".doc", ".odt", ".rtf"}

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
    if head.startswith(b"PK\x03\x04"):
        return "zip"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return "ole"
    return None


def expected_kind(path: Path) -> str | None:
    ext = path.suffix.lower()
    if ext in IMAGE_EXTENSIONS:
        return "image"
    if ext == ".pdf":
        return "pdf"
    if ext in VIDEO_EXTENSIONS:
        return "video"
    if ext in SLIDE_EXTENSIONS:
        return "slides"
    if ext in DOC_EXTENSIONS:
        return "document"
    if ext in TEXT_EXTENSIONS:
        return "text"
    return None


def _zip_kind(path: Path) -> str | None:
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


def _looks_like_text(head: bytes) -> bool:
    if not head or b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as e:
        # A multi-byte character cut at the end of the sample is still text.
        return e.start >= len(head) - 3
    return True


def detect_kind(path: Path) -> tuple[str, str | None]:
    """(kind, warning): image, pdf, slides, video, document, text or unknown.

    The content decides; when it disagrees with the file's extension the warning says so. An empty file is
    "empty".
    """
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
            return (expected or "unknown"), None if expected is None else "content does not match the extension"
    if expected is not None and expected != sniffed:
        return sniffed, f"the name says {expected} ({path.suffix}) but the content is {sniffed}"
    return sniffed, None
