"""The resident engine: one loaded model, answers streamed from a worker thread, cancellable at every step.

``Engine.stream`` renders the conversation with the checkpoint's own chat template, runs ``generate`` in a
thread and yields the decoded text as it comes. The text is what the model generated (``<think>`` and
``</think>`` included when it thinks); only the stop token is left out, and ``Generation.finish_reason`` says
why it ended. Cancelling sets an event that a stopping criterion reads after every decode step.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, cast

from glmv_local import chat, loader, processor
from glmv_local.download import DEFAULT_MODEL
from glmv_local.errors import GlmvLocalError, InputError, MissingDependency, OutOfMemory

log = logging.getLogger(__name__)

OOM_ADVICE = (
    "The GPU ran out of memory while answering; the engine freed it and can be used again. Try fewer or smaller "
    "images (a lower max_pixels), fewer pages, a shorter conversation or answer, or load the model in 4-bit."
)


@dataclass
class EngineSettings:
    """How the engine loads and runs; ``None`` means automatic (see ``glmv_local.device``)."""

    model: str = DEFAULT_MODEL
    device: str | None = None
    dtype: str | Any | None = None
    attention: str | None = None
    quantization: str | None = None
    min_pixels: int | None = None
    max_pixels: int | None = None
    context_tokens: int = 32768
    check_memory: bool = True
    allow_download: bool = True
    # "auto": static KV cache + torch.compile on CUDA (not with bitsandbytes), plain generate elsewhere.
    speed: str = "auto"


@dataclass
class Generation:
    """One answer in progress: iterate for text pieces; the counts and finish reason are final afterwards."""

    pieces: Iterator[str]
    prompt_tokens: int
    completion_tokens: int = 0
    finish_reason: str | None = None
    first_token_seconds: float | None = None
    seconds: float = 0.0
    _counter: Callable[[], int] | None = field(default=None, repr=False)

    def __iter__(self) -> Iterator[str]:
        return self.pieces

    @property
    def tokens_so_far(self) -> int:
        """Tokens generated up to now, read live from the decode loop."""
        return self._counter() if self._counter else self.completion_tokens

    def text(self) -> str:
        return "".join(self.pieces)


def cancel_criteria(cancel: threading.Event) -> Any:
    """A stopping criterion that ends every sequence once ``cancel`` is set; ``generate`` checks it after each
    new token, so generation stops within one step."""
    import torch
    from transformers import StoppingCriteria

    class Cancelled(StoppingCriteria):
        def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor, **kwargs: Any) -> torch.BoolTensor:
            # torch.full is typed as returning Tensor; BoolTensor here is only the base class's legacy annotation.
            done = torch.full((input_ids.shape[0],), cancel.is_set(), dtype=torch.bool, device=input_ids.device)
            return cast("torch.BoolTensor", done)

    return Cancelled()


def make_streamer(tokenizer: Any, stop_ids: set[int]) -> Any:
    """A TextIteratorStreamer that hands over text after every token (the stock one waits for a space, which
    makes answers arrive in bursts), holds back an incomplete multi-byte character, counts tokens, and leaves
    the stop token (``<|user|>``, ``<|endoftext|>``) out of the text: it ends the answer, it is not part of it."""
    from transformers import TextIteratorStreamer

    class Streamer(TextIteratorStreamer):
        # The base class's state that ``put`` takes over, declared so it is typed when transformers is not analysed.
        token_cache: list[int]
        print_len: int
        next_tokens_are_prompt: bool

        def __init__(self) -> None:
            super().__init__(tokenizer, skip_prompt=True, skip_special_tokens=False)
            self.generated = 0
            self.first_token_at: float | None = None
            self.ended = False

        def put(self, value: Any) -> None:
            if self.skip_prompt and self.next_tokens_are_prompt:
                self.next_tokens_are_prompt = False
                return
            ids = value.reshape(-1).tolist()
            self.generated += len(ids)
            if self.first_token_at is None:
                self.first_token_at = time.perf_counter()
            self.token_cache.extend(i for i in ids if i not in stop_ids)
            text = cast(str, self.tokenizer.decode(self.token_cache, **self.decode_kwargs))
            if text.endswith("\ufffd"):
                return
            piece = text[self.print_len :]
            if text.endswith("\n"):
                self.token_cache = []
                self.print_len = 0
            else:
                self.print_len = len(text)
            if piece:
                self.on_finalized_text(piece)

        def end(self) -> None:
            if not self.ended:
                self.ended = True
                super().end()

    return Streamer()


def require_inference_stack() -> None:
    """torch and transformers are an optional extra: say so plainly instead of failing deep in loading."""
    missing = []
    for name in ("torch", "transformers"):
        try:
            __import__(name)
        except ImportError:
            missing.append(name)
    if missing:
        raise MissingDependency(
            f"the in-process model needs {' and '.join(missing)}, which this install does not have (an API-only "
            "install): pip install 'glmv-desktop[local]', or choose an API backend"
        )


class Engine:
    """GLM-V in this process. Load once (``load``), ask many times (``stream``), ``unload`` to free the GPU.

    One generation runs at a time; a second ``stream`` waits for the first to finish.
    """

    def __init__(self, settings: EngineSettings | None = None, **overrides: Any) -> None:
        self.settings = settings or EngineSettings(**overrides)
        self.loaded: loader.Loaded | None = None
        self._load_lock = threading.RLock()
        self._run_lock = threading.Lock()
        self.compiled = False

    # Loading

    @classmethod
    def from_loaded(cls, loaded: loader.Loaded, settings: EngineSettings | None = None) -> Engine:
        """An engine around a model built elsewhere (the benchmark's random GLM-4.6V-Flash-shaped model)."""
        engine = cls(settings or EngineSettings(model=str(loaded.checkpoint.path)))
        engine.loaded = loaded
        engine._prepare_speed(None)
        return engine

    @property
    def is_loaded(self) -> bool:
        return self.loaded is not None

    def load(self, progress: loader.ProgressFn | None = None) -> loader.Loaded:
        with self._load_lock:
            if self.loaded is None:
                require_inference_stack()
                s = self.settings
                self.loaded = loader.load(
                    s.model,
                    device=s.device,
                    dtype=s.dtype,
                    attention=s.attention,
                    quantization=s.quantization,
                    min_pixels=s.min_pixels,
                    max_pixels=s.max_pixels,
                    context_tokens=s.context_tokens,
                    check_memory=s.check_memory,
                    allow_download=s.allow_download,
                    progress=progress,
                )
                self._prepare_speed(progress)
                if progress:
                    progress(loader.LoadProgress("ready", "Model ready"))
            return self.loaded

    def unload(self) -> None:
        with self._load_lock, self._run_lock:
            loader.unload(self.loaded)
            self.loaded = None
            self.compiled = False

    @property
    def processor(self) -> Any:
        return self.load().processor

    @property
    def supports_video(self) -> bool:
        return processor.supports_video(self.processor)

    @property
    def stop_ids(self) -> set[int]:
        eos = self.load().model.generation_config.eos_token_id
        return set(eos if isinstance(eos, list) else [eos] if eos is not None else [])

    # Speed

    def _use_compile(self) -> bool:
        loaded = self.loaded
        assert loaded is not None
        mode = self.settings.speed
        if mode == "eager":
            return False
        cuda = loaded.placement.device.startswith("cuda")
        return cuda and loaded.quantization is None and (mode in ("auto", "compile"))

    def _prepare_speed(self, progress: loader.ProgressFn | None) -> None:
        """On CUDA: a static KV cache lets torch.compile capture the decode step once; warm it up now so the
        first question does not pay for compilation. If compiling fails, fall back to plain decoding."""
        if not self._use_compile():
            return
        if progress:
            progress(loader.LoadProgress("warmup", "Compiling the decode step (first time takes a minute)"))
        self.compiled = True
        try:
            warm = self.stream([chat.ChatMessage.text("user", "Hello")], max_new_tokens=8, thinking=False)
            warm.text()
        except Exception as e:  # a compile failure surfaces as any of torch's many error types
            log.warning("torch.compile warm-up failed, using plain decoding: %s", e)
            self.compiled = False
            gc.collect()
            loader.release_device_memory()

    def _speed_kwargs(self) -> dict[str, Any]:
        if not self.compiled:
            return {"disable_compile": True}
        from transformers import CompileConfig

        return {
            "cache_implementation": "static",
            "max_cache_len": self.settings.context_tokens,
            "compile_config": CompileConfig(fullgraph=True, dynamic=False, mode="reduce-overhead"),
        }

    # Prompting

    def inputs(self, messages: list[chat.ChatMessage], *, thinking: bool = True) -> Any:
        """The model inputs for ``messages``: token ids, attention mask, ``mm_token_type_ids`` (which tell the
        model where image tokens are: never drop them) and the image/video tensors."""
        loaded = self.load()
        proc = loaded.processor
        if chat.has_video(messages):
            processor.require_video(proc)
        device = loaded.placement.device
        processor_kwargs: dict[str, Any] = {}
        if device.startswith("cuda") and processor.has_torchvision():
            processor_kwargs["device"] = device  # torchvision image processing runs on the GPU
        try:
            batch = proc.apply_chat_template(
                chat.to_template(messages),
                add_generation_prompt=True,
                tokenize=True,
                return_dict=True,
                return_tensors="pt",
                enable_thinking=thinking,
                processor_kwargs=processor_kwargs,
            )
        except (ValueError, OSError) as e:
            raise InputError(f"The question cannot be prepared for the model: {e}") from e
        batch.pop("token_type_ids", None)
        tokens = int(batch["input_ids"].shape[1])
        if tokens >= self.settings.context_tokens:
            raise InputError(
                f"The question is {tokens} tokens long, over the {self.settings.context_tokens}-token context. "
                "Attach fewer pages or images, lower the image budget, or start a new conversation."
            )
        return batch.to(device, dtype=loaded.placement.dtype)

    def prompt(self, messages: list[chat.ChatMessage], *, thinking: bool = True) -> str:
        """The rendered prompt as text (image placeholders not yet expanded)."""
        return self.processor.apply_chat_template(
            chat.to_template(messages), add_generation_prompt=True, tokenize=False, enable_thinking=thinking
        )

    # Generation

    def stream(
        self,
        messages: list[chat.ChatMessage],
        *,
        thinking: bool = True,
        max_new_tokens: int = 4096,
        temperature: float | None = None,
        top_p: float | None = None,
        cancel: threading.Event | None = None,
        ignore_eos: bool = False,
        logits_processor: Any = None,
    ) -> Generation:
        """Start answering; the returned ``Generation`` yields text pieces and raises ``GlmvLocalError`` at the
        end if generation failed (an out-of-memory error becomes ``OutOfMemory``)."""
        loaded = self.load()
        started = time.perf_counter()
        batch = self.inputs(messages, thinking=thinking)
        prompt_tokens = int(batch["input_ids"].shape[1])
        max_new_tokens = max(1, min(max_new_tokens, self.settings.context_tokens - prompt_tokens))
        cancel = cancel or threading.Event()
        stop_ids = self.stop_ids
        streamer = make_streamer(loaded.processor.tokenizer, stop_ids)
        kwargs = self._generate_kwargs(batch, streamer, cancel, max_new_tokens, temperature, top_p, ignore_eos)
        if logits_processor is not None:
            kwargs["logits_processor"] = logits_processor
        generation = Generation(pieces=iter(()), prompt_tokens=prompt_tokens, _counter=lambda: streamer.generated)
        outcome: dict[str, Any] = {}

        def work() -> None:
            import torch

            with self._run_lock:
                try:
                    with torch.inference_mode():
                        outcome["ids"] = loaded.model.generate(**kwargs)
                except torch.OutOfMemoryError as e:
                    outcome["error"] = OutOfMemory(OOM_ADVICE)
                    outcome["cause"] = e
                except Exception as e:
                    outcome["error"] = e
                finally:
                    kwargs.clear()
                    if "error" in outcome:
                        gc.collect()
                        loader.release_device_memory()
                    streamer.end()

        thread = threading.Thread(target=work, name="glmv-generate", daemon=True)

        def pieces() -> Iterator[str]:
            thread.start()
            try:
                for piece in streamer:
                    if piece:
                        yield piece
            finally:
                thread.join()
                generation.completion_tokens = streamer.generated
                generation.seconds = time.perf_counter() - started
                if streamer.first_token_at is not None:
                    generation.first_token_seconds = streamer.first_token_at - started
            error = outcome.get("error")
            if error is not None:
                if isinstance(error, GlmvLocalError):
                    raise error from outcome.get("cause")
                raise GlmvLocalError(f"Generation failed: {type(error).__name__}: {error}") from error
            generation.finish_reason = self._finish_reason(
                outcome["ids"], prompt_tokens, stop_ids, cancel, max_new_tokens
            )

        generation.pieces = pieces()
        return generation

    def _generate_kwargs(
        self,
        batch: Any,
        streamer: Any,
        cancel: threading.Event,
        max_new_tokens: int,
        temperature: float | None,
        top_p: float | None,
        ignore_eos: bool,
    ) -> dict[str, Any]:
        from transformers import StoppingCriteriaList

        kwargs: dict[str, Any] = {
            **batch,
            "max_new_tokens": max_new_tokens,
            "streamer": streamer,
            "stopping_criteria": StoppingCriteriaList([cancel_criteria(cancel)]),
            **self._speed_kwargs(),
        }
        if temperature is not None:
            kwargs["do_sample"] = temperature > 0
            if temperature > 0:
                kwargs["temperature"] = temperature
                if top_p is not None:
                    kwargs["top_p"] = top_p
        elif top_p is not None:
            kwargs["top_p"] = top_p
        if ignore_eos:
            kwargs["min_new_tokens"] = max_new_tokens
        return kwargs

    @staticmethod
    def _finish_reason(ids: Any, prompt_tokens: int, stop_ids: set[int], cancel: threading.Event, limit: int) -> str:
        new = ids[0, prompt_tokens:].tolist()
        if new and new[-1] in stop_ids:
            return "stop"
        if cancel.is_set():
            return "cancelled"
        return "length" if len(new) >= limit else "stop"
