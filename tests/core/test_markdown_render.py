"""Markdown -> safe HTML for the answer view."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

from app.core.answer_blocks import cut_answer
from app.core.markdown_render import latex_to_unicode


@dataclass
class Rendered:
    html: str
    code_blocks: list[str]


def render(text: str, *, dark: bool = False) -> Rendered:
    """The answer as the view shows it: its blocks' HTML one after the other, and every code block's source."""
    blocks = cut_answer(text, dark=dark)
    return Rendered("".join(b.html for b in blocks), [code for b in blocks for code in b.code])


def test_raw_html_from_the_model_is_shown_as_text():
    out = render('<script>alert(1)</script>\n\n<img src="file:///etc/passwd"> <b onclick="x()">hi</b>').html
    assert "<script" not in out and "<img" not in out and "<b " not in out
    assert "&lt;script&gt;" in out


@pytest.mark.parametrize(
    "source",
    ["![chart](http://example.com/a.png)", "![local](/etc/passwd)", "![data](data:image/png;base64,AAAA)"],
)
def test_images_are_never_embedded(source):
    out = render(source).html
    assert "<img" not in out
    assert "[image: " in out


@pytest.mark.parametrize("href", ["javascript:alert(1)", "file:///etc/passwd", "vbscript:x", "data:text/html,x"])
def test_unsafe_links_lose_their_target(href):
    out = render(f"[click]({href}) and [ok](https://z.ai/docs)").html
    assert 'href="https://z.ai/docs"' in out
    assert out.count("<a ") == 1
    assert "click" in out and f'href="{href}' not in out


def test_code_blocks_are_highlighted_and_copyable():
    result = render("Before\n\n```python\ndef f(x):\n    return x < 2\n```\n\n```\nplain <tag>\n```\n")
    assert result.code_blocks == ["def f(x):\n    return x < 2", "plain <tag>"]
    assert 'href="copy:0"' in result.html and 'href="copy:1"' in result.html
    assert re.search(r'<span style="color: #[0-9A-Fa-f]+; font-weight: bold">def</span>', result.html)
    assert "&lt;tag&gt;" in result.html


def test_dark_theme_uses_a_dark_code_background():
    assert render("```\nx\n```", dark=True).html != render("```\nx\n```").html
    assert "#1e2227" in render("```\nx\n```", dark=True).html


def test_tables_render_as_tables():
    out = render("| name | value |\n|---|---:|\n| a | 1 |\n| b | 2 |\n").html
    assert "<table" in out and out.count("<tr>") == 3 and "<th>name</th>" in out


def test_math_is_legible_and_dollar_amounts_stay_text():
    out = render(
        r"Energy $E = mc^2$, ratio \(\frac{a}{b}\), costs $5 and $10." + "\n\n$$\n\\alpha \\le \\beta\n$$\n"
    ).html
    assert "E = mc²" in out
    assert "(a)/(b)" in out
    assert "$5 and $10" in out
    assert "α ≤ β" in out


def test_latex_to_unicode_keeps_what_it_does_not_know():
    assert latex_to_unicode(r"\sqrt{x^2 + y^2}") == "√(x² + y²)"
    assert latex_to_unicode(r"x_{i,j}") == "x_(i,j)"
    assert latex_to_unicode(r"\unknowncmd{z}") == r"\unknowncmdz"
    assert latex_to_unicode(r"\text{speed} = \frac{d}{t}") == "speed = (d)/(t)"


def test_unclosed_constructs_do_not_swallow_the_answer():
    text = "Start ```python\nunterminated\n\n$$ never closed\n\nEnd with $ sign"
    out = render(text).html
    assert "never closed" in out and "End with $ sign" in out
