"""The math typesetter renders for real (ziamath) and is drawn the way the view draws it: Qt's QSvgRenderer into a
QImage at a device pixel ratio. Hostile input returns quickly with None or a bounded image."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from app.core import math_typeset as mt
from tests.support.formulas import SAMPLES
from tests.support.paths import ROOT

BLACK = "#000000"

HOSTILE = {
    "unbalanced open brace": r"\frac{a}{b",
    "unbalanced close braces": r"a}}b{",
    "left without right": r"\left( x",
    "def loop": r"\def\x{\x}\x",
    "recursive newcommand": r"\newcommand{\r}{\r}\r",
    "10,000 characters": "x+" * 5000,
    "500x500 matrix": r"\begin{pmatrix}" + r"\\".join(["&".join(["1"] * 500)] * 500) + r"\end{pmatrix}",
    "\\\\ 10,000 times": r"\\" * 10000,
    "\\\\ 900 times": r"\\" * 900,
    "400-row column": r"\begin{matrix}" + r"\\".join(["1"] * 400) + r"\end{matrix}",
    "braces 900 deep": "{" * 900 + "x" + "}" * 900,
    "sqrt 399 deep": r"\sqrt" * 399 + "x",
    "CJK text": r"\text{面积} = \pi r^2",
    "emoji": "😀",
    "NUL": "a\x00b",
    "markup": "<svg onload=x>&amp;",
    "empty": "",
    "blank": " \n\t ",
}


def _raster(qapp, formula: mt.Formula, scale: float = 2.0):
    """What the view does: the SVG drawn into a transparent QImage of the formula's size at a device ratio."""
    from PySide6.QtCore import QByteArray, QRectF
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(QByteArray(formula.svg))
    assert renderer.isValid()
    image = QImage(round(formula.width * scale), round(formula.height * scale), QImage.Format.Format_ARGB32)
    image.fill(0)
    painter = QPainter(image)
    renderer.render(painter, QRectF(0, 0, image.width(), image.height()))
    painter.end()
    return image


def _ink(image, min_alpha: int = 128) -> list[tuple[int, int, tuple[int, int, int]]]:
    found = []
    for y in range(image.height()):
        for x in range(image.width()):
            c = image.pixelColor(x, y)
            if c.alpha() >= min_alpha:
                found.append((x, y, (c.red(), c.green(), c.blue())))
    return found


def _typeset(tex: str, display: bool = False, color: str = BLACK, font_px: float = 20) -> mt.Formula:
    formula = mt.typeset(tex, display=display, color=color, font_px=font_px)
    assert formula is not None, tex
    return formula


@pytest.mark.gui
@pytest.mark.parametrize(("name", "tex", "display"), SAMPLES, ids=[s[0] for s in SAMPLES])
def test_glm_style_formulas_typeset_and_draw_in_qt(qapp, name, tex, display):
    formula = _typeset(tex, display)
    assert 0 < formula.width < 1000 and 0 < formula.height < 200
    assert -formula.height < formula.depth < formula.height
    assert len(_ink(_raster(qapp, formula))) > 20, name


def test_a_fraction_is_taller_than_a_symbol():
    assert _typeset(r"\frac{a}{b}").height > 1.5 * _typeset("a").height


def test_display_math_is_bigger_than_inline():
    for tex in (r"\sum_{i=1}^{n} i^2", r"\frac{a}{b}", r"\lim_{x \to 0} f"):
        inline, display = _typeset(tex, display=False), _typeset(tex, display=True)
        assert display.height > 1.2 * inline.height, tex


def test_a_matrix_shows_its_rows():
    one = _typeset(r"\begin{pmatrix} 1 & 2 \end{pmatrix}", display=True)
    two = _typeset(r"\begin{pmatrix} 1 & 2 \\ 3 & 4 \end{pmatrix}", display=True)
    three = _typeset(r"\begin{pmatrix} 1 \\ 2 \\ 3 \end{pmatrix}", display=True)
    assert two.height > 1.6 * one.height
    assert three.height > 1.3 * two.height


def test_cases_and_aligned_rows_are_stacked():
    one = _typeset(r"\begin{aligned} a &= b \end{aligned}", display=True)
    two = _typeset(r"\begin{aligned} a &= b \\ c &= d \end{aligned}", display=True)
    assert two.height > 1.6 * one.height
    assert _typeset(r"\begin{cases} 1 & x > 0 \\ 0 & x \le 0 \end{cases}", display=True).height > 1.6 * one.height


def test_align_is_not_numbered_and_a_tag_stays_beside_its_equation():
    numbered = _typeset(r"\begin{align} a &= b \\ c &= d \end{align}", display=True)
    starred = _typeset(r"\begin{align*} a &= b \\ c &= d \end{align*}", display=True)
    assert numbered.width == pytest.approx(starred.width)
    tagged, plain = _typeset(r"E = mc^2 \tag{1}", display=True), _typeset(r"E = mc^2", display=True)
    assert plain.width + 20 < tagged.width < plain.width + 120


