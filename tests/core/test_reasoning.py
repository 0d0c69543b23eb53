"""The splitter against streams cut at every kind of boundary, and against each markup GLM-V is known to emit."""

from __future__ import annotations

import itertools
import json
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.core.events import Answer, Box, Boxes, Thinking
from app.core.reasoning import (
    BOX_CLOSE,
    BOX_OPEN,
    MAX_BOX_CHARS,
    MAX_BOX_GROUP_CHARS,
    SPECIAL_TOKENS,
    TAGS,
    ReasoningSplitter,
    parse_boxes,
)

FAST = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_TAG_RE = re.compile("|".join(re.escape(t) for t in TAGS))

# Pieces that look like the start of a tag without being one, so the scanner's hold-back is exercised.
LOOKALIKES = [
    "<",
    ">",
    "|",
    "/",
    "[",
    "]",
    "\n",
    " ",
    "<thin",
    "<think",
    "</",
    "</think",
    "think>",
    "k>",
    "<|begin",
    "<|begin_of_box|",
    "<|end_of",
    "|>",
    "<answer",
    "</answe",
    "<|user",
    "<|endoftext",
    "[gMASK",
    "gMASK]",
    "<so",
    "/nothin",
    "nothink",
    "<<",
    "é",
    "中文",
    "👍",
]


def strip_tags(text: str) -> str:
    """Removes whole tags until none is left (removing one can join two halves into another)."""
    while True:
        cleaned = _TAG_RE.sub("", text)
        if cleaned == text:
            return text
        text = cleaned


tagless = st.lists(st.one_of(st.sampled_from(LOOKALIKES), st.text(max_size=6)), max_size=25).map(
    lambda parts: strip_tags("".join(parts))
)
any_markup = st.lists(st.one_of(st.sampled_from(LOOKALIKES + list(TAGS)), st.text(max_size=4)), max_size=30).map(
    "".join
)


def cut(data: st.DataObject, text: str) -> list[str]:
    """Splits text at random character boundaries (possibly many, possibly none)."""
    if not text:
        return []
    points = data.draw(st.lists(st.integers(0, len(text)), max_size=min(len(text) + 1, 40)), label="cuts")
    bounds = [0, *sorted(points), len(text)]
    return [text[a:b] for a, b in itertools.pairwise(bounds) if b > a]


def run(chunks: list[str], **kwargs: bool) -> list:
    splitter = ReasoningSplitter(**kwargs)
    events = []
    for chunk in chunks:
        events.extend(splitter.feed(chunk))
    events.extend(splitter.finish())
    return events


def thinking(events: list) -> str:
    return "".join(e.text for e in events if isinstance(e, Thinking))


def answer(events: list) -> str:
    return "".join(e.text for e in events if isinstance(e, Answer))


def boxes(events: list) -> list[tuple[Box, ...]]:
    return [e.boxes for e in events if isinstance(e, Boxes)]


def assert_well_formed(events: list) -> None:
    for event in events:
        assert isinstance(event, (Thinking, Answer, Boxes))
        if isinstance(event, (Thinking, Answer)):
            assert event.text
        else:
            assert event.boxes
            assert event.image_ref is None
    text = answer(events)
    assert BOX_OPEN not in text
    assert BOX_CLOSE not in text
    assert text == text.lstrip()


# --- thinking and answer under random chunking -----------------------------------------------------------------


@FAST
@given(st.data(), tagless, tagless)
def test_inline_think_tags_split_anywhere(data: st.DataObject, reasoning: str, reply: str) -> None:
    events = run(cut(data, "<think>" + reasoning + "</think>" + reply))
    assert_well_formed(events)
    assert thinking(events) == reasoning
    assert answer(events) == reply.lstrip()
    assert boxes(events) == []


@FAST
@given(st.data(), any_markup, tagless)
def test_reasoning_field_is_thinking_verbatim(data: st.DataObject, reasoning: str, reply: str) -> None:
    """What the server marked as reasoning is never parsed, even when it holds tags."""
    splitter = ReasoningSplitter()
    events = []
    r_chunks, a_chunks = cut(data, reasoning), cut(data, reply)
    overlap = data.draw(st.integers(0, min(len(r_chunks), len(a_chunks))), label="chunks carrying both fields")
    for r in r_chunks[: len(r_chunks) - overlap]:
        events.extend(splitter.feed(reasoning=r))
    for r, a in zip(r_chunks[len(r_chunks) - overlap :], a_chunks[:overlap], strict=True):
        events.extend(splitter.feed(a, r))
    for a in a_chunks[overlap:]:
        events.extend(splitter.feed(content=a))
    events.extend(splitter.finish())
    assert_well_formed(events)
    assert thinking(events) == reasoning
    assert answer(events) == reply.lstrip()


