"""The decode loop, in the manner of gpt-fast, around the transformers model.

A request is one eager prefill (vision tower, then the prompt into the bucket's cache) and then one decode step
per token. The step is a single function — the model on one token, the bucket's mask, the M-RoPE position, the
choice of the next token on the device, the token written back into the input buffer — compiled once per bucket
(``fullgraph``, fixed shapes; CUDA graphs on CUDA) and reused by every request of that size.

The host never waits for a step it has just launched: each sampled token is copied to pinned host memory
asynchronously, and the loop reads token *i - 1* after launching step *i*, so the GPU always has the next step
queued while the host detokenizes. Cancelling is a ``threading.Event`` read between steps (no tensor, no
allocation), so it takes effect within two tokens.
"""

from __future__ import annotations

import logging
import threading
import time
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import torch

from glmv_local import compiling
from glmv_local.kvcache import BucketCache, bucket_sizes
from glmv_local.sampling import Sampling, SamplingState, choose

log = logging.getLogger(__name__)

# cudagraph trees record on the second call of a new graph and replay from the third.
WARM_CALLS = 3


def decode_step(model: Any, cache: Any, token: Any, rope_delta: Any, sampling: SamplingState) -> Any:
    """One token: ``token`` (1, 1) goes in at the cache's write position, the next one comes out (shape (1,))
    and is also written into ``token`` for the following step."""
    layer = cache.layers[0]
    position = layer.cumulative_length
    size = layer.keys.shape[2]
    mask = (torch.arange(size, device=token.device) <= position).view(1, 1, 1, size)
    # The text position plus the prompt's M-RoPE offset, on all three rotary axes (what generate computes).
    positions = (position + rope_delta).view(1, 1, 1).expand(3, 1, 1)
    logits = model(
        input_ids=token, position_ids=positions, attention_mask=mask, cache=cache, use_cache=True, logits_to_keep=1
    ).logits
    following = choose(logits[:, -1, :].float(), sampling)
    token.copy_(following.view(1, 1))
    return following


def own_step() -> Callable:
    """``decode_step`` with a code object of its own. Dynamo keeps compiled graphs per code object: sharing one, each
    decoder (each engine, each test) would have its guards tried before every step of the others and its graphs
    counted against their recompile limit."""
    code = decode_step.__code__.replace()
    return types.FunctionType(code, decode_step.__globals__, decode_step.__name__, decode_step.__defaults__)


class Clock:
    """Named marks on the device's timeline: CUDA events (read at the end, no sync between), else host time."""

    def __init__(self, device: Any) -> None:
        self.cuda = device.type == "cuda"
        self.marks: list[tuple[str, Any]] = []

    def mark(self, name: str) -> None:
        if self.cuda:
            event = torch.cuda.Event(enable_timing=True)
            event.record()
            self.marks.append((name, event))
        else:
            self.marks.append((name, time.perf_counter()))

    def durations(self) -> dict[str, float]:
        """Seconds from each mark to the next, by the later mark's name."""
        out: dict[str, float] = {}
        for (_, start), (name, end) in zip(self.marks, self.marks[1:], strict=False):
            if self.cuda:
                end.synchronize()
                out[name] = start.elapsed_time(end) / 1000
            else:
                out[name] = end - start
        return out


class TokenPipe:
    """Sampled tokens on their way to the host: two pinned slots written by asynchronous copies, each read (after
    its event) one step later. On the CPU and MPS the copy is plain."""

    def __init__(self, device: Any) -> None:
        self.cuda = device.type == "cuda"
        self.host = torch.zeros(2, dtype=torch.long, pin_memory=self.cuda)
        self.slots = [self.host[i : i + 1] for i in range(2)]
        self.values = self.host.numpy()
        self.events = [torch.cuda.Event() for _ in range(2)] if self.cuda else None
        self.written = 0

    def push(self, token: Any) -> None:
        slot = self.written % 2
        self.slots[slot].copy_(token, non_blocking=self.cuda)
        if self.events is not None:
            self.events[slot].record()
        self.written += 1

    def read(self, index: int) -> int:
        slot = index % 2
        if self.events is not None:
            self.events[slot].synchronize()
        return int(self.values[slot])


@dataclass(frozen=True)
class ThinkingBudget:
    """At most ``tokens`` of thinking: ``open_id``/``close_id`` are the checkpoint's ``<think>`` and
    ``</think>``; ``open_at_start`` when the prompt itself ends inside an open thinking block."""

    tokens: int
    open_id: int
    close_id: int
    open_at_start: bool = False

    def watch(self) -> BudgetWatch:
        return BudgetWatch(self)


