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
from pathlib import Path
from typing import Any

from app.core.backends.base import Capabilities, GenerationOptions, recent_turns
from app.core.backends.preparing import prepared
from app.core.conversation import Attachment, Conversation, Message
from app.core.errors import engine_failure
from app.core.events import Done, Event, Failed, Preparing
from app.core.media import ImagePart, MediaError, MediaTarget, Progress, TextPart, VideoPart, prepare
from app.core.media.kinds import access_problem, detect_kind
from app.core.media.prepared import SHARED
from app.core.media.told import image_introduction, told_parts
from app.core.reasoning import ReasoningSplitter
from glmv_local import chat, jobs
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
            built = yield from prepared(
                lambda hear: self.messages(conversation, options, cancel=cancel, progress=hear), cancel
            )
            if isinstance(built, Failed):
                yield built
                return
            messages = built
            job = self.engine.submit(
                messages,
                thinking=options.thinking,
                max_new_tokens=options.max_tokens or DEFAULT_MAX_TOKENS,
                temperature=options.temperature,
                top_p=options.top_p,
                cancel=cancel,
                thinking_budget=options.thinking_budget if options.thinking else None,
            )
        except GlmvLocalError as e:
            yield engine_failure(e)
            return
        splitter = ReasoningSplitter(starts_in_thinking=False)
        try:
            for event in job.events():
                if isinstance(event, jobs.Text):
                    yield from splitter.feed(content=event.text)
                elif isinstance(event, jobs.Status):  # compiling for a new answer size
                    yield Preparing(event.message)
                elif isinstance(event, jobs.Failed):
                    yield from splitter.finish()
                    yield engine_failure(event.error)
                    return
                elif event.reason == "cancelled":
                    yield from splitter.finish()
                    yield Failed("cancelled", "stopped; what arrived is kept")
                    return
                else:
                    yield from splitter.finish()
                    usage = {
                        "prompt_tokens": event.stats.prompt_tokens,
                        "completion_tokens": event.stats.completion_tokens,
                    }
                    yield Done(event.reason, usage)
        finally:
            if not job.done:  # the consumer stopped reading: stop generating
                job.cancel()

    def messages(
        self,
        conversation: Conversation,
        options: GenerationOptions,
        *,
        cancel: threading.Event | None = None,
        progress: Progress | None = None,
    ) -> list[chat.ChatMessage]:
        """The conversation as engine messages; attachments prepared within the checkpoint's pixel budget
        (``progress`` hears which file and page; ``MediaCancelled`` once ``cancel`` is set)."""
        out: list[chat.ChatMessage] = []
        if conversation.system_prompt:
            out.append(chat.ChatMessage.text("system", conversation.system_prompt))
        target = self.media_target
        for message in recent_turns(conversation, options.history_turns):
            if message.role == "assistant":
                # The answer only: reasoning never goes back to the model.
                out.append(chat.ChatMessage.text("assistant", message.text))
            else:
                out.append(chat.ChatMessage(message.role, self._parts(message, target, cancel, progress)))
        return out

    def _parts(
        self, message: Message, target: MediaTarget, cancel: threading.Event | None, progress: Progress | None
    ) -> list[chat.Part]:
        from PIL import Image

        parts: list[chat.Part] = []
        for attachment in message.attachments:
            image = straight_image(attachment, target)
            if image is not None:  # told as prepare's report would tell it, then the image itself
                parts.append(chat.Text(image_introduction(Path(attachment.path), image.width, image.height) + "\n"))
                parts.append(chat.Image(image))
                continue
            for part in told_parts(prepare(attachment, target, cache=SHARED, cancel=cancel, progress=progress)):
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


def straight_image(attachment: Attachment, target: MediaTarget) -> Any | None:
    """An image file as the processor takes it, decoded once (upright sRGB, as ``media.images`` decodes it), or
    None for anything ``prepare`` should handle. The processor resizes by the same rule ``prepare`` would; going
    through ``prepare`` would add a resize, a PNG encode and a decode (about 170 ms for a 1080p screenshot).
    A file ``prepare`` refuses (unreadable, too elongated) is left to it, which says why."""
    from app.core.media.images import fit_size, load_image

    path = Path(attachment.path)
    if access_problem(path, attached=True) is not None:
        return None
    try:
        kind = attachment.kind or detect_kind(path)[0]
    except OSError:
        return None
    if kind != "image":
        return None
    try:
        image = load_image(path)
        fit_size(image.width, image.height, target)
    except (MediaError, ValueError):
        return None
    return image
