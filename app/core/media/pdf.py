"""PDF pages as images sized to the model's token budget, optionally with (or as) their text layer.

Pages are rendered straight at the size the processor will use (a fitz Matrix per page), one at a time: only the
encoded bytes of finished pages are kept, so a 1,000-page file costs no more memory than a 10-page one. When the
selected pages do not fit the budget at a legible size, the first ones that do are sent and the report names
them, rather than shrinking every page into an unreadable thumbnail.
"""

from __future__ import annotations

import dataclasses
import re
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image

from app.core.conversation import Attachment
from app.core.media import MediaError, step
from app.core.media.budget import image_budget, text_char_cap
from app.core.media.images import fit_size, image_part
from app.core.media.pages import PagePlan, PageSpecError, format_pages, parse_pages, plan_pages, which_of
from app.core.media.parts import ImagePart, MediaReport, MediaTarget, TextPart
from app.core.media.told import text_heading

if TYPE_CHECKING:
    import pymupdf

# Resolution bounds in dots per inch: below MIN_DPI 8-9 pt text stops being readable to the model; above MAX_DPI
# a page costs more tokens without showing more.
MIN_DPI = 80
MAX_DPI = 150
# A page with less text than this is a scan or a full-page figure: in text-layer mode it still goes as an image.
MIN_TEXT_CHARS = 80


def prepare(
    attachment: Attachment, target: MediaTarget, report: MediaReport, *, cancel: threading.Event | None = None
) -> None:
    render_pdf(
        Path(attachment.path),
        target,
        report,
        pages_spec=attachment.pages,
        password=attachment.password,
        text_layer=attachment.text_layer,
        cancel=cancel,
    )
    report.renderer = report.renderer or "pymupdf"


def mupdf_errors() -> tuple[type[Exception], ...]:
    """What PyMuPDF raises on a damaged document: its own ``FzError*`` classes (a cycle in the page tree) derive
    from neither RuntimeError nor ValueError, and an invalid page count is a bare RuntimeError."""
    import pymupdf

    return (RuntimeError, ValueError, IndexError, pymupdf.mupdf.FzErrorBase)


def render(page: pymupdf.Page, matrix: pymupdf.Matrix, clip: pymupdf.Rect | None = None) -> Image.Image:
    """The page (or the part ``clip`` of it, in page coordinates) with its annotations and form fields, as RGB on
    white, drawn straight into a pixmap.

    Not through ``Page.get_pixmap``: that records a display list first, and MuPDF's list device loops forever on
    some damaged structure trees (PyMuPDF's own tests/resources/test_2548.pdf) while holding the GIL, which froze
    every thread of the app, the window's included. Drawing directly gives the same pixels, a little sooner."""
    from pymupdf import mupdf

    ctm = mupdf.FzMatrix(matrix.a, matrix.b, matrix.c, matrix.d, matrix.e, matrix.f)
    area = mupdf.fz_bound_page(page.this)
    if clip is not None:
        area = mupdf.fz_intersect_rect(area, mupdf.FzRect(clip.x0, clip.y0, clip.x1, clip.y1))
    box = mupdf.fz_round_rect(mupdf.fz_transform_rect(area, ctm))
    if box.x1 <= box.x0 or box.y1 <= box.y0:
        raise ValueError("nothing of the page lies in the area to render")
    target = mupdf.fz_new_pixmap_with_bbox(mupdf.fz_device_rgb(), box, mupdf.FzSeparations(), 0)
    mupdf.fz_clear_pixmap_with_value(target, 255)
    device = mupdf.fz_new_draw_device(ctm, target)
    try:
        mupdf.fz_run_page(page.this, device, mupdf.FzMatrix(), mupdf.FzCookie())
    finally:
        mupdf.fz_close_device(device)
    width, height = mupdf.fz_pixmap_width(target), mupdf.fz_pixmap_height(target)
    samples = mupdf.fz_pixmap_samples_memoryview(target)
    return Image.frombuffer("RGB", (width, height), samples, "raw", "RGB", mupdf.fz_pixmap_stride(target), 1).copy()


def damaged(name: str, error: BaseException) -> MediaError:
    return MediaError(
        f"{name}: the PDF is damaged beyond repair ({error}); open it in a PDF viewer and save or print it to a new "
        "PDF, then attach that"
    )


def open_pdf(path: Path, password: str | None, *, name: str | None = None) -> pymupdf.Document:
    """The opened document, authenticated and repaired where MuPDF can, with a page count MuPDF believes;
    ``MediaError`` otherwise."""
    import pymupdf

    name = name or path.name
    pymupdf.TOOLS.mupdf_display_errors(False)
    pymupdf.TOOLS.mupdf_warnings()  # drop what earlier documents left behind
    try:
        doc = pymupdf.open(path, filetype="pdf")
    except FileNotFoundError as e:
        raise MediaError(f"{name}: the file is gone (moved or deleted after it was attached); attach it again") from e
    except mupdf_errors() as e:
        raise damaged(name, e) from e
    try:
        return _unlocked(doc, password, name)
    except mupdf_errors() as e:
        doc.close()
        raise damaged(name, e) from e
    except MediaError:
        doc.close()
        raise


