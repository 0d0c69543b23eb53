"""Loading a GLM-V checkpoint once: verified files, a memory check, then model and processor on the device.

Safetensors only and never ``trust_remote_code``: the classes are transformers' own (Glm4vForConditionalGeneration
for GLM-4.6V-Flash), so a downloaded checkpoint cannot run code on this machine.
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from glmv_local import device as devices
from glmv_local import download, memory, processor
from glmv_local.checkpoint import Checkpoint
from glmv_local.errors import MissingDependency, ModelFilesError

log = logging.getLogger(__name__)

GLMV_TYPES = ("glm4v", "glm46v", "glm4v_moe")
QUANTIZATION = ("4bit", "8bit")


@dataclass(frozen=True)
class LoadProgress:
    """``stage``: download (bytes), verify, memory, weights, processor, warmup, ready."""

    stage: str
    message: str
    done: int = 0
    total: int = 0


ProgressFn = Callable[[LoadProgress], None]


@dataclass
class Loaded:
    model: Any
    processor: Any
    checkpoint: Checkpoint
    placement: devices.Placement
    quantization: str | None
    seconds: float
    warnings: list[str] = field(default_factory=list)


def quantization_config(quantization: str, dtype: Any) -> Any:
    """bitsandbytes for the language model; the vision tower (``model.visual``) and lm_head stay in 16 bits,
    where quantizing costs accuracy and saves little."""
    if quantization not in QUANTIZATION:
        raise ValueError(f"unknown quantization {quantization!r}; use one of {', '.join(QUANTIZATION)}")
    try:
        import bitsandbytes  # noqa: F401
    except ImportError as e:
        raise MissingDependency(
            f"quantization '{quantization}' needs bitsandbytes (pip install bitsandbytes; CUDA GPUs). "
            "Or load without quantization."
        ) from e
    from transformers import BitsAndBytesConfig

    skip = ["visual", "lm_head"]
    if quantization == "4bit":
        return BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_compute_dtype=dtype,
            bnb_4bit_use_double_quant=True,
            llm_int8_skip_modules=skip,
        )
    return BitsAndBytesConfig(load_in_8bit=True, llm_int8_skip_modules=skip)


def check_glmv(ckpt: Checkpoint) -> None:
    model_type = ckpt.config.get("model_type")
    if model_type not in GLMV_TYPES:
        raise ModelFilesError(
            f"{ckpt.path}: model_type {model_type!r} is not a GLM-V model ({', '.join(GLMV_TYPES)}); "
            "use zai-org/GLM-4.6V-Flash or another GLM-V checkpoint."
        )


def load(
    model: str = download.DEFAULT_MODEL,
    *,
    device: str | None = None,
    dtype: str | Any | None = None,
    attention: str | None = None,
    quantization: str | None = None,
    min_pixels: int | None = None,
    max_pixels: int | None = None,
    context_tokens: int = 32768,
    check_memory: bool = True,
    allow_download: bool = True,
    progress: ProgressFn | None = None,
) -> Loaded:
    start = time.perf_counter()

    def report(stage: str, message: str, done: int = 0, total: int = 0) -> None:
        if progress:
            progress(LoadProgress(stage, message, done, total))

    def bytes_progress(p: download.DownloadProgress) -> None:
        report("download", f"Downloading {model}", p.done, p.total)

    report("verify", f"Checking {model}")
    ckpt = download.resolve(model, progress=bytes_progress, allow_download=allow_download)
    check_glmv(ckpt)
    placement = devices.place(device, dtype, attention)
    if quantization and not placement.device.startswith("cuda"):
        raise MissingDependency(
            f"quantization '{quantization}' (bitsandbytes) needs a CUDA GPU; "
            f"this would run on {placement.device}. Load without quantization."
        )
    quant = quantization_config(quantization, placement.dtype) if quantization else None

    proc = processor.load_processor(ckpt.path, min_pixels=min_pixels, max_pixels=max_pixels)
    _, budget = processor.pixel_budget(proc)
    need = memory.estimate(
        ckpt, dtype=placement.dtype_name, quantization=quantization, context_tokens=context_tokens, max_pixels=budget
    )
    report("memory", f"Needs about {need.describe()}")
    if check_memory:
        free = memory.free_memory(placement.device)
        if free is not None:
            memory.check_fits(
                need,
                free[0],
                device=placement.device,
                checkpoint=ckpt,
                dtype=placement.dtype_name,
                quantization=quantization,
                max_pixels=budget,
            )

    report("weights", f"Loading {memory.gib(need.weights)} of weights onto {placement.device}", 0, 1)
    from transformers import AutoModelForImageTextToText

    kwargs: dict[str, Any] = {
        "dtype": placement.dtype,
        "attn_implementation": placement.attention,
        "use_safetensors": True,
        "trust_remote_code": False,
        "local_files_only": True,
        "device_map": placement.device,
    }
    if quant is not None:
        kwargs["quantization_config"] = quant
    try:
        net = AutoModelForImageTextToText.from_pretrained(ckpt.path, **kwargs)
    except (OSError, ValueError, KeyError, RuntimeError) as e:
        if _is_oom(e):
            raise
        raise ModelFilesError(f"{ckpt.path}: the weights do not load ({e}). Download the model again.") from e
    net.eval()
    report("weights", "Weights loaded", 1, 1)
    seconds = time.perf_counter() - start
    log.info(
        "loaded %s on %s (%s, %s) in %.1f s",
        model,
        placement.device,
        placement.dtype_name,
        placement.attention,
        seconds,
    )
    return Loaded(net, proc, ckpt, placement, quantization, seconds, list(placement.warnings))


def _is_oom(error: BaseException) -> bool:
    import torch

    return isinstance(error, torch.OutOfMemoryError)


def unload(loaded: Loaded | None) -> None:
    """Drop the model and give its memory back to the device (not just to torch's cache)."""
    if loaded is None:
        return
    loaded.model = None
    loaded.processor = None
    gc.collect()
    release_device_memory()


def release_device_memory() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    mps = getattr(torch, "mps", None)
    if mps is not None and torch.backends.mps.is_available():
        mps.empty_cache()