@FAST
@given(st.data(), tagless, tagless)
def test_starts_in_thinking(data: st.DataObject, reasoning: str, reply: str) -> None:
    events = run(cut(data, reasoning + "</think>" + reply), starts_in_thinking=True)
    assert_well_formed(events)
    assert thinking(events) == reasoning
    assert answer(events) == reply.lstrip()


@FAST
@given(st.data(), tagless.filter(bool), tagless, st.booleans())
def test_starts_in_thinking_with_reasoning_field(
    data: st.DataObject, reasoning: str, reply: str, stray_close: bool
) -> None:
    """A server that splits reasoning off itself has consumed the template's </think>: content is answer."""
    splitter = ReasoningSplitter(starts_in_thinking=True)
    events = [e for r in cut(data, reasoning) for e in splitter.feed(reasoning=r)]
    for a in cut(data, ("</think>" if stray_close else "") + reply):
        events.extend(splitter.feed(a))
    events.extend(splitter.finish())
    assert_well_formed(events)
    assert thinking(events) == reasoning
    assert answer(events) == reply.lstrip()


@FAST
@given(
    st.data(), tagless, tagless, st.sampled_from(["", "\n", "\n\n"]), st.sampled_from(["", "<|user|>", "<|endoftext|>"])
)
def test_glm41v_answer_tags(data: st.DataObject, reasoning: str, reply: str, gap: str, end: str) -> None:
    events = run(cut(data, "<think>" + reasoning + "</think>" + gap + "<answer>" + reply + "</answer>" + end))
    assert_well_formed(events)
    assert thinking(events) == reasoning
    assert answer(events) == reply.lstrip()


@FAST
@given(st.data(), any_markup)
def test_chunking_never_changes_the_result(data: st.DataObject, raw: str) -> None:
    whole = run([raw])
    chunked = run(cut(data, raw))
    assert_well_formed(chunked)
    assert thinking(chunked) == thinking(whole)
    assert answer(chunked) == answer(whole)
    assert boxes(chunked) == boxes(whole)


# --- boxes under random chunking ---------------------------------------------------------------------------------

coordinate = st.integers(-1000, 11000).map(lambda tenths: tenths / 10)
label = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=8).filter(
    lambda s: s.lower() not in ("box", "bbox")
)
STYLES = ["[]", "[[]]", "()", "<>", "<bbox> ", "<bbox>,", "json", "label:", "label "]


def fmt(value: float) -> str:
    return f"{value:g}"


def render(style: str, group: list[tuple[list[float], str | None]]) -> str:
    """Writes a box group the way GLM-V variants do."""
    if style == "json":
        return json.dumps([{"label": lab, "bbox_2d": c} if lab else {"bbox_2d": c} for c, lab in group])
    if style in ("label:", "label "):
        sep = ": " if style == "label:" else " "
        return ", ".join(f"{lab}{sep}[{', '.join(map(fmt, c))}]" for c, lab in group)
    if style == "[[]]":
        return "[" + ", ".join("[" + ", ".join(map(fmt, c)) + "]" for c, _ in group) + "]"
    if style.startswith("<bbox>"):
        sep = style[-1]
        return "".join(f"<bbox>{sep.join(map(fmt, c))}</bbox>" for c, _ in group)
    opener, closer = style
    return ", ".join(opener + ",".join(map(fmt, c)) + closer for c, _ in group)


def expected_box(c: list[float], lab: str | None) -> Box:
    x1, y1, x2, y2 = (min(max(v, 0.0), 1000.0) for v in c)
    return Box(min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2), lab)


@st.composite
def box_group(draw: st.DrawFn) -> tuple[str, tuple[Box, ...]]:
    style = draw(st.sampled_from(STYLES))
    count = 1 if style == "[]" else draw(st.integers(1, 3))
    labelled = style in ("label:", "label ") or (style == "json" and draw(st.booleans()))
    group = [
        (draw(st.lists(coordinate, min_size=4, max_size=4)), draw(label) if labelled else None) for _ in range(count)
    ]
    return render(style, group), tuple(expected_box(c, lab) for c, lab in group)


