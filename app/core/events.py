"""The one stream every backend yields, consumed alike by the window and `glmv ask`.

Backends never hand raw text to a view: they yield these events, and `app.core.reasoning` is the only place
that decides what is thinking, what is answer and what is a grounding box.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

# How a failure is reported: the one list every error and every stream's end uses (app.core.errors). "capture":
# a screenshot or recording could not be taken; "storage": the history or settings on disk cannot be used.
FailureKind = Literal["auth", "rate_limit", "network", "server", "input", "model", "cancelled", "capture", "storage"]


@dataclass(frozen=True, slots=True)
class Thinking:
    """A piece of the model's reasoning (thinking pane)."""

    text: str


@dataclass(frozen=True, slots=True)
class Answer:
    """A piece of the visible answer (answer pane); box markers are already replaced by a readable form."""

    text: str


@dataclass(frozen=True, slots=True)
class Box:
    """One grounding box, normalised to 0..1000 of the image width (x) and height (y)."""

    x1: float
    y1: float
    x2: float
    y2: float
    label: str | None = None

    def as_list(self) -> list[float]:
        return [self.x1, self.y1, self.x2, self.y2]


@dataclass(frozen=True, slots=True)
class Boxes:
    """Grounding boxes found in the answer.

    ``image_ref`` is the index (from 0) of the image in the question the boxes belong to when the model said so;
    ``None`` means "not stated", which consumers read as the images in the question taken in order.
    """

    boxes: tuple[Box, ...]
    image_ref: int | None = None
    # The group went on past what is kept of one (reasoning.MAX_BOX_GROUP_CHARS): boxes after these were dropped.
    cut_short: bool = False


@dataclass(frozen=True, slots=True)
class Preparing:
    """The attachments are being prepared before the request goes out ("Preparing book.pdf, page 40 of 85…"),
    which takes seconds for a long PDF or a deck; an empty ``text`` says the preparing is over."""

    text: str


@dataclass(frozen=True, slots=True)
class Done:
    """The stream ended normally. ``usage`` holds the server's token counts when it sent them."""

    finish_reason: str | None = None
    usage: dict = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Failed:
    """The stream ended with a failure. ``message`` says what happened and what to do; what arrived before
    stays with the consumer. ``retry_after`` is seconds to wait when the server said so."""

    kind: FailureKind
    message: str
    retryable: bool = False
    retry_after: float | None = None


Event = Thinking | Answer | Boxes | Preparing | Done | Failed
