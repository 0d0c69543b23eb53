"""The text model's attention with its key/value heads kept grouped, registered through transformers'
``AttentionInterface``.

GLM-4.6V-Flash has 32 query heads and 2 key/value heads. transformers' SDPA function, under torch.compile and with
a mask (every decode step on a static cache), falls back to ``repeat_kv``: each layer copies K/V out to 32 heads
over the whole cache before attending, 16 times the traffic of the cache itself. Here nothing is expanded:

- prefill (several queries, no mask, an empty cache): causal SDPA with ``enable_gqa`` over the prompt's own
  positions only (the rest of the bucket is cut off), which SDPA runs on its flash kernel on CUDA;
- decode (one query, the engine's mask over its bucket): the query's heads are folded into the rows of each
  key/value head, ``(1, 32, 1, d) -> (1, 2, 16, d)``, so SDPA attends 16 query rows to each of the 2 K/V heads
  as they are stored. The mask is the same for every head and broadcasts.

Only the engine's own decode loop runs this model with a static cache; without a mask the function is also right
for transformers' dynamic cache (``generate`` with batch 1 and no padding), where the keys are exactly the past.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

NAME = "glmv_grouped_sdpa"


def grouped_sdpa(
    module: Any,
    query: Any,
    key: Any,
    value: Any,
    attention_mask: Any,
    dropout: float = 0.0,
    scaling: float | None = None,
    is_causal: bool | None = None,
    **kwargs: Any,
) -> tuple[Any, None]:
    """``query`` (batch, heads, q, d); ``key``/``value`` (batch, kv_heads, k, d); ``attention_mask`` None or a
    boolean (1, 1, q, k) mask, True where a position may be attended. Returns (batch, q, heads, d)."""
    import torch.nn.functional as F

    batch, heads, q_len, dim = query.shape
    kv_heads = key.shape[1]
    groups = heads // kv_heads
    if attention_mask is None:
        causal = q_len > 1 and (is_causal if is_causal is not None else getattr(module, "is_causal", True))
        if causal and key.shape[2] > q_len:
            # A prefill into an empty static cache: only the first q_len positions are filled.
            key, value = key[:, :, :q_len], value[:, :, :q_len]
        out = F.scaled_dot_product_attention(
            query, key, value, dropout_p=dropout, scale=scaling, is_causal=causal, enable_gqa=groups > 1
        )
        return out.transpose(1, 2).contiguous(), None
    if q_len != 1:
        raise ValueError("grouped_sdpa takes a mask for single-token decode steps only")
    folded = query.reshape(batch, kv_heads, groups, dim)
    out = F.scaled_dot_product_attention(folded, key, value, attn_mask=attention_mask, dropout_p=dropout, scale=scaling)
    return out.reshape(batch, heads, 1, dim).transpose(1, 2).contiguous(), None


def register() -> None:
    from transformers import AttentionInterface

    AttentionInterface.register(NAME, grouped_sdpa)


def use_grouped_attention(model: Any) -> None:
    """Switch the language model (not the vision tower) to ``grouped_sdpa``. The name is not registered as a
    mask function, so transformers builds no mask for it: the engine passes its own."""
    register()
    model.config.get_text_config()._attn_implementation = NAME


@contextmanager
def stock_attention(model: Any, implementation: str = "sdpa") -> Iterator[None]:
    """transformers' own attention for the language model while inside (the reference ``generate`` that the
    engine is compared with), the engine's again after."""
    text = model.config.get_text_config()
    before = text._attn_implementation
    text._attn_implementation = implementation
    try:
        yield
    finally:
        text._attn_implementation = before
