"""Typeset formulas in an answer view: the HTML that shows one, and the image behind it.

``math_typeset`` (Qt-free) turns TeX into SVG paths on its own thread. This side draws that SVG into a QImage at
the screen's pixel ratio, padded so that the formula's baseline sits on the text line (Qt centres an inline
image on the baseline with ``vertical-align: middle``), and names it ``math:N`` for the view's
``loadResource``. A formula not typeset yet is shown as its source; when it is ready the view renders again the
blocks that showed it. A formula the renderer cannot do stays as its source.
"""

from __future__ import annotations

import hashlib
import html
import math
import threading
from collections.abc import Callable
from concurrent.futures import Future

from PySide6.QtCore import QByteArray, QObject, QRectF
from PySide6.QtGui import QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

from app.core import math_typeset
from app.core.math_typeset import Formula
from app.ui.handover import Handover

INLINE_SCALE = 1.15  # the math font's x-height is smaller than the text font's
DISPLAY_SCALE = 1.3
MAX_IMAGES = 2000  # formulas kept drawn for one view


class Formulas(QObject):
    """The formulas of one answer view. ``html`` may be called on any thread (the view renders large answers
    on its render thread); ``ready`` is called on the Qt thread with the formulas that became typeset."""

    def __init__(
        self, ready: Callable[[set[str]], None], *, color: str, font_px: float, scale: float, parent: QObject
    ) -> None:
        super().__init__(parent)
        self.ready = ready
        self.color, self.font_px, self.scale = color, font_px, scale
        self._images: dict[str, QImage] = {}
        self._waiting: set[tuple[str, bool]] = set()
        self._lock = threading.Lock()
        self._handover = Handover(self)

    def html(self, tex: str, display: bool) -> str | None:
        px = self.font_px * (DISPLAY_SCALE if display else INLINE_SCALE)
        future = math_typeset.typeset_async(tex, display=display, color=self.color, font_px=px, scale=self.scale)
        if not future.done():
            with self._lock:
                first = (tex, display) not in self._waiting
                self._waiting.add((tex, display))
            if first:
                future.add_done_callback(self._when_done(tex))
            return None
        formula = future.result()
        if formula is None:
            return None
        name = self._image(tex, display, formula)
        width, height = formula.width, _padded_height(formula, display)
        alt = html.escape(tex, quote=True)
        align = "" if display else ' style="vertical-align: middle"'
        return f'<img src="math:{name}" width="{width:.0f}" height="{height:.0f}" alt="{alt}"{align}>'

    def _when_done(self, tex: str) -> Callable[[Future[Formula | None]], None]:
        def done(_: Future[Formula | None]) -> None:
            self._handover.post(self._typeset, tex)

        return done

    def image(self, name: str) -> QImage | None:
        with self._lock:
            return self._images.get(name)

    def _typeset(self, tex: str) -> None:
        with self._lock:
            self._waiting.discard((tex, True))
            self._waiting.discard((tex, False))
        self.ready({tex})

    def _image(self, tex: str, display: bool, formula: Formula) -> str:
        key = f"{self.color}|{self.font_px}|{self.scale}|{int(display)}|{tex}"
        name = hashlib.sha1(key.encode()).hexdigest()[:16]
        with self._lock:
            if name in self._images:
                return name
        image = draw(formula, self.scale, display)
        with self._lock:
            if len(self._images) >= MAX_IMAGES:
                self._images.pop(next(iter(self._images)))
            self._images[name] = image
        return name


def _padded_height(formula: Formula, display: bool) -> float:
    return formula.height if display else 2 * max(formula.ascent, formula.depth)


def draw(formula: Formula, scale: float, display: bool) -> QImage:
    """The formula's SVG drawn at ``scale`` device pixels per logical pixel; an inline one padded so that its
    baseline is at the image's middle."""
    height = _padded_height(formula, display)
    top = 0.0 if display else height / 2 - formula.ascent
    image = QImage(
        max(1, math.ceil(formula.width * scale)),
        max(1, math.ceil(height * scale)),
        QImage.Format.Format_ARGB32_Premultiplied,
    )
    image.fill(0)
    image.setDevicePixelRatio(scale)
    painter = QPainter(image)
    QSvgRenderer(QByteArray(formula.svg)).render(painter, QRectF(0, top, formula.width, formula.height))
    painter.end()
    return image
