"""What the model is told about each attachment: the one place that words it.

A request is the question and the parts its attachments became; without words around them the model sees a row
of images it cannot tell apart ("Page 3" of which file?) and cannot know that a document goes on past what it
was sent. So each attachment is introduced by its file name and kind (a screenshot as a screenshot, with its
size), each page or slide is labelled with its document's name and number ("report.pdf, page 3 of 285"), the
text layer alike, and when pages were left out a note says which, and that the person can send them.

Both backends send ``told_parts(report)`` for each attachment, and the budget counts the same words
(``told_text_tokens``), so the window, `glmv ask` and the token estimate cannot disagree.
"""

from __future__ import annotations

from pathlib import Path

from app.core.media.pages import format_pages
from app.core.media.parts import ImagePart, MediaReport, Part, TextPart, VideoPart, estimate_text_tokens

KIND_WORDS = {
    "pdf": "a PDF document",
    "slides": "a slide deck",
    "document": "a document",
    "image": "an image",
    "video": "a video",
    "text": "a text file",
}
SCREENSHOT_WORDS = {"screen": "the whole screen", "screens": "all screens", "region": "part of the screen"}
PAGED = ("pdf", "slides", "document")


def unit_of(kind: str) -> str:
    return "slide" if kind == "slides" else "page"


def _units(kind: str, count: int) -> str:
    return unit_of(kind) + ("s" if count != 1 else "")


def page_label(name: str, unit: str, number: int, total: int | None) -> str:
    """How a page or slide is named to the model, before its image and over its text: "report.pdf, page 3 of
    285"."""
    of = f" of {total}" if total else ""
    return f"{name}, {unit.lower()} {number}{of}"


def text_heading(name: str, unit: str, number: int, total: int | None) -> str:
    """The line over one page's text in a text layer."""
    return f"--- {page_label(name, unit, number, total)} ---"


def image_introduction(path: Path, width: int, height: int) -> str:
    """``introduction`` of an image file handed to the model without ``prepare`` (the local engine decodes it
    itself): the same words, the screenshot's kind read from its capture metadata."""
    from app.core.media.images import screenshot_of

    return _image_words(path.name, width, height, screenshot_of(path))


def _image_words(name: str, width: int, height: int, screenshot: str | None) -> str:
    size = f"{width} x {height} pixels"
    if screenshot:
        return f"Screenshot {name}: {SCREENSHOT_WORDS.get(screenshot, 'the screen')}, {size}."
    return f"File {name}: an image, {size}."


def introduction(report: MediaReport) -> str:
    """The sentence before an attachment's parts: its name, its kind and what of it follows."""
    name = Path(report.path).name
    images = [p for p in report.parts if isinstance(p, ImagePart)]
    if report.kind == "image" and images:
        return _image_words(name, images[0].source_width, images[0].source_height, report.screenshot)
    kind = KIND_WORDS.get(report.kind, "a file")
    if report.kind in PAGED and report.pages_total:
        total = report.pages_total
        head = f"File {name}: {kind} of {total} {_units(report.kind, total)}."
        used = report.pages_used or []
        as_images = [p.page for p in images if p.page is not None]
        as_text = [n for n in used if n not in as_images]
        if not as_text:
            if len(used) == 1:
                which = "It follows" if total == 1 else f"{unit_of(report.kind).capitalize()} {used[0]} follows"
                return f"{head} {which} as an image."
            which = (
                f"All {total}" if len(used) == total else f"{_units(report.kind, 2).capitalize()} {format_pages(used)}"
            )
            return f"{head} {which} follow, each as an image."
        said = f"{head} The text of {_units(report.kind, len(as_text))} {format_pages(as_text)} follows"
        if as_images:
            pictured = f"{_units(report.kind, len(as_images))} {format_pages(as_images)}"
            rest = "has no text and follows as an image" if len(as_images) == 1 else "have no text and follow as images"
            said += f"; {pictured} {rest}"
        return said + "."
    videos = [p for p in report.parts if isinstance(p, VideoPart)]
    if report.kind == "video":
        if videos:
            return f"File {name}: a video, {videos[0].duration:.1f} seconds."
        return f"File {name}: a video, as {len(images)} frames in order, each labelled with its time."
    return f"File {name}: {kind}."


def left_out(report: MediaReport) -> str | None:
    """The note after a document of which only some pages went: which were left out, why, and that the person
    can send them; None when every page went."""
    total, used = report.pages_total, report.pages_used
    if report.kind not in PAGED or not total or used is None or len(used) >= total:
        return None
    name = Path(report.path).name
    chosen = set(report.pages_chosen if report.pages_chosen is not None else range(1, total + 1))
    sent = set(used)
    not_chosen = [n for n in range(1, total + 1) if n not in chosen]
    no_room = [n for n in range(1, total + 1) if n in chosen and n not in sent]
    reasons = []
    if no_room:
        reasons.append(f"{_units(report.kind, len(no_room))} {format_pages(no_room)} (they did not fit in one message)")
    if not_chosen:
        which = f"{_units(report.kind, len(not_chosen))} {format_pages(not_chosen)}"
        reasons.append(f"{which} (not chosen for this question)")
    return (
        f"Left out of {name}: {' and '.join(reasons)}. If the answer may depend on them, say so: the person can send "
        "them in a later message."
    )


def told_parts(report: MediaReport) -> list[Part]:
    """The parts one attachment goes to the model as: its introduction, each image after its label, its text,
    and the note on pages left out. Neighbouring texts are one part, each ending in a line break, so that a
    label never runs into the next one when a chat template joins them."""
    name = Path(report.path).name
    texts: list[str] = [introduction(report)]
    out: list[Part] = []

    def flush() -> None:
        if texts:
            out.append(TextPart("\n".join(t.rstrip("\n") for t in texts) + "\n"))
            texts.clear()

    for part in report.parts:
        if isinstance(part, TextPart):
            texts.append(part.text)
            continue
        if isinstance(part, ImagePart):
            if report.kind in PAGED and part.page is not None:
                texts.append(page_label(name, unit_of(report.kind), part.page, report.pages_total))
            elif part.label:
                texts.append(part.label)
        flush()
        out.append(part)
    note = left_out(report)
    if note:
        texts.append(note)
    flush()
    return out


def told_text_tokens(report: MediaReport) -> int:
    """What the words of ``told_parts`` cost (the attachment's own text included): the budget adds them to its
    images and videos."""
    return sum(estimate_text_tokens(p.text) for p in told_parts(report) if isinstance(p, TextPart))