class BudgetWatch:
    """The thinking of one answer as its tokens are read: whether it is open, and for how many tokens."""

    def __init__(self, budget: ThinkingBudget) -> None:
        self.budget = budget
        self.close_id = budget.close_id
        self.open = budget.open_at_start
        self.spent = 0

    def seen(self, token: int) -> None:
        if token == self.budget.open_id:
            self.open, self.spent = True, 0
        elif token == self.close_id:
            self.open = False
        elif self.open:
            self.spent += 1

    def spent_all(self) -> bool:
        return self.open and self.spent >= self.budget.tokens

    def closed(self) -> None:
        self.open = False


class Decoder:
    """The KV cache buckets, the compiled step per bucket and the loop, for one loaded model."""

    def __init__(
        self,
        model: Any,
        *,
        context_tokens: int,
        buckets: tuple[int, ...] | None = None,
        compile_mode: str | None = None,
        compile_backend: str | Callable = "inductor",
        cache_folder: Any = None,
    ) -> None:
        self.model = model
        self.device = model.device
        text = model.config.get_text_config()
        self.cache = BucketCache(
            text,
            context_tokens,
            dtype=model.dtype,
            device=self.device,
            sizes=buckets or bucket_sizes(context_tokens),
        )
        self.sampling = SamplingState(int(text.vocab_size), self.device)
        self.token = torch.zeros((1, 1), dtype=torch.long, device=self.device)
        self.rope_delta = torch.zeros((1, 1), dtype=torch.long, device=self.device)
        for tensor in (self.token, self.rope_delta):
            torch._dynamo.mark_static_address(tensor)
        self.pipe = TokenPipe(self.device)
        self.mode = compile_mode
        self.compile_error: str | None = None
        self.ready: set[int] = set()  # buckets whose compiled graph has run
        self.record: compiling.Record | None = None
        self._compiled: Callable | None = None
        if compile_mode is not None:
            folder = compiling.cache_folder(cache_folder)
            compiling.use_cache_folder(folder)
            self.record = compiling.Record(folder)
            compiling.Watch.install()
            # One graph per bucket: a recompile per new cache shape, never dynamic shapes.
            torch._dynamo.config.recompile_limit = max(torch._dynamo.config.recompile_limit, len(self.cache.sizes) + 2)
            options: dict[str, Any] = {"fullgraph": True, "dynamic": False, "backend": compile_backend}
            if compile_backend == "inductor":
                options["mode"] = compile_mode
            self._compiled = torch.compile(own_step(), **options)

    @property
    def compiled(self) -> bool:
        return self._compiled is not None

    def graph_key(self, size: int) -> str:
        return compiling.graph_key(
            self.model, device=str(self.device), dtype=str(self.model.dtype), mode=str(self.mode), bucket=size
        )

    def needs_compiling(self, size: int) -> bool:
        return self._compiled is not None and size not in self.ready

    def compiled_before(self, size: int) -> bool:
        return self.record is not None and self.graph_key(size) in self.record

    def prepare(self, size: int) -> None:
        """Compile and warm the graph of bucket ``size`` (CUDA graphs recorded), so no request pays for it
        mid-answer. A failure turns compiling off for good, with the reason in ``compile_error``."""
        if not self.needs_compiling(size):
            return
        assert self._compiled is not None
        cache = self.cache.cache(size)
        started = time.perf_counter()
        try:
            self.sampling.set(Sampling(), self.token)
            for _ in range(WARM_CALLS):
                self._mark_step()
                self._compiled(self.model, cache, self.token, self.rope_delta, self.sampling)
            self._sync()
        except Exception as e:  # a compile failure surfaces as any of torch's many error types
            log.warning("compiling the decode step failed, decoding without it: %s", e, exc_info=True)
            self.compile_error = f"{type(e).__name__}: {e}"
            self._compiled = None
            return
        finally:
            self.cache.reset()
            self.token.zero_()
        self.ready.add(size)
        if self.record is not None:
            self.record.add(self.graph_key(size))
        log.info("decode step for %d positions compiled and warm in %.1f s", size, time.perf_counter() - started)

    def _mark_step(self) -> None:
        if self.mode == "reduce-overhead":
            torch.compiler.cudagraph_mark_step_begin()

    def _sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def step_function(self, size: int) -> Callable:
        return self._compiled if self._compiled is not None and size in self.ready else decode_step

    def prefill(self, batch: Any, size: int, sampling: Sampling, clock: Clock) -> None:
        """Vision tower, then the prompt into the empty bucket ``size``; the first token ends in ``self.token``.
        Marks ``vision`` and ``prefill`` on ``clock``."""
        model = self.model
        ids = batch["input_ids"]
        self.cache.reset()
        self.sampling.set(sampling, ids)
        positions, delta = self._rope_positions(batch)
        self.rope_delta.copy_(delta.view(1, 1))
        encoded: dict[str, Any] = {}
        if batch.get("pixel_values") is not None:
            encoded["image"] = model.model.get_image_features(
                batch["pixel_values"], batch["image_grid_thw"], return_dict=True
            )
        if batch.get("pixel_values_videos") is not None:
            encoded["video"] = model.model.get_video_features(
                batch["pixel_values_videos"], batch["video_grid_thw"], return_dict=True
            )
        clock.mark("vision")
        logits = model(
            input_ids=ids,
            position_ids=positions,
            cache=self.cache.cache(size),
            use_cache=True,
            logits_to_keep=1,
            mm_token_type_ids=batch.get("mm_token_type_ids"),
            mm_encoder_outputs=encoded or None,
        ).logits
        self.token.copy_(choose(logits[:, -1, :].float(), self.sampling).view(1, 1))
        clock.mark("prefill")

    def _rope_positions(self, batch: Any) -> tuple[Any, Any]:
        """The prompt's 3-D M-RoPE positions and the offset that decode positions carry, as ``generate``
        computes them (``get_rope_index`` when there are images or videos, plain positions otherwise)."""
        ids = batch["input_ids"]
        types = batch.get("mm_token_type_ids")
        images, videos = batch.get("image_grid_thw"), batch.get("video_grid_thw")
        if types is not None and (images is not None or videos is not None):
            return self.model.model.get_rope_index(
                ids,
                mm_token_type_ids=types,
                image_grid_thw=images,
                video_grid_thw=videos,
                attention_mask=batch.get("attention_mask"),
            )
        length = ids.shape[1]
        positions = torch.arange(length, device=ids.device).view(1, 1, length).expand(3, 1, length)
        return positions, torch.zeros((1, 1), dtype=torch.long, device=ids.device)

    def tokens(
        self, size: int, limit: int, cancel: threading.Event, budget: ThinkingBudget | None = None
    ) -> Iterator[int]:
        """The answer's token ids, ``limit`` at most, after ``prefill``: the first is read at once (so the first
        token is not held back a step), then each is read while the step after it runs. Stops launching steps
        once ``cancel`` is set; the consumer stops reading when it sees a stop token. With a ``budget``, once the
        model has thought for that many tokens the token not read yet is replaced by the one that closes the
        thinking block, on the device before the next step takes it and in what is read, so the model answers."""
        pipe = self.pipe
        pipe.written = 0
        pipe.push(self.token.view(1))
        first = pipe.read(0)
        watch = budget.watch() if budget is not None else None
        if watch is not None:
            watch.seen(first)
        yield first
        step = self.step_function(size)
        cache = self.cache.cache(size)
        compiled = step is not decode_step
        model, token, delta, sampling = self.model, self.token, self.rope_delta, self.sampling
        forced = -1
        for index in range(1, limit):
            if cancel.is_set():
                break
            if watch is not None and index > 1 and watch.spent_all():
                token.fill_(watch.close_id)  # token index - 1, sampled but not read yet
                forced = index - 1
                watch.closed()
            if compiled:
                self._mark_step()
            pipe.push(step(model, cache, token, delta, sampling))
            if index > 1:
                value = watch.close_id if watch is not None and index - 1 == forced else pipe.read(index - 1)
                if watch is not None:
                    watch.seen(value)
                yield value
        if pipe.written > 1:
            last = pipe.written - 1
            yield watch.close_id if watch is not None and last == forced else pipe.read(last)

    def bare_steps(self, size: int, steps: int) -> float:
        """Seconds per decode step for ``steps`` steps in a row with nothing else on the host (the figure the
        loop's host overhead is measured against). Leaves the cache empty."""
        step = self.step_function(size)
        cache = self.cache.cache(size)
        self.cache.reset()
        self.sampling.set(Sampling(), self.token)
        compiled = step is not decode_step
        self._sync()
        started = time.perf_counter()
        for _ in range(steps):
            if compiled:
                self._mark_step()
            step(self.model, cache, self.token, self.rope_delta, self.sampling)
        self._sync()
        seconds = (time.perf_counter() - started) / steps
        self.cache.reset()
        self.token.zero_()
        return seconds