@st.composite
def answer_with_boxes(draw: st.DrawFn) -> list[tuple[str, tuple[Box, ...]]]:
    """Alternating plain text and box groups; a group's boxes are () when its content is not coordinates."""
    pieces: list[tuple[str, tuple[Box, ...]]] = []
    for _ in range(draw(st.integers(0, 4))):
        pieces.append((draw(tagless), ()))
        if draw(st.integers(0, 4)) == 0:
            pieces.append((draw(st.sampled_from(["B", "Paris", "yes", " C. a cat "])), ()))
        else:
            pieces.append(draw(box_group()))
    pieces.append((draw(tagless), ()))
    return pieces


@FAST
@given(st.data(), tagless, answer_with_boxes())
def test_boxes_split_anywhere(data: st.DataObject, reasoning: str, pieces: list[tuple[str, tuple[Box, ...]]]) -> None:
    raw = "<think>" + reasoning + "</think>\n"
    readable = ""
    groups: list[tuple[str, tuple[Box, ...]]] = []
    for i, (text, found) in enumerate(pieces):
        if i % 2:
            raw += BOX_OPEN + text + BOX_CLOSE
            readable += text
            if found:
                groups.append((readable.lstrip(), found))
        else:
            raw += text
            readable += text
    events = run(cut(data, raw))
    assert_well_formed(events)
    assert thinking(events) == reasoning
    assert answer(events) == readable.lstrip()
    assert boxes(events) == [found for _, found in groups]
    # Each Boxes event comes right after the readable text of its own group.
    shown = ""
    seen = []
    for event in events:
        if isinstance(event, Answer):
            shown += event.text
        elif isinstance(event, Boxes):
            seen.append(shown)
    assert seen == [prefix for prefix, _ in groups]


# --- examples --------------------------------------------------------------------------------------------------


def only_boxes(inner: str) -> list[tuple[float, float, float, float, str | None]]:
    events = run(["Here: ", BOX_OPEN, inner, BOX_CLOSE])
    assert answer(events) == "Here: " + inner
    return [(b.x1, b.y1, b.x2, b.y2, b.label) for group in boxes(events) for b in group]


def test_every_bracket_style() -> None:
    expected = [(100, 200, 300, 400, None)]
    assert only_boxes("[100,200,300,400]") == expected
    assert only_boxes("[[100, 200, 300, 400]]") == expected
    assert only_boxes("(100, 200, 300, 400)") == expected
    assert only_boxes("<100,200,300,400>") == expected
    assert only_boxes("<bbox>100 200 300 400</bbox>") == expected
    assert only_boxes("<bbox>100, 200, 300, 400</bbox>") == expected
    assert only_boxes("100 200 300 400") == expected
    assert only_boxes("[100.5, 200.25, 300, 400.0]") == [(100.5, 200.25, 300, 400, None)]


def test_several_boxes_in_one_group() -> None:
    assert only_boxes("[[10,20,30,40],[50,60,70,80]]") == [(10, 20, 30, 40, None), (50, 60, 70, 80, None)]
    assert only_boxes("(10,20,30,40) (50,60,70,80)") == [(10, 20, 30, 40, None), (50, 60, 70, 80, None)]


def test_labels() -> None:
    assert only_boxes('[{"label": "cat", "bbox_2d": [1, 2, 3, 4]}, {"label": "dog", "bbox": [5, 6, 7, 8]}]') == [
        (1, 2, 3, 4, "cat"),
        (5, 6, 7, 8, "dog"),
    ]
    assert only_boxes('{"box": [1, 2, 3, 4], "label": "red car"}') == [(1, 2, 3, 4, "red car")]
    assert only_boxes("[{'label': 'cat', 'bbox_2d': [1, 2, 3, 4]},]") == [(1, 2, 3, 4, "cat")]
    assert only_boxes('{"cat": [1, 2, 3, 4], "dog": [[5, 6, 7, 8]]}') == [(1, 2, 3, 4, "cat"), (5, 6, 7, 8, "dog")]
    assert only_boxes("cat: [1, 2, 3, 4]\ndog [5, 6, 7, 8]") == [(1, 2, 3, 4, "cat"), (5, 6, 7, 8, "dog")]
    assert only_boxes("the cat [1,2,3,4]") == [(1, 2, 3, 4, "the cat")]


