"""The KV cache: allocated once for the whole context, read through length buckets.

A decode step attends over every position of its cache, filled or not, because a compiled graph needs fixed
shapes. With one cache spanning the context (32,768 positions) a 100-token answer would read 32,768 positions a
step. So the storage is one tensor per layer for the whole context, and a *bucket* is a view of its first 2K, 4K,
8K, ... positions wrapped as a transformers ``Cache``: a request takes the smallest bucket that holds its prompt and
its answer, each bucket has one compiled graph that every request of that size reuses, and nothing is copied or
allocated per request. The write position is one counter per layer shared by all buckets; ``reset`` zeroes it
(stale keys past it are masked out, never read).
"""

from __future__ import annotations

from typing import Any

import torch
from transformers.cache_utils import Cache, StaticLayer

SMALLEST_BUCKET = 2048


def bucket_sizes(context_tokens: int, smallest: int = SMALLEST_BUCKET) -> tuple[int, ...]:
    """2K, 4K, 8K, ... below the context, then the context itself: 32,768 gives 2K, 4K, 8K, 16K, 32K."""
    if context_tokens < 1:
        raise ValueError(f"context_tokens must be positive, got {context_tokens}")
    sizes = []
    size = smallest
    while size < context_tokens:
        sizes.append(size)
        size *= 2
    sizes.append(context_tokens)
    return tuple(sizes)


class BucketLayer(StaticLayer):
    """A ``StaticLayer`` over views of the shared storage, initialised up front (never lazily, which would
    allocate inside a request)."""

    def __init__(self, keys: Any, values: Any, counter: Any) -> None:
        super().__init__(max_cache_len=int(keys.shape[2]))
        self.keys, self.values, self.cumulative_length = keys, values, counter
        self.device = keys.device
        self.batch_size, self.num_heads = int(keys.shape[0]), int(keys.shape[1])
        self.k_head_dim = int(keys.shape[3])
        self.v_head_dim = int(values.shape[3])
        self.is_initialized = True
        # Fixed addresses: the compiled step mutates them in place, and CUDA graphs replay on these pointers.
        for tensor in (keys, values, counter):
            torch._dynamo.mark_static_address(tensor)


class BucketCache:
    """Keys and values for ``context_tokens`` positions of every text layer, and one ``Cache`` per bucket."""

    def __init__(self, text_config: Any, context_tokens: int, *, dtype: Any, device: Any, sizes: tuple[int, ...]):
        layer_types = getattr(text_config, "layer_types", None) or ["full_attention"]
        if any(kind != "full_attention" for kind in layer_types):
            raise ValueError(f"only full-attention layers are supported, not {sorted(set(layer_types))}")
        if sizes[-1] != context_tokens or list(sizes) != sorted(set(sizes)):
            raise ValueError(f"buckets {sizes} must grow and end at the context ({context_tokens})")
        heads = int(text_config.num_attention_heads)
        kv_heads = int(getattr(text_config, "num_key_value_heads", None) or heads)
        head_dim = int(getattr(text_config, "head_dim", None) or int(text_config.hidden_size) // heads)
        layers = int(text_config.num_hidden_layers)
        shape = (1, kv_heads, context_tokens, head_dim)
        # Zeros, not empty: a masked position still enters the softmax as 0 * value, and NaN garbage would leak.
        self.keys = [torch.zeros(shape, dtype=dtype, device=device) for _ in range(layers)]
        self.values = [torch.zeros(shape, dtype=dtype, device=device) for _ in range(layers)]
        self.counters = [torch.zeros((), dtype=torch.long, device=device) for _ in range(layers)]
        self.sizes = sizes
        self.context_tokens = context_tokens
        self.kv_heads = kv_heads
        self._caches = {
            size: Cache(
                layers=[
                    BucketLayer(k[:, :, :size], v[:, :, :size], counter)
                    for k, v, counter in zip(self.keys, self.values, self.counters, strict=True)
                ]
            )
            for size in sizes
        }

    @property
    def nbytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in (*self.keys, *self.values))

    def pick(self, tokens: int) -> int:
        """The smallest bucket holding ``tokens`` positions."""
        for size in self.sizes:
            if tokens <= size:
                return size
        raise ValueError(f"{tokens} tokens do not fit the {self.context_tokens}-token context")

    def cache(self, size: int) -> Any:
        return self._caches[size]

    def reset(self) -> None:
        for counter in self.counters:
            counter.zero_()
