"""An answer cut into Markdown blocks while it streams (``app.core.answer_blocks``): the cut does not depend on
how the text arrived, closed blocks are never rendered again, and no answer, however hostile, costs more than
its open block or loses text."""

from __future__ import annotations

import base64
import random
import re

import pytest

from app.core import answer_blocks
from app.core.answer_blocks import MAX_BLOCK, LiveMarkdown, cut_answer
from app.core.markdown_render import ZWSP

ANSWER = r"""## Results

The chart compares **accuracy** across six benchmarks, with `code` and $x^2$ inline.

| region | share |
|:--|--:|
| north | 41 % |

```js
const total = parts.reduce((a, b) => a + b, 0);
```

- first point
- second point

  with a second paragraph

- third point

> a quotation
> on two lines

$$
\frac{a_{new} - a_{old}}{a_{old}} = \boxed{4.6\%}
$$

Setext heading
---

Final paragraph.
"""


def streamed(text: str, seed: int, most: int = 12) -> LiveMarkdown:
    live = LiveMarkdown()
    rng = random.Random(seed)
    position = 0
    while position < len(text):
        size = rng.randint(1, most)
        live.feed(text[position : position + size])
        position += size
    live.finish()
    return live


def shape(blocks) -> list[tuple[int, str, str]]:
    return [(b.start, b.source, b.html) for b in blocks]


def test_an_answer_is_cut_into_its_top_level_blocks():
    blocks = cut_answer(ANSWER)
    firsts = [b.source.split("\n", 1)[0] for b in blocks]
    assert firsts == [
        "## Results",
        "The chart compares **accuracy** across six benchmarks, with `code` and $x^2$ inline.",
        "| region | share |",
        "```js",
        "- first point",
        "> a quotation",
        "$$",
        "Setext heading",
        "Final paragraph.",
    ]
    assert "".join(b.source for b in blocks) == ANSWER  # nothing lost, nothing added
    assert "<h2>" in blocks[0].html and "<table" in blocks[2].html and "<pre" in blocks[3].html
    assert "<h2>Setext heading</h2>" in blocks[7].html


@pytest.mark.parametrize("seed", range(40))
def test_the_cut_is_the_same_however_the_text_arrived(seed):
    assert shape(streamed(ANSWER, seed).closed) == shape(cut_answer(ANSWER))


def test_closed_blocks_are_rendered_once_and_the_open_one_on_each_update():
    live = LiveMarkdown()
    first = live.feed("# Title\n\nSome text\n")  # a block closes once a complete line has started the next
    assert [b.source for b in first.closed] == ["# Title\n\n"]
    assert first.open is not None and first.open.source == "Some text\n" and not first.open.closed
    second = live.feed("goes on")
    assert second.closed == [] and second.open is not None and second.open.source == "Some text\ngoes on"
    assert live.closed[0] is first.closed[0]


def test_the_open_block_shows_what_it_will_be_not_raw_markers():
    live = LiveMarkdown()
    fence = live.feed("```python\ndef f():\n").open
    assert fence is not None and "<pre" in fence.html and "```" not in fence.html
    live = LiveMarkdown()
    table = live.feed("| a | b |\n").open
    assert table is not None and "<table" in table.html and "|" not in re.sub(r"<[^>]+>", "", table.html)
    live = LiveMarkdown()
    bold = live.feed("Some **bold te").open
    assert bold is not None and "<strong>bold te</strong>" in bold.html and "**" not in bold.html
    live = LiveMarkdown()
    math = live.feed("$$\n\\frac{a}{b}\n").open
    assert math is not None and "still arriving" in math.html and "$$" not in math.html


def test_an_unclosed_formula_at_the_end_is_shown_as_its_text():
    blocks = cut_answer("Before.\n\n$$\nx + 1\n")
    assert "x + 1" in blocks[-1].html and "still arriving" not in blocks[-1].html


def test_code_blocks_are_numbered_across_the_answer_for_copy():
    blocks = cut_answer("```\none\n```\n\ntext\n\n```\ntwo\n```\n")
    assert 'href="copy:0"' in blocks[0].html and 'href="copy:1"' in blocks[2].html
    assert [c for b in blocks for c in b.code] == ["one", "two"]


def test_a_five_megabyte_line_is_shown_cut_and_costs_what_its_head_costs():
    line = base64.b64encode(random.Random(3).randbytes(3_750_000)).decode()
    text = "Intro.\n\n" + line + "\n\nAfter it.\n"
    live = LiveMarkdown()
    for position in range(0, len(text), 50_000):
        change = live.feed(text[position : position + 50_000])
        if change.open is not None:
            assert len(change.open.html) < MAX_BLOCK * 1.2  # never more than the head, whatever has arrived
    live.finish()
    blocks = live.closed
    assert [b.source for b in blocks] == ["Intro.\n\n", line + "\n\n", "After it.\n"]
    assert blocks[1].cut and 'href="show:8"' in blocks[1].html and "million characters" in blocks[1].html
    assert "After it." in blocks[2].html
    assert shape(blocks) == shape(cut_answer(text))


def test_long_runs_get_break_opportunities_for_display_only():
    run = "x" * 1000
    block = cut_answer(f"Look: {run}\n")[0]
    assert ZWSP in block.html and block.source == f"Look: {run}\n"
    assert block.html.replace(ZWSP, "").count(run) == 1


def test_a_list_nested_past_the_parsers_limit_loses_nothing():
    nested = "".join("  " * i + f"- level {i}\n" for i in range(200)) + "\nAfter the list.\n"
    blocks = cut_answer(nested)
    shown = re.sub(r"<[^>]+>", "", "".join(b.html for b in blocks))
    for i in range(200):
        assert f"level {i}<" in "".join(b.html for b in blocks) or f"level {i}\n" in shown
    assert "After the list." in shown
    deep = [b for b in blocks if "margin-left" in b.html]
    assert deep, "the deep list is shown as indented text"


def test_inline_nesting_past_the_limit_loses_nothing():
    text = "[" * 300 + "deep" + "]" * 300 + " and after\n"
    html = "".join(b.html for b in cut_answer(text))
    assert "deep" in html and "and after" in html


def test_formulas_go_through_the_math_function_and_untypeset_ones_are_noted():
    seen: list[tuple[str, bool]] = []

    def math(tex: str, display: bool) -> str | None:
        seen.append((tex, display))
        return '<img src="math:1">' if tex == "x^2" else None

    blocks = cut_answer("Inline $x^2$ and $y_1$.\n\n$$\n\\frac{1}{2}\n$$\n", math=math)
    assert ("x^2", False) in seen and ("\\frac{1}{2}", True) in seen
    assert '<img src="math:1">' in blocks[0].html and blocks[0].math == ("y_1",)
    assert blocks[1].math == ("\\frac{1}{2}",)
    live = LiveMarkdown(math=math)
    live.feed("Inline $x^2$ and $y_1$.\n\nNext\n")
    assert live.rerender(live.closed[0]).html == live.closed[0].html


def test_a_failed_render_is_shown_as_plain_text():
    block = answer_blocks.plain_block("line one\n<b>two</b>", ValueError("boom"))
    assert "line one" in block.html and "&lt;b&gt;two" in block.html and "boom" in block.html


def test_an_inline_formula_still_arriving_is_not_shown_as_tex():
    live = LiveMarkdown()
    block = live.feed("Energy is $E = \\frac{m").open
    assert block is not None and "frac" not in block.html and "Energy is" in block.html
    block = live.feed("}{2}$ and it costs $5").open
    assert block is not None and "$5" in block.html and "$E" not in block.html
