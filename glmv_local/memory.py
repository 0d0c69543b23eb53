"""Will it fit? An estimate made before loading, from the checkpoint's own headers and config.

Loading 20 GB of weights only to fail with an out-of-memory error half-way wastes a minute and leaves the
GPU fragmented; a plain "needs 23.4 GiB, 22.1 GiB free: try 4-bit" up front is better. The numbers are
estimates (the allocator and CUDA context add overhead), so the check keeps a margin.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Any

from glmv_local.checkpoint import Checkpoint
from glmv_local.errors import NotEnoughMemory

GIB = 1024**3
DTYPE_SIZE = {"float32": 4, "bfloat16": 2, "float16": 2}
QUANT_BITS = {"4bit": 4, "8bit": 8}
# CUDA context, allocator slack, temporary buffers during the prefill.
OVERHEAD_BYTES = 768 * 1024**2
OVERHEAD_FRACTION = 0.05


@dataclass(frozen=True)
class Estimate:
    weights: int
    kv_cache: int
    vision: int
    overhead: int
    context_tokens: int
    kv_per_token: int

    @property
    def total(self) -> int:
        return self.weights + self.kv_cache + self.vision + self.overhead

    def describe(self) -> str:
        return (
            f"{gib(self.total)} (weights {gib(self.weights)}, KV cache for {self.context_tokens} tokens "
            f"{gib(self.kv_cache)}, vision {gib(self.vision)}, overhead {gib(self.overhead)})"
        )


def gib(n: float) -> str:
    return f"{n / GIB:.1f} GiB"


def text_config(config: dict) -> dict:
    return config.get("text_config") or config


def kv_bytes_per_token(config: dict, dtype_size: int = 2) -> int:
    """Keys and values for every layer: layers x kv heads x head dim x 2 x bytes (40 KiB for GLM-4.6V-Flash
    in bf16)."""
    text = text_config(config)
    heads = int(text["num_attention_heads"])
    head_dim = int(text.get("head_dim") or int(text["hidden_size"]) // heads)
    kv_heads = int(text.get("num_key_value_heads") or heads)
    return int(text["num_hidden_layers"]) * kv_heads * head_dim * 2 * dtype_size


def vision_bytes(config: dict, max_pixels: int, dtype_size: int = 2) -> int:
    """Peak activations of the vision tower for one image at the pixel budget: the patch sequence through an
    MLP layer (the largest intermediate) with a few hidden-size buffers beside it."""
    vision = config.get("vision_config") or {}
    patch = int(vision.get("patch_size", 14))
    # The pixel budget counts the two temporal frames a still image is doubled into; a patch covers both.
    patches = max_pixels // (patch * patch * int(vision.get("temporal_patch_size", 2)))
    hidden = int(vision.get("hidden_size", 1536))
    intermediate = int(vision.get("intermediate_size", 13696))
    return patches * (2 * intermediate + 6 * hidden) * dtype_size


def quantizable_share(checkpoint: Checkpoint) -> float:
    """The share of the weights bitsandbytes would quantize: the language model's linear layers (the vision
    tower, embeddings and lm_head stay in 16 bits)."""
    config = checkpoint.config
    text = text_config(config)
    hidden = int(text["hidden_size"])
    heads = int(text["num_attention_heads"])
    head_dim = int(text.get("head_dim") or hidden // heads)
    kv_heads = int(text.get("num_key_value_heads") or heads)
    layer = (
        hidden * (heads * head_dim) * 2 + hidden * kv_heads * head_dim * 2 + 3 * hidden * int(text["intermediate_size"])
    )
    linear = layer * int(text["num_hidden_layers"])
    return min(1.0, linear / max(1, checkpoint.parameters))


def estimate(
    checkpoint: Checkpoint,
    *,
    dtype: str = "bfloat16",
    quantization: str | None = None,
    context_tokens: int = 32768,
    max_pixels: int = 9633792,
) -> Estimate:
    size = DTYPE_SIZE.get(dtype, 2)
    weights = checkpoint.parameters * size
    if quantization:
        share = quantizable_share(checkpoint)
        bits = QUANT_BITS[quantization]
        # 4-bit nf4 stores about 4.5 bits a weight with its scales; 8-bit about 8.1.
        per_weight = (bits + 0.5) / 8 if bits == 4 else 1.02
        weights = int(checkpoint.parameters * (share * per_weight + (1 - share) * size))
    per_token = kv_bytes_per_token(checkpoint.config, size)
    kv = per_token * context_tokens
    vision = vision_bytes(checkpoint.config, max_pixels, size)
    overhead = OVERHEAD_BYTES + int(OVERHEAD_FRACTION * (weights + kv))
    return Estimate(weights, kv, vision, overhead, context_tokens, per_token)


def free_memory(device: str) -> tuple[int, int] | None:
    """(free, total) bytes on ``device``, or None where it cannot be told."""
    import torch

    if device.startswith("cuda"):
        free, total = torch.cuda.mem_get_info(torch.device(device))
        return int(free), int(total)
    if device == "mps":
        total = int(torch.mps.recommended_max_memory())
        return total - int(torch.mps.driver_allocated_memory()), total
    if sys.platform == "win32":
        return None  # no os.sysconf there
    try:
        pages, avail = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_AVPHYS_PAGES")
        page = os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError):
        return None
    return avail * page, pages * page


def check_fits(need: Estimate, free: int, *, device: str, checkpoint: Checkpoint, dtype: str, **kw: Any) -> None:
    """Raise ``NotEnoughMemory`` with what would fit instead when ``need`` exceeds ``free``."""
    if need.total <= free:
        return
    advice = []
    if "quantization" not in kw or kw.get("quantization") is None:
        four = estimate(
            checkpoint,
            dtype=dtype,
            quantization="4bit",
            context_tokens=need.context_tokens,
            max_pixels=kw.get("max_pixels", 9633792),
        )
        if four.total <= free:
            advice.append(f"load it in 4-bit (quantization='4bit', about {gib(four.total)}; needs bitsandbytes)")
    room = free - (need.total - need.kv_cache)
    if room > 0 and need.kv_per_token:
        tokens = int(room // need.kv_per_token) // 1024 * 1024
        if tokens >= 4096:
            advice.append(f"use a smaller context ({tokens} tokens fit)")
    advice.append("close other programs using the GPU")
    raise NotEnoughMemory(
        f"Not enough memory on {device}: the model needs about {need.describe()}, {gib(free)} is free. "
        f"Try to {'; or '.join(advice)}."
    )
