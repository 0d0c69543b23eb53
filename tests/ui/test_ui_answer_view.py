"""The answer view, through real widgets: Markdown and typeset math shown while the answer streams, the final
render equal to the live one, large and hostile answers rendered without losing text."""

from __future__ import annotations

import base64
import random
import re

import pytest
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QPlainTextEdit

from app.ui import theme
from app.ui.panes import SYNC_LIMIT, AnswerView
from app.ui.transcript import AnswerCard

pytestmark = pytest.mark.gui

ANSWER = r"""## Results by benchmark

GLM-4.6V leads on **four of six** benchmarks; the margin is $\frac{3.2}{100}$ on documents.

| benchmark | GLM-4.6V | baseline |
|---|---:|---:|
| MMMU | 76.0 | 70.2 |

```python
def speedup(a, b):
    return a / b
```

$$
\begin{pmatrix} 1 & 2 \\ 3 & 4 \end{pmatrix} x = \boxed{42}
$$

That is all.
"""

RAW_MARKERS = ("## ", "**", "|---", "```", "$$", "\\frac", "\\begin")


def stream(qtbot, view: AnswerView, text: str, piece: int = 9) -> None:
    for position in range(0, len(text), piece):
        view.append_text(text[position : position + piece])
        QApplication.processEvents()


def shown_view(qtbot, **kwargs) -> AnswerView:
    view = AnswerView(**kwargs)
    qtbot.addWidget(view)
    view.resize(800, 400)
    view.show()
    return view


def test_mid_stream_the_view_shows_rendered_markdown_and_typeset_math(qtbot, tmp_path):
    view = shown_view(qtbot)
    cut = ANSWER.index("That is all.")
    stream(qtbot, view, ANSWER[:cut] + "That is")  # the answer is still streaming
    qtbot.waitUntil(lambda: view.toHtml().count('src="math:') >= 2, timeout=15000)  # typeset on its thread
    html, text = view.toHtml(), view.toPlainText()
    assert "font-size:x-large" in html or "font-size:large" in html  # the heading
    assert "font-weight:700" in html  # bold
    assert "<table" in html and "MMMU" in text  # the table
    assert "speedup" in text and "monospace" in html  # the code block
    for marker in RAW_MARKERS:
        assert marker not in text, f"raw Markdown {marker!r} shown mid-stream"
    view.grab().save(str(tmp_path / "mid-stream.png"))
    assert view.markdown_source == ANSWER[:cut] + "That is"


def test_the_final_render_equals_the_live_one_block_for_block(qtbot):
    view = shown_view(qtbot)
    stream(qtbot, view, ANSWER, piece=5)
    live_closed = list(view._shown)
    view.finish()
    final = view._shown
    assert final[: len(live_closed)] == live_closed  # the closed blocks were not rendered again
    assert len(final) == len(live_closed) + 1  # only the open block was
    reopened = shown_view(qtbot)
    reopened.show_markdown(ANSWER)
    assert [b.html for b in reopened._shown] == [b.html for b in final]
    assert reopened.toPlainText() == view.toPlainText()


def test_an_answer_larger_than_the_qt_thread_renders_is_rendered_on_the_render_thread(qtbot):
    paragraph = "A sentence of an ordinary long answer, with **bold** words in it. " * 20
    text = "\n\n".join(f"### Part {i}\n\n{paragraph}" for i in range(12)) + "\n"
    assert len(text) > SYNC_LIMIT
    view = shown_view(qtbot)
    big_piece = text[: SYNC_LIMIT + 2000]
    view.append_text(big_piece.replace("\n\n", " ", 3))  # one open block past the limit: off the Qt thread
    view.append_text(text[SYNC_LIMIT + 2000 :])
    view.finish()
    qtbot.waitUntil(view.rendered, timeout=15000)
    whole = shown_view(qtbot)
    whole.show_markdown(view.markdown_source)
    qtbot.waitUntil(whole.rendered, timeout=15000)
    assert [b.html for b in view._shown] == [b.html for b in whole._shown]
    assert "Part 11" in view.toPlainText()


def test_a_block_past_the_limit_is_cut_with_show_all(qtbot):
    line = base64.b64encode(random.Random(5).randbytes(300_000)).decode()
    view = shown_view(qtbot)
    view.show_markdown(f"Before.\n\n{line}\n\nAfter.\n")
    qtbot.waitUntil(view.rendered, timeout=15000)
    text = view.toPlainText()
    assert "Before." in text and "After." in text and "not shown" in text
    assert len(text) < 120_000
    view._follow_link(next(_links(view, "show:")))
    viewers = [w for w in QApplication.topLevelWidgets() if w.findChild(QPlainTextEdit, "wholeBlock")]
    assert viewers, "Show all opened no viewer"
    whole = viewers[-1].findChild(QPlainTextEdit, "wholeBlock").toPlainText()
    assert whole.strip() == line
    viewers[-1].close()


