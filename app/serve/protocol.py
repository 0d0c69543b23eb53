"""The body of ``POST /v1/chat/completions`` read into a ``ChatRequest``, every bad value a 400 that names it.

What OpenAI clients send, and what the servers GLM-V usually runs behind (Z.ai, vLLM) add: ``thinking:
{type: enabled|disabled}`` as Z.ai takes it and ``chat_template_kwargs.enable_thinking`` as vLLM does (thinking
is on unless one of them turns it off), vLLM's ``top_k`` and ``ignore_eos``. Content is a string or a list of
parts: ``text``, ``image_url`` (a data URL, bare base64 as Z.ai's SDK sends it, or an http(s) URL the server
fetches only when started with ``--allow-remote-images``) and ``video_url``. Fields that change nothing here
(``user``, ``metadata``, ``store``, penalties, ``parallel_tool_calls``...) are ignored; features this server does
not have (tools, several choices, log probabilities, JSON modes) are refused rather than silently dropped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

from app.serve.errors import bad_request

MAX_STOP_SEQUENCES = 4
MAX_STOP_CHARS = 256
Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True)
class MediaRef:
    """An image or a video as the request gave it: ``url`` is a data URL, bare base64 or an http(s) URL."""

    kind: Literal["image", "video"]
    url: str
    where: str  # the JSON path, for messages: messages[0].content[1]

    @property
    def remote(self) -> bool:
        return self.url[:8].lower().startswith(("http://", "https://"))


@dataclass
class MessageSpec:
    role: Role
    parts: list[str | MediaRef] = field(default_factory=list)


@dataclass
class ChatRequest:
    messages: list[MessageSpec]
    model: str | None = None
    stream: bool = False
    include_usage: bool = False
    thinking: bool = True
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    seed: int | None = None
    stop: tuple[str, ...] = ()
    ignore_eos: bool = False

    @property
    def media(self) -> list[MediaRef]:
        return [p for m in self.messages for p in m.parts if isinstance(p, MediaRef)]


def parse_chat_request(body: Any) -> ChatRequest:
    if not isinstance(body, dict):
        raise bad_request("the request body must be a JSON object")
    model = body.get("model")
    if model is not None and not isinstance(model, str):
        raise bad_request("model must be a string", "model")
    request = ChatRequest(messages=_messages(body.get("messages")), model=model)
    request.stream = _bool(body, "stream", False)
    options = body.get("stream_options")
    if options is not None:
        if not isinstance(options, dict):
            raise bad_request("stream_options must be an object", "stream_options")
        request.include_usage = _bool(options, "include_usage", False, "stream_options.include_usage")
    request.thinking = _thinking(body)
    for name in ("max_completion_tokens", "max_tokens"):
        if body.get(name) is not None:
            request.max_tokens = _int(body, name, low=1)
            break
    request.temperature = _number(body, "temperature", 0.0, 2.0)
    request.top_p = _number(body, "top_p", 0.0, 1.0)
    if request.top_p is not None and request.top_p == 0:
        raise bad_request("top_p must be more than 0", "top_p")
    if body.get("top_k") is not None:
        top_k = _int(body, "top_k", low=-1)
        request.top_k = None if top_k in (-1, 0) else top_k  # vLLM's -1 (and 0) mean every token
    if body.get("seed") is not None:
        request.seed = _int(body, "seed", low=-(2**63), high=2**64 - 1)
    request.stop = _stop(body.get("stop"))
    request.ignore_eos = _bool(body, "ignore_eos", False)
    _refuse_unsupported(body)
    return request


def _messages(value: Any) -> list[MessageSpec]:
    if not isinstance(value, list) or not value:
        raise bad_request("messages must be a non-empty list of {role, content} objects", "messages")
    out: list[MessageSpec] = []
    for i, message in enumerate(value):
        where = f"messages[{i}]"
        if not isinstance(message, dict):
            raise bad_request(f"{where} must be an object with role and content", where)
        role = message.get("role")
        if role == "developer":  # OpenAI's newer name for the system message
            role = "system"
        if role in ("tool", "function") or message.get("tool_calls"):
            raise bad_request(f"{where}: this server has no tool calling; send text, images and video", where)
        if role not in ("system", "user", "assistant"):
            raise bad_request(f"{where}.role must be system, developer, user or assistant, not {role!r}", where)
        parts = _content(message.get("content"), f"{where}.content", media=role == "user")
        out.append(MessageSpec(role, parts))
    if out[-1].role != "user":
        raise bad_request(
            "the conversation must end with a user message (continuing an assistant message is not supported)",
            "messages",
        )
    return out


def _content(value: Any, where: str, *, media: bool) -> list[str | MediaRef]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value else []
    if not isinstance(value, list):
        raise bad_request(f"{where} must be a string or a list of content parts", where)
    parts: list[str | MediaRef] = []
    for j, part in enumerate(value):
        at = f"{where}[{j}]"
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text":
            text = part.get("text")
            if not isinstance(text, str):
                raise bad_request(f"{at}.text must be a string", at)
            if text:
                parts.append(text)
        elif kind in ("image_url", "video_url"):
            if not media:
                raise bad_request(f"{at}: images and videos go in user messages", at)
            parts.append(
                MediaRef("image" if kind == "image_url" else "video", _url(part.get(kind), f"{at}.{kind}"), at)
            )
        else:
            raise bad_request(f"{at}: content parts are text, image_url or video_url, not {kind!r}", at)
    return parts


def _url(value: Any, where: str) -> str:
    if isinstance(value, dict):
        value = value.get("url")
    if not isinstance(value, str) or not value.strip():
        raise bad_request(f"{where} must hold a url: a data URL, base64 or an http(s) URL", where)
    return value.strip()


def _thinking(body: dict) -> bool:
    """Both switches; when both are given they must agree."""
    said: list[bool] = []
    thinking = body.get("thinking")
    if thinking is not None:
        kind = thinking.get("type") if isinstance(thinking, dict) else None
        if kind not in ("enabled", "disabled"):
            raise bad_request('thinking must be {"type": "enabled"} or {"type": "disabled"}', "thinking")
        said.append(kind == "enabled")
    kwargs = body.get("chat_template_kwargs")
    if kwargs is not None:
        if not isinstance(kwargs, dict):
            raise bad_request("chat_template_kwargs must be an object", "chat_template_kwargs")
        if kwargs.get("enable_thinking") is not None:
            said.append(_bool(kwargs, "enable_thinking", True, "chat_template_kwargs.enable_thinking"))
    if len(set(said)) > 1:
        raise bad_request("thinking and chat_template_kwargs.enable_thinking disagree; send one of them", "thinking")
    return said[0] if said else True


def _stop(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    stops = [value] if isinstance(value, str) else value
    if not isinstance(stops, list) or not all(isinstance(s, str) for s in stops):
        raise bad_request("stop must be a string or a list of strings", "stop")
    stops = [s for s in stops if s]
    if len(stops) > MAX_STOP_SEQUENCES or any(len(s) > MAX_STOP_CHARS for s in stops):
        raise bad_request(
            f"stop takes up to {MAX_STOP_SEQUENCES} sequences of up to {MAX_STOP_CHARS} characters", "stop"
        )
    return tuple(dict.fromkeys(stops))


def _refuse_unsupported(body: dict) -> None:
    n = body.get("n")
    if n is not None and n != 1:
        raise bad_request("n must be 1: this server answers with one choice per request", "n")
    if body.get("tools") or body.get("functions"):
        raise bad_request("this server has no tool calling; send the request without tools", "tools")
    if body.get("logprobs") or body.get("top_logprobs"):
        raise bad_request("this server does not return log probabilities", "logprobs")
    response_format = body.get("response_format")
    if response_format is not None and (not isinstance(response_format, dict) or response_format.get("type") != "text"):
        raise bad_request("response_format: only text is supported (no JSON mode or schema)", "response_format")


def _bool(body: dict, name: str, default: bool, where: str | None = None) -> bool:
    value = body.get(name)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise bad_request(f"{where or name} must be true or false", where or name)
    return value


def _int(body: dict, name: str, *, low: int, high: int | None = None) -> int:
    value = body.get(name)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
        bound = f"a whole number of at least {low}" + (f" and at most {high}" if high is not None else "")
        raise bad_request(f"{name} must be {bound}", name)
    return value


def _number(body: dict, name: str, low: float, high: float) -> float | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise bad_request(f"{name} must be a number", name)
    if not low <= value <= high:
        raise bad_request(f"{name} must be between {low:g} and {high:g}", name)
    return float(value)
