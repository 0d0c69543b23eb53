"""Zip-based documents (.pptx, .docx, .xlsx, .odp, .odt, .key) checked from their central directory before
anything unpacks them.

python-pptx reads every part of a package into memory, and LibreOffice trusts what a member says it holds: a
3 MB deck with one 3 GB member of zeros cost 6 GB and 41 s before failing. The directory at the end of the file
says what each member unpacks to and how small it was packed, so a bomb is refused from a few kilobytes read:
too many members, a large member packed far tighter than any real part (photos and video barely compress, XML
some 20 to 100 times), or more content in all than a document holds. Nothing here depends on the rest of the
media package, so kind detection can use it too.
"""

from __future__ import annotations

import struct
import zipfile
from pathlib import Path

# More members than any Office or OpenDocument file has (a 500-slide deck with a picture a slide is ~2,000).
MAX_MEMBERS = 10_000
# The central directory itself: ZipFile holds an object per entry, so its size is checked before opening.
MAX_DIRECTORY = 16 * 10**6
# What the members may unpack to in all: python-pptx holds a deck's parts in memory at once.
MAX_TOTAL = 10**9
# A member above RATIO_FLOOR may unpack to at most MAX_RATIO times its packed size; smaller ones may be
# packed as tightly as they like (an empty spreadsheet's XML, a blank image) without costing anything. The same
# holds for all members together, so a bomb cut into many members just under the floor is refused too.
MAX_RATIO = 100
RATIO_FLOOR = 16 * 10**6

_END = b"PK\x05\x06"
_END_SIZE = 22
_ZIP64_LOCATOR = b"PK\x06\x07"
_ZIP64_END = b"PK\x06\x06"

_WAY_OUT = "If the file is genuine, open it in the program that made it and export it as PDF, then attach the PDF"


def _size(n: int) -> str:
    if n >= 10**9:
        return f"{n / 10**9:.1f} GB"
    if n >= 10**6:
        return f"{n / 10**6:.1f} MB"
    return f"{n / 10**3:.0f} KB"


def _directory(path: Path) -> tuple[int, int] | None:
    """(members, directory bytes) from the end-of-central-directory record (Zip64 aware); None when the file
    has none, so is no zip or a cut one."""
    with open(path, "rb") as f:
        f.seek(0, 2)
        length = f.tell()
        tail_start = max(0, length - (_END_SIZE + 0xFFFF + 20 + 56))
        f.seek(tail_start)
        tail = f.read()
    at = tail.rfind(_END)
    if at < 0 or len(tail) - at < _END_SIZE:
        return None
    members, directory_size = struct.unpack_from("<HI", tail, at + 10)
    if members != 0xFFFF and directory_size != 0xFFFFFFFF:
        return members, directory_size
    locator = at - 20
    if locator < 0 or tail[locator : locator + 4] != _ZIP64_LOCATOR:
        return members, directory_size
    (offset,) = struct.unpack_from("<Q", tail, locator + 8)
    with open(path, "rb") as f:
        f.seek(offset)
        record = f.read(56)
    if len(record) < 56 or record[:4] != _ZIP64_END:
        return None
    members64, directory64 = struct.unpack_from("<QQ", record, 32)
    return members64, directory64


def directory_problem(path: Path, name: str | None = None) -> str | None:
    """What is wrong with the archive's directory (too many members, too large), or None; cheap enough for kind
    detection, and what makes opening it with ``zipfile`` bounded."""
    name = name or path.name
    try:
        found = _directory(path)
    except OSError:
        return None
    if found is None:
        return None
    members, directory_size = found
    if members > MAX_MEMBERS:
        return (
            f"{name}: the archive holds {members:,} files, more than the {MAX_MEMBERS:,} any document has; it is "
            f"damaged or a zip bomb. {_WAY_OUT}"
        )
    if directory_size > MAX_DIRECTORY:
        return (
            f"{name}: the archive's table of contents alone is {_size(directory_size)}; it is damaged or a zip "
            f"bomb. {_WAY_OUT}"
        )
    return None


def zip_problem(path: Path, name: str | None = None) -> str | None:
    """Why the zip at ``path`` must not be unpacked, as a message naming the file and what to do; None when it
    may be, and for files that are not zips or are too damaged to list (their reader says what is wrong)."""
    name = name or path.name
    problem = directory_problem(path, name)
    if problem is not None:
        return problem
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        return None
    total = 0
    for member in members:
        total += member.file_size
        if member.file_size > RATIO_FLOOR and member.file_size > MAX_RATIO * max(member.compress_size, 1):
            ratio = member.file_size / max(member.compress_size, 1)
            return (
                f"{name}: {member.filename} unpacks to {_size(member.file_size)} from "
                f"{_size(member.compress_size)} ({ratio:,.0f} times), tighter than any real document part packs; "
                f"this is what a zip bomb looks like, so it is not opened. {_WAY_OUT}"
            )
    packed = sum(member.compress_size for member in members)
    if total > RATIO_FLOOR and total > MAX_RATIO * max(packed, 1):
        return (
            f"{name}: its {len(members):,} files unpack to {_size(total)} from {_size(packed)} "
            f"({total / max(packed, 1):,.0f} times), tighter than any real document packs; this is what a zip bomb "
            f"looks like, so it is not opened. {_WAY_OUT}"
        )
    if total > MAX_TOTAL:
        return (
            f"{name}: the archive unpacks to {_size(total)}, more than the {_size(MAX_TOTAL)} the app unpacks "
            "(a zip bomb, or very large media). If the file is genuine, remove or compress its large media in the "
            "program that made it, or export it as PDF and attach the PDF"
        )
    return None