def _unlocked(doc: pymupdf.Document, password: str | None, name: str) -> pymupdf.Document:
    if doc.needs_pass:
        if not password:
            raise MediaError(
                f"{name}: the PDF is password-protected; give its password (--password in the CLI; the app asks "
                "for it) or attach an unprotected copy"
            )
        if not doc.authenticate(password):
            raise MediaError(f"{name}: wrong password for this PDF; check it and try again")
    if doc.page_count == 0:
        raise MediaError(f"{name}: the PDF has no pages (it may be damaged); re-export it and attach it again")
    return doc


def render_pdf(
    path: Path,
    target: MediaTarget,
    report: MediaReport,
    *,
    pages_spec: str | None = None,
    password: str | None = None,
    text_layer: bool = False,
    unit: str = "Page",
    name: str | None = None,
    token_range: tuple[int, int] | None = None,
    cancel: threading.Event | None = None,
) -> None:
    """Fill ``report`` with the selected pages of the PDF at ``path``; ``unit`` labels them ("Page", "Slide").

    ``token_range`` (least, most image tokens a page) replaces the bounds from MIN_DPI/MAX_DPI, for pages such as
    slides that stay legible with fewer pixels.
    """
    import pymupdf

    name = name or path.name
    doc = open_pdf(path, password, name=name)
    try:
        _render_document(doc, target, report, pages_spec, text_layer, unit, name, token_range, cancel)
        if "non-embedded font" in pymupdf.TOOLS.mupdf_warnings():
            report.warnings.append("some fonts are not embedded in the PDF; similar ones were used instead")
    except mupdf_errors() as e:
        raise damaged(name, e) from e
    finally:
        doc.close()


def _render_document(
    doc: pymupdf.Document,
    target: MediaTarget,
    report: MediaReport,
    pages_spec: str | None,
    text_layer: bool,
    unit: str,
    name: str,
    token_range: tuple[int, int] | None,
    cancel: threading.Event | None,
) -> None:
    """What ``render_pdf`` does with the opened document; a PyMuPDF error outside one page's rendering (the page
    tree itself) is the caller's to translate."""
    if doc.is_repaired:
        report.warnings.append("the PDF was damaged; MuPDF repaired it, so some content may be missing")
    total = doc.page_count
    report.pages_total = total
    try:
        selected = parse_pages(pages_spec, total, report.warnings)
    except PageSpecError as e:
        raise MediaError(f"{name}: {e}; choose {unit.lower()}s between 1 and {total}") from e
    report.pages_chosen = selected
    if text_layer:
        _render_text_layer(doc, selected, target, report, unit, name, cancel)
    else:
        _render_images(doc, selected, target, report, unit, name, token_range, cancel)


def _page_tokens(page_w: float, page_h: float, dpi: float) -> int:
    """Image tokens of a page of this size in points rendered at ``dpi`` (one token per 28x28 pixels)."""
    return max(1, round(page_w * dpi / 72 * page_h * dpi / 72 / 784))


def _render_images(
    doc: pymupdf.Document,
    selected: list[int],
    target: MediaTarget,
    report: MediaReport,
    unit: str,
    name: str,
    token_range: tuple[int, int] | None = None,
    cancel: threading.Event | None = None,
) -> None:
    budget = image_budget(target)
    first = _first_rect(doc, selected)
    least, most = token_range or (
        _page_tokens(first.width, first.height, MIN_DPI),
        _page_tokens(first.width, first.height, MAX_DPI),
    )
    plan = plan_pages(selected, budget, min_tokens=least, max_tokens=most)
    sent: list[int] = []
    for i, number in enumerate(plan.pages, 1):
        step(cancel, name, which_of(unit, number, i, len(plan.pages)))
        part = _page_image(doc, number, plan.tokens_per_page, target, report, unit)
        if part is not None:
            report.parts.append(part)
            sent.append(number)
    report.pages_used = sent
    if not sent:
        raise MediaError(
            f"{name}: none of the selected {unit.lower()}s could be rendered; the PDF is damaged. Open it in a PDF "
            "viewer and save or print it to a new PDF, then attach that"
        )
    if plan.dropped:
        plural = unit.lower() + "s"
        report.warnings.append(
            f"{len(selected)} {plural} do not fit the image budget ({budget:,} tokens) at a legible size: "
            f"{plural} {format_pages(plan.pages)} are sent, {format_pages(plan.dropped)} are not. Choose other "
            f'{plural} with --pages (e.g. --pages "{_example_spec(plan)}") or in the {unit.lower()} picker'
            + (", or send the text layer instead" if unit == "Page" else "")
        )