def test_labels_in_json_the_model_got_slightly_wrong() -> None:
    assert only_boxes('[{"bbox_2d": [1, 2, 3, 4], "label": "cat"}, {"bbox_2d": [5, 6, 7, 8], "label": "dog"} oops') == [
        (1, 2, 3, 4, "cat"),
        (5, 6, 7, 8, "dog"),
    ]
    assert only_boxes("{label: 'cat', bbox: (1, 2, 3, 4)}\n{label: 'dog', bbox: (5, 6, 7, 8)}") == [
        (1, 2, 3, 4, "cat"),
        (5, 6, 7, 8, "dog"),
    ]


box_like = st.lists(
    st.one_of(st.sampled_from([*"[](){}<>,:'\" -.0123456789", "<bbox>", "</bbox>", "label"]), st.text(max_size=3)),
    max_size=40,
).map("".join)


@settings(max_examples=300, deadline=None)
@given(box_like)
def test_parse_boxes_never_fails_and_keeps_boxes_in_range(text: str) -> None:
    for box in parse_boxes(text):
        assert 0 <= box.x1 <= box.x2 <= 1000
        assert 0 <= box.y1 <= box.y2 <= 1000
        assert box.label is None or (box.label.strip() and len(box.label) <= 64)


def test_out_of_range_and_reversed_coordinates_are_clamped_and_ordered() -> None:
    assert only_boxes("[1200, -30, 500, 2000]") == [(500, 0, 1000, 1000, None)]
    assert only_boxes("[300, 400, 100, 200]") == [(100, 200, 300, 400, None)]
    assert only_boxes("[1e9, 0, 0, 1e9]") == [(0, 0, 1000, 1000, None)]


def test_content_that_is_not_coordinates_stays_answer_without_boxes() -> None:
    for inner in ["B", "Paris", "42", "[1, 2, 3]", "[NaN, 1, 2, 3]", "", "[[[[" * 300, "x: (a, b, c, d)"]:
        events = run(["The answer is ", BOX_OPEN, inner, BOX_CLOSE, "."])
        assert boxes(events) == []
        assert answer(events) == "The answer is " + inner + "."
    assert parse_boxes("B") == ()


def test_unclosed_tags_at_finish() -> None:
    assert run(["Hello <thi"]) == [Answer("Hello "), Answer("<thi")]
    assert answer(run(["Hello <|begin_of_b"])) == "Hello <|begin_of_b"
    events = run(["<think>still thinking </thi"])
    assert thinking(events) == "still thinking </thi"
    assert answer(events) == ""
    events = run(["Look: ", BOX_OPEN, "[1, 2, 3, 4]"])
    assert answer(events) == "Look: [1, 2, 3, 4]"
    assert boxes(events) == []
    events = run(["<think>never closed"])
    assert thinking(events) == "never closed"


def test_special_tokens_are_dropped() -> None:
    raw = (
        "[gMASK]<sop><|assistant|>\n<think>why/nothink?</think>\n"
        "So<|observation|> it<|system|> is.<|user|><|endoftext|>"
    )
    events = run([raw])
    assert thinking(events) == "why?"
    assert answer(events) == "So it is."
    for token in SPECIAL_TOKENS:
        assert answer(run(["a", token, "b"])) == "ab"
    assert answer(run(["<|users|> /nothing [gMASKED]"])) == "<|users|> /nothing [gMASKED]"


def test_stray_and_repeated_tags() -> None:
    assert run(["Answer</think> here"]) == [Answer("Answer here")]
    events = run(["<think>", "<think>one</think>two"], starts_in_thinking=True)
    assert thinking(events) == "one"
    assert answer(events) == "two"
    assert answer(run(["a", BOX_CLOSE, "b"])) == "ab"
    assert answer(run([BOX_OPEN, "[1,2,3,4]", BOX_OPEN, BOX_CLOSE])) == "[1,2,3,4]"


def test_box_markup_in_thinking_stays_verbatim() -> None:
    raw = "<think>see <|begin_of_box|>[1,2,3,4]<|end_of_box|> <answer>x</answer></think>ok"
    events = run([raw])
    assert thinking(events) == "see <|begin_of_box|>[1,2,3,4]<|end_of_box|> <answer>x</answer>"
    assert boxes(events) == []
    splitter = ReasoningSplitter()
    assert splitter.feed(reasoning="<think>r<|begin_of_box|>[1,2,3,4]<|end_of_box|>") == [
        Thinking("<think>r<|begin_of_box|>[1,2,3,4]<|end_of_box|>")
    ]


