"""The one table of the files the app takes: each kind's suffixes and MIME types, the module of ``app.core.media``
that prepares it, whether it has pages to choose from, whether the model sees it as images, and its line in the
file picker. The sniffer (``media.kinds``), ``media.prepare``, video sending, the Markdown export, the window's
thumbnails and file picker and ``glmv ask`` all read it here, so they cannot disagree about what is supported.

The suffix only suggests a kind: ``media.kinds.detect_kind`` reads the content, which wins.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class FileKind:
    """One kind of attachment. ``types`` maps each suffix to the MIME type the app treats it as; ``handler`` is
    the module under ``app.core.media`` that prepares it; ``paged``: pages or slides can be chosen ("1-5, 9");
    ``as_images``: the model sees it as images (the file, rendered pages, slides or video frames)."""

    name: str
    label: str
    handler: str
    types: Mapping[str, str]
    paged: bool = False
    as_images: bool = True

    @property
    def suffixes(self) -> tuple[str, ...]:
        return tuple(self.types)


def _all(mime: str, *suffixes: str) -> dict[str, str]:
    return dict.fromkeys(suffixes, mime)


# Text and source code is read as text whatever its language: text/plain to the app.
_TEXT = (
    *(".txt", ".md", ".markdown", ".csv", ".tsv", ".json", ".jsonl", ".yaml", ".yml", ".toml", ".ini", ".cfg"),
    *(".xml", ".html", ".htm", ".css", ".js", ".ts", ".tsx", ".jsx", ".py", ".c", ".h", ".cpp", ".hpp", ".cc"),
    *(".java", ".kt", ".go", ".rs", ".rb", ".php", ".sh", ".bash", ".zsh", ".ps1", ".sql", ".r", ".swift", ".m"),
    *(".cs", ".lua", ".pl", ".scala", ".tex", ".log", ".rst"),
)

FILE_KINDS: tuple[FileKind, ...] = (
    FileKind(
        "image",
        "Images",
        "images",
        {
            ".png": "image/png",
            ".jpg": "image/jpeg",
            ".jpeg": "image/jpeg",
            ".webp": "image/webp",
            ".bmp": "image/bmp",
            ".tif": "image/tiff",
            ".tiff": "image/tiff",
            ".gif": "image/gif",
            ".avif": "image/avif",
            ".heic": "image/heic",
            ".heif": "image/heif",
        },
    ),
    FileKind("pdf", "PDF documents", "pdf", {".pdf": "application/pdf"}, paged=True),
    FileKind(
        "slides",
        "Slides",
        "slides",
        {
            ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            ".ppt": "application/vnd.ms-powerpoint",
            ".odp": "application/vnd.oasis.opendocument.presentation",
            ".key": "application/vnd.apple.keynote",
        },
        paged=True,
    ),
    FileKind(
        "document",
        "Word-processor documents",
        "documents",
        {
            ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            ".doc": "application/msword",
            ".odt": "application/vnd.oasis.opendocument.text",
            ".rtf": "application/rtf",
        },
        paged=True,
    ),
    FileKind(
        "video",
        "Videos",
        "video",
        {
            ".mp4": "video/mp4",
            ".mov": "video/quicktime",
            ".m4v": "video/mp4",  # an MPEG-4 file; servers take it as video/mp4
            ".mkv": "video/x-matroska",
            ".webm": "video/webm",
            ".avi": "video/x-msvideo",
            ".mts": "video/mp2t",
            ".m2ts": "video/mp2t",
        },
    ),
    FileKind("text", "Text and code", "text", _all("text/plain", *_TEXT), as_images=False),
)

BY_NAME: dict[str, FileKind] = {kind.name: kind for kind in FILE_KINDS}
BY_SUFFIX: dict[str, FileKind] = {suffix: kind for kind in FILE_KINDS for suffix in kind.types}
PAGED_KINDS: tuple[str, ...] = tuple(kind.name for kind in FILE_KINDS if kind.paged)
IMAGE_KINDS: tuple[str, ...] = tuple(kind.name for kind in FILE_KINDS if kind.as_images)


def kind_by_name(path: Path) -> FileKind | None:
    """The kind the file's suffix suggests, or None for a suffix the app does not know."""
    return BY_SUFFIX.get(Path(path).suffix.lower())


def mime_type(path: Path) -> str | None:
    """The MIME type the app treats the file as, by its suffix; None for a suffix it does not know."""
    kind = kind_by_name(path)
    return kind.types[Path(path).suffix.lower()] if kind is not None else None


def picker_filter() -> str:
    """The file picker's filter (Qt's name-filter syntax): every suffix the app takes, then each kind, then
    anything (the content decides, so a file with an unusual name can still be chosen)."""

    def patterns(suffixes: tuple[str, ...]) -> str:
        return " ".join(f"*{suffix}" for suffix in suffixes)

    every = tuple(suffix for kind in FILE_KINDS for suffix in kind.suffixes)
    lines = [f"Supported files ({patterns(every)})"]
    lines += [f"{kind.label} ({patterns(kind.suffixes)})" for kind in FILE_KINDS]
    lines.append("All files (*)")
    return ";;".join(lines)
