"""The OpenAI-compatible servers GLM-V runs behind, and how each one differs on the wire.

They all speak `/chat/completions` with SSE, but switch thinking, encode images and bound a request differently.
A ``Dialect`` holds those differences so ``ApiBackend`` stays one code path; a ``Preset`` is what a person picks
(a dialect plus where the server usually lives). The GUI lists ``PRESETS`` as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypedDict
from urllib.parse import urlsplit

from app.core.backends.base import Capabilities
from app.core.errors import AppError
from app.core.media.parts import MediaTarget

ThinkingStyle = Literal["thinking_field", "chat_template_kwargs"]
ImageEncoding = Literal["base64", "data_uri"]

GLM_CONTEXT_TOKENS = 131072
MB = 1024 * 1024
# What a self-hosted server is sent in one request at most. vLLM and SGLang decode a video's base64 in memory and
# the proxies in front of them cap bodies; an 800 MB body is refused or takes the server down. Not documented by
# them: a bound that keeps a 600 MB video from going out as it is.
OPEN_SERVER_REQUEST_BYTES = 100 * MB
# The share of a request left for everything beside one video (the text, other images, the JSON around them).
REQUEST_SHARE_FOR_VIDEO = 0.9


@dataclass(frozen=True)
class Dialect:
    """How one kind of server wants a request shaped and what it accepts.

    ``reasoning_field`` documents where the server usually puts reasoning; the backend reads
    ``reasoning_content``, ``reasoning`` and inline ``<think>`` from every server anyway, because the same
    server changes field between versions and flags.

    ``max_request_bytes`` bounds the whole request body; a video file must fit in it as base64, so
    ``video_bytes_limit`` is the smaller of ``max_video_bytes`` and what fits.

    ``thinking_budget_field``: the body field that bounds how many tokens the model thinks for, where the server
    has one: vLLM's ``thinking_token_budget`` (enforced when the server runs with ``--reasoning-config``). Z.ai and
    BigModel document none; SGLang enforces budgets only through a logit processor the server must allow and the
    client must send as serialized code, and llama.cpp only per server (``--reasoning-budget``).

    ``send_processor_size``: the server may not resize images as GLM's processor does, so they go at the
    processor's size. llama.cpp resizes with its own token limits, bilinear and letterboxed; an unknown server
    may do anything. vLLM, SGLang and Z.ai run the processor, which rounds an image to its grid itself.
    """

    name: str
    label: str
    thinking_style: ThinkingStyle
    image_encoding: ImageEncoding
    reasoning_field: str
    accepts_video: bool
    stream_usage_option: bool
    max_images: int | None = None
    max_image_bytes: int | None = None
    max_image_side: int | None = None
    max_videos: int | None = None
    max_video_bytes: int | None = None
    max_request_bytes: int | None = None
    temperature_range: tuple[float, float] = (0.0, 2.0)
    max_tokens_limit: int | None = None
    context_tokens: int = GLM_CONTEXT_TOKENS
    send_processor_size: bool = False
    thinking_budget_field: str | None = None

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(
            images=True,
            video=self.accepts_video,
            max_images=self.max_images,
            thinking_switch=True,
            thinking_budget=self.thinking_budget_field is not None,
            max_image_bytes=self.max_image_bytes,
            max_image_side=self.max_image_side,
            max_video_bytes=self.video_bytes_limit,
            max_videos=self.max_videos,
            context_tokens=self.context_tokens,
        )

    @property
    def media_target(self) -> MediaTarget:
        return MediaTarget(
            max_image_bytes=self.max_image_bytes,
            max_image_side=self.max_image_side,
            accepts_video=self.accepts_video,
            max_video_bytes=self.video_bytes_limit,
            context_tokens=self.context_tokens,
            send_processor_size=self.send_processor_size,
        )

    @property
    def video_bytes_limit(self) -> int | None:
        """The largest video file one request can carry: the server's own video limit, and what fits in its
        request limit as base64 (4/3 larger) beside the rest of the question."""
        limits = [self.max_video_bytes]
        if self.max_request_bytes is not None:
            limits.append(int(self.max_request_bytes * REQUEST_SHARE_FOR_VIDEO) * 3 // 4)
        known = [limit for limit in limits if limit is not None]
        return min(known) if known else None

    def thinking_fields(self, enabled: bool, budget: int | None = None) -> dict:
        """The body fields that switch thinking on or off for this server, and bound it to ``budget`` tokens
        where the server takes a budget (``thinking_budget_field``; elsewhere it is not sent)."""
        if self.thinking_style == "thinking_field":
            fields: dict = {"thinking": {"type": "enabled" if enabled else "disabled"}}
        else:
            fields = {"chat_template_kwargs": {"enable_thinking": enabled}}
        if enabled and budget is not None and self.thinking_budget_field is not None:
            fields[self.thinking_budget_field] = max(0, budget)
        return fields

    def media_url(self, mime: str, b64: str) -> str:
        """Z.ai's own SDK strips the data-URI prefix and sends bare base64; the open servers want a data URI."""
        if self.image_encoding == "base64":
            return b64
        return f"data:{mime};base64,{b64}"

    def clamp_temperature(self, value: float) -> float:
        low, high = self.temperature_range
        return min(max(value, low), high)

    def clamp_max_tokens(self, value: int) -> int:
        value = max(value, 1)
        return min(value, self.max_tokens_limit) if self.max_tokens_limit else value


