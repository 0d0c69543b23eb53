"""The answer view in the assembled app on a real X server: an answer streamed by a loopback server shows as
rendered Markdown and typeset math while it streams, ends without anything re-rendered but its last block, and
is shown the same when the conversation is reopened."""

from __future__ import annotations

import pytest

from tests.support import xvfb
from tests.support.app_window import key, look, running_app, settle, snapshot, type_text
from tests.support.openai_server import dialect_stream
from tests.support.profiled_app import until

pytestmark = [pytest.mark.gui, pytest.mark.skipif(xvfb.missing() is not None, reason=xvfb.missing() or "")]

ANSWER = (
    "## Results by benchmark\n\n"
    "GLM-4.6V leads on **four of six** benchmarks; the margin is $\\frac{3.2}{100}$ on documents.\n\n"
    "| benchmark | GLM-4.6V | baseline |\n|---|---:|---:|\n| MMMU | 76.0 | 70.2 |\n\n"
    "```python\ndef speedup(a, b):\n    return a / b\n```\n\n"
    "$$\n\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix} x = \\boxed{42}\n$$\n\n"
    + "".join(f"Point {i} of the summary, in **plain** words.\n\n" for i in range(60))
)
RAW_MARKERS = ("## ", "**", "|---", "```", "$$", "\\frac", "\\begin")
CARD = "w.answer_cards()[-1].view"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    with running_app(tmp_path_factory.mktemp("answer-view")) as running:
        yield running


def test_markdown_and_math_are_rendered_while_the_answer_streams(app):
    app.server.enqueue(dialect_stream("vllm", reasoning="Looking.", answer=ANSWER, piece=4, delay=0.01))
    look(app, "w.focus_composer()")
    type_text(app, "Summarise the benchmark chart")
    key(app, "Return")
    until(lambda: "Point 3 " in (look(app, f"{CARD}.markdown_source") or ""), 60, "the answer to stream past the math")
    until(lambda: look(app, f"{CARD}.toHtml().count('src=\"math:')") >= 2, 30, "the formulas to be typeset")
    assert look(app, "w.is_streaming()"), "the answer ended before it could be seen streaming"
    text, html = look(app, f"{CARD}.toPlainText()"), look(app, f"{CARD}.toHtml()")
    picture = snapshot(app, "answer-mid-stream")
    live = look(app, f"[b.html for b in {CARD}._shown]")
    assert "Results by benchmark" in text and "<table" in html and "MMMU" in text and "speedup" in text
    assert "font-weight:700" in html and "monospace" in html
    for marker in RAW_MARKERS:
        assert marker not in text, f"raw Markdown {marker!r} on screen mid-stream ({picture})"

    until(lambda: not look(app, "w.is_streaming()"), 60, "the answer to end")
    settle(app)
    final = look(app, f"[b.html for b in {CARD}._shown]")
    assert final[: len(live)] == live, "a block rendered while streaming changed at the end"
    assert look(app, f"{CARD}.markdown_source") == ANSWER
    assert "Point 59 " in look(app, f"{CARD}.toPlainText()")
    snapshot(app, "answer-ended")

    conversation = look(app, "w.conversation_id")
    look(app, "w.new_chat()")
    look(app, f"w.open_conversation({conversation!r})")
    until(lambda: look(app, f"{CARD}.rendered()"), 30, "the reopened answer to be rendered")
    until(lambda: look(app, f"{CARD}.toHtml().count('src=\"math:')") >= 2, 30, "the reopened formulas")
    assert look(app, f"[b.html for b in {CARD}._shown]") == final, "reopened, the answer is cut differently"
