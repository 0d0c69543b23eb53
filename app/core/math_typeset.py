"""TeX math typeset as SVG for the answer view, with ziamath (pure Python, its own STIX Two Math font).

ziamath turns LaTeX into MathML (latex2mathml) and lays it out with the font's OpenType MATH table, drawing every
glyph as a path: no TeX install, no system fonts, no network. It handles what GLM answers use (fractions, roots,
big operators with limits, matrices, `cases`, `align`/`aligned`, `array`, `\\boxed`, `\\text`, `\\mathbb`, ...),
which matplotlib's mathtext cannot (no environments, no `\\boxed`).

The SVG has paths only (no `<symbol>`, fonts or CSS), so Qt's QSvgRenderer draws it. What cannot be typeset
properly gives None, and the view shows the LaTeX source: a parse error, an unknown command (latex2mathml would
print its name), a character the math font lacks (CJK in `\\text{}` would be empty boxes), an input or a result
past the bounds below.

ziamath keeps global state (its loaded fonts, its configuration) and is not thread-safe, and deep nesting recurses
deeply, so every render runs on one thread of this module with a stack large enough for Python's recursion limit
to be reached first, whatever thread the caller is on (a QThread on macOS has 512 KiB). Results are cached (LRU,
bounded in entries and bytes), failures included, and ziamath is imported by the first render, not by importing
this module.
"""

from __future__ import annotations

import logging
import math
import queue
import re
import threading
import time
import xml.etree.ElementTree as ET
from collections import OrderedDict
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

MAX_TEX_CHARS = 2000
MIN_FONT_PX = 4.0
MAX_FONT_PX = 200.0
# What the view may be asked to rasterise, in device pixels (logical size times the device pixel ratio).
MAX_SIDE_DEVICE_PX = 8192
MAX_DEVICE_PIXELS = 8_000_000
MAX_SVG_BYTES = 2_000_000
CACHE_MAX_ENTRIES = 2000
CACHE_MAX_BYTES = 32 * 1024 * 1024
# A render within the bounds takes at most about a second (bench_math.py); this only guards the caller against a
# renderer that never returns.
RENDER_TIMEOUT_S = 5.0
_RENDER_STACK_BYTES = 64 * 1024 * 1024
_MARGIN_PX = 1.0

_COLOR = re.compile(r"#[0-9A-Fa-f]{6}")
_UNKNOWN_COMMAND = re.compile(r"\\[A-Za-z]")
_TAG = re.compile(r"\\tag\*?\{([^{}]*)\}")
# latex2mathml numbers the rows of `align`, as LaTeX does; a chat answer shows equations without numbers.
_NUMBERED_ENV = re.compile(r"\\(begin|end)\{(align|equation|gather)\}")
_CONTENT_TAGS = frozenset({"mi", "mn", "mo", "mtext", "ms"})


@dataclass(frozen=True, slots=True)
class Formula:
    """A typeset formula: `svg` drawn into a `width` x `height` box (logical pixels) with its baseline `depth`
    pixels above the bottom edge (negative when the whole formula sits above the baseline)."""

    svg: bytes = field(repr=False)
    width: float
    height: float
    depth: float

    @property
    def ascent(self) -> float:
        """Pixels from the top edge down to the baseline."""
        return self.height - self.depth


@dataclass(frozen=True, slots=True)
class CacheInfo:
    entries: int
    bytes: int
    hits: int
    misses: int


_Key = tuple[str, bool, str, float]


def typeset(
    tex: str, *, display: bool, color: str, font_px: float, scale: float = 1.0, timeout_s: float = RENDER_TIMEOUT_S
) -> Formula | None:
    """Typeset `tex` (without its `$` delimiters) at `font_px` pixels to the em in `color` (`#rrggbb`); None when
    it cannot be typeset properly (the caller shows the source), when it would take more than `timeout_s` (it is
    then still cached when done), or when drawing it at device pixel ratio `scale` would be too large.

    Blocks while the render thread works (a few ms to tens of ms per new formula, see bench_math.py); a cached
    formula is returned at once. Safe from any thread."""
    try:
        return typeset_async(tex, display=display, color=color, font_px=font_px, scale=scale).result(timeout_s)
    except FutureTimeout:
        return None


