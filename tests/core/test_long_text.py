"""Paragraphs bounded for the plain-text views: no displayed paragraph grows past the limit by more than the
look-ahead, only line breaks are added, and text broken piece by piece breaks where the whole does."""

from __future__ import annotations

import base64
import random

import pytest

from app.core.long_text import PARAGRAPH_CHARS, broken

LOOP = " ".join(f"I should check step {i} again." for i in range(20_000))  # a model thinking in a loop
LINE = base64.b64encode(random.Random(3).randbytes(300_000)).decode()  # no space at all
LINES = "\n".join(f"step {i}: fine" for i in range(3_000))


def added_only_breaks(original: str, shown: str) -> bool:
    """Whether ``shown`` is ``original`` with newlines inserted and nothing else changed."""
    i = 0
    for c in shown:
        if i < len(original) and c == original[i]:
            i += 1
        elif c != "\n":
            return False
    return i == len(original)


@pytest.mark.parametrize("text", [LOOP, LINE, LINES, "", "short", "x" * PARAGRAPH_CHARS])
def test_paragraphs_stay_bounded_and_only_breaks_are_added(text):
    shown, _ = broken(text)
    assert max(len(p) for p in shown.split("\n")) <= PARAGRAPH_CHARS + 200
    assert added_only_breaks(text, shown)


def test_short_paragraphs_are_left_as_they_are():
    assert broken(LINES) == (LINES, len("step 2999: fine"))
    assert broken("a\n\nb") == ("a\n\nb", 1)


def test_a_long_paragraph_breaks_after_a_space_past_the_limit():
    shown, _ = broken(LOOP)
    paragraphs = shown.split("\n")
    assert len(paragraphs) > 100
    assert all(p.endswith(" ") and PARAGRAPH_CHARS <= len(p) <= PARAGRAPH_CHARS + 40 for p in paragraphs[:-1])


@pytest.mark.parametrize("piece", [1, 7, 4096, 8192])
@pytest.mark.parametrize("text", [LOOP, LINE, LINES + LINE + "\n" + LOOP])
def test_broken_piece_by_piece_is_broken_as_the_whole(text, piece):
    if piece == 1:
        text = text[:30_000]
    run, parts = 0, []
    for i in range(0, len(text), piece):
        part, run = broken(text[i : i + piece], run)
        parts.append(part)
    assert ("".join(parts), run) == broken(text)
