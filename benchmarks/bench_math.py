"""Figures for the math typesetter (app/core/math_typeset.py, ziamath): what it costs the start, the first
formula, each new formula and each cached one, the worst inputs within its bounds, and the view's part
(QSvgRenderer into a QImage at device pixel ratio 2).

    .venv/bin/python benchmarks/bench_math.py [--rounds 5]

Each "fresh" figure runs in a new interpreter, so nothing was imported or cached before it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from app.core import math_typeset as mt  # noqa: E402
from tests.support.formulas import SAMPLES  # noqa: E402

LONG_DERIVATION = (
    r"\begin{aligned} \int_0^{\pi} x \sin x \, dx &= \left[ -x \cos x \right]_0^{\pi} + \int_0^{\pi} \cos x \, dx \\"
    r" &= \pi + \left[ \sin x \right]_0^{\pi} \\ &= \pi \\ S_n &= \sum_{k=1}^{n} \frac{1}{k(k+1)}"
    r" = \sum_{k=1}^{n} \left( \frac{1}{k} - \frac{1}{k+1} \right) \\ &= 1 - \frac{1}{n+1}"
    r" \\ \lim_{n \to \infty} S_n &= \boxed{1} \end{aligned}"
)
WORST = {
    "1,999 letters (refused: too wide)": "x" * 1999,
    "180 fractions, 1,980 chars": r"\frac{a}{b}" * 180,
    "30x30 matrix, 1,800 chars": r"\begin{pmatrix}" + r"\\".join(["&".join(["1"] * 30)] * 30) + r"\end{pmatrix}",
    "braces 900 deep (refused)": "{" * 900 + "x" + "}" * 900,
}


def _fresh(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    if out.returncode:
        raise RuntimeError(out.stderr)
    return out.stdout.strip()


def _ms(values: list[float]) -> str:
    ms = sorted(v * 1000 for v in values)
    p90 = ms[min(len(ms) - 1, round(0.9 * (len(ms) - 1)))]
    return f"median {statistics.median(ms):7.2f} ms   p90 {p90:7.2f} ms   max {ms[-1]:7.2f} ms"


def bench_start(rounds: int) -> None:
    timer = "import time, sys; t = time.perf_counter()\n"
    took = timer + "import {}\nprint(time.perf_counter() - t)"
    module = [float(_fresh(took.format("app.core.math_typeset"))) for _ in range(rounds)]
    renderer = [float(_fresh(took.format("ziamath"))) for _ in range(rounds)]
    print(f"import app.core.math_typeset (fresh)   {_ms(module)}")
    print(f"import ziamath (fresh)                 {_ms(renderer)}")
    first = (
        "import time, app.core.math_typeset as mt\nt = time.perf_counter()\n"
        "mt.typeset(r'x = \\frac{-b \\pm \\sqrt{b^2-4ac}}{2a}', display=True, color='#000000', font_px=18)\n"
        "print(time.perf_counter() - t)"
    )
    print(f"first formula, no warm-up (fresh)      {_ms([float(_fresh(first)) for _ in range(rounds)])}")
    warm = (
        "import time, app.core.math_typeset as mt\nt = time.perf_counter()\nmt.warm_up().result()\n"
        "w = time.perf_counter() - t; t = time.perf_counter()\n"
        "mt.typeset(r'x = \\frac{-b \\pm \\sqrt{b^2-4ac}}{2a}', display=True, color='#000000', font_px=18)\n"
        "print(w, time.perf_counter() - t)"
    )
    pairs = [tuple(map(float, _fresh(warm).split())) for _ in range(rounds)]
    print(f"warm_up() (fresh)                      {_ms([p[0] for p in pairs])}")
    print(f"first formula after warm_up (fresh)    {_ms([p[1] for p in pairs])}")


def bench_formulas(rounds: int) -> None:
    mt.warm_up().result()
    new: list[float] = []
    cached: list[float] = []
    sizes: list[int] = []
    for _ in range(rounds):
        mt.clear_cache()
        for _, tex, display in SAMPLES:
            t = time.perf_counter()
            formula = mt.typeset(tex, display=display, color="#202020", font_px=18)
            new.append(time.perf_counter() - t)
            assert formula is not None, tex
            sizes.append(len(formula.svg))
        for _, tex, display in SAMPLES:
            t = time.perf_counter()
            mt.typeset(tex, display=display, color="#202020", font_px=18)
            cached.append(time.perf_counter() - t)
    print(f"new formula, {len(SAMPLES)} GLM-style samples    {_ms(new)}")
    print(f"cached formula                         {_ms(cached)}")
    kib = statistics.median(sizes) / 1024, max(sizes) / 1024
    print(f"SVG size per formula                   median {kib[0]:.1f} KiB, max {kib[1]:.1f} KiB")
    long_times = []
    for _ in range(rounds):
        mt.clear_cache()
        t = time.perf_counter()
        formula = mt.typeset(LONG_DERIVATION, display=True, color="#202020", font_px=18)
        long_times.append(time.perf_counter() - t)
    assert formula is not None
    print(f"6-line aligned derivation ({len(LONG_DERIVATION)} chars)  {_ms(long_times)}")
    for name, tex in WORST.items():
        mt.clear_cache()
        t = time.perf_counter()
        result = mt.typeset(tex, display=True, color="#202020", font_px=18)
        took = time.perf_counter() - t
        got = "None"
        if result is not None:
            got = f"{result.width:.0f}x{result.height:.0f} px, {len(result.svg) / 1024:.0f} KiB"
        print(f"worst within bounds: {name:34s} {took * 1000:7.1f} ms  -> {got}")


def bench_view_raster(rounds: int) -> None:
    from PySide6.QtCore import QByteArray, QRectF
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    app = QGuiApplication.instance() or QGuiApplication([])
    formulas = [mt.typeset(tex, display=d, color="#202020", font_px=18) for _, tex, d in SAMPLES]
    times: list[float] = []
    for _ in range(rounds):
        for formula in formulas:
            assert formula is not None
            t = time.perf_counter()
            size = round(formula.width * 2), round(formula.height * 2)
            image = QImage(*size, QImage.Format.Format_ARGB32_Premultiplied)
            image.fill(0)
            image.setDevicePixelRatio(2.0)
            painter = QPainter(image)
            QSvgRenderer(QByteArray(formula.svg)).render(painter, QRectF(0, 0, formula.width, formula.height))
            painter.end()
            times.append(time.perf_counter() - t)
    print(f"view: QSvgRenderer -> QImage at dpr 2  {_ms(times)}")
    del app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    bench_start(args.rounds)
    bench_formulas(args.rounds)
    bench_view_raster(args.rounds)


if __name__ == "__main__":
    main()
