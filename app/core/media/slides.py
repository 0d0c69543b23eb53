"""Slide decks as one image per slide (plus speaker notes as text).

LibreOffice draws slides exactly as Office does, so when it is installed the deck goes through it to PDF and
the PDF renderer; without it, .pptx slides are drawn from python-pptx (``pptx_render``). .ppt, .odp and .key
have no Python reader and need LibreOffice. The report says which renderer was used.
"""

from __future__ import annotations

import dataclasses
import threading
import zipfile
from pathlib import Path

from app.core.conversation import Attachment
from app.core.media import MediaError, step
from app.core.media.archives import zip_problem
from app.core.media.budget import image_budget
from app.core.media.images import fit_size, image_part
from app.core.media.libreoffice import INSTALL_HINT, find_soffice, render_converted
from app.core.media.pages import PageSpecError, format_pages, parse_pages, plan_pages, which_of
from app.core.media.parts import ImagePart, MediaReport, MediaTarget, TextPart

RENDERERS = ("libreoffice", "python-pptx")
# Slides are made to be read from across a room: fewer pixels than a page of small print keep them legible.
MIN_SLIDE_TOKENS = 400
MAX_SLIDE_TOKENS = 1600


def prepare(
    attachment: Attachment,
    target: MediaTarget,
    report: MediaReport,
    *,
    renderer: str | None = None,
    cancel: threading.Event | None = None,
) -> None:
    """``renderer`` forces one of ``RENDERERS``; by default LibreOffice when installed, else python-pptx."""
    path = Path(attachment.path)
    if not path.exists():
        raise MediaError(f"{path.name}: the file is gone (moved or deleted after it was attached); attach it again")
    problem = zip_problem(path)
    if problem is not None:
        raise MediaError(problem)
    pptx = path.suffix.lower() == ".pptx" or (path.suffix.lower() not in (".ppt", ".odp", ".key") and _is_zip(path))
    if renderer is None:
        renderer = "libreoffice" if find_soffice() else "python-pptx"
    if renderer not in RENDERERS:
        raise ValueError(f"unknown slide renderer {renderer!r}; choose one of {', '.join(RENDERERS)}")
    if renderer == "python-pptx" and not pptx:
        raise MediaError(
            f"{path.name}: {path.suffix or 'this'} presentations can only be read through LibreOffice, which is not "
            f"installed; {INSTALL_HINT}. Or save the deck as .pptx or PDF and attach that"
        )
    if renderer == "libreoffice":
        _through_libreoffice(path, attachment, target, report, cancel)
    else:
        _through_python_pptx(path, attachment, target, report, cancel)
    report.renderer = renderer


def _is_zip(path: Path) -> bool:
    try:
        return zipfile.is_zipfile(path)
    except OSError:
        return False


def _through_libreoffice(
    path: Path, attachment: Attachment, target: MediaTarget, report: MediaReport, cancel: threading.Event | None
) -> None:
    deck = None
    if path.suffix.lower() == ".pptx":
        if not _is_zip(path):
            raise MediaError(_not_a_deck(path))
        deck = _slides_of(path)
        if deck is not None and not deck:
            raise MediaError(f"{path.name}: the presentation has no slides")
    render_converted(
        path,
        target,
        report,
        cancel=cancel,
        pages_spec=attachment.pages,
        unit="Slide",
        token_range=(MIN_SLIDE_TOKENS, MAX_SLIDE_TOKENS),
    )
    if deck:
        # LibreOffice's PDF has no speaker notes; python-pptx reads them cheaply.
        _append_notes(report, deck)


def _slides_of(path: Path) -> list | None:
    """The deck's slides through python-pptx, or None when it cannot read the file (LibreOffice may still)."""
    from pptx import Presentation

    try:
        return list(Presentation(str(path)).slides)
    except Exception:  # python-pptx and lxml raise many kinds on damaged files; LibreOffice gets its chance
        return None


