"""Text-like files (notes, CSV, JSON, source code) as one text part, decoded whatever their encoding."""

from __future__ import annotations

import codecs
import threading
from pathlib import Path

from app.core.conversation import Attachment
from app.core.media import MediaError
from app.core.media.budget import text_char_cap
from app.core.media.kinds import expected_kind
from app.core.media.parts import MediaReport, MediaTarget, TextPart

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def _utf16_without_bom(data: bytes) -> str | None:
    """UTF-16 text without a BOM has a NUL in nearly every other byte (for Latin-script text)."""
    sample = data[:4096]
    if len(sample) < 4:
        return None
    even = sample[0::2].count(0) / len(sample[0::2])
    odd = sample[1::2].count(0) / len(sample[1::2])
    if odd > 0.4 and even < 0.05:
        return "utf-16-le"
    if even > 0.4 and odd < 0.05:
        return "utf-16-be"
    return None


def decode(data: bytes, *, truncated: bool = False) -> tuple[str, str]:
    """(text, encoding). Raises ValueError for content that is not text.

    ``truncated`` says the bytes were cut from a longer file, so a character split at the end is not an error.
    """
    errors = "ignore" if truncated else "strict"
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data.decode(encoding, errors=errors), encoding
    if b"\x00" in data:
        utf16 = _utf16_without_bom(data)
        if utf16 is None:
            raise ValueError("binary content (it contains NUL bytes)")
        return data.decode(utf16, errors=errors), utf16
    try:
        text = data.decode("utf-8")
        encoding = "utf-8"
    except UnicodeDecodeError as e:
        if truncated and e.start >= len(data) - 3:
            text, encoding = data[: e.start].decode("utf-8"), "utf-8"
        else:
            try:
                text, encoding = data.decode("cp1252"), "cp1252"
            except UnicodeDecodeError:
                text, encoding = data.decode("latin-1"), "latin-1"
    controls = sum(1 for ch in text[:8192] if ord(ch) < 32 and ch not in "\t\n\r\f\v\x1b")
    if controls > max(8, len(text[:8192]) // 50):
        raise ValueError("binary content (many control characters)")
    return text, encoding


def prepare(
    attachment: Attachment, target: MediaTarget, report: MediaReport, *, cancel: threading.Event | None = None
) -> None:
    """Reading a capped text file is quick; ``cancel`` is part of the handler signature and not checked here."""
    path = Path(attachment.path)
    cap = text_char_cap(target)
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            # Four bytes per character is the most any encoding here needs; reading more would only be cut.
            data = f.read(cap * 4 + 4)
    except FileNotFoundError as e:
        raise MediaError(
            f"{path.name}: the file is gone (moved or deleted after it was attached); attach it again"
        ) from e
    except OSError as e:
        raise MediaError(f"{path.name}: cannot be read ({e.strerror or e})") from e
    if not data:
        raise MediaError(f"{path.name}: the file is empty (0 bytes)")
    try:
        text, encoding = decode(data, truncated=size > len(data))
    except ValueError as e:
        expected = expected_kind(path)
        if expected not in (None, "text"):
            raise MediaError(
                f"{path.name}: the name says {path.suffix} ({expected}) but the content is neither that nor text "
                f"({e}); the file is damaged or mis-named. Re-export it and attach it again"
            ) from e
        raise MediaError(
            f"{path.name}: {e}; it is not a text file. Attach text, or a PDF, image, slides or video"
        ) from e
    report.renderer = f"text ({encoding})"
    total_chars = len(text) if size <= len(data) else None
    if len(text) > cap or total_chars is None:
        kept = text[:cap]
        whole = f"of {total_chars:,} characters" if total_chars is not None else f"characters of {size:,} bytes"
        report.warnings.append(
            f"the text is too long for one message: kept the first {len(kept):,} {whole}; "
            "attach the part that matters to send the rest"
        )
        text = kept + f"\n[... truncated: the first {len(kept):,} characters of {path.name} were kept]"
    report.parts.append(TextPart(text))  # introduced by its name where it is sent (``media.told``)
