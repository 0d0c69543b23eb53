"""Splits a model's raw output into thinking, answer and grounding boxes.

This is the only place that knows the markup. Reasoning reaches us three ways (a server's ``reasoning_content``
or ``reasoning`` field, or inline ``<think>..</think>`` inside the content), GLM-4.1V wraps its answer in
``<answer>..</answer>``, grounding boxes come as ``<|begin_of_box|>..<|end_of_box|>``, and a local engine that
decodes with ``skip_special_tokens=False`` leaks role tokens. Tags may be split anywhere across chunks.

Normalisation rules (consumers and tests rely on them):

- Thinking is verbatim: the text between ``<think>`` and ``</think>`` (including a newline right after
  ``<think>``) and everything a server sent as reasoning, unchanged.
- The answer as a whole never starts with whitespace: GLM puts ``\\n`` after ``</think>`` and after ``<answer>``,
  so whitespace is dropped until the first visible answer character; after that the answer is verbatim.
- In the answer, a box group's markers are removed and its inner text is kept unchanged as the readable form
  (``<|begin_of_box|>[[1, 2, 3, 4]]<|end_of_box|>`` reads ``[[1, 2, 3, 4]]``); when that text holds coordinates,
  a ``Boxes`` event follows the text at the point where the group closes. Inside thinking the markers stay.
- ``<answer>``/``</answer>``, a stray ``</think>`` or ``<|end_of_box|>`` in the answer, a repeated ``<think>``
  while thinking, and GLM special tokens are dropped.
- With ``starts_in_thinking``, content is thinking until ``</think>``, unless the server sends reasoning in its
  own field first (it then split the reasoning off itself, and the content is answer).
- At the end, an unfinished tag prefix is plain text and an unclosed box group is plain answer text (no boxes).
- With ``keep_box_markers`` (a server passing the model's answer on, ``app.serve``), box markers stay in the
  answer as the model wrote them and no ``Boxes`` events are made: the client's own splitter reads them.

The scanner works on whole strings with ``str``/``re`` calls and holds back only the shortest suffix that could
still grow into a tag, so it keeps up with fast servers on small machines (see benchmarks/bench_splitter.py).
"""

from __future__ import annotations

import ast
import json
import math
import re
from typing import Any

from app.core.events import Answer, Box, Boxes, Event, Thinking

THINK_OPEN = "<think>"
THINK_CLOSE = "</think>"
ANSWER_OPEN = "<answer>"
ANSWER_CLOSE = "</answer>"
BOX_OPEN = "<|begin_of_box|>"
BOX_CLOSE = "<|end_of_box|>"
SPECIAL_TOKENS = (
    "<|endoftext|>",
    "<|user|>",
    "<|assistant|>",
    "<|observation|>",
    "<|system|>",
    "[gMASK]",
    "<sop>",
    "/nothink",
)
TAGS = (THINK_OPEN, THINK_CLOSE, ANSWER_OPEN, ANSWER_CLOSE, BOX_OPEN, BOX_CLOSE, *SPECIAL_TOKENS)

_TAG_RE = re.compile("|".join(re.escape(t) for t in sorted(TAGS, key=len, reverse=True)))
_TAG_PREFIXES = frozenset(t[:i] for t in TAGS for i in range(1, len(t)))
_TAG_START_RE = re.compile("[" + re.escape("".join(sorted({t[0] for t in TAGS}))) + "]")
_MAX_HOLD = max(len(t) for t in TAGS) - 1

# A box group that has not closed after this many characters and holds no box is not a box group: give it back
# as answer text rather than stall the answer pane until the end of the stream. One that does hold boxes is a
# long list of them (thousands of objects found): its text flows to the answer from then on, and what is kept of
# it for the boxes at its close is bounded; boxes past that are dropped, and the group says so.
MAX_BOX_CHARS = 8192
MAX_BOX_GROUP_CHARS = 1 << 20

_THINK, _ANSWER, _BOX, _LONG_BOX = 0, 1, 2, 3


