"""Pages are drawn straight into a pixmap (``pdf.render``), not through a display list: MuPDF's list device loops
forever, holding the GIL, on some damaged structure trees (PyMuPDF's tests/resources/test_2548.pdf froze every
thread of the app). The pixels must be the ones ``Page.get_pixmap`` gives, whatever the page holds."""

from __future__ import annotations

import numpy as np
import pymupdf
import pytest

from app.core.media.pdf import render


def _page(doc: pymupdf.Document, rotation: int) -> pymupdf.Page:
    page = doc.new_page(width=420, height=300)
    page.insert_text((40, 60), "Quarterly figures", fontsize=24)
    page.draw_rect(pymupdf.Rect(40, 90, 380, 260), color=(0.8, 0.1, 0.1), fill=(0.9, 0.9, 0.2), width=3)
    page.insert_text((60, 200), "Q3: 31", fontsize=18, color=(0, 0, 1))
    page.add_highlight_annot(pymupdf.Rect(40, 40, 260, 66))  # annotations are drawn too
    page.set_rotation(rotation)
    return page


def _expected(page: pymupdf.Page, matrix: pymupdf.Matrix, clip: pymupdf.Rect | None = None) -> np.ndarray:
    pix = page.get_pixmap(matrix=matrix, clip=clip, colorspace=pymupdf.csRGB, alpha=False, annots=True)
    return np.frombuffer(pix.samples, np.uint8).reshape(pix.height, pix.width, 3)


@pytest.mark.parametrize("rotation", [0, 90, 270])
@pytest.mark.parametrize("clip", [None, pymupdf.Rect(30, 80, 250, 220)])
def test_direct_drawing_gives_get_pixmap_s_pixels(rotation, clip):
    doc = pymupdf.open()
    page = _page(doc, rotation)
    matrix = pymupdf.Matrix(1.7, 1.7)
    drawn = np.asarray(render(page, matrix, clip))
    expected = _expected(page, matrix, clip)
    assert drawn.shape == expected.shape
    assert np.array_equal(drawn, expected)


def test_a_clip_outside_the_page_is_an_error_not_an_empty_image():
    doc = pymupdf.open()
    page = _page(doc, 0)
    with pytest.raises(ValueError, match="nothing of the page"):
        render(page, pymupdf.Matrix(1, 1), pymupdf.Rect(1000, 1000, 1100, 1100))
