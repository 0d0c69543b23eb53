"""An answer as a list of Markdown blocks, rendered while it streams, at a cost bounded by the open block.

The answer is cut into top-level Markdown blocks (a paragraph, a heading, a list, a table, a code fence, a
display formula). A block is *closed* once the parse of the text after the last closed block finds a later
block whose first line is complete: CommonMark never joins two top-level blocks again once a complete line has
started a new one (nothing here uses link reference definitions, the one rule that reaches across blocks). A
closed block is rendered once and never again; only the last, *open* block is parsed and rendered on each
update, so an update costs in proportion to the open block, never to the answer.

The same machine cuts a whole stored answer: it is fed in pieces, as if it streamed, so a reopened answer is cut
exactly as it was cut live, and the final render equals the live one block for block.

Bounds, whatever the model writes:
- a block past ``MAX_BLOCK`` characters is shown cut, with a line that says how much is left out and a
  ``show:N`` link the view turns into "Show all" (a plain-text viewer). While it is open only a cheap scan of
  the new lines looks for its end, so a 5 MB line costs what 100 KB does;
- long runs without a space get break opportunities for display (Qt lays out a 100 KB unbroken run slowly);
- a block nested past markdown-it's limit (which silently drops the rest) is shown as indented text instead.

Kept free of Qt so it can be tested and run anywhere.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from app.core import markdown_render
from app.core.markdown_render import DARK, LIGHT, Palette, breakable

MAX_BLOCK = 100_000  # characters of one block that are rendered; the rest is behind "Show all"
FEED_STEP = 16_384  # a whole text is cut in pieces of this size, as if it streamed

# What a block's first token says about where an oversized block can end (see ``_oversized_end``).
_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})")


@dataclass(frozen=True)
class Block:
    """One top-level block: where it starts in the answer, its source, and its HTML."""

    start: int
    source: str
    html: str
    code: tuple[str, ...] = ()  # the source of each code block in it, for the view's Copy links
    closed: bool = True
    cut: bool = False  # shown cut: only its first MAX_BLOCK characters are rendered
    math: tuple[str, ...] = ()  # formulas it shows as source because they are not typeset yet


@dataclass
class Change:
    """What one update changed: blocks that closed (in order), and the open block as it is now (or None);
    ``reset``: everything shown before goes first; ``rerendered``: closed blocks (by index) rendered anew."""

    closed: list[Block] = field(default_factory=list)
    open: Block | None = None
    reset: bool = False
    rerendered: list[tuple[int, Block]] = field(default_factory=list)


# A formula -> HTML for it, or None to show its source (the renderer may not be ready, or may not cope).
MathHtml = Callable[[str, bool], "str | None"]


@dataclass
class _Oversized:
    """An open block past MAX_BLOCK: its rendered head, and how its end is looked for."""

    head: Block
    kind: str
    fence: str = ""
    scanned: int = 0  # offset (in the open text) up to which complete lines were scanned
    blank_before: bool = False


class LiveMarkdown:
    """Feed it the streamed answer piece by piece; each ``feed`` says what to show."""

    def __init__(self, *, dark: bool = False, math: MathHtml | None = None) -> None:
        self.palette: Palette = DARK if dark else LIGHT
        self.math = math
        self.source = ""
        self.closed: list[Block] = []
        self._open_start = 0  # where the open block starts in ``source``
        self._code_count = 0  # code blocks in closed blocks, so Copy links are numbered across the answer
        self._oversized: _Oversized | None = None

    # ------------------------------------------------------------------------------------------ public

    def feed(self, text: str) -> Change:
        change = Change()
        for start in range(0, len(text), FEED_STEP):
            self.source += text[start : start + FEED_STEP]
            change.closed.extend(self._step())
        change.open = self._render_open()
        return change

    def finish(self) -> Change:
        """The answer is complete: the open block closes as it is."""
        change = Change()
        last = self._render_open(closed=True)
        if last is not None:
            change.closed.append(last)
            self._close(last)
        self._open_start = len(self.source)
        self._oversized = None
        return change

    def rerender(self, block: Block) -> Block:
        """The same block rendered again (a formula it showed as source is typeset now)."""
        base = _code_base(self.closed, block.start)
        return self._render(block.source, block.start, closed=block.closed, cut=block.cut, code_base=base)

    @property
    def open_start(self) -> int:
        return self._open_start

    # ------------------------------------------------------------------------------------------ cutting

    def _step(self) -> list[Block]:
        """Close what can be closed in the open text; the blocks that closed."""
        closed: list[Block] = []
        while True:
            if self._oversized is not None:
                end = self._oversized_end()
                if end is None:
                    return closed
                head = self._oversized.head
                source = self.source[self._open_start : self._open_start + end]
                note = _cut_note(len(source) - len(head.source), head.start)
                block = Block(head.start, source, head.html + note, head.code, True, True, head.math)
                closed.append(block)
                self._close(block)
                self._open_start += end
                self._oversized = None
                continue
            text = self.source[self._open_start :]
            window = text[: MAX_BLOCK + 1]
            boundaries = self._boundaries(window)
            if not boundaries and len(text) > MAX_BLOCK:
                # A line longer than the window: its first characters already say which block it starts.
                boundaries = self._boundaries(window, complete_only=False)
                if not boundaries:
                    self._start_oversized(text)
                    continue
            if not boundaries:
                return closed
            begin = 0
            for end in boundaries:
                block = self._render(text[begin:end], self._open_start + begin, closed=True)
                closed.append(block)
                self._close(block)
                begin = end
            self._open_start += begin

    def _boundaries(self, text: str, *, complete_only: bool = True) -> list[int]:
        """Where the top-level blocks of ``text`` after the first start, up to the last one whose first line is
        complete (the blocks before it are closed); empty while the text is still one block."""
        tokens = markdown_render.parse(text, {"open": True})
        lines = sorted({t.map[0] for t in tokens if t.level == 0 and t.nesting >= 0 and t.map is not None})
        complete = text.count("\n") + (0 if complete_only else 1)  # lines 0..complete-1 end with a newline
        lines = [line for line in lines[1:] if line < complete]
        if not lines:
            return []
        offsets = _line_offsets(text)
        return [offsets[line] for line in lines]

    def _close(self, block: Block) -> None:
        self.closed.append(block)
        self._code_count += len(block.code)

    # ------------------------------------------------------------------------------------------ oversized

    def _start_oversized(self, text: str) -> None:
        head_text = text[:MAX_BLOCK]
        cut_at = head_text.rfind("\n")
        if cut_at > MAX_BLOCK // 2:
            head_text = head_text[: cut_at + 1]
        head = self._render(head_text, self._open_start, closed=False, cut=True)
        tokens = markdown_render.parse(head_text)
        first = next((t for t in tokens if t.level == 0 and t.map is not None), None)
        kind = first.type if first is not None else "paragraph_open"
        fence = ""
        if kind == "fence" and first is not None:
            fence = first.markup
        elif kind == "math_block" and first is not None:
            fence = "$$" if first.markup.startswith("$$") else "\\]"
        self._oversized = _Oversized(head, kind, fence, scanned=len(head_text))

    def _oversized_end(self) -> int | None:
        """Where the oversized open block ends (an offset in the open text), by a scan of the complete lines
        that arrived since the last look: a fence ends at its closing fence, a display formula at its closing
        mark, anything else at a line that starts at the margin after a blank line. An approximation of
        CommonMark, good enough for a block whose rest is hidden anyway, and the same however the text came."""
        state = self._oversized
        assert state is not None
        text = self.source[self._open_start :]
        position = state.scanned
        while True:
            newline = text.find("\n", position)
            if newline < 0:
                state.scanned = position
                return None
            line = text[position:newline]
            after = newline + 1
            if state.kind == "fence":
                match = _FENCE.fullmatch(line.rstrip())
                if match and match[1][0] == state.fence[0] and len(match[1]) >= len(state.fence):
                    return after
            elif state.kind == "math_block":
                if line.rstrip().endswith(state.fence):
                    return after
            elif not line.strip():
                state.blank_before = True
            elif state.blank_before and not line[:1].isspace():
                return position
            else:
                state.blank_before = False
            position = after

    # ------------------------------------------------------------------------------------------ rendering

    def _render_open(self, *, closed: bool = False) -> Block | None:
        """The open block as it is now (``closed``: as it ends, the answer being complete)."""
        if self._oversized is not None:
            head = self._oversized.head
            hidden = len(self.source) - self._open_start - len(head.source)
            return Block(head.start, self.source[self._open_start :], head.html + _cut_note(hidden, head.start),
                         head.code, closed, True, head.math)  # fmt: skip
        text = self.source[self._open_start :]
        if not text.strip():
            return None
        return self._render(text, self._open_start, closed=closed)

    def _render(
        self, source: str, start: int, *, closed: bool, cut: bool = False, code_base: int | None = None
    ) -> Block:
        """``code_base``: the code blocks before this one (default: all the closed blocks')."""
        base = self._code_count if code_base is None else code_base
        shown = source[:MAX_BLOCK] if cut else source
        if not closed and not cut:
            shown = _as_it_will_be(shown)
        env: dict[str, Any] = {"code": [], "palette": self.palette, "math": self.math, "pending": [],
                               "code_base": base, "open": not closed}  # fmt: skip
        tokens = markdown_render.parse(shown, env)
        deep = markdown_render.too_deep(tokens)
        body = _indented_text(shown) if deep else markdown_render.render_tokens(tokens, env)
        if cut and closed:
            body += _cut_note(len(source) - len(shown), start)
        return Block(start, source, body, tuple(env["code"]), closed, cut, tuple(env["pending"]))


def plain_block(source: str, error: BaseException) -> Block:
    """The whole answer as plain text, when rendering it failed (a bug): nothing of it is lost."""
    note = f'<p style="font-size:small"><i>This answer could not be rendered ({html.escape(str(error))}).</i></p>'
    lines = "".join(f"<p>{html.escape(breakable(line))}</p>" for line in source.split("\n"))
    return Block(0, source, note + lines)


def cut_answer(text: str, *, dark: bool = False, math: MathHtml | None = None) -> list[Block]:
    """A whole answer's blocks, cut as they were while it streamed."""
    live = LiveMarkdown(dark=dark, math=math)
    live.feed(text)
    live.finish()
    return live.closed


_DELIMITER_ROW = re.compile(r"[\s|:\-]*")
_UNCLOSED = ("**", "__", "~~")


def _as_it_will_be(text: str) -> str:
    """The open block as it will most likely read once complete, so it does not show raw Markdown while it
    streams: a table's header row gets its delimiter row, and emphasis or code opened on the last line is
    closed. Only for display: the source is unchanged, and the closed block is rendered from it."""
    stripped = text.lstrip()
    if stripped.startswith(("```", "~~~", "$$", "\\[", "    ")):
        return text
    lines = text.rstrip("\n").split("\n")
    if stripped.startswith("|") and (len(lines) == 1 or (len(lines) == 2 and _DELIMITER_ROW.fullmatch(lines[1]))):
        columns = max(1, lines[0].strip().strip("|").count("|") + 1)
        return lines[0] + "\n|" + "---|" * columns + "\n"
    last = lines[-1]
    formula = _open_formula(last)
    if formula is not None:  # "$\frac{a" shows once its closing "$" comes, not as TeX meanwhile
        text = text.rstrip("\n")[: len(text.rstrip("\n")) - (len(last) - formula)]
        lines[-1] = last = last[:formula]
    closing = ""
    if last.count("`") % 2:
        closing += "`"
    elif "`" not in last:
        opened = [m for m in _UNCLOSED if last.count(m) % 2 and not last.rstrip().endswith(m)]
        closing = "".join(sorted(opened, key=last.rfind, reverse=True))
    return text.rstrip("\n") + closing + "\n" if closing else text


def _open_formula(line: str) -> int | None:
    """Where an inline formula opened on this line and not closed yet starts, if one is."""
    start = line.rfind("\\(")
    if start >= 0 and "\\)" not in line[start:]:
        return start
    dollars = [i for i, c in enumerate(line) if c == "$" and (i == 0 or line[i - 1] != "\\")]
    if not dollars or not len(dollars) % 2 or "$$" in line:
        return None
    after = line[dollars[-1] + 1 : dollars[-1] + 2]
    return dollars[-1] if after not in ("", " ") and not after.isdigit() else None  # "$5" is money


def _code_base(closed: list[Block], start: int) -> int:
    return sum(len(b.code) for b in closed if b.start < start)


def _line_offsets(text: str) -> list[int]:
    offsets = [0]
    position = text.find("\n")
    while position >= 0:
        offsets.append(position + 1)
        position = text.find("\n", position + 1)
    return offsets


def _cut_note(hidden: int, start: int) -> str:
    return (
        f'<p style="font-size:small"><i>{_size(hidden)} more of this block are not shown.</i> '
        f'<a href="show:{start}">Show all</a></p>\n'
    )


def _size(characters: int) -> str:
    if characters >= 1_000_000:
        return f"{characters / 1_000_000:.1f} million characters"
    if characters >= 10_000:
        return f"{characters // 1000:,} thousand characters"
    return f"{characters:,} characters"


def _indented_text(source: str) -> str:
    """A block nested too deep to parse, shown line by line with its indentation, nothing left out."""
    lines = []
    for line in source.rstrip("\n").split("\n"):
        stripped = line.lstrip(" \t")
        depth = len(line) - len(stripped)
        lines.append(f'<p style="margin:0; margin-left:{min(depth, 120) * 4}px">{html.escape(breakable(stripped))}</p>')
    return "\n".join(lines) + "\n"