def test_answer_leading_whitespace_is_dropped_but_thinking_is_verbatim() -> None:
    events = run(["<think>\nreason\n</think>", "\n", "\n  ", "Answer\n\n  body"])
    assert thinking(events) == "\nreason\n"
    assert answer(events) == "Answer\n\n  body"
    assert run(["   \n"]) == []


def test_reasoning_comes_before_content_of_the_same_chunk() -> None:
    splitter = ReasoningSplitter()
    assert splitter.feed("Hi", "hmm") == [Thinking("hmm"), Answer("Hi")]
    assert splitter.feed() == []
    assert splitter.finish() == []


def test_runaway_box_group_is_given_back_as_text() -> None:
    splitter = ReasoningSplitter()
    events = splitter.feed(BOX_OPEN + "x" * (MAX_BOX_CHARS + 1))
    assert answer(events) == "x" * (MAX_BOX_CHARS + 1)
    events = splitter.feed("more" + BOX_CLOSE + "end") + splitter.finish()
    assert answer(events) == "moreend"
    assert boxes(events) == []


def test_events_are_merged_within_a_chunk() -> None:
    splitter = ReasoningSplitter()
    assert splitter.feed("a<|user|>b</answer>c") == [Answer("abc")]
    assert splitter.feed("<think>x<think>y</think>") == [Thinking("xy")]


def _quads(count: int, start: int = 0) -> str:
    return ", ".join(
        f'{{"bbox_2d": [{i % 900}, {i % 700}, {i % 900 + 50}, {i % 700 + 40}]}}' for i in range(start, count)
    )


def test_ten_thousand_boxes_in_one_group_are_all_kept_and_the_text_keeps_flowing() -> None:
    """GLM asked to find every object answers with one long group: it is a list of boxes, not runaway prose."""
    splitter = ReasoningSplitter()
    text = BOX_OPEN + "[" + _quads(10_000) + "]"
    events: list = []
    flowed_before_close = 0
    for i in range(0, len(text), 4096):  # streamed in pieces, as a server sends it
        events += splitter.feed(text[i : i + 4096])
        flowed_before_close = len(answer(events))
    assert flowed_before_close > len(text) - 4096 - MAX_BOX_CHARS, "the pane is not held back until the close"
    events += splitter.feed(BOX_CLOSE + " done") + splitter.finish()
    (group,) = [e for e in events if isinstance(e, Boxes)]
    assert len(group.boxes) == 10_000 and not group.cut_short
    assert group.boxes[1234] == Box(334, 534, 384, 574)
    assert answer(events).endswith(" done")


def test_a_box_group_past_what_is_kept_says_it_was_cut_short() -> None:
    splitter = ReasoningSplitter()
    many = (MAX_BOX_GROUP_CHARS // 30) * 2  # each is about 30 characters: twice what is kept
    events = splitter.feed(BOX_OPEN + "[" + _quads(many) + "]" + BOX_CLOSE) + splitter.finish()
    (group,) = [e for e in events if isinstance(e, Boxes)]
    assert group.cut_short and 0 < len(group.boxes) < many
    assert group.boxes[0] == Box(0, 0, 50, 40)


def test_kept_box_markers_reach_the_answer_as_written_at_any_split():
    """A server passes the model's answer on: the markers stay for its client's splitter, thinking still goes."""
    raw = "<think>find it</think>\n\nThe cat: <|begin_of_box|>[[10, 20, 300, 400]]<|end_of_box|> and <|begin_of_box|>B"
    raw += "<|end_of_box|>."
    answer = "The cat: <|begin_of_box|>[[10, 20, 300, 400]]<|end_of_box|> and <|begin_of_box|>B<|end_of_box|>."
    for cut in range(len(raw) + 1):
        splitter = ReasoningSplitter(keep_box_markers=True)
        events = splitter.feed(raw[:cut]) + splitter.feed(raw[cut:]) + splitter.finish()
        assert not any(isinstance(e, Boxes) for e in events)
        assert "".join(e.text for e in events if isinstance(e, Thinking)) == "find it"
        assert "".join(e.text for e in events if isinstance(e, Answer)) == answer