class ReasoningSplitter:
    """Turns one stream's chunks into Thinking / Answer / Boxes events. Use one splitter per stream.

    ``starts_in_thinking`` says the prompt already opened ``<think>`` (some server templates do), so the content
    is reasoning until ``</think>``. If the server sends reasoning in its own field before any content, it has
    already taken that ``</think>`` out of the content, so the content is answer from the start.
    """

    __slots__ = ("_answer_started", "_box_len", "_box_parts", "_implicit_think", "_keep_boxes", "_mode", "_pending")

    def __init__(self, *, starts_in_thinking: bool = False, keep_box_markers: bool = False) -> None:
        self._keep_boxes = keep_box_markers
        self._mode = _THINK if starts_in_thinking else _ANSWER
        self._implicit_think = starts_in_thinking
        self._pending = ""
        self._answer_started = False
        self._box_parts: list[str] = []
        self._box_len = 0

    def feed(self, content: str = "", reasoning: str = "") -> list[Event]:
        """One streamed chunk. `reasoning` is text the server already marked as reasoning
        (delta.reasoning_content or delta.reasoning); `content` is the visible text, which may itself hold
        inline <think>...</think>, GLM-4.1V <answer>...</answer> and <|begin_of_box|>...<|end_of_box|>,
        split at ANY character boundary across chunks."""
        out: list[Event] = []
        if reasoning:
            out.append(Thinking(reasoning))
            if self._implicit_think:
                self._implicit_think = False
                self._mode = _ANSWER
        if not content:
            return out
        if self._implicit_think and not content.isspace():
            self._implicit_think = False
        buf = self._pending + content if self._pending else content
        pos = 0
        for m in _TAG_RE.finditer(buf):
            start = m.start()
            if start > pos:
                self._text(buf[pos:start], out)
            self._tag(m.group(), out)
            pos = m.end()
        hold = len(buf)
        for m in _TAG_START_RE.finditer(buf, max(pos, hold - _MAX_HOLD)):
            if buf[m.start() :] in _TAG_PREFIXES:
                hold = m.start()
                break
        if hold > pos:
            self._text(buf[pos:hold], out)
        self._pending = buf[hold:]
        return out

    def finish(self) -> list[Event]:
        """End of stream: flush whatever is held back (an unfinished tag prefix is plain text; an unclosed
        box is emitted as text)."""
        out: list[Event] = []
        if self._pending:
            self._text(self._pending, out)
            self._pending = ""
        if self._mode == _BOX:
            self._answer("".join(self._box_parts), out)
        if self._mode in (_BOX, _LONG_BOX):
            self._mode = _ANSWER
            self._box_parts = []
            self._box_len = 0
        return out

    def _text(self, text: str, out: list[Event]) -> None:
        mode = self._mode
        if mode == _ANSWER:
            self._answer(text, out)
        elif mode == _THINK:
            if out and type(out[-1]) is Thinking:
                out[-1] = Thinking(out[-1].text + text)
            else:
                out.append(Thinking(text))
        elif mode == _BOX:
            self._box_parts.append(text)
            self._box_len += len(text)
            if self._box_len > MAX_BOX_CHARS:
                held = "".join(self._box_parts)
                self._answer(held, out)
                if parse_boxes(held[:MAX_BOX_CHARS]):
                    self._mode = _LONG_BOX
                    self._box_parts = [held[:MAX_BOX_GROUP_CHARS]]
                else:
                    self._mode = _ANSWER
                    self._box_parts = []
                    self._box_len = 0
        else:
            self._answer(text, out)
            room = MAX_BOX_GROUP_CHARS - self._box_len
            if room > 0:
                self._box_parts.append(text[:room])
            self._box_len += len(text)

    def _answer(self, text: str, out: list[Event]) -> None:
        if not self._answer_started:
            text = text.lstrip()
            if not text:
                return
            self._answer_started = True
        if out and type(out[-1]) is Answer:
            out[-1] = Answer(out[-1].text + text)
        elif text:
            out.append(Answer(text))

    def _tag(self, tag: str, out: list[Event]) -> None:
        mode = self._mode
        if tag in SPECIAL_TOKENS:
            return
        if mode == _ANSWER:
            if tag == THINK_OPEN:
                self._mode = _THINK
            elif self._keep_boxes and tag in (BOX_OPEN, BOX_CLOSE):
                self._answer(tag, out)
            elif tag == BOX_OPEN:
                self._mode = _BOX
            # </think>, <answer>, </answer> and a stray <|end_of_box|> are dropped.
        elif mode == _THINK:
            if tag == THINK_CLOSE:
                self._mode = _ANSWER
            elif tag != THINK_OPEN:
                self._text(tag, out)
        elif tag == BOX_CLOSE:
            inner = "".join(self._box_parts)
            cut_short = self._box_len > MAX_BOX_GROUP_CHARS
            self._box_parts = []
            self._box_len = 0
            if mode == _BOX:
                self._answer(inner, out)  # a long group's text has gone to the answer already
            self._mode = _ANSWER
            # A cut list is no longer valid JSON: its complete quads are what can be read of it.
            boxes = _scan_quads(inner) if cut_short else parse_boxes(inner)
            if boxes:
                out.append(Boxes(boxes=boxes, image_ref=None, cut_short=cut_short))
        elif tag in (THINK_OPEN, THINK_CLOSE):
            self._text(tag, out)
        # <answer>, </answer> and a nested <|begin_of_box|> inside a box group are dropped.


