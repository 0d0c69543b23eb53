"""The Backend protocol: a conversation in, an iterator of events out.

Both the remote API backend and the in-process engine implement it, so the window and `glmv ask` never know
which one answers.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from app.core.conversation import Conversation
from app.core.events import Event
from app.core.media.parts import MediaTarget

if TYPE_CHECKING:
    from glmv_local.engine import Engine
    from glmv_local.loader import LoadProgress


@dataclass(frozen=True)
class Capabilities:
    """What a backend accepts. ``None`` means no limit is known."""

    images: bool = True
    video: bool = False
    max_images: int | None = None
    thinking_switch: bool = True
    # Whether a question can bound how long the model thinks (``GenerationOptions.thinking_budget``).
    thinking_budget: bool = False
    max_image_bytes: int | None = None
    max_image_side: int | None = None
    max_video_bytes: int | None = None
    max_videos: int | None = None
    context_tokens: int | None = None


@dataclass
class GenerationOptions:
    """Per-request settings. ``None`` leaves the value to the server or the checkpoint's own defaults.

    ``history_turns`` limits how many past question/answer pairs are sent (``None``: all of them).
    ``thinking_budget``: the most tokens the model may think for before it answers, where the backend can hold
    it to that (``Capabilities.thinking_budget``); ``None`` is no limit.
    """

    thinking: bool = True
    thinking_budget: int | None = None
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    history_turns: int | None = None


@dataclass(frozen=True)
class ThinkingChoice:
    """Whether the model thinks before answering one question, and for at most how many tokens (``budget``
    None: no limit). The composer's switch and a quick action make one; the session applies it to that
    question's answer (and to answering it again)."""

    on: bool = True
    budget: int | None = None

    def applied(self, options: GenerationOptions, capabilities: Capabilities) -> GenerationOptions:
        """``options`` for this question: thinking switched as chosen, the budget where the backend takes one."""
        budget = self.budget if self.on and capabilities.thinking_budget else None
        return dataclasses.replace(options, thinking=self.on, thinking_budget=budget)

    def effective(self, capabilities: Capabilities) -> ThinkingChoice:
        """The choice as the backend can follow it: a budget it cannot hold the model to is dropped."""
        return ThinkingChoice(self.on, self.budget if self.on and capabilities.thinking_budget else None)

    def to_dict(self) -> dict[str, Any]:
        """As the history keeps it."""
        return {"on": self.on, "budget": self.budget}

    @classmethod
    def from_dict(cls, data: Any) -> ThinkingChoice | None:
        """From the history's form; None for anything else (an older or damaged row: as the settings say)."""
        if not isinstance(data, dict) or not isinstance(data.get("on"), bool):
            return None
        budget = data.get("budget")
        if budget is not None and (type(budget) is not int or budget <= 0):
            return None
        return cls(data["on"], budget)


class Backend(Protocol):
    """Turns a conversation into the one stream of events (see ``app.core.events``).

    ``stream`` checks ``cancel`` while it runs; once it is set the stream ends with ``Failed(kind="cancelled")``
    after everything that already arrived was yielded.
    """

    name: str
    model: str

    @property
    def capabilities(self) -> Capabilities: ...

    @property
    def media_target(self) -> MediaTarget:
        """The limits attachments are prepared for (pixels, bytes, context), the same for the budget and the
        request."""
        ...

    def stream(
        self, conversation: Conversation, options: GenerationOptions, cancel: threading.Event | None = None
    ) -> Iterator[Event]: ...


@runtime_checkable
class InProcessBackend(Backend, Protocol):
    """A backend whose model runs in this process (``backends.local``): loaded once, gigabytes of it, before the
    first answer, and freed by ``unload``. The window loads it as soon as it is chosen, with progress."""

    engine: Engine

    def load(self, progress: Callable[[LoadProgress], None] | None = None) -> None: ...

    def unload(self) -> None: ...


@runtime_checkable
class Closable(Protocol):
    """A backend that holds a connection to close when done with it (``backends.api``)."""

    def close(self) -> None: ...


def recent_turns(conversation: Conversation, history_turns: int | None) -> list:
    """The messages to send: the last ``history_turns`` user/assistant pairs before the question, then the
    question. System messages in the list are kept."""
    messages = [m for m in conversation.messages if m.role != "system"]
    if history_turns is None or not messages:
        return messages
    question, past = messages[-1], messages[:-1]
    if history_turns <= 0:
        return [question]
    # Walk back counting user turns so a pair is never cut in half.
    kept: list = []
    users = 0
    for message in reversed(past):
        if message.role == "user":
            users += 1
            if users > history_turns:
                break
        kept.append(message)
    kept.reverse()
    while kept and kept[0].role != "user":
        kept.pop(0)
    return [*kept, question]
