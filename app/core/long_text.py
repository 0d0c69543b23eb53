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
    if run + len(text) <= limit and "\n" not in text:
        return text, run + len(text)
    out: list[str] = []
    pos, size = 0, len(text)
    while pos < size:
        newline = text.find("\n", pos)
        end = size if newline < 0 else newline
        while pos < end:
            if run < limit:
                take = min(end - pos, limit - run)
                out.append(text[pos : pos + take])
                pos, run = pos + take, run + take
                continue
            room = limit + _LOOK_AHEAD - run  # characters before the line is broken without a space
            space = text.find(" ", pos, min(end, pos + room))
            if space >= 0:
                out.append(text[pos : space + 1] + "\n")
                pos, run = space + 1, 0
            elif pos + room <= end:
                out.append(text[pos : pos + room] + "\n")
                pos, run = pos + room, 0
            else:
                out.append(text[pos:end])
                pos, run = end, run + end - pos
        if newline >= 0:
            out.append("\n")
            pos, run = newline + 1, 0
    return "".join(out), run
