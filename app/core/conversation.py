"""Conversation, Message and Attachment: plain data shared by the store, the backends and the window."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

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
