"""Document rendering figures: PDF pages to budgeted images, slides through python-pptx, peak memory.

Targets (issue 4, on a 2-core machine): 100 PDF pages in at most 3 s, a 20-slide deck through python-pptx in at
most 2 s, and under 500 MB peak memory for a 1,000-page PDF. Run: .venv/bin/python benchmarks/bench_documents.py
"""

from __future__ import annotations

import io
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CORPUS = ROOT.parent / "shared" / "corpus"
LOREM = (
    "The renderer draws each page straight at the size the model's processor will use, so no pixel is computed "
    "twice. Small print stays legible at eighty dots per inch; below that the model starts guessing. "
)


def make_pdf(path: Path, pages: int) -> Path:
    """Pages of body text in three sizes, a heading, a rule and a coloured figure: a typical report page."""
    import pymupdf

    doc = pymupdf.open()
    for i in range(pages):
        page = doc.new_page()
        page.insert_text((72, 60), f"Chapter {i // 10 + 1}, page {i + 1}", fontsize=16)
        page.draw_line((72, 70), (540, 70))
        page.insert_textbox(pymupdf.Rect(72, 80, 540, 420), LOREM * 6, fontsize=10)
        page.draw_rect(pymupdf.Rect(72, 430, 300, 600), color=(0, 0, 0.6), fill=(0.7, 0.8, 1))
        page.insert_textbox(pymupdf.Rect(310, 430, 540, 720), LOREM * 3, fontsize=8)
    doc.save(path)
    return path


def make_deck(path: Path, slides: int) -> Path:
    from PIL import Image
    from pptx import Presentation
    from pptx.chart.data import CategoryChartData
    from pptx.dml.color import RGBColor
    from pptx.enum.chart import XL_CHART_TYPE
    from pptx.enum.shapes import MSO_SHAPE
    from pptx.util import Inches

    prs = Presentation()
    prs.slide_width, prs.slide_height = Inches(13.333), Inches(7.5)
    picture = io.BytesIO()
    Image.radial_gradient("L").convert("RGB").save(picture, "PNG")
    for i in range(slides):
        s = prs.slides.add_slide(prs.slide_layouts[5])
        s.shapes.title.text = f"Slide {i + 1}: results and next steps"
        kind = i % 4
        if kind == 0:
            box = s.shapes.add_textbox(Inches(0.7), Inches(1.8), Inches(11), Inches(4))
            box.text_frame.word_wrap = True
            box.text_frame.text = LOREM * 2
        elif kind == 1:
            data = CategoryChartData()
            data.categories = ["Q1", "Q2", "Q3", "Q4"]
            data.add_series("North", (3.0, 4.5, 5.1, 6.0))
            data.add_series("South", (2.0, 2.5, 3.5, 4.2))
            s.shapes.add_chart(XL_CHART_TYPE.COLUMN_CLUSTERED, Inches(0.7), Inches(1.8), Inches(7), Inches(5), data)
        elif kind == 2:
            table = s.shapes.add_table(5, 4, Inches(0.7), Inches(1.8), Inches(11), Inches(3)).table
            for r in range(5):
                for c in range(4):
                    table.cell(r, c).text = f"R{r} C{c}"
        else:
            for k in range(4):
                shape = s.shapes.add_shape(
                    MSO_SHAPE.ROUNDED_RECTANGLE, Inches(0.7 + 3 * k), Inches(2), Inches(2.6), Inches(1.5)
                )
                shape.fill.solid()
                shape.fill.fore_color.rgb = RGBColor(40 * k, 120, 200 - 30 * k)
                shape.text_frame.text = f"Step {k + 1}"
            picture.seek(0)
            s.shapes.add_picture(picture, Inches(0.7), Inches(4), Inches(3), Inches(3))
        s.notes_slide.notes_text_frame.text = f"Say something about slide {i + 1}."
    prs.save(path)
    return path