@pytest.mark.gui
@pytest.mark.parametrize("color", ["#d03020", "#2050e0", "#e8e8e8"])
def test_the_color_is_applied_to_glyphs_and_rules(qapp, color):
    formula = _typeset(r"\frac{x}{y} + \sqrt{2}", color=color)
    image = _raster(qapp, formula)
    want = tuple(int(color[i : i + 2], 16) for i in (1, 3, 5))
    solid = [rgb for _, _, rgb in _ink(image, min_alpha=250)]
    assert len(solid) > 50
    assert all(max(abs(a - b) for a, b in zip(rgb, want, strict=True)) <= 2 for rgb in solid)
    # The fraction bar is a rule, not a glyph: a row of solid pixels across most of the numerator's width.
    rows: dict[int, int] = {}
    for _, y, _ in _ink(image, min_alpha=250):
        rows[y] = rows.get(y, 0) + 1
    assert max(rows.values()) >= 0.25 * image.width()


@pytest.mark.gui
def test_the_baseline_is_where_the_ink_of_a_letter_stops(qapp):
    scale = 4.0
    for tex in ("x", "a + b", r"\mathrm{H}"):
        formula = _typeset(tex, font_px=30)
        bottom = max(y for _, y, _ in _ink(_raster(qapp, formula, scale), min_alpha=64)) + 1
        assert bottom / scale == pytest.approx(formula.ascent, abs=1.5), tex
    x, y = _typeset("x"), _typeset("y")
    assert 0 <= x.depth < 0.25 * x.height
    assert y.depth > x.depth + 2  # a descender goes below the baseline
    fraction = _typeset(r"\frac{a}{b}")
    assert fraction.depth > 0.3 * fraction.height and fraction.ascent > 0.3 * fraction.height
    above = _typeset(r"\overset{!}{=}")
    assert above.ascent > 0


def test_a_cache_hit_returns_the_same_object_at_once():
    args = dict(display=True, color="#123456", font_px=19.5)
    first = mt.typeset(r"\int_0^\infty e^{-x^2}\,dx = \frac{\sqrt{\pi}}{2}", **args)
    hits = mt.cache_info().hits
    started = time.perf_counter()
    again = mt.typeset(r"\int_0^\infty e^{-x^2}\,dx = \frac{\sqrt{\pi}}{2}", **args)
    assert time.perf_counter() - started < 1.0
    assert again is first and first is not None
    assert mt.cache_info().hits == hits + 1
    assert mt.typeset_async(r"\int_0^\infty e^{-x^2}\,dx = \frac{\sqrt{\pi}}{2}", **args).done()
    other = mt.typeset(r"\int_0^\infty e^{-x^2}\,dx = \frac{\sqrt{\pi}}{2}", **{**args, "color": "#654321"})
    assert other is not first and other is not None and other.svg != first.svg


@pytest.mark.parametrize("tex", [r"\frac{a}{", r"\foo{x} + 1", r"\ce{H2O}", "x_", r"\begin{pmatrix} 1", r"\limits"])
def test_what_cannot_be_typeset_gives_none_for_the_source_to_be_shown(tex):
    started = time.perf_counter()
    assert mt.typeset(tex, display=False, color=BLACK, font_px=16) is None
    assert time.perf_counter() - started < 5
    assert mt.typeset(tex, display=False, color=BLACK, font_px=16) is None  # cached as a failure


@pytest.mark.parametrize("tex", list(HOSTILE.values()), ids=list(HOSTILE))
def test_hostile_input_returns_quickly_and_bounded(tex):
    started = time.perf_counter()
    formula = mt.typeset(tex, display=True, color=BLACK, font_px=20, scale=2.0)
    assert time.perf_counter() - started < 5
    if formula is not None:
        assert max(formula.width, formula.height) * 2 <= mt.MAX_SIDE_DEVICE_PX
        assert formula.width * formula.height * 4 <= mt.MAX_DEVICE_PIXELS
        assert len(formula.svg) <= mt.MAX_SVG_BYTES


def test_absurd_sizes_give_none_and_a_bad_color_is_a_caller_error():
    for font_px in (0, -5, 1e6, float("nan")):
        assert mt.typeset("x", display=False, color=BLACK, font_px=font_px) is None
    for scale in (0, 100, float("nan")):
        assert mt.typeset("x", display=False, color=BLACK, font_px=16, scale=scale) is None
    wide = r"\frac{a}{b}" * 150  # about 1,940 logical pixels wide: fine at ratio 2, past 8,192 device pixels at 5
    assert mt.typeset(wide, display=False, color=BLACK, font_px=20, scale=2.0) is not None
    assert mt.typeset(wide, display=False, color=BLACK, font_px=20, scale=5.0) is None
    for color in ("red", "#fff", "#12345g", '#000000" onload="x'):
        with pytest.raises(ValueError, match="color"):
            mt.typeset("x", display=False, color=color, font_px=16)


