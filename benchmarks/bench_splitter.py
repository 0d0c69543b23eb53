"""How fast the reasoning splitter eats a token-by-token stream.

The API client must keep up with 50k+ tokens/s (SSE parsing plus this splitter) on a 2-core machine, so the
splitter alone should manage several times that. Run: `.venv/bin/python benchmarks/bench_splitter.py`.
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.core.reasoning import ReasoningSplitter

CHUNKS = 100_000
WORDS = (
    "the",
    "of",
    "and",
    "to",
    "in",
    "is",
    "that",
    "for",
    "it",
    "as",
    "with",
    "was",
    "on",
    "be",
    "by",
    "this",
    "are",
    "at",
    "from",
    "or",
    "an",
    "have",
    "image",
    "region",
    "table",
    "cell",
    "value",
    "pixel",
    "chart",
    "shows",
    "about",
    "<",
    ">",
    "|",
    "/",
    "[",
    "]",
    "(",
    ")",
    "1000",
    "<b>",
    "a<b",
    "x/y",
)


def token_stream(rng: random.Random, count: int) -> list[str]:
    """Roughly one token (about 4 characters) per chunk: thinking, then an answer with box groups in it."""
    chunks = ["<think>", "\n"]
    box_every = 500
    while len(chunks) < count:
        n = len(chunks)
        if n == count // 3:
            chunks += ["</think>", "\n"]
        elif n > count // 3 and n % box_every == 0:
            chunks += ["<|begin_of_box|>", "[[", "123", ", 45", "6, ", "789", ", 9", "99]]", "<|end_of_box|>"]
        else:
            chunks.append(" " + rng.choice(WORDS))
    return chunks[:count]


def measure(label: str, feed_all) -> None:
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        chars, chunks = feed_all()
        best = min(best, time.perf_counter() - start)
    print(
        f"{label:<26} {chunks / best:>10,.0f} chunks/s {chars / best:>12,.0f} chars/s ({chunks:,} chunks, {best:.3f} s)"
    )


def main() -> None:
    rng = random.Random(7)
    content = token_stream(rng, CHUNKS)
    chars = sum(map(len, content))

    def inline() -> tuple[int, int]:
        splitter = ReasoningSplitter()
        for chunk in content:
            splitter.feed(chunk)
        splitter.finish()
        return chars, len(content)

    plain = [" " + rng.choice(WORDS) for _ in range(CHUNKS)]
    half = CHUNKS // 3

    def fields() -> tuple[int, int]:
        splitter = ReasoningSplitter()
        for chunk in plain[:half]:
            splitter.feed(reasoning=chunk)
        for chunk in plain[half:]:
            splitter.feed(chunk)
        splitter.finish()
        return sum(map(len, plain)), len(plain)

    measure("inline <think> + boxes", inline)
    measure("reasoning field + content", fields)


if __name__ == "__main__":
    main()
