"""Page and slide selection: the person's "1-5, 9" and the pages that fit a token budget.

Page numbers are 1-based everywhere a person sees them; the renderers convert to 0-based indexes themselves.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.core.errors import AppError

_PART = re.compile(r"^\s*(\d*)\s*(?:(-|–|\.\.)\s*(\d*))?\s*$")


class PageSpecError(AppError, ValueError):
    """A page selection that cannot be understood or selects nothing in this document."""


def parse_pages(spec: str | None, total: int, notes: list[str] | None = None) -> list[int]:
    """The 1-based pages a selection names, in the order given, without repeats.

    Accepts "1-5, 9", "3-" (to the end), "-4" (from the start), "all" and spaces or semicolons as separators.
    Pages past the end of the document are an error when a selection names no page that exists; a range that
    runs past the end is clipped, since "1-100" on a 40-page file plainly means "all of it".
    """
    if spec is None or not spec.strip() or spec.strip().lower() == "all":
        return list(range(1, total + 1))
    pages: list[int] = []
    seen: set[int] = set()
    missing: list[str] = []
    chunks: list[str] = []
    for piece in re.split(r"[,;]", spec.strip()):
        # "1 3 5" is three pages; "1 - 5" is one range.
        chunks.extend(piece.split() if re.fullmatch(r"[\d\s]+", piece) else [piece])
    for chunk in chunks:
        if not chunk.strip():
            continue
        m = _PART.match(chunk)
        if m is None or (not m.group(1) and not m.group(3) and m.group(2) is None):
            raise PageSpecError(f"cannot read page selection {chunk.strip()!r}; write it like 1-5, 9")
        first_text, dash, last_text = m.groups()
        if dash is None:
            first = last = int(first_text)
        else:
            first = int(first_text) if first_text else 1
            last = int(last_text) if last_text else total
        if first < 1 or last < 1:
            raise PageSpecError(f"page numbers start at 1 (got {chunk.strip()!r})")
        if first > total:
            missing.append(chunk.strip())
            continue
        if first > last:
            raise PageSpecError(f"the range {chunk.strip()!r} runs backwards; write it as {last}-{first}")
        for page in range(first, min(last, total) + 1):
            if page not in seen:
                seen.add(page)
                pages.append(page)
    if not pages:
        raise PageSpecError(
            f"the selection {spec.strip()!r} names no page of this document, which has {total} page(s)"
            if missing
            else f"the selection {spec.strip()!r} names no page"
        )
    if missing and notes is not None:
        notes.append(f"{', '.join(missing)}: past the last page ({total}), skipped")
    return pages


def format_pages(pages: list[int]) -> str:
    """The shortest "1-5, 9" form of a list of pages (kept in the given order)."""
    out: list[str] = []
    i = 0
    while i < len(pages):
        j = i
        while j + 1 < len(pages) and pages[j + 1] == pages[j] + 1:
            j += 1
        out.append(str(pages[i]) if i == j else f"{pages[i]}-{pages[j]}")
        i = j + 1
    return ", ".join(out)


def which_of(unit: str, number: int, index: int, count: int) -> str:
    """The page being prepared as progress names it: "page 40 of 85" while the pages go from the first, else
    "page 120 (35 of 85)", since page 120 of 85 reads as a mistake."""
    unit = unit.lower()
    return f"{unit} {number} of {count}" if number == index else f"{unit} {number} ({index} of {count})"


@dataclass(frozen=True)
class PagePlan:
    """Which pages go to the model and how many image tokens each may use."""

    pages: list[int]
    dropped: list[int]
    tokens_per_page: int


def plan_pages(selected: list[int], budget_tokens: int, *, min_tokens: int, max_tokens: int) -> PagePlan:
    """Fit pages into a token budget: sharper pages when few, down to ``min_tokens`` (still legible), and past
    that the first pages that fit rather than unreadable thumbnails of all of them."""
    if not selected:
        return PagePlan([], [], 0)
    fit = max(1, budget_tokens // max(1, min_tokens))
    used = selected[:fit]
    per_page = max(min_tokens, min(max_tokens, budget_tokens // len(used)))
    return PagePlan(used, selected[len(used) :], per_page)
