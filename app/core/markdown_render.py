"""Model output (Markdown) -> HTML that Qt's rich-text engine can show safely.

Model output is untrusted: raw HTML is shown as text, never interpreted; images are never embedded (a Markdown
image becomes a plain link, so QTextBrowser cannot be made to load a local file or a remote URL); links keep
only http, https and mailto targets. Code blocks are highlighted with Pygments using inline colours (Qt knows
no style sheets classes from Pygments) and get a ``copy:N`` link that the view turns into a Copy button.
Math (``$..$``, ``\\(..\\)``, ``$$..$$``, ``\\[..\\]``) goes to the caller's ``math`` function (a typeset image);
what it does not give is shown legibly, LaTeX commands as Unicode symbols. ``answer_blocks`` renders an answer
block by block with ``parse`` and ``render_tokens``.

Kept free of Qt so it can be tested and run on a worker thread.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.rules_block import StateBlock
from markdown_it.rules_inline import StateInline
from markdown_it.token import Token

SAFE_SCHEMES = ("http://", "https://", "mailto:")


@dataclass(frozen=True)
class Palette:
    code_background: str
    code_border: str
    muted: str
    link: str
    pygments_style: str


LIGHT = Palette("#f4f5f7", "#d8dbe0", "#6b7280", "#2563eb", "default")
DARK = Palette("#1e2227", "#3a3f47", "#9aa3ad", "#7aa2f7", "github-dark")
# The languages of most code blocks in answers: their lexers are imported ahead by warm_up.
COMMON_LANGUAGES = (
    *("python", "bash", "shell", "json", "javascript", "typescript", "html", "css", "sql", "yaml"),
    *("c", "cpp", "java", "go", "rust", "latex", "markdown", "text"),
)


def warm_up() -> None:
    """Imports what the first code block of the first answer would import on the Qt thread: Pygments'
    formatter, both palettes' styles and the common languages' lexers. Once PySide6 is imported, every import
    reads the module's source (shiboken's check for its ``__feature__`` imports), so these cost the window a
    stall of 50-170 ms mid-answer. For a worker thread, once the window is up."""
    for palette in (LIGHT, DARK):
        for language in COMMON_LANGUAGES:
            _highlight("x = 1", language, palette.pygments_style)


def parse(text: str, env: dict[str, Any] | None = None) -> list[Token]:
    """markdown-it's tokens for ``text``. ``env`` may hold ``open`` (the text is still streaming: an unclosed
    display formula is shown as pending math), ``math`` (a formula -> HTML function), ``palette`` and
    ``code_base`` (the number of code blocks before this text, for ``copy:N``)."""
    return _markdown().parse(text, env if env is not None else {})


def render_tokens(tokens: list[Token], env: dict[str, Any]) -> str:
    env.setdefault("code", [])
    env.setdefault("palette", LIGHT)
    md = _markdown()
    return md.renderer.render(tokens, md.options, env)


def too_deep(tokens: list[Token]) -> bool:
    """Whether markdown-it hit its nesting limit in these tokens: it then drops the rest of the text without a
    word, so the caller shows the text another way."""
    limit = _markdown().options.maxNesting - 1
    for token in tokens:
        if token.level >= limit:
            return True
        for child in token.children or ():
            if child.level >= limit:
                return True
    return False


BREAK_RUN = 120  # a run of this many characters without a space gets a break opportunity after it
ZWSP = "\u200b"
_RUN = re.compile(r"[^\s\u200b]{" + str(BREAK_RUN) + ",}")


def breakable(text: str) -> str:
    """``text`` with a zero-width space after every BREAK_RUN characters of a run without spaces, so Qt can wrap
    it cheaply (it lays out a long unbroken run slowly). The source, and what Copy gives, is unchanged."""
    if len(text) < BREAK_RUN:
        return text
    return _RUN.sub(lambda m: ZWSP.join(m[0][i : i + BREAK_RUN] for i in range(0, len(m[0]), BREAK_RUN)), text)


_MD: MarkdownIt | None = None


def _markdown() -> MarkdownIt:
    global _MD
    if _MD is None:
        md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
        md.enable(["table", "strikethrough"])
        md.inline.ruler.before("escape", "math_inline", _math_inline)
        md.block.ruler.before(
            "fence", "math_block", _math_block, {"alt": ["paragraph", "reference", "blockquote", "list"]}
        )
        md.add_render_rule("fence", _render_code)
        md.add_render_rule("code_block", _render_code)
        md.add_render_rule("image", _render_image)
        md.add_render_rule("link_open", _render_link_open)
        md.add_render_rule("link_close", _render_link_close)
        md.add_render_rule("table_open", _render_table_open)
        md.add_render_rule("math_inline", _render_math_inline)
        md.add_render_rule("math_block", _render_math_block)
        md.add_render_rule("text", _render_text)
        _MD = md
    return _MD


# ------------------------------------------------------------------------------------------------ render rules


def _render_code(self: Any, tokens: list, idx: int, options: Any, env: dict) -> str:
    token = tokens[idx]
    code = token.content
    language = token.info.strip().split(" ")[0] if token.info else ""
    index = env.get("code_base", 0) + len(env["code"])
    env["code"].append(code.rstrip("\n"))
    palette: Palette = env["palette"]
    highlighted = _highlight(breakable(code.rstrip("\n")), language, palette.pygments_style)
    label = html.escape(language) if language else "code"
    return (
        f'<table width="100%" cellspacing="0" cellpadding="0" style="margin-top:6px"><tr>'
        f'<td><span style="color:{palette.muted}; font-size:small">{label}</span></td>'
        f'<td align="right"><a href="copy:{index}" style="font-size:small; text-decoration:none">Copy</a></td>'
        f"</tr></table>"
        f'<table width="100%" cellspacing="0" cellpadding="8" border="0" bgcolor="{palette.code_background}" '
        f'style="margin-bottom:8px"><tr><td>'
        f'<pre style="white-space:pre-wrap; margin:0">{highlighted}</pre></td></tr></table>\n'
    )


def _highlight(code: str, language: str, style: str) -> str:
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import get_lexer_by_name
    from pygments.util import ClassNotFound

    if not language:
        return html.escape(code)
    try:
        lexer = get_lexer_by_name(language, stripnl=False)
    except ClassNotFound:
        return html.escape(code)
    formatter = HtmlFormatter(nowrap=True, noclasses=True, style=style)
    return highlight(code, lexer, formatter).rstrip("\n")


def _render_image(self: Any, tokens: list, idx: int, options: Any, env: dict) -> str:
    token = tokens[idx]
    src = str(token.attrGet("src") or "")
    alt = html.escape(self.renderInlineAsText(token.children or [], options, env) or "image")
    if src.lower().startswith(("http://", "https://")):
        return f'<a href="{html.escape(src)}">[image: {alt}]</a>'
    return f"[image: {alt}]"


def _render_link_open(self: Any, tokens: list, idx: int, options: Any, env: dict) -> str:
    href = str(tokens[idx].attrGet("href") or "")
    safe = href.lower().startswith(SAFE_SCHEMES)
    env.setdefault("links", []).append("</a>" if safe else "</span>")
    return f'<a href="{html.escape(href)}">' if safe else "<span>"


def _render_table_open(self: Any, tokens: list, idx: int, options: Any, env: dict) -> str:
    palette: Palette = env["palette"]
    return (
        f'<table border="1" cellspacing="0" cellpadding="5" style="border-color:{palette.code_border}; '
        f'border-style:solid; margin-top:6px; margin-bottom:6px">\n'
    )


def _render_text(self: Any, tokens: list, idx: int, options: Any, env: dict) -> str:
    return html.escape(breakable(tokens[idx].content))


def _render_math_inline(self: Any, tokens: list, idx: int, options: Any, env: dict) -> str:
    tex = tokens[idx].content
    typeset = _typeset(env, tex, display=False)
    if typeset is not None:
        return typeset
    return f'<span style="font-family:serif; font-style:italic">{html.escape(breakable(latex_to_unicode(tex)))}</span>'


def _render_math_block(self: Any, tokens: list, idx: int, options: Any, env: dict) -> str:
    token = tokens[idx]
    tex = token.content.strip()
    if token.meta.get("open"):
        palette: Palette = env["palette"]
        return (
            f'<p align="center" style="color:{palette.muted}; font-family:monospace">'
            f"{html.escape(breakable(tex)) or '&nbsp;'} <i>(formula still arriving…)</i></p>\n"
        )
    typeset = _typeset(env, tex, display=True)
    if typeset is not None:
        return f'<p align="center">{typeset}</p>\n'
    text = html.escape(breakable(latex_to_unicode(tex)))
    return f'<p align="center" style="font-family:serif; font-style:italic">{text}</p>\n'


def _typeset(env: dict, tex: str, *, display: bool) -> str | None:
    """The HTML of a typeset formula from the caller's ``math`` function, or None (its source is then shown,
    and noted in ``pending`` so the caller can render it again once the formula is typeset)."""
    math = env.get("math")
    if math is None or not tex.strip():
        return None
    result = math(tex, display)
    if result is None:
        env.setdefault("pending", []).append(tex)
    return result


def _render_link_close(self: Any, tokens: list, idx: int, options: Any, env: dict) -> str:
    return env["links"].pop() if env.get("links") else "</a>"


# ------------------------------------------------------------------------------------------------ math parsing


def _math_inline(state: StateInline, silent: bool) -> bool:
    src, pos = state.src, state.pos
    if src.startswith("\\(", pos):
        start, end = pos + 2, src.find("\\)", pos + 2)
        close = 2
    elif src.startswith("$$", pos):
        start, end = pos + 2, src.find("$$", pos + 2)
        close = 2
    elif src.startswith("$", pos):
        start, close = pos + 1, 1
        if start >= state.posMax or src[start].isspace():
            return False
        end = start
        while True:
            end = src.find("$", end)
            if end < 0:
                return False
            # Pandoc's rule: the closing $ follows a non-space and is not followed by a digit ("$5 and $10").
            if not src[end - 1].isspace() and src[end - 1] != "\\" and not src[end + 1 : end + 2].isdigit():
                break
            end += 1
    else:
        return False
    if end < 0 or end == start or end > state.posMax:
        return False
    if not silent:
        token = state.push("math_inline", "math", 0)
        token.content = src[start:end]
        token.markup = src[pos:start]
    state.pos = end + close
    return True


def _math_block(state: StateBlock, start_line: int, end_line: int, silent: bool) -> bool:
    if state.sCount[start_line] - state.blkIndent >= 4:
        return False
    begin = state.bMarks[start_line] + state.tShift[start_line]
    first = state.src[begin : state.eMarks[start_line]]
    if first.startswith("$$"):
        close = "$$"
    elif first.startswith("\\["):
        close = "\\]"
    else:
        return False
    rest = first[2:]
    pending = False
    if close in rest:
        inner, _, after = rest.partition(close)
        if after.strip():
            return False
        lines, next_line = [inner], start_line + 1
    else:
        lines = [rest]
        line = start_line + 1
        while line < end_line:
            text = state.src[state.bMarks[line] + state.tShift[line] : state.eMarks[line]]
            if text.rstrip().endswith(close):
                lines.append(text.rstrip()[: -len(close)])
                break
            lines.append(text)
            line += 1
        else:
            if not state.env.get("open"):
                return False
            # Still streaming: the formula is not closed yet, and is shown as pending math, not as text.
            pending, line = True, end_line - 1
        next_line = line + 1
    if silent:
        return True
    state.line = next_line
    token = state.push("math_block", "math", 0)
    token.block = True
    token.content = "\n".join(lines)
    token.map = [start_line, next_line]
    if pending:
        token.meta = {"open": True}
    return True


# ------------------------------------------------------------------------------------------------ LaTeX -> Unicode

SYMBOLS = {
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "varepsilon": "ε", "zeta": "ζ",
    "eta": "η", "theta": "θ", "vartheta": "ϑ", "iota": "ι", "kappa": "κ", "lambda": "λ", "mu": "μ", "nu": "ν",
    "xi": "ξ", "pi": "π", "rho": "ρ", "sigma": "σ", "tau": "τ", "upsilon": "υ", "phi": "φ", "varphi": "φ",
    "chi": "χ", "psi": "ψ", "omega": "ω", "Gamma": "Γ", "Delta": "Δ", "Theta": "Θ", "Lambda": "Λ", "Xi": "Ξ",
    "Pi": "Π", "Sigma": "Σ", "Phi": "Φ", "Psi": "Ψ", "Omega": "Ω",
    "times": "×", "cdot": "·", "div": "÷", "pm": "±", "mp": "∓", "le": "≤", "leq": "≤", "ge": "≥", "geq": "≥",
    "neq": "≠", "ne": "≠", "approx": "≈", "equiv": "≡", "sim": "∼", "propto": "∝", "infty": "∞",
    "sum": "∑", "prod": "∏", "int": "∫", "oint": "∮", "partial": "∂", "nabla": "∇", "forall": "∀",
    "exists": "∃", "in": "∈", "notin": "∉", "subset": "⊂", "subseteq": "⊆", "supset": "⊃", "cup": "∪",
    "cap": "∩", "emptyset": "∅", "to": "→", "rightarrow": "→", "leftarrow": "←", "Rightarrow": "⇒",
    "Leftarrow": "⇐", "leftrightarrow": "↔", "Leftrightarrow": "⇔", "mapsto": "↦", "ldots": "…",
    "cdots": "⋯", "dots": "…", "circ": "∘", "degree": "°", "angle": "∠", "perp": "⊥", "parallel": "∥",
    "neg": "¬", "land": "∧", "lor": "∨", "wedge": "∧", "vee": "∨", "langle": "⟨", "rangle": "⟩",
    "quad": "  ", "qquad": "    ", "cdotp": "·", "star": "⋆", "ell": "ℓ", "hbar": "ℏ", "Re": "ℜ", "Im": "ℑ",
    "lfloor": "⌊", "rfloor": "⌋", "lceil": "⌈", "rceil": "⌉", "prime": "′", "log": "log", "ln": "ln",
    "sin": "sin", "cos": "cos", "tan": "tan", "exp": "exp", "lim": "lim", "max": "max", "min": "min",
}  # fmt: skip
SUPERSCRIPT = str.maketrans("0123456789+-=()ni", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁿⁱ")
SUBSCRIPT = str.maketrans("0123456789+-=()aeioux", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑᵢₒᵤₓ")
_SUP_CHARS = set("0123456789+-=()ni")
_SUB_CHARS = set("0123456789+-=()aeioux")
_GROUP = r"\{((?:[^{}]|\{[^{}]*\})*)\}"


def latex_to_unicode(tex: str) -> str:
    """A readable rendering of common LaTeX: Greek, operators, fractions, roots, scripts. What it does not know
    stays as written, so nothing is lost."""
    s = tex
    s = re.sub(r"\\(?:left|right|big|Big|bigg|Bigg)\b\s*", "", s)
    s = re.sub(r"\\(?:text|mathrm|mathbf|mathit|operatorname|mathsf|mathtt|boldsymbol)\s*" + _GROUP, r"\1", s)
    for _ in range(3):  # nested fractions and roots, innermost first
        s = re.sub(r"\\[dt]?frac\s*" + _GROUP + r"\s*" + _GROUP, lambda m: f"({m[1]})/({m[2]})", s)
        s = re.sub(r"\\sqrt\s*\[([^\]]*)\]\s*" + _GROUP, lambda m: f"{m[1]}√({m[2]})", s)
        s = re.sub(r"\\sqrt\s*" + _GROUP, lambda m: f"√({m[1]})", s)
    s = re.sub(r"\\([A-Za-z]+)", lambda m: SYMBOLS.get(m[1], m[0]), s)
    s = re.sub(r"\^" + _GROUP, lambda m: _script(m[1], SUPERSCRIPT, _SUP_CHARS, "^"), s)
    s = re.sub(r"_" + _GROUP, lambda m: _script(m[1], SUBSCRIPT, _SUB_CHARS, "_"), s)
    s = re.sub(r"\^([0-9a-zA-Z+\-])", lambda m: _script(m[1], SUPERSCRIPT, _SUP_CHARS, "^"), s)
    s = re.sub(r"_([0-9a-zA-Z])", lambda m: _script(m[1], SUBSCRIPT, _SUB_CHARS, "_"), s)
    s = s.replace("\\,", " ").replace("\\;", " ").replace("\\!", "").replace("\\{", "{").replace("\\}", "}")
    s = s.replace("\\\\", "; ")
    return re.sub(r"(?<!\\)[{}]", "", s)


def _script(text: str, table: dict, allowed: set, mark: str) -> str:
    if text and set(text) <= allowed:
        return text.translate(table)
    return f"{mark}({text})" if len(text) > 1 else f"{mark}{text}"