_NUM = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)"
_SEP = r"(?:\s*,\s*|\s+)"
_QUAD = _NUM + _SEP + _NUM + _SEP + _NUM + _SEP + _NUM
_NUM_RE = re.compile(_NUM)
_BRACKETED_QUAD_RE = re.compile(r"(?:<bbox>|[\[(<])\s*(" + _QUAD + r")\s*(?:</bbox>|[\])>])")
_BARE_QUAD_RE = re.compile(r"\A\s*(" + _QUAD + r")\s*\Z")
_OBJECT_RE = re.compile(r"\{[^{}]*\}")
_LABEL_KEY_RE = re.compile(r"""["']?(?:label|name)["']?\s*[:=]\s*["']([^"']*)["']""")
_GAP_JUNK = " \t\r\n,;:=[]{}()\"'"
_BOX_KEYS = ("bbox_2d", "bbox", "box")
_LABEL_KEYS = ("label", "name", "text")
MAX_LABEL_CHARS = 64


def shown_question(text: str) -> str:
    """A question as its card shows it: box markers read as in answers, their inner text kept (Find on screen's
    prompt asks for ``<|begin_of_box|>[[x1, y1, x2, y2]]<|end_of_box|>``); what is sent stays as written."""
    return text.replace(BOX_OPEN, "").replace(BOX_CLOSE, "")


def parse_boxes(text: str) -> tuple[Box, ...]:
    """The boxes a box group's inner text describes, or ``()`` when it holds no coordinates (GLM also wraps
    plain final answers such as ``B`` in box markers)."""
    if not any(c.isdigit() for c in text):
        return ()
    data = _structured(text)
    if data is not None:
        found: list[Box] = []
        _collect(data, None, found)
        if found:
            return tuple(found)
    return _scan_quads(text)


def _structured(text: str) -> Any:
    stripped = text.strip()
    if not stripped or stripped[0] not in "[{(":
        return None
    try:
        return json.loads(stripped)
    except (ValueError, RecursionError):
        pass
    try:
        return ast.literal_eval(stripped)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None


def _collect(data: Any, label: str | None, found: list[Box]) -> None:
    if isinstance(data, (list, tuple)):
        if len(data) == 4 and all(_is_number(v) for v in data):
            box = _box([float(v) for v in data], label)
            if box is not None:
                found.append(box)
            return
        for item in data:
            _collect(item, label, found)
    elif isinstance(data, dict):
        own_label = label
        for key in _LABEL_KEYS:
            value = data.get(key)
            if isinstance(value, str) and value.strip():
                own_label = _clean_label(value)
                break
        for key in _BOX_KEYS:
            if key in data:
                _collect(data[key], own_label, found)
                return
        for key, value in data.items():
            if isinstance(key, str) and key not in _LABEL_KEYS:
                _collect(value, own_label or _clean_label(key), found)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _scan_quads(text: str) -> tuple[Box, ...]:
    """Boxes from text that is not a valid literal: text forms, or JSON the model got slightly wrong."""
    found: list[Box] = []
    if "{" in text:
        # One object per box: its label may come before or after its coordinates.
        for obj in _OBJECT_RE.finditer(text):
            body = obj.group()
            named = _LABEL_KEY_RE.search(body)
            label = _clean_label(named.group(1)) if named else None
            for m in _BRACKETED_QUAD_RE.finditer(body):
                box = _box([float(v) for v in _NUM_RE.findall(m.group(1))], label)
                if box is not None:
                    found.append(box)
        if found:
            return tuple(found)
    prev = 0
    for m in _BRACKETED_QUAD_RE.finditer(text):
        box = _box([float(v) for v in _NUM_RE.findall(m.group(1))], _gap_label(text[prev : m.start()]))
        if box is not None:
            found.append(box)
        prev = m.end()
    if not found:
        bare = _BARE_QUAD_RE.match(text)
        if bare:
            box = _box([float(v) for v in _NUM_RE.findall(bare.group(1))], None)
            if box is not None:
                found.append(box)
    return tuple(found)


def _gap_label(gap: str) -> str | None:
    """The label written before a box in text forms (``cat: [..]``, ``cat [..]``, JSON-ish that is not JSON)."""
    m = _LABEL_KEY_RE.search(gap)
    if m:
        return _clean_label(m.group(1))
    label = gap.strip(_GAP_JUNK)
    if label.lower() in _BOX_KEYS:
        return None
    return _clean_label(label)


def _clean_label(label: str) -> str | None:
    label = " ".join(label.split())
    if not label or len(label) > MAX_LABEL_CHARS:
        return None
    return label


def _box(values: list[float], label: str | None) -> Box | None:
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        return None
    x1, y1, x2, y2 = (min(max(v, 0.0), 1000.0) for v in values)
    return Box(min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2), label)
