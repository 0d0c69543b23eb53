"""Conversation, Message and Attachment: plain data shared by the store, the backends and the window."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from app.core.media.parts import MediaReport

Role = Literal["system", "user", "assistant"]


@dataclass
class Attachment:
    """A file the person attached to a question.

    ``pages`` selects pages/slides ("1-5, 9") for documents; ``password`` opens an encrypted PDF. ``kind`` is
    detected from the content when left empty (see ``app.core.media``).
    """

    path: Path
    kind: str = ""
    pages: str | None = None
    password: str | None = None
    text_layer: bool = False

    @property
    def name(self) -> str:
        return self.path.name


@dataclass(frozen=True)
class AttachmentRecord:
    """An attachment of a question with what reading it found out, as the composer hands it to the session and
    the history keeps it: how many pages or slides it has and what it costs (tokens, which later questions count
    when it goes along with them). ``report`` is the composer's preparation (without pixels): the question counts
    the images the model saw from it; the history does not keep it."""

    attachment: Attachment
    pages_total: int | None = None
    tokens: int | None = None
    report: MediaReport | None = None

    @property
    def path(self) -> Path:
        return self.attachment.path

    @property
    def name(self) -> str:
        return self.attachment.name


def as_record(item: Attachment | AttachmentRecord) -> AttachmentRecord:
    """An attachment alone is a record of it with nothing found out yet."""
    return item if isinstance(item, AttachmentRecord) else AttachmentRecord(item)


@dataclass
class Message:
    """One turn. For assistant turns ``thinking`` keeps the reasoning for display; it is never sent back."""

    role: Role
    text: str = ""
    attachments: list[Attachment] = field(default_factory=list)
    thinking: str = ""


@dataclass
class Conversation:
    """The turns so far; the last one is the question to answer."""

    messages: list[Message] = field(default_factory=list)
    system_prompt: str | None = None

    def ask(self, text: str, attachments: list[Attachment] | None = None) -> Conversation:
        self.messages.append(Message(role="user", text=text, attachments=list(attachments or [])))
        return self