def _first_rect(doc: pymupdf.Document, pages: list[int]) -> pymupdf.Rect:
    """The size of the first selected page that loads, which sizes the page budget; US Letter when none of the
    first few does (their rendering then fails page by page, with a warning each)."""
    import pymupdf

    for number in pages[:8]:
        try:
            return doc[number - 1].rect
        except mupdf_errors():
            continue
    return pymupdf.Rect(0, 0, 612, 792)


def _example_spec(plan: PagePlan) -> str:
    return format_pages(plan.dropped[: len(plan.pages)])


def _page_image(
    doc: pymupdf.Document, number: int, tokens: int, target: MediaTarget, report: MediaReport, unit: str
) -> ImagePart | None:
    """One page rendered at the exact size the processor will use for ``tokens``; None when MuPDF fails on it."""
    import pymupdf

    try:
        page = doc[number - 1]
        rect = page.rect
        if rect.width < 1 or rect.height < 1:
            report.warnings.append(f"{unit.lower()} {number} has no area and was skipped")
            return None
        capped = dataclasses.replace(target, max_pixels=min(target.max_pixels, 2 * tokens * 784))
        scale = (tokens * 784 / (rect.width * rect.height)) ** 0.5
        width, height = fit_size(max(1, round(rect.width * scale)), max(1, round(rect.height * scale)), capped)
        img = render(page, pymupdf.Matrix(width / rect.width, height / rect.height))
    except mupdf_errors() as e:
        report.warnings.append(f"{unit.lower()} {number} could not be rendered ({e}) and was skipped")
        return None
    return image_part(img, target, label=f"{unit} {number}", source=report.path, page=number)


_BLANK_RUNS = re.compile(r"\n[ \t]*\n(?:[ \t]*\n)+")
_TRAILING = re.compile(r"[ \t]+\n")


def _clean_text(text: str) -> str:
    return _BLANK_RUNS.sub("\n\n", _TRAILING.sub("\n", text)).strip()


def _render_text_layer(
    doc: pymupdf.Document,
    selected: list[int],
    target: MediaTarget,
    report: MediaReport,
    unit: str,
    name: str,
    cancel: threading.Event | None = None,
) -> None:
    """Pages as their text, which costs a fraction of their images; pages without text (scans, full-page
    figures) still go as images, within the image budget."""
    cap = text_char_cap(target)
    used_chars = 0
    text_pages: list[int] = []
    image_pages: list[int] = []
    pending: list[str] = []
    stopped_at: int | None = None
    for number in selected:
        step(cancel, name, f"the text of {unit.lower()} {number} of {len(selected)}")
        try:
            text = _clean_text(doc[number - 1].get_text("text"))
        except mupdf_errors() as e:
            report.warnings.append(f"{unit.lower()} {number}: its text could not be read ({e}); skipped")
            continue
        if len(text) < MIN_TEXT_CHARS:
            image_pages.append(number)
            continue
        block = f"{text_heading(name, unit, number, doc.page_count)}\n{text}"
        if used_chars + len(block) > cap:
            stopped_at = number
            break
        pending.append(block)
        used_chars += len(block) + 2
        text_pages.append(number)
    if pending:
        report.parts.append(TextPart("\n\n".join(pending)))
    if image_pages:
        budget = image_budget(target)
        first = _first_rect(doc, image_pages)
        plan = plan_pages(
            image_pages,
            budget,
            min_tokens=_page_tokens(first.width, first.height, MIN_DPI),
            max_tokens=_page_tokens(first.width, first.height, MAX_DPI),
        )
        for number in plan.pages:
            part = _page_image(doc, number, plan.tokens_per_page, target, report, unit)
            if part is not None:
                report.parts.append(part)
        if plan.dropped:
            report.warnings.append(f"{unit.lower()}s without text {format_pages(plan.dropped)} are left out")
        image_pages = plan.pages
    report.pages_used = sorted(text_pages + image_pages, key=selected.index)
    if not report.pages_used:
        raise MediaError(
            f"{name}: none of the selected {unit.lower()}s has readable text or could be rendered; the PDF is damaged "
            "or blank. Open it in a PDF viewer and save or print it to a new PDF, then attach that"
        )
    if stopped_at is not None:
        rest = selected[selected.index(stopped_at) :]
        report.warnings.append(
            f"the text of all {len(selected)} {unit.lower()}s is too long for one message: {unit.lower()}s "
            f"{format_pages(text_pages)} are sent as text, {format_pages(rest)} are not; choose the rest with "
            f'--pages (e.g. --pages "{format_pages(rest[: len(text_pages)])}") in a later message'
        )
    if image_pages:
        report.warnings.append(
            f"{unit.lower()}s {format_pages(image_pages)} have no text layer (scans or figures) and are sent as images"
        )