def test_a_slow_render_times_out_to_none_and_is_cached_when_done():
    tex = r"\frac{b}{a}" * 120 + r"\cdot"
    started = time.perf_counter()
    assert mt.typeset(tex, display=False, color=BLACK, font_px=18, timeout_s=0.001) is None
    assert time.perf_counter() - started < 1
    later = mt.typeset_async(tex, display=False, color=BLACK, font_px=18).result(timeout=10)
    assert later is not None
    assert mt.typeset(tex, display=False, color=BLACK, font_px=18, timeout_s=0) is later


def test_the_cache_is_bounded_in_entries_and_bytes():
    formulas = [_typeset(f"x^{{{i}}} + {i}") for i in range(12)]
    cache = mt._Cache(max_entries=5, max_bytes=10**9)
    for i, formula in enumerate(formulas):
        cache.put((str(i), False, BLACK, 20.0), formula)
    assert cache.info().entries == 5
    assert cache.get(("11", False, BLACK, 20.0)) == (True, formulas[11])
    assert cache.get(("0", False, BLACK, 20.0)) == (False, None)
    small = mt._Cache(max_entries=100, max_bytes=3 * len(formulas[0].svg) + 1000)
    for i, formula in enumerate(formulas):
        small.put((str(i), False, BLACK, 20.0), formula)
    assert small.info().bytes <= 3 * len(formulas[0].svg) + 1000
    assert 1 <= small.info().entries <= 4


def test_importing_the_module_loads_no_renderer_and_the_first_formula_does():
    code = (
        "import sys, app.core.math_typeset as mt\n"
        "print('ziamath' in sys.modules, 'matplotlib' in sys.modules, 'latex2mathml' in sys.modules)\n"
        "f = mt.typeset('x^2', display=False, color='#000000', font_px=16)\n"
        "print('ziamath' in sys.modules, f is not None)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "False", "False", "True", "True"]


def test_warm_up_loads_the_renderer_without_blocking():
    code = (
        "import sys, app.core.math_typeset as mt\n"
        "future = mt.warm_up()\n"
        "assert future.result(timeout=30) is None\n"
        "print('ziamath' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert (out.returncode, out.stdout.strip()) == (0, "True"), out.stderr


def test_deep_nesting_from_a_thread_with_a_small_stack_does_not_crash():
    """The render runs on the module's own thread with a large stack, so the caller's stack does not matter
    (a QThread on macOS has 512 KiB; 256 KiB crashes ziamath when it renders on the caller's thread)."""
    code = (
        "import threading, app.core.math_typeset as mt\n"
        "threading.stack_size(256 * 1024)\n"
        "out = []\n"
        "def work():\n"
        "    for tex in ['{' * 900 + 'x' + '}' * 900, '\\\\sqrt' * 399 + 'x', 'x^{' * 450 + '1' + '}' * 450]:\n"
        "        out.append(mt.typeset(tex, display=True, color='#000000', font_px=16))\n"
        "t = threading.Thread(target=work); t.start(); t.join()\n"
        "print(out)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert (out.returncode, out.stdout.strip()) == (0, "[None, None, None]"), out.stderr


def test_soak_many_threads_share_one_renderer():
    """Eight threads ask for a mix of new, repeated and hostile formulas at once: each key gets one object, no
    call raises or hangs, and the cache stays within its bounds."""
    texts = [tex for _, tex, _ in SAMPLES] + list(HOSTILE.values())[:8] + [f"y_{{{i}}}" for i in range(40)]
    results: dict[tuple[str, str], set[int]] = {}
    lock = threading.Lock()

    def worker(seed: int) -> int:
        calls = 0
        for round_ in range(6):
            for i in range(len(texts)):
                tex = texts[(i * 7 + seed + round_) % len(texts)]
                color = ("#000000", "#ffffff")[(i + seed) % 2]
                formula = mt.typeset(tex, display=True, color=color, font_px=17)
                with lock:
                    results.setdefault((tex, color), set()).add(id(formula) if formula else 0)
                calls += 1
        return calls

    started = time.perf_counter()
    with ThreadPoolExecutor(8) as pool:
        calls = sum(pool.map(worker, range(8)))
    assert calls == 8 * 6 * len(texts)
    assert time.perf_counter() - started < 120
    assert all(len(ids) == 1 for ids in results.values())
    info = mt.cache_info()
    assert info.entries <= mt.CACHE_MAX_ENTRIES and info.bytes <= mt.CACHE_MAX_BYTES
