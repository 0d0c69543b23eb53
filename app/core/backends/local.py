"""The in-process backend: GLM-V through ``glmv_local`` on this machine's GPU (or CPU), no network.

It speaks the same Backend protocol as the API backend and feeds the engine's raw text through the same
``ReasoningSplitter``, so the thinking and answer panes behave identically whichever backend answers. The model
loads on the first question (or on ``load``) and stays resident until ``unload``.
"""

from __future__ import annotations

import importlib.util
import io
import threading
from collections.abc import Callable, Iterator
from typing import Any

from app.core.backends.base import Capabilities, GenerationOptions, recent_turns
from app.core.conversation import Conversation, Message
from app.core.errors import engine_failure
from app.core.events import Done, Event, Failed
from app.core.media import ImagePart, MediaError, MediaTarget, TextPart, VideoPart, prepare
from app.core.media.prepared import SHARED
from app.core.media.told import told_parts
from app.core.reasoning import ReasoningSplitter
from glmv_local import chat
from glmv_local.download import DEFAULT_MODEL
from glmv_local.engine import Engine, EngineSettings
from glmv_local.errors import GlmvLocalError, InputError
from glmv_local.processor import VIDEO_NEEDS

# Without a limit from the person, answers stop here: long enough for GLM's thinking on a hard question.
DEFAULT_MAX_TOKENS = 8192


class LocalBackend:
    name = "local"

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        *,
        device: str | None = None,
        dtype: str | None = None,
        quantization: str | None = None,
        attn: str | None = None,
        max_pixels: int | None = None,
        context_tokens: int = 32768,
    ) -> None:
        self.model = model
        self.engine = Engine(
            EngineSettings(
                model=model,
                device=device,
                dtype=dtype,
                attention=attn,
                quantization=quantization,
                max_pixels=max_pixels,
                context_tokens=context_tokens,
            )
        )

    def __repr__(self) -> str:
        return f"LocalBackend(model={self.model!r})"

    @property
    def capabilities(self) -> Capabilities:
        if self.engine.is_loaded:
            video = self.engine.supports_video
        else:
            video = importlib.util.find_spec("torchvision") is not None
        return Capabilities(
            images=True,
            video=video,
            thinking_switch=True,
            thinking_budget=True,
            context_tokens=self.engine.settings.context_tokens,
        )

    @property
    def media_target(self) -> MediaTarget:
        """The loaded checkpoint's pixel budget (or the configured one before loading), so attachments are
        scaled once, exactly as the processor would."""
        settings = self.engine.settings
        if self.engine.is_loaded:
            from glmv_local.processor import pixel_budget

            low, high = pixel_budget(self.engine.processor)
        else:
            defaults = MediaTarget()
            low, high = defaults.min_pixels, settings.max_pixels or defaults.max_pixels
        return MediaTarget(
            min_pixels=low,
            max_pixels=high,
            accepts_video=self.capabilities.video,
            context_tokens=settings.context_tokens,
        )

    def load(self, progress: Callable[[Any], None] | None = None) -> None:
        """Load now (with progress for a splash or status bar) instead of on the first question."""
        self.engine.load(progress)

    def unload(self) -> None:
        self.engine.unload()

    def stream(
        self, conversation: Conversation, options: GenerationOptions, cancel: threading.Event | None = None
    ) -> Iterator[Event]:
        cancel = cancel or threading.Event()
        try:
            self.engine.load()
            messages = self.messages(conversation, options)
            generation = self.engine.stream(
                messages,
                thinking=options.thinking,
                max_new_tokens=options.max_tokens or DEFAULT_MAX_TOKENS,
                temperature=options.temperature,
                top_p=options.top_p,
                cancel=cancel,
                logits_processor=self._thinking_budget(options),
            )
        except MediaError as e:
            yield Failed("input", str(e))
            return
        except GlmvLocalError as e:
            yield engine_failure(e)
            return
        splitter = ReasoningSplitter(starts_in_thinking=False)
        try:
            for piece in generation:
                yield from splitter.feed(content=piece)
        except GlmvLocalError as e:
            yield from splitter.finish()
            yield engine_failure(e)
            return
        yield from splitter.finish()
        if generation.finish_reason == "cancelled":
            yield Failed("cancelled", "stopped; what arrived is kept")
            return
        usage = {"prompt_tokens": generation.prompt_tokens, "completion_tokens": generation.completion_tokens}
        yield Done(generation.finish_reason, usage)

    def _thinking_budget(self, options: GenerationOptions) -> Any:
        """The logits processor that closes the thinking block after ``options.thinking_budget`` tokens; None
        without a budget (or with thinking off)."""
        if not options.thinking or options.thinking_budget is None:
            return None
        from app.core.backends.thinking_budget import thinking_budget_processor

        try:
            return thinking_budget_processor(self.engine.processor.tokenizer, options.thinking_budget)
        except ValueError as e:
            raise InputError(f"{e}, so its thinking cannot be held to a budget; ask without one") from e

    def messages(self, conversation: Conversation, options: GenerationOptions) -> list[chat.ChatMessage]:
        """The conversation as engine messages; attachments prepared within the checkpoint's pixel budget."""
        out: list[chat.ChatMessage] = []
        if conversation.system_prompt:
            out.append(chat.ChatMessage.text("system", conversation.system_prompt))
        target = self.media_target
        for message in recent_turns(conversation, options.history_turns):
            if message.role == "assistant":
                # The answer only: reasoning never goes back to the model.
                out.append(chat.ChatMessage.text("assistant", message.text))
            else:
                out.append(chat.ChatMessage(message.role, self._parts(message, target)))
        return out

    def _parts(self, message: Message, target: MediaTarget) -> list[chat.Part]:
        from PIL import Image

        parts: list[chat.Part] = []
        for attachment in message.attachments:
            for part in told_parts(prepare(attachment, target, cache=SHARED)):
                if isinstance(part, ImagePart):
                    image = Image.open(io.BytesIO(part.data))
                    image.load()
                    parts.append(chat.Image(image))
                elif isinstance(part, VideoPart):
                    if not target.accepts_video:
                        raise InputError(VIDEO_NEEDS)
                    parts.append(chat.Video(part.path))
                elif isinstance(part, TextPart):
                    parts.append(chat.Text(part.text))
        if message.text:
            parts.append(chat.Text(message.text))
        return parts