# Z.ai documents "< 5 MB" per image. Whether that counts the base64 text or the decoded bytes is not stated, so
# the byte budget keeps even the base64 form (4/3 larger) under 5 MB.
_ZAI_IMAGE_BYTES = 5 * MB * 3 // 4 - 4096


class _Limits(TypedDict, total=False):
    """The bounds two dialects share, typed so they can be spread into ``Dialect``."""

    max_images: int | None
    max_image_bytes: int | None
    max_image_side: int | None
    max_videos: int | None
    max_video_bytes: int | None
    temperature_range: tuple[float, float]
    max_tokens_limit: int | None


_ZAI_LIMITS: _Limits = {
    "max_images": 150,
    "max_image_bytes": _ZAI_IMAGE_BYTES,
    "max_image_side": 6000,
    "max_videos": 2,
    "max_video_bytes": 200 * MB,
    "temperature_range": (0.0, 1.0),
    "max_tokens_limit": 32768,
}

# BigModel's own limits: 5 MB and 6000x6000 pixels an image, as Z.ai's, but at most 50 images a request.
_BIGMODEL_LIMITS: _Limits = {**_ZAI_LIMITS, "max_images": 50}

DIALECTS: dict[str, Dialect] = {
    "zai": Dialect(
        name="zai",
        label="Z.ai",
        thinking_style="thinking_field",
        image_encoding="base64",
        reasoning_field="reasoning_content",
        accepts_video=True,
        stream_usage_option=False,
        **_ZAI_LIMITS,
    ),
    "bigmodel": Dialect(
        name="bigmodel",
        label="BigModel",
        thinking_style="thinking_field",
        image_encoding="base64",
        reasoning_field="reasoning_content",
        accepts_video=True,
        stream_usage_option=False,
        **_BIGMODEL_LIMITS,
    ),
    "vllm": Dialect(
        name="vllm",
        label="vLLM",
        thinking_style="chat_template_kwargs",
        image_encoding="data_uri",
        reasoning_field="reasoning",
        accepts_video=True,
        stream_usage_option=True,
        max_request_bytes=OPEN_SERVER_REQUEST_BYTES,
        thinking_budget_field="thinking_token_budget",
    ),
    "sglang": Dialect(
        name="sglang",
        label="SGLang",
        thinking_style="chat_template_kwargs",
        image_encoding="data_uri",
        reasoning_field="reasoning_content",
        accepts_video=True,
        stream_usage_option=True,
        max_request_bytes=OPEN_SERVER_REQUEST_BYTES,
    ),
    "llamacpp": Dialect(
        name="llamacpp",
        label="llama.cpp",
        thinking_style="chat_template_kwargs",
        image_encoding="data_uri",
        reasoning_field="reasoning_content",
        accepts_video=False,
        stream_usage_option=True,
        send_processor_size=True,
        max_request_bytes=OPEN_SERVER_REQUEST_BYTES,
    ),
    "openai": Dialect(
        name="openai",
        label="OpenAI-compatible",
        thinking_style="chat_template_kwargs",
        image_encoding="data_uri",
        reasoning_field="reasoning_content",
        accepts_video=True,
        stream_usage_option=True,
        send_processor_size=True,
        max_request_bytes=OPEN_SERVER_REQUEST_BYTES,
    ),
}


@dataclass(frozen=True)
class Preset:
    """A server a person can pick. ``default_model`` None means: ask the server's ``/models``."""

    name: str
    label: str
    base_url: str
    default_model: str | None
    needs_key: bool
    dialect: Dialect


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset("zai", "Z.ai (international cloud)", "https://api.z.ai/api/paas/v4", "glm-4.6v", True, DIALECTS["zai"]),
        Preset(
            "bigmodel",
            "BigModel (China cloud)",
            "https://open.bigmodel.cn/api/paas/v4",
            "glm-4.6v",
            True,
            DIALECTS["bigmodel"],
        ),
        Preset("vllm", "vLLM server", "http://127.0.0.1:8000/v1", None, False, DIALECTS["vllm"]),
        Preset("sglang", "SGLang server", "http://127.0.0.1:30000/v1", None, False, DIALECTS["sglang"]),
        Preset("llamacpp", "llama.cpp server", "http://127.0.0.1:8080/v1", None, False, DIALECTS["llamacpp"]),
        Preset("openai", "Other OpenAI-compatible server", "http://127.0.0.1:8000/v1", None, False, DIALECTS["openai"]),
    )
}


class UnknownPreset(AppError, ValueError):
    """A preset name that is not in ``PRESETS``; the message lists the known ones."""


def get_preset(name: str) -> Preset:
    try:
        return PRESETS[name]
    except KeyError:
        raise UnknownPreset(f"unknown preset {name!r}; choose one of: {', '.join(PRESETS)}") from None


def host_of(url: str) -> str:
    """``host[:port]`` of a URL, which is how messages name a server and how custom servers' keys are filed."""
    parts = urlsplit(url)
    return parts.netloc or url
