"""The engine's input: chat messages whose content is text, PIL images and video files.

Kept independent of any front end; ``to_template`` turns them into the content lists the GLM-V chat template and
processor read. Past assistant turns carry only their answer: the reasoning never goes back to the model (the
template puts an empty ``<think></think>`` in its place).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from glmv_local.errors import InputError


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class Image:
    image: Any  # PIL.Image.Image


@dataclass(frozen=True)
class Video:
    path: Path


Part = Text | Image | Video


@dataclass
class ChatMessage:
    role: Literal["system", "user", "assistant"]
    parts: list[Part] = field(default_factory=list)

    @classmethod
    def text(cls, role: Literal["system", "user", "assistant"], text: str) -> ChatMessage:
        return cls(role, [Text(text)])


def strip_reasoning(text: str) -> str:
    """An answer as generated may still hold its ``<think>..</think>`` block; history keeps what follows it."""
    return text.split("</think>")[-1].lstrip("\n") if "</think>" in text else text


def check(messages: list[ChatMessage]) -> None:
    """Refuse a conversation the model cannot answer, before anything is queued."""
    if not messages or messages[-1].role != "user":
        raise InputError("The conversation must end with a question (a user message).")


def to_template(messages: list[ChatMessage]) -> list[dict]:
    check(messages)
    out = []
    for message in messages:
        if message.role == "assistant":
            answer = "".join(p.text for p in message.parts if isinstance(p, Text))
            out.append({"role": "assistant", "content": [{"type": "text", "text": strip_reasoning(answer)}]})
            continue
        content: list[dict] = []
        for part in message.parts:
            if isinstance(part, Text):
                content.append({"type": "text", "text": part.text})
            elif isinstance(part, Image):
                content.append({"type": "image", "image": part.image.convert("RGB")})
            elif isinstance(part, Video):
                content.append({"type": "video", "path": str(part.path)})
            else:
                raise InputError(f"unsupported message part {type(part).__name__}")
        out.append({"role": message.role, "content": content})
    return out


def has_video(messages: list[ChatMessage]) -> bool:
    return any(isinstance(p, Video) for m in messages for p in m.parts)


def count_images(messages: list[ChatMessage]) -> int:
    return sum(isinstance(p, Image) for m in messages for p in m.parts)