def timed_prepare(path: Path, **target_kwargs) -> tuple[float, object]:
    from app.core.conversation import Attachment
    from app.core.media import MediaTarget, prepare

    start = time.perf_counter()
    report = prepare(Attachment(path, text_layer=target_kwargs.pop("text_layer", False)), MediaTarget(**target_kwargs))
    return time.perf_counter() - start, report


def describe(label: str, seconds: float, report) -> None:
    from app.core.media import ImagePart

    images = [p for p in report.parts if isinstance(p, ImagePart)]
    size = f"{images[0].width}x{images[0].height}" if images else "-"
    per = seconds / max(1, len(report.pages_used or images or [1]))
    print(
        f"{label:<48} {seconds:6.2f} s  {len(report.pages_used or []):>4} of {report.pages_total or 0:>5} sent "
        f"({per * 1000:5.1f} ms each)  {len(images):>4} images {size:>9}  {report.tokens:>7,} tokens  "
        f"{sum(len(i.data) for i in images) / 1e6:6.1f} MB"
    )


def memory_child(path: str, budget: int) -> None:
    """Run in a fresh interpreter so ru_maxrss is this job's peak alone."""
    seconds, report = timed_prepare(Path(path), image_tokens_budget=budget, context_tokens=10**7)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "seconds": seconds,
                "pages": len(report.pages_used),
                "peak_mb": peak_mb,
                "tokens": report.tokens,
            }
        )
    )


def main() -> None:
    import pymupdf

    print(f"pymupdf {pymupdf.VersionBind}, python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        book = CORPUS / "mupdf_explored.pdf"
        if book.exists():
            timed_prepare(book)  # warm the imports and font caches once
            describe("corpus book, default budget", *timed_prepare(book))
            describe(
                "corpus book, all 285 pages (budget 285 x 768)", *timed_prepare(book, image_tokens_budget=285 * 768)
            )
            describe("corpus book, text layer", *timed_prepare(book, text_layer=True))
        else:
            print("corpus book not found; skipped")
        hundred = make_pdf(work / "hundred.pdf", 100)
        timed_prepare(hundred, image_tokens_budget=100 * 800)
        describe("generated 100 pages, default budget", *timed_prepare(hundred))
        seconds, report = timed_prepare(hundred, image_tokens_budget=100 * 800)
        describe("generated 100 pages, all sent", seconds, report)
        print(f"  -> target <= 3 s for 100 pages: {'OK' if seconds <= 3 else 'MISSED'}")

        from app.core.media import slides

        deck = make_deck(work / "deck.pptx", 20)
        from app.core.conversation import Attachment
        from app.core.media import MediaReport, MediaTarget

        for renderer in ("python-pptx", "libreoffice"):
            report = MediaReport(str(deck), "slides")
            start = time.perf_counter()
            try:
                slides.prepare(Attachment(deck), MediaTarget(), report, renderer=renderer)
            except Exception as e:  # LibreOffice may be absent: say so and go on
                print(f"20-slide deck via {renderer}: {e}")
                continue
            seconds = time.perf_counter() - start
            describe(f"20-slide deck via {renderer}", seconds, report)
            if renderer == "python-pptx":
                print(f"  -> target <= 2 s for 20 slides through python-pptx: {'OK' if seconds <= 2 else 'MISSED'}")

        thousand = make_pdf(work / "thousand.pdf", 1000)
        for label, budget in (("default budget", 65536), ("every page rendered", 1000 * 800)):
            out = subprocess.run(
                [sys.executable, __file__, "--memory-child", str(thousand), str(budget)],
                capture_output=True,
                text=True,
                check=True,
            )
            figures = json.loads(out.stdout.strip().splitlines()[-1])
            print(
                f"1,000-page PDF, {label:<20} {figures['seconds']:6.2f} s  {figures['pages']:>4} pages  "
                f"{figures['tokens']:>8,} tokens  peak RSS {figures['peak_mb']:.0f} MB "
                f"({'OK' if figures['peak_mb'] < 500 else 'MISSED'} < 500 MB)"
            )


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--memory-child":
        memory_child(sys.argv[2], int(sys.argv[3]))
    else:
        main()