def _links(view: AnswerView, scheme: str):
    from PySide6.QtCore import QUrl

    for href in re.findall(r'href="([^"]+)"', view.toHtml()):
        if href.startswith(scheme):
            yield QUrl(href)


def test_nothing_of_a_list_nested_200_levels_is_lost(qtbot):
    nested = "".join("  " * i + f"- level {i}\n" for i in range(200)) + "\nAfter the list.\n"
    view = shown_view(qtbot)
    stream(qtbot, view, nested, piece=40)
    view.finish()
    qtbot.waitUntil(view.rendered, timeout=15000)
    text = view.toPlainText()
    missing = [i for i in range(200) if f"level {i}" not in text]
    assert not missing and "After the list." in text


def test_copy_gives_the_latex_source(qtbot):
    from app.core.session import Turn

    card = AnswerCard(Turn("m1", "assistant", ANSWER), theme.LIGHT)
    qtbot.addWidget(card)
    card.show()
    card.view.show_markdown(ANSWER)
    qtbot.waitUntil(lambda: 'src="math:' in card.view.toHtml(), timeout=15000)
    card._copy()
    assert QGuiApplication.clipboard().text() == ANSWER


def test_a_formula_the_renderer_cannot_do_stays_as_its_source(qtbot):
    view = shown_view(qtbot)
    view.show_markdown("Broken: $\\frac{a}{$ and fine: $x^2$.\n")
    qtbot.waitUntil(lambda: 'src="math:' in view.toHtml(), timeout=15000)
    assert "\\frac" in view.toPlainText() or "frac" in view.toPlainText()


def test_the_dark_scheme_renders_the_answer_again(qtbot):
    view = shown_view(qtbot)
    view.show_markdown("```\ncode\n```\n")
    light = view.toHtml()
    view.set_dark(True)
    qtbot.waitUntil(view.rendered, timeout=5000)
    assert view.toHtml() != light and "#1e2227" in view.toHtml()
    assert view.markdown_source == "```\ncode\n```\n"


def test_a_view_told_the_whole_answer_each_time_streams_on(qtbot):
    view = shown_view(qtbot, grow=False)
    view.follow("# Title\n\nfirst")
    first = list(view._shown)
    view.follow("# Title\n\nfirst and more\n\nNext.")
    assert view._shown[: len(first)] == first and "Next." in view.toPlainText()
    view.follow("Another answer")
    assert "Title" not in view.toPlainText() and "Another answer" in view.toPlainText()


def test_a_deferred_answer_is_rendered_when_it_comes_on_screen(qtbot):
    from PySide6.QtWidgets import QScrollArea, QVBoxLayout, QWidget

    area = QScrollArea()
    qtbot.addWidget(area)
    area.setWidgetResizable(True)
    column = QWidget()
    layout = QVBoxLayout(column)
    views = []
    for i in range(30):
        view = AnswerView()
        view.show_markdown(f"## Answer {i}\n\n" + "Some words of the answer. " * 40 + "\n", defer=i < 27)
        layout.addWidget(view)
        views.append(view)
    area.setWidget(column)
    area.resize(700, 500)
    area.show()
    qtbot.waitExposed(area)
    area.verticalScrollBar().setValue(area.verticalScrollBar().maximum())
    qtbot.waitUntil(lambda: "Answer 29" in views[-1].toPlainText(), timeout=5000)
    QApplication.processEvents()
    assert "Answer 0" not in views[0].toPlainText()  # far above: not rendered yet
    assert views[0].plain_text().startswith("## Answer 0")  # but its text is there for Copy
    area.verticalScrollBar().setValue(0)
    qtbot.waitUntil(lambda: "Answer 0" in views[0].toPlainText(), timeout=5000)


def test_ten_thousand_boxes_are_drawn_and_summarised_not_dropped(qtbot, tmp_path):
    from PIL import Image

    from app.core.conversation import Attachment
    from app.core.events import Box, Boxes
    from app.core.grounding.pairing import QuestionImages, SeenImage
    from app.ui.boxes_view import LABELLED_BOXES, BoxesPanel

    picture = tmp_path / "chart.png"
    Image.new("RGB", (800, 600), "white").save(picture)
    found = QuestionImages((SeenImage(Attachment(picture), 0, "image"),))
    groups = [Boxes((Box(i % 900, i % 700, i % 900 + 50, i % 700 + 40),), None) for i in range(10_000)]
    panel = BoxesPanel()
    qtbot.addWidget(panel)
    panel.resize(700, 500)
    panel.set_groups(groups, found)
    panel.show()
    qtbot.waitExposed(panel)
    assert f"10,000 boxes on chart.png (numbered: the first {LABELLED_BOXES}" in panel.caption.text()
    assert len(panel.canvases) == 1 and len(panel.canvases[0].boxes) == 10_000
    image = panel.canvases[0].grab().toImage()  # painted in one pass, every box outlined
    assert image.width() > 0
    assert panel.coordinates_text().count("\n") >= 10_000  # Copy coordinates lists every box
