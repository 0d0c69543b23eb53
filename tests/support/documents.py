"""Real documents made for tests: PDFs written object by object (to tell lies MuPDF would repair away), PDFs and
decks from PyMuPDF and python-pptx, and a minimal .docx."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pymupdf
from PIL import Image
from pptx import Presentation
from pptx.util import Inches

# Objects of hand-made PDFs: a page, and the catalog whose page tree is object 2.
PAGE = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>"


def hand_made_pdf(path: Path, *objects: bytes) -> Path:
    """A PDF written object by object with a correct cross-reference table, so MuPDF reads the lie as written
    instead of repairing it away."""
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    path.write_bytes(bytes(out))
    return path


CATALOG = b"<< /Type /Catalog /Pages 2 0 R >>"
# PDFs whose page tree lies, by name: the objects to give ``hand_made_pdf``.
HOSTILE = {
    # /Pages lists itself among its kids.
    "self-kid": (CATALOG, b"<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 2 >>", PAGE),
    # Two /Pages nodes that are each other's only kid.
    "two-node-cycle": (
        CATALOG,
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Pages /Parent 2 0 R /Kids [2 0 R] /Count 1 >>",
    ),
    "count-minus-one": (CATALOG, b"<< /Type /Pages /Kids [3 0 R] /Count -1 >>", PAGE),
    "count-2-31": (CATALOG, b"<< /Type /Pages /Kids [3 0 R] /Count 2147483647 >>", PAGE),
    "count-huge": (CATALOG, b"<< /Type /Pages /Kids [3 0 R] /Count 99999999999 >>", PAGE),
    "count-zero-with-a-kid": (CATALOG, b"<< /Type /Pages /Kids [3 0 R] /Count 0 >>", PAGE),
    "kid-not-a-dict": (CATALOG, b"<< /Type /Pages /Kids [7] /Count 1 >>", PAGE),
}


PAGE_COLOURS = ((200, 40, 40), (40, 160, 40), (40, 40, 200), (200, 160, 0))
LOREM = "The quarterly report lists revenue, costs and the outlook for every region in some detail. " * 3


def pdf_with_pages(path, count: int = 3, *, text_on: tuple[int, ...] = ()):
    """A real PDF (PyMuPDF) of ``count`` A4 pages, each a full-page square of ``PAGE_COLOURS[n - 1]`` with a white
    stripe at 40..60% of its height; pages in ``text_on`` also carry enough text to go as their text layer."""
    document = pymupdf.open()
    for number in range(1, count + 1):
        page = document.new_page(width=595, height=842)
        colour = tuple(c / 255 for c in PAGE_COLOURS[number - 1])
        page.draw_rect(page.rect, color=colour, fill=colour)
        page.draw_rect(pymupdf.Rect(0, 842 * 0.4, 595, 842 * 0.6), color=(1, 1, 1), fill=(1, 1, 1))
        if number in text_on:
            page.insert_textbox(pymupdf.Rect(40, 842 * 0.4, 555, 842 * 0.6), LOREM, fontsize=11)
    document.save(path)
    return path


def page_number_of(image: Image.Image) -> int:
    """Which page of ``pdf_with_pages`` an image shows, from the colour at its top."""
    colour = image.convert("RGB").getpixel((image.width // 2, image.height // 10))
    distances = [sum(abs(a - b) for a, b in zip(colour, c, strict=True)) for c in PAGE_COLOURS]
    assert min(distances) < 40, colour
    return distances.index(min(distances)) + 1


def text_pdf(path: Path, pages: int) -> Path:
    """A PDF of ``pages`` pages, each with a text layer."""
    doc = pymupdf.open()
    for i in range(pages):
        doc.new_page().insert_text((72, 72), f"Page {i + 1} " + "text " * 40)
    doc.save(path)
    return path


def text_deck(path: Path, slides: int) -> Path:
    """A deck of ``slides`` slides, each with a title and a text box."""
    prs = Presentation()
    for i in range(slides):
        slide = prs.slides.add_slide(prs.slide_layouts[5])
        slide.shapes.title.text = f"Slide {i + 1}"
        slide.shapes.add_textbox(Inches(1), Inches(2), Inches(6), Inches(1)).text_frame.text = "body"
    prs.save(path)
    return path


def deck(path: Path, slides: int = 1) -> Path:
    """A deck of ``slides`` slides with only a title each."""
    prs = Presentation()
    for i in range(slides):
        prs.slides.add_slide(prs.slide_layouts[5]).shapes.title.text = f"Slide {i + 1}"
    prs.save(path)
    return path


def minimal_docx(path: Path, text: str = "Dear reader, this is a test letter. " * 4) -> Path:
    """A .docx of one paragraph, written as its three XML parts."""
    w = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>',
        )
        z.writestr(
            "_rels/.rels",
            '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
            'officeDocument" Target="word/document.xml"/></Relationships>',
        )
        z.writestr(
            "word/document.xml",
            f'<?xml version="1.0"?><w:document xmlns:w="{w}"><w:body><w:p><w:r><w:t>{text}</w:t></w:r></w:p>'
            "</w:body></w:document>",
        )
    return path