def typeset_async(tex: str, *, display: bool, color: str, font_px: float, scale: float = 1.0) -> Future[Formula | None]:
    """`typeset` without waiting: the future is already done for a cached formula or one refused at once;
    otherwise it is completed on the render thread, so a callback added to it runs there (post it to the GUI
    thread before touching widgets)."""
    if not _COLOR.fullmatch(color):
        raise ValueError(f"color must be #rrggbb, not {color!r}")
    done: Future[Formula | None] = Future()
    tex = tex.strip()
    if (
        not tex
        or len(tex) > MAX_TEX_CHARS
        or not MIN_FONT_PX <= font_px <= MAX_FONT_PX
        or not 0.25 <= scale <= 8.0  # also refuses NaN
    ):
        done.set_result(None)
        return done
    raw = _RENDERER.submit((tex, display, color.lower(), round(font_px, 2)))
    if raw.done():
        done.set_result(_fits(raw.result(), scale))
    else:
        raw.add_done_callback(lambda f: done.set_result(_fits(f.result(), scale)))
    return done


def warm_up() -> Future[None]:
    """Import ziamath and load its font on the render thread (about 0.2 s, once), without waiting: call it when
    the first `$` of an answer appears so the first formula does not pay for it."""
    return _RENDERER.warm_up()


def cache_info() -> CacheInfo:
    return _CACHE.info()


def clear_cache() -> None:
    _CACHE.clear()


def _fits(formula: Formula | None, scale: float) -> Formula | None:
    if formula is None:
        return None
    w, h = math.ceil(formula.width * scale), math.ceil(formula.height * scale)
    if max(w, h) > MAX_SIDE_DEVICE_PX or w * h > MAX_DEVICE_PIXELS:
        return None
    return formula


class _Cache:
    """LRU over formulas and failures (a failure costs its key), bounded in entries and in bytes."""

    def __init__(self, max_entries: int, max_bytes: int) -> None:
        self._items: OrderedDict[_Key, tuple[Formula | None, int]] = OrderedDict()
        self._max_entries, self._max_bytes = max_entries, max_bytes
        self._bytes = self._hits = self._misses = 0
        self._lock = threading.Lock()

    def get(self, key: _Key) -> tuple[bool, Formula | None]:
        with self._lock:
            item = self._items.get(key)
            if item is None:
                self._misses += 1
                return False, None
            self._items.move_to_end(key)
            self._hits += 1
            return True, item[0]

    def put(self, key: _Key, formula: Formula | None) -> None:
        cost = len(key[0]) + 200 + (len(formula.svg) if formula is not None else 0)
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= old[1]
            self._items[key] = (formula, cost)
            self._bytes += cost
            while len(self._items) > self._max_entries or self._bytes > self._max_bytes:
                _, (_, evicted) = self._items.popitem(last=False)
                self._bytes -= evicted

    def info(self) -> CacheInfo:
        with self._lock:
            return CacheInfo(len(self._items), self._bytes, self._hits, self._misses)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = self._hits = self._misses = 0


