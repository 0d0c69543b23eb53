"""Paragraphs bounded for display in Qt's plain-text views.

QPlainTextEdit lays a paragraph out whole at every change to it, so the cost of appending grows with the
paragraph: a model stuck in a loop that thinks 2 MB without a newline, streamed in 8 KB pieces, blocked the
window for 70 s (one append took up to 0.7 s). The views show such text with a line break put in wherever a
paragraph would pass ``PARAGRAPH_CHARS``, after a space near that point where there is one; what is kept, copied
from the history and sent again is the text as the model wrote it.
"""

from __future__ import annotations

PARAGRAPH_CHARS = 2_000
_LOOK_AHEAD = 200  # how far past the limit a space is waited for before the line is broken anyway


def broken(text: str, run: int = 0, limit: int = PARAGRAPH_CHARS) -> tuple[str, int]:
    """``text`` with a line break after the first space once a paragraph has ``limit`` characters (or, with no
    space, ``_LOOK_AHEAD`` characters later), and the length of the paragraph it ends in. ``run`` is the length of
    the paragraph ``text`` continues (what the call before returned): text broken piece by piece is broken
    exactly as the whole would be."""
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if i:
            run = 0
        if run + len(line) <= limit:  # nearly every line: left as it is
            run += len(line)
        else:
            lines[i], run = _broken_line(line, run, limit)
    return "\n".join(lines), run


def _broken_line(line: str, run: int, limit: int) -> tuple[str, int]:
    """One paragraph's piece ``line`` (no newline in it) continuing ``run`` characters, broken as ``broken``
    says."""
    out: list[str] = []
    pos, end = 0, len(line)
    while pos < end:
        if run < limit:
            take = min(end - pos, limit - run)
            out.append(line[pos : pos + take])
            pos, run = pos + take, run + take
            continue
        room = limit + _LOOK_AHEAD - run  # characters before the line is broken without a space
        space = line.find(" ", pos, min(end, pos + room))
        if space >= 0:
            out.append(line[pos : space + 1] + "\n")
            pos, run = space + 1, 0
        elif pos + room <= end:
            out.append(line[pos : pos + room] + "\n")
            pos, run = pos + room, 0
        else:
            out.append(line[pos:end])
            pos, run = end, run + end - pos
    return "".join(out), run
