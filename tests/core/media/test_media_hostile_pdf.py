"""PDFs whose page tree lies (a cycle, a page count of -1 or billions): a clear message everywhere pages are
counted or loaded (preparation, `glmv inspect`/`ask`, the composer's chip, re-rendering a region), never a
traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from app.core.conversation import Attachment
from app.core.grounding import GroundingError
from app.core.grounding.pairing import SeenImage
from app.core.grounding.pixels import PixelBox
from app.core.grounding.regions import _render_pdf_region
from app.core.media import ImagePart, MediaError, MediaTarget, prepare
from tests.support.documents import CATALOG, HOSTILE, PAGE, hand_made_pdf
from tests.support.paths import ROOT


@pytest.fixture(params=sorted(HOSTILE))
def hostile_pdf(request, tmp_path) -> Path:
    return hand_made_pdf(tmp_path / f"{request.param}.pdf", *HOSTILE[request.param])


def _prepare_or_error(path: Path, **options) -> str | None:
    try:
        report = prepare(Attachment(path, **options), MediaTarget())
    except MediaError as e:
        return str(e)
    assert any(isinstance(p, ImagePart) for p in report.parts) or report.parts
    return None


@pytest.mark.parametrize("text_layer", [False, True], ids=["images", "text-layer"])
def test_prepare_gives_a_clear_message_or_pages(hostile_pdf, text_layer):
    message = _prepare_or_error(hostile_pdf, text_layer=text_layer)
    if message is not None:
        assert hostile_pdf.name in message
        assert "save or print it to a new PDF" in message or "re-export it" in message


def test_a_good_page_beside_a_cycle_is_sent_and_the_bad_one_named(tmp_path):
    pdf = hand_made_pdf(
        tmp_path / "half.pdf",
        CATALOG,
        b"<< /Type /Pages /Kids [3 0 R 2 0 R] /Count 2 >>",
        PAGE,
    )
    report = prepare(Attachment(pdf), MediaTarget())
    assert report.pages_used == [1]
    assert any("page 2" in w and "skipped" in w for w in report.warnings)


def test_inspect_and_ask_exit_2_with_the_name_and_what_to_do(tmp_path):
    paths = [str(hand_made_pdf(tmp_path / f"{name}.pdf", *HOSTILE[name])) for name in sorted(HOSTILE)]
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "inspect", *paths], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode in (0, 2)
    for line in result.stderr.splitlines():
        assert line.startswith("glmv: ") and ".pdf: " in line and "PDF" in line

    cycle = str(tmp_path / "two-node-cycle.pdf")
    asked = subprocess.run(
        [sys.executable, "-m", "app.cli", "ask", "--base-url", "http://127.0.0.1:9/v1", "--attach", cycle, "?"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert asked.returncode == 2, asked.stderr
    assert "Traceback" not in asked.stderr
    assert "two-node-cycle.pdf: " in asked.stderr and "save or print it to a new PDF" in asked.stderr


def test_the_composer_chip_says_the_same(hostile_pdf):
    from app.ui.composer import inspect_attachment

    info = inspect_attachment(Attachment(hostile_pdf), MediaTarget())
    if info.error is not None:
        assert info.error.startswith(f"{hostile_pdf.name}: ")
        assert "could not be read (" not in info.error  # not the catch-all for unexpected exceptions


def test_rendering_a_region_again_of_a_hostile_pdf_gives_a_region_or_a_grounding_error(hostile_pdf):
    """The crop falls back to the page as sent on a GroundingError; anything else would reach the window."""
    image = SeenImage(Attachment(hostile_pdf), 0, "pdf", label="Page 1", size=(612, 792))
    try:
        region = _render_pdf_region(image, 1, PixelBox(10, 10, 100, 100), 612, 792, hostile_pdf.parent)
    except GroundingError as e:
        assert "cannot be rendered again" in str(e) or "locked" in str(e)
    else:
        assert region.exists()
