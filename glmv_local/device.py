"""Where and how the model runs: device, dtype and attention kernel, chosen automatically and overridable.

CUDA with bf16 where the GPU has it (Ampere and newer), fp16 on older GPUs, Apple MPS, or the CPU, which works
but is far too slow for a 9B model to be pleasant: the caller is told so.
"""

from __future__ import annotations

import importlib.util
import logging
from dataclasses import dataclass
from typing import Any

from glmv_local.errors import MissingDependency

log = logging.getLogger(__name__)

ATTENTION = ("flash_attention_2", "sdpa", "eager")
CPU_WARNING = (
    "No GPU found: the model runs on the CPU. This will be slow (minutes per answer for GLM-4.6V-Flash); "
    "a CUDA GPU with 24 GB or more, or Apple silicon, is recommended."
)


@dataclass(frozen=True)
class Placement:
    device: str
    dtype: Any
    attention: str
    warnings: tuple[str, ...] = ()

    @property
    def dtype_name(self) -> str:
        return str(self.dtype).removeprefix("torch.")


def pick_device(device: str | None = None) -> str:
    import torch

    if device:
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise MissingDependency(
                f"device {device!r} was asked for but CUDA is not available: this torch build is "
                f"{torch.__version__} (CPU-only builds end in +cpu). Install a CUDA build of torch."
            )
        if device == "mps" and not torch.backends.mps.is_available():
            raise MissingDependency("device 'mps' was asked for but Apple MPS is not available on this machine.")
        return device
    if torch.cuda.is_available():
        return "cuda"
    if torch.backends.mps.is_available():
        return "mps"
    return "cpu"


DTYPES = {
    "bfloat16": "bfloat16",
    "bf16": "bfloat16",
    "float16": "float16",
    "fp16": "float16",
    "half": "float16",
    "float32": "float32",
    "fp32": "float32",
}


def pick_dtype(device: str, dtype: str | Any | None = None) -> Any:
    import torch

    if dtype is not None and not isinstance(dtype, str):
        return dtype
    if dtype:
        name = DTYPES.get(dtype.lower().removeprefix("torch."))
        if name is None:
            raise ValueError(f"unknown dtype {dtype!r}; use one of bfloat16, float16, float32")
        return getattr(torch, name)
    if device.startswith("cuda"):
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device == "mps":
        return torch.bfloat16 if _mps_has_bf16() else torch.float16
    return torch.bfloat16


def _mps_has_bf16() -> bool:
    import torch

    try:
        torch.ones(1, dtype=torch.bfloat16, device="mps")
    except (RuntimeError, TypeError):
        return False
    return True


def flash_attention_installed() -> bool:
    return importlib.util.find_spec("flash_attn") is not None


def pick_attention(device: str, attention: str | None = None) -> str:
    """SDPA unless asked otherwise, flash-attn installed or not: the vision tower runs on SDPA's own flash kernel
    on CUDA, and the language model always uses the engine's grouped SDPA (``glmv_local.attention``), whose
    masks the compiled decode step needs (flash-attn's unpadding reads sizes on the host and breaks the graph)."""
    if attention:
        if attention not in ATTENTION:
            raise ValueError(f"unknown attention {attention!r}; use one of {', '.join(ATTENTION)}")
        if attention == "flash_attention_2" and not flash_attention_installed():
            raise MissingDependency(
                "attention 'flash_attention_2' needs the flash-attn package (pip install flash-attn "
                "--no-build-isolation, CUDA only); or leave attention unset to use SDPA."
            )
        return attention
    return "sdpa"


def place(device: str | None = None, dtype: str | Any | None = None, attention: str | None = None) -> Placement:
    chosen = pick_device(device)
    warnings = (CPU_WARNING,) if chosen == "cpu" else ()
    for warning in warnings:
        log.warning(warning)
    return Placement(chosen, pick_dtype(chosen, dtype), pick_attention(chosen, attention), warnings)