class _Renderer:
    """The one thread that runs ziamath, started by the first request; requests for a formula already queued
    share its future."""

    def __init__(self, cache: _Cache) -> None:
        self._cache = cache
        self._jobs: queue.SimpleQueue[tuple[_Key, Future[Formula | None]] | Future[None]] = queue.SimpleQueue()
        self._pending: dict[_Key, Future[Formula | None]] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._busy_since: float | None = None
        self._ziamath: Any = None

    def submit(self, key: _Key) -> Future[Formula | None]:
        # The cache is read under this lock: the render thread caches a result before it drops the pending
        # future, so a formula is never rendered twice.
        with self._lock:
            found, formula = self._cache.get(key)
            if found:
                return _done(formula)
            pending = self._pending.get(key)
            if pending is not None:
                return pending
            busy = self._busy_since
            if busy is not None and time.monotonic() - busy > RENDER_TIMEOUT_S:
                return _done(None)  # the renderer is stuck on something: do not queue behind it
            future: Future[Formula | None] = Future()
            self._pending[key] = future
            self._start()
        self._jobs.put((key, future))
        return future

    def warm_up(self) -> Future[None]:
        future: Future[None] = Future()
        with self._lock:
            self._start()
        self._jobs.put(future)
        return future

    def _start(self) -> None:
        if self._thread is not None:
            return
        old = threading.stack_size(_RENDER_STACK_BYTES)
        try:
            self._thread = threading.Thread(target=self._run, name="math-typeset", daemon=True)
            self._thread.start()
        finally:
            threading.stack_size(old)

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            self._busy_since = time.monotonic()
            try:
                if isinstance(job, Future):
                    try:
                        self._load()
                    except Exception as exc:
                        job.set_exception(exc)
                    else:
                        job.set_result(None)
                    continue
                key, future = job
                formula = self._render(key)
                self._cache.put(key, formula)
                with self._lock:
                    del self._pending[key]
                future.set_result(formula)
            finally:
                self._busy_since = None

    def _load(self) -> Any:
        if self._ziamath is None:
            import ziamath

            ziamath.config.svg2 = False  # SVG 2's <symbol> glyphs are not drawn by QSvgRenderer
            self._ziamath = ziamath
        return self._ziamath

    def _render(self, key: _Key) -> Formula | None:
        tex, display, color, font_px = key
        try:
            ziamath = self._load()
            from ziamath.escapes import unescape
            from ziamath.tex import tex2mml

            tex = _NUMBERED_ENV.sub(lambda m: f"\\{m.group(1)}{{{m.group(2)}*}}", tex)
            tex = _TAG.sub(lambda m: f"\\qquad\\text{{({m.group(1)})}}", tex)
            mathml = ET.fromstring(unescape(tex2mml(tex, inline=not display)))
            if not self._drawable(mathml):
                return None
            mathml.attrib["mathcolor"] = color
            return _formula(ziamath.Math(mathml, size=font_px, margin=_MARGIN_PX).svgxml())
        except Exception as exc:  # latex2mathml and ziamath raise many kinds for malformed input
            log.debug("math not typeset (%s): %.80s", type(exc).__name__, tex)
            return None

    def _drawable(self, mathml: ET.Element) -> bool:
        """False when latex2mathml kept an unknown command as text or the font lacks a character."""
        from ziamath.zmath import loadedfonts

        font = loadedfonts["default"]
        for element in mathml.iter():
            text = element.text or ""
            tag = element.tag.rpartition("}")[2]
            if tag not in _CONTENT_TAGS or not text:
                continue
            if tag != "mtext" and _UNKNOWN_COMMAND.match(text):
                return False
            if any(not ch.isspace() and font.glyphindex(ch) == 0 for ch in text):
                return False
        return True


def _formula(svg: ET.Element) -> Formula | None:
    width, height = float(svg.attrib["width"]), float(svg.attrib["height"])
    view_y = float(svg.attrib["viewBox"].split()[1])  # the baseline is y = 0, -view_y below the top edge
    data = ET.tostring(svg, encoding="utf-8")
    if not (math.isfinite(width) and math.isfinite(height) and width > 2 * _MARGIN_PX and height > 2 * _MARGIN_PX):
        return None
    if len(data) > MAX_SVG_BYTES:
        return None
    return Formula(svg=data, width=width, height=height, depth=height + view_y)


def _done(formula: Formula | None) -> Future[Formula | None]:
    future: Future[Formula | None] = Future()
    future.set_result(formula)
    return future


_CACHE = _Cache(CACHE_MAX_ENTRIES, CACHE_MAX_BYTES)
_RENDERER = _Renderer(_CACHE)