def _not_a_deck(path: Path) -> str:
    return (
        f"{path.name}: not a PowerPoint file, or it is damaged (a .pptx is a zip archive and this is not one); "
        "open it in PowerPoint or LibreOffice and save it again, or export it as PDF"
    )


def _through_python_pptx(
    path: Path, attachment: Attachment, target: MediaTarget, report: MediaReport, cancel: threading.Event | None
) -> None:
    from pptx import Presentation
    from pptx.exc import PackageNotFoundError

    from app.core.media.pptx_render import SlideRenderer

    if not _is_zip(path):
        raise MediaError(_not_a_deck(path))
    try:
        prs = Presentation(str(path))
    except (PackageNotFoundError, KeyError, zipfile.BadZipFile, ValueError, OSError) as e:
        raise MediaError(
            f"{path.name}: not a PowerPoint presentation python-pptx can read ({e}); open it in PowerPoint or "
            "LibreOffice and save it again, or export it as PDF"
        ) from e
    except Exception as e:  # lxml and python-pptx raise many kinds on damaged XML
        raise MediaError(f"{path.name}: the presentation is damaged ({e.__class__.__name__}); export it as PDF") from e
    slides = list(prs.slides)
    total = len(slides)
    report.pages_total = total
    if total == 0:
        raise MediaError(f"{path.name}: the presentation has no slides")
    try:
        selected = parse_pages(attachment.pages, total, report.warnings)
    except PageSpecError as e:
        raise MediaError(f"{path.name}: {e}; choose slides between 1 and {total}") from e
    report.pages_chosen = selected
    budget = image_budget(target)
    plan = plan_pages(selected, budget, min_tokens=MIN_SLIDE_TOKENS, max_tokens=MAX_SLIDE_TOKENS)
    width_emu, height_emu = prs.slide_width or 9144000, prs.slide_height or 6858000
    capped = dataclasses.replace(target, max_pixels=min(target.max_pixels, 2 * plan.tokens_per_page * 784))
    scale = (plan.tokens_per_page * 784 / (width_emu * height_emu)) ** 0.5
    width, height = fit_size(max(1, round(width_emu * scale)), max(1, round(height_emu * scale)), capped)
    themes: dict = {}
    for i, number in enumerate(plan.pages, 1):
        step(cancel, path.name, which_of("Slide", number, i, len(plan.pages)))
        renderer = SlideRenderer(prs, slides[number - 1], width, height, themes)
        img = renderer.render()
        report.parts.append(image_part(img, target, label=f"Slide {number}", source=str(path), page=number))
        report.warnings.extend(f"slide {number}: {note}" for note in renderer.notes)
        _append_notes(report, [slides[number - 1]], number)
    report.pages_used = plan.pages
    if plan.dropped:
        report.warnings.append(
            f"{len(selected)} slides do not fit the image budget ({budget:,} tokens) at a legible size: slides "
            f"{format_pages(plan.pages)} are sent, {format_pages(plan.dropped)} are not. Choose other slides with "
            f'--pages (e.g. --pages "{format_pages(plan.dropped[: len(plan.pages)])}") or in the slide picker'
        )


def _append_notes(report: MediaReport, slides: list, number: int | None = None) -> None:
    """Speaker notes as text after their slide's image (for the LibreOffice path, after each sent slide)."""
    if number is not None:
        text = _notes(slides[0])
        if text:
            report.parts.append(TextPart(f"Speaker notes for slide {number}:\n{text}"))
        return
    used = report.pages_used or []
    parts = list(report.parts)
    report.parts.clear()
    for part in parts:
        report.parts.append(part)
        if isinstance(part, ImagePart) and part.page is not None:
            n = part.page
            if n in used and 0 < n <= len(slides):
                text = _notes(slides[n - 1])
                if text:
                    report.parts.append(TextPart(f"Speaker notes for slide {n}:\n{text}"))


def _notes(slide) -> str:
    if not slide.has_notes_slide:
        return ""
    frame = slide.notes_slide.notes_text_frame
    return frame.text.strip() if frame is not None else ""
