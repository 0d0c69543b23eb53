"""The status bar's words for a backend: which server and model, or for the local backend which model, on which
device, and how much GPU memory it holds.

torch is only asked once the model is loaded (it is imported by then anyway); before that the line says the model
is not loaded yet, so an idle window with the local backend chosen never pays for importing torch here.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from app.core.backends.base import Backend, InProcessBackend
from app.core.backends.factory import is_local

if TYPE_CHECKING:
    from glmv_local.loader import Loaded


def describe(backend: Backend | None) -> str:
    """'API · Z.ai (international cloud) · glm-4.6v' or 'Local · GLM-4.6V-Flash · NVIDIA H200 · 19.8 of …'."""
    if backend is None:
        return "No backend"
    if is_local(backend):
        return local_status(backend)
    from app.core.backends.api import ApiBackend

    if isinstance(backend, ApiBackend):
        preset = backend.preset
        model = backend.model or "model from the server's list"
        host = f" · {backend.base_url}" if preset.name not in ("zai", "bigmodel") else ""
        return f"API · {preset.label} · {model}{host}"
    return f"Local · {backend.model or backend.name}"


def model_label(model: str) -> str:
    """A folder shows by its name (the full path is in the tooltip); a Hub id as it is."""
    path = Path(model).expanduser()
    if model.startswith(("/", ".", "~")) or path.is_dir():
        return path.name or model
    return model


def device_line(loaded: Loaded) -> str:
    """'CUDA · NVIDIA H200 · 19.8 of 139 GiB GPU memory in use · bfloat16', 'Apple GPU (MPS) · …', 'CPU · …'."""
    placement = loaded.placement
    device = str(placement.device)
    dtype = placement.dtype_name
    quant = f" · {loaded.quantization}" if loaded.quantization else ""
    if device.startswith("cuda"):
        import torch

        index = torch.device(device).index or 0
        name = torch.cuda.get_device_name(index)
        used = torch.cuda.memory_allocated(index)
        total = torch.cuda.get_device_properties(index).total_memory
        return f"{name} · {used / 2**30:.1f} of {total / 2**30:.0f} GiB GPU memory in use · {dtype}{quant}"
    if device == "mps":
        import torch

        used = torch.mps.current_allocated_memory()
        return f"Apple GPU (MPS) · {used / 2**30:.1f} GiB in use · {dtype}{quant}"
    return f"CPU (no GPU: slow) · {dtype}{quant}"


def local_status(backend: InProcessBackend) -> str:
    engine = backend.engine
    label = model_label(str(backend.model))
    if engine.loaded is None:
        return f"Local · {label} · not loaded yet"
    return f"Local · {label} · {device_line(engine.loaded)}"
