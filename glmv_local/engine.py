"""The resident engine: one loaded model, one thread that runs it, requests queued and streamed, cancellable.

``Engine.submit`` queues a request and returns a ``jobs.Job`` whose events carry the answer's text as it is
generated (``<think>`` and ``</think>`` included when the model thinks; the stop token left out) and then how it
ended. ``Engine.stream`` is the same as an iterator of text pieces (a ``Generation``).

Everything that touches the model runs on the engine's own thread (``worker.EngineThread``): loading, compiling
and warming the decode step, and each request in turn, batch 1. A request is prepared there (chat template,
image processor, on the GPU when torchvision is installed), takes the smallest KV cache bucket that holds its
prompt and answer (``kvcache``), and runs the engine's decode loop (``decode``): an eager prefill, then one
compiled step per token with the next token chosen on the device. Greedy decoding gives ``model.generate``'s
tokens.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from glmv_local import chat, jobs, loader, processor
from glmv_local.download import DEFAULT_MODEL
from glmv_local.errors import GlmvLocalError, InputError, MissingDependency, OutOfMemory
from glmv_local.worker import EngineThread

if TYPE_CHECKING:
    from glmv_local.decode import ThinkingBudget

log = logging.getLogger(__name__)

OOM_ADVICE = (
    "The GPU ran out of memory while answering; the engine freed it and can be used again. Try fewer or smaller "
    "images (a lower max_pixels), fewer pages, a shorter conversation or answer, or load the model in 4-bit."
)
SPEEDS = ("auto", "compile", "eager")


@dataclass
class EngineSettings:
    """How the engine loads and runs; ``None`` means automatic (see ``glmv_local.device``).

    ``speed``: "auto" compiles the decode step (torch.compile, CUDA graphs) on CUDA without bitsandbytes and runs
    it eagerly elsewhere; "compile" compiles wherever torch can (the CPU included); "eager" never compiles.
    ``attention`` is the vision tower's kernel; the language model always uses ``attention.grouped_sdpa``.
    ``buckets``: KV cache sizes (default 2K, 4K, ... up to ``context_tokens``). ``warm_tokens``: the buckets that
    hold these many tokens are compiled while loading (the default, 16K, is what a screenshot question with an
    8K-token answer limit takes); the others on first use. ``compile_cache``: where compiled graphs are kept
    (default: the app's cache folder).
    """

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
    speed: str = "auto"
    buckets: tuple[int, ...] | None = None
    warm_tokens: tuple[int, ...] = (16384,)
    compile_cache: str | None = None


class Generation:
    """One answer as text pieces (iterate, or ``text()``); raises ``GlmvLocalError`` at the end if it failed.
    The counts, timings and ``finish_reason`` are final once the iteration ends."""

    def __init__(self, job: jobs.Job) -> None:
        self.job = job
        self.finish_reason: str | None = None
        self.stats: jobs.Stats | None = None
        self.status = ""
        self.pieces = self._pieces()

    def __iter__(self) -> Iterator[str]:
        return self.pieces

    @property
    def prompt_tokens(self) -> int:
        return self.job.prompt_tokens

    @property
    def completion_tokens(self) -> int:
        return self.stats.completion_tokens if self.stats else self.job.tokens

    @property
    def tokens_so_far(self) -> int:
        """Tokens generated up to now, read live from the decode loop."""
        return self.job.tokens

    @property
    def first_token_seconds(self) -> float | None:
        return self.stats.first_token_s if self.stats else None

    @property
    def seconds(self) -> float:
        return self.stats.seconds if self.stats else 0.0

    def cancel(self) -> None:
        self.job.cancel()

    def text(self) -> str:
        return "".join(self.pieces)

    def _pieces(self) -> Iterator[str]:
        try:
            for event in self.job.events():
                if isinstance(event, jobs.Text):
                    yield event.text
                elif isinstance(event, jobs.Status):
                    self.status = event.message
                elif isinstance(event, jobs.Finished):
                    self.finish_reason, self.stats = event.reason, event.stats
                elif isinstance(event, jobs.Failed):
                    self.stats = event.stats
                    raise event.error
        finally:
            if not self.job.done:  # the reader stopped early: nobody wants the rest
                self.job.cancel()


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


def _inference_mode(task: Callable[[], None]) -> None:
    try:
        import torch
    except ImportError:
        task()
        return
    with torch.inference_mode():
        task()


class Engine:
    """GLM-V in this process. Load once (``load``), ask many times (``submit`` or ``stream``), ``unload`` to free
    the GPU. Requests run one at a time, in the order they were submitted."""

    def __init__(self, settings: EngineSettings | None = None, **overrides: Any) -> None:
        self.settings = settings or EngineSettings(**overrides)
        if self.settings.speed not in SPEEDS:
            raise ValueError(f"unknown speed {self.settings.speed!r}; use one of {', '.join(SPEEDS)}")
        self.loaded: loader.Loaded | None = None
        self.decoder: Any = None  # decode.Decoder once loaded
        self._worker: EngineThread | None = None
        self._worker_lock = threading.Lock()
        self._jobs: weakref.WeakSet[jobs.Job] = weakref.WeakSet()  # submitted, maybe not finished

    # The engine thread

    def _thread(self) -> EngineThread:
        with self._worker_lock:
            if self._worker is None:
                self._worker = EngineThread(around=_inference_mode)
            return self._worker

    @property
    def thread_ident(self) -> int | None:
        """The engine thread's ``threading.get_ident()`` (None before its first task)."""
        return self._worker.ident if self._worker is not None else None

    def compile_counts(self) -> tuple[int, int]:
        """(torch.compile traces, CUDA graph captures) the engine thread has started: (0, 0) before its first
        task, or where this torch does not report them."""
        from glmv_local.compiling import Watch

        return Watch.counts(self._worker.thread) if self._worker is not None else (0, 0)

    def run(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run ``fn`` on the engine thread after what is queued, and return its result (benchmarks, checks)."""
        return self._thread().call(fn, *args, **kwargs)

    # Loading

    @classmethod
    def from_loaded(
        cls, loaded: loader.Loaded, settings: EngineSettings | None = None, progress: loader.ProgressFn | None = None
    ) -> Engine:
        """An engine around a model built elsewhere (the benchmark's random GLM-4.6V-Flash-shaped model)."""
        engine = cls(settings or EngineSettings(model=str(loaded.checkpoint.path)))
        engine.run(engine._prepare, loaded, progress)
        return engine

    @property
    def is_loaded(self) -> bool:
        return self.loaded is not None

    def load(self, progress: loader.ProgressFn | None = None) -> loader.Loaded:
        """Load (on the engine thread; this waits for it), compile what ``warm_tokens`` asks for, and keep it."""
        loaded = self.loaded
        if loaded is not None:
            return loaded
        return self.run(self._load, progress)

    def _load(self, progress: loader.ProgressFn | None) -> loader.Loaded:
        if self.loaded is None:
            require_inference_stack()
            s = self.settings
            loaded = loader.load(
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
            self._prepare(loaded, progress)
            if progress:
                progress(loader.LoadProgress("ready", "Model ready"))
        assert self.loaded is not None
        return self.loaded

    def _prepare(self, loaded: loader.Loaded, progress: loader.ProgressFn | None) -> None:
        """The decoder around the model (the KV cache allocated once), then the warm buckets compiled."""
        from glmv_local import attention
        from glmv_local.decode import Decoder

        s = self.settings
        attention.use_grouped_attention(loaded.model)
        self.decoder = Decoder(
            loaded.model,
            context_tokens=s.context_tokens,
            buckets=s.buckets,
            compile_mode=self._compile_mode(loaded),
            cache_folder=s.compile_cache,
        )
        self.loaded = loaded
        for tokens in s.warm_tokens:
            size = self.decoder.cache.pick(min(tokens, s.context_tokens))
            if self.decoder.needs_compiling(size):
                if progress:
                    progress(loader.LoadProgress("warmup", self._compile_message(size)))
                self._compile(size)

    def _compile_mode(self, loaded: loader.Loaded) -> str | None:
        speed = self.settings.speed
        cuda = loaded.placement.device.startswith("cuda")
        if speed == "eager" or (speed == "auto" and not cuda):
            return None
        if loaded.quantization is not None:
            loaded.warnings.append(
                f"{loaded.quantization} weights (bitsandbytes) do not compile: the decode step runs without "
                "torch.compile, several times slower than bf16."
            )
            return None
        return "reduce-overhead" if cuda else "default"

    def _compile_message(self, size: int) -> str:
        if self.decoder.compiled_before(size):
            return f"Preparing the decode step for up to {size:,} tokens (compiled before: a few seconds)"
        return f"Compiling the decode step for up to {size:,} tokens (the first time takes about a minute)"

    def _compile(self, size: int) -> None:
        self.decoder.prepare(size)
        error = self.decoder.compile_error
        if error and self.loaded is not None:
            warning = f"torch.compile failed ({error}); the model answers without it, several times slower."
            if warning not in self.loaded.warnings:
                self.loaded.warnings.append(warning)

    @property
    def compiled(self) -> bool:
        """Whether decode steps run compiled (False before loading, in eager mode, or after a compile failure)."""
        return bool(self.decoder is not None and self.decoder.compiled)

    def unload(self) -> None:
        """Cancel what is queued or answering, free the model and the cache, and end the engine thread."""
        for job in list(self._jobs):
            job.cancel()
        with self._worker_lock:
            worker, self._worker = self._worker, None
            if worker is not None:
                worker.call(self._unload)
                worker.stop()

    def _unload(self) -> None:
        self.decoder = None
        loader.unload(self.loaded)
        self.loaded = None

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

    # Prompting

    def inputs(self, messages: list[chat.ChatMessage], *, thinking: bool = True) -> Any:
        """The model inputs for ``messages`` on the model's device: token ids, attention mask,
        ``mm_token_type_ids`` (which tell the model where image tokens are: never drop them) and the image/video
        tensors. The engine calls it on its thread; a benchmark may call it anywhere."""
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

    def submit(
        self,
        messages: list[chat.ChatMessage],
        *,
        thinking: bool = True,
        max_new_tokens: int = 4096,
        temperature: float | None = None,
        top_p: float | None = None,
        top_k: int | None = None,
        ignore_eos: bool = False,
        cancel: threading.Event | None = None,
        on_event: Callable[[jobs.JobEvent], None] | None = None,
        thinking_budget: int | None = None,
        seed: int | None = None,
    ) -> jobs.Job:
        """Queue a request and return its job at once (after loading the model if it is not loaded yet).

        ``temperature`` 0 is greedy; unset values come from the checkpoint's generation config, as with
        ``generate``. ``ignore_eos`` forbids the stop tokens, so exactly ``max_new_tokens`` are generated (within
        the context). ``cancel``: an event of the caller's that cancels the job when set (as ``Job.cancel``).
        ``thinking_budget``: with thinking on, the thinking block is closed for the model after that many tokens.
        ``seed``: the same seed gives the same sampled answer, whatever ran on the engine before.
        A conversation that does not end with a question, or a video the processor cannot read, raises here;
        everything found while preparing the request arrives as ``Failed``."""
        chat.check(messages)
        self.load()
        if chat.has_video(messages):
            processor.require_video(self.processor)
        request = jobs.Request(
            messages, thinking, max_new_tokens, temperature, top_p, top_k, ignore_eos, thinking_budget, seed
        )
        job = jobs.Job(request, cancel, on_event)
        self._jobs.add(job)
        self._thread().post(lambda: self._run(job))
        return job

    def stream(self, messages: list[chat.ChatMessage], **options: Any) -> Generation:
        """``submit`` with the same arguments, read as text pieces."""
        return Generation(self.submit(messages, **options))

    def _thinking_budget(self, request: jobs.Request, prompt: list[int]) -> ThinkingBudget | None:
        """The request's thinking budget with the checkpoint's own thinking tokens, never assumed ids."""
        from glmv_local.decode import ThinkingBudget

        if request.thinking_budget is None or not request.thinking:
            return None
        tokenizer = self.processor.tokenizer
        ids = [tokenizer.convert_tokens_to_ids(token) for token in ("<think>", "</think>")]
        if any(not isinstance(i, int) or i == getattr(tokenizer, "unk_token_id", None) for i in ids):
            raise InputError("This model has no thinking tokens, so a thinking budget cannot be kept: ask without one.")
        open_id, close_id = ids
        last_open = max((i for i, t in enumerate(prompt) if t == open_id), default=-1)
        last_close = max((i for i, t in enumerate(prompt) if t == close_id), default=-1)
        return ThinkingBudget(max(0, request.thinking_budget), open_id, close_id, last_open > last_close)

    def _run(self, job: jobs.Job) -> None:
        """One request, on the engine thread."""
        import torch

        from glmv_local.decode import Clock
        from glmv_local.detokenizer import Detokenizer
        from glmv_local.sampling import Sampling

        if not job.start():
            return
        request = job.request
        queued = time.perf_counter() - job.submitted_at
        count, size = 0, 0
        try:
            loaded = self._load(None)
            decoder = self.decoder
            stop_ids = self.stop_ids
            clock = Clock(decoder.device)
            clock.mark("start")
            batch = self.inputs(request.messages, thinking=request.thinking)
            clock.mark("preprocess")
            prompt_tokens = int(batch["input_ids"].shape[1])
            job.prompt_tokens = prompt_tokens
            limit = max(1, min(request.max_new_tokens, self.settings.context_tokens - prompt_tokens))
            size = decoder.cache.pick(prompt_tokens + limit)
            if decoder.needs_compiling(size):
                job.emit(jobs.Status(self._compile_message(size)))
                self._compile(size)
                job.emit(jobs.Status(""))
                clock.mark("compile")
            if job.cancelled:  # while the question was being prepared: no prefill for nobody
                job.finish(jobs.Finished("cancelled", jobs.Stats(prompt_tokens, 0, size, queued)))
                return
            sampling = Sampling.resolve(
                loaded.model.generation_config,
                temperature=request.temperature,
                top_p=request.top_p,
                top_k=request.top_k,
                suppress=tuple(sorted(stop_ids)) if request.ignore_eos else (),
            )
            if request.seed is not None:  # here: the compile warm-up above draws from the generator too
                torch.manual_seed(request.seed)
            decoder.prefill(batch, size, sampling, clock)
            detokenizer = Detokenizer(loaded.processor.tokenizer, stop_ids)
            first_at: float | None = None
            reason = ""
            budget = self._thinking_budget(request, batch["input_ids"][0].tolist())
            for token in decoder.tokens(size, limit, job.cancel_event, budget):
                count += 1
                job.token_ids.append(token)
                job.tokens = count
                if first_at is None:
                    first_at = time.perf_counter()
                if token in stop_ids:
                    reason = "stop"
                    break
                piece = detokenizer.push(token)
                if piece:
                    job.emit(jobs.Text(piece, count))
            tail = detokenizer.flush()
            if tail:
                job.emit(jobs.Text(tail, count))
            if not reason:
                reason = "cancelled" if job.cancelled else "length"
            ended = time.perf_counter()
            durations = clock.durations()
            job.finish(
                jobs.Finished(
                    reason,
                    jobs.Stats(
                        prompt_tokens=prompt_tokens,
                        completion_tokens=count,
                        bucket=size,
                        queued_s=queued,
                        preprocess_s=durations.get("preprocess", 0.0),
                        vision_s=durations.get("vision", 0.0),
                        prefill_s=durations.get("prefill", 0.0),
                        first_token_s=None if first_at is None else first_at - job.submitted_at,
                        decode_s=0.0 if first_at is None else ended - first_at,
                        seconds=ended - job.submitted_at,
                    ),
                )
            )
        except Exception as e:
            stats = jobs.Stats(prompt_tokens=job.prompt_tokens, completion_tokens=count, bucket=size, queued_s=queued)
            if isinstance(e, GlmvLocalError):
                error = e
            else:
                if not isinstance(e, torch.OutOfMemoryError):
                    log.exception("generation failed")
                error = (
                    OutOfMemory(OOM_ADVICE)
                    if isinstance(e, torch.OutOfMemoryError)
                    else GlmvLocalError(f"Generation failed: {type(e).__name__}: {e}")
                )
                # Without its traceback: the frames of the failed step hold the tensors to be freed.
                error.__cause__ = e.with_traceback(None)
            gc.collect()
            loader.release_device_memory()
            job.finish(jobs.Failed(error, stats))
