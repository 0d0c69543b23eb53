"""A job's text as OpenAI's chat completion: reasoning apart from the answer, stop sequences, usage, chunks.

The engine's text holds ``<think>..</think>`` when the model thinks; ``app.core.reasoning.ReasoningSplitter`` (the
one place that knows GLM's markup) takes the thinking out, and with ``keep_box_markers`` it leaves grounding
boxes in the answer exactly as the model wrote them (``<|begin_of_box|>[[x1, y1, x2, y2]]<|end_of_box|>``), the
way Z.ai serves GLM-V, for the client's own parser. Reasoning goes out twice, as ``reasoning_content`` (Z.ai,
DeepSeek, SGLang) and ``reasoning`` (vLLM), since clients read one or the other. Stop sequences apply to the
answer: the text before the first one is kept, and the job is stopped.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from app.core.events import Answer, Thinking
from app.core.reasoning import ReasoningSplitter
from glmv_local import jobs

Piece = tuple[str, str]  # ("reasoning" | "content", text)


class StopScanner:
    """Finds the first stop sequence in streamed text, holding back only what could still become one."""

    def __init__(self, stops: tuple[str, ...]) -> None:
        self.stops = stops
        self._held = ""

    def feed(self, text: str) -> tuple[str, bool]:
        """(the text that can go out, whether a stop sequence was found)."""
        if not self.stops:
            return text, False
        buf = self._held + text
        found = [i for i in (buf.find(s) for s in self.stops) if i >= 0]
        if found:
            self._held = ""
            return buf[: min(found)], True
        hold = 0
        for stop in self.stops:
            for k in range(min(len(stop) - 1, len(buf)), hold, -1):
                if buf.endswith(stop[:k]):
                    hold = k
                    break
        self._held = buf[len(buf) - hold :]
        return buf[: len(buf) - hold], False

    def flush(self) -> str:
        held, self._held = self._held, ""
        return held


class Completion:
    """One request's answer as it is generated."""

    def __init__(self, model: str, stop: tuple[str, ...] = ()) -> None:
        self.id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        self.created = int(time.time())
        self.model = model
        self.reasoning: list[str] = []
        self.content: list[str] = []
        self.reasoning_tokens = 0
        self.stopped = False  # a stop sequence ended the answer
        self._splitter = ReasoningSplitter(keep_box_markers=True)
        self._stops = StopScanner(stop)
        self._frame: tuple[str, str] | None = None

    def feed(self, event: jobs.Text) -> list[Piece]:
        if self.stopped:
            return []
        return self._pieces(self._splitter.feed(content=event.text), event.tokens)

    def finish(self) -> list[Piece]:
        pieces = [] if self.stopped else self._pieces(self._splitter.finish(), None)
        if not self.stopped:
            tail = self._stops.flush()
            if tail:
                self._add(pieces, "content", tail)
        return pieces

    def _pieces(self, events: list, tokens: int | None) -> list[Piece]:
        pieces: list[Piece] = []
        for event in events:
            if isinstance(event, Thinking):
                self._add(pieces, "reasoning", event.text)
                if tokens is not None:
                    self.reasoning_tokens = tokens
            elif isinstance(event, Answer):
                text, stop = self._stops.feed(event.text)
                if text:
                    self._add(pieces, "content", text)
                if stop:
                    self.stopped = True
                    break
        return pieces

    def _add(self, pieces: list[Piece], kind: str, text: str) -> None:
        (self.reasoning if kind == "reasoning" else self.content).append(text)
        if pieces and pieces[-1][0] == kind:
            pieces[-1] = (kind, pieces[-1][1] + text)
        else:
            pieces.append((kind, text))

    # Wire format

    def finish_reason(self, outcome: jobs.Finished) -> str:
        if self.stopped or outcome.reason == "stop":
            return "stop"
        return "length" if outcome.reason == "length" else "stop"

    def usage(self, stats: jobs.Stats) -> dict[str, Any]:
        return {
            "prompt_tokens": stats.prompt_tokens,
            "completion_tokens": stats.completion_tokens,
            "total_tokens": stats.prompt_tokens + stats.completion_tokens,
            "completion_tokens_details": {"reasoning_tokens": min(self.reasoning_tokens, stats.completion_tokens)},
        }

    def chunk(self, delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
        return sse(
            {
                "id": self.id,
                "object": "chat.completion.chunk",
                "created": self.created,
                "model": self.model,
                "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}],
            }
        )

    def piece_chunk(self, piece: Piece) -> bytes:
        """``chunk`` for one piece of text, with only the text encoded per token (the rest is made once)."""
        kind, text = piece
        if self._frame is None:
            head, _, tail = self.chunk({"": ""}).decode().partition('{"":""}')
            self._frame = (head + "{", "}" + tail)
        head, tail = self._frame
        encoded = json.dumps(text, ensure_ascii=False)
        if kind == "reasoning":
            return f'{head}"reasoning_content":{encoded},"reasoning":{encoded}{tail}'.encode()
        return f'{head}"content":{encoded}{tail}'.encode()

    def usage_chunk(self, stats: jobs.Stats) -> bytes:
        return sse(
            {
                "id": self.id,
                "object": "chat.completion.chunk",
                "created": self.created,
                "model": self.model,
                "choices": [],
                "usage": self.usage(stats),
            }
        )

    def response(self, outcome: jobs.Finished) -> dict[str, Any]:
        reasoning = "".join(self.reasoning) or None
        message: dict[str, Any] = {
            "role": "assistant",
            "content": "".join(self.content),
            "reasoning_content": reasoning,
            "reasoning": reasoning,
        }
        return {
            "id": self.id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "choices": [
                {"index": 0, "message": message, "logprobs": None, "finish_reason": self.finish_reason(outcome)}
            ],
            "usage": self.usage(outcome.stats),
        }


def sse(data: dict[str, Any] | str) -> bytes:
    text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return f"data: {text}\n\n".encode()


DONE = sse("[DONE]")
KEEPALIVE = b": waiting\n\n"
