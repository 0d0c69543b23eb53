"""What this machine has for running GLM-4.6V-Flash itself: its GPUs and memory, found in a moment without
loading torch, whether the local engine is installed, and whether the model fits. The first-start welcome
offers the local engine from these facts; `glmv doctor` reports them."""

from __future__ import annotations

import importlib.util
import os
import platform
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass

GIB = 1024**3
# GLM-4.6V-Flash: 20.6 GB of bf16 weights; with a 32K context, the vision tower and CUDA's own share it wants
# about 23 GiB, so a 24 GB card is the smallest that holds it whole. 4-bit weights bring it near 9 GiB.
FLASH_DOWNLOAD_BYTES = 20.6e9
FLASH_BF16_NEED = 23 * GIB
FLASH_4BIT_NEED = 10 * GIB
# Apple silicon shares its memory; Metal lets one process use about two thirds to three quarters of it.
APPLE_MIN_MEMORY = 32 * GIB


@dataclass(frozen=True)
class Gpu:
    """A GPU found without loading torch (nvidia-smi, sysctl), so the first start can tell in a moment."""

    kind: str
    name: str
    memory: int
    source: str

    def describe(self) -> str:
        what = "unified memory" if self.kind == "apple" else "memory"
        return f"{self.name} ({self.memory / GIB:.0f} GiB {what})"


@dataclass(frozen=True)
class LocalFit:
    """Whether GLM-4.6V-Flash runs well here: ``mode`` is "bf16", "4bit" or "" (better through an API)."""

    mode: str
    reason: str

    @property
    def recommended(self) -> bool:
        return bool(self.mode)


def engine_installed() -> bool:
    """The local engine needs torch and transformers; the API-only install has neither."""
    return all(importlib.util.find_spec(name) is not None for name in ("torch", "transformers"))


def find_gpus(run: Callable[..., subprocess.CompletedProcess] = subprocess.run) -> list[Gpu]:
    """NVIDIA GPUs through nvidia-smi (present wherever the driver is, with or without a CUDA torch) and Apple
    silicon through sysctl. Fast: no torch import."""
    gpus: list[Gpu] = []
    smi = shutil.which("nvidia-smi")
    if smi:
        try:
            out = run(
                [smi, "--query-gpu=name,memory.total", "--format=csv,noheader,nounits"],
                capture_output=True,
                text=True,
                timeout=15,
            )
        except (OSError, subprocess.TimeoutExpired):
            out = None
        if out is not None and out.returncode == 0:
            for line in out.stdout.splitlines():
                name, _, mib = line.rpartition(",")
                if name.strip() and mib.strip().isdigit():
                    gpus.append(Gpu("nvidia", name.strip(), int(mib.strip()) * 1024**2, "nvidia-smi"))
    if sys.platform == "darwin" and platform.machine() == "arm64":
        memory = _sysctl("hw.memsize", run)
        chip = _sysctl("machdep.cpu.brand_string", run) or "Apple silicon"
        if memory and memory.isdigit():
            gpus.append(Gpu("apple", chip, int(memory), "sysctl"))
    return gpus


def _sysctl(name: str, run: Callable[..., subprocess.CompletedProcess]) -> str | None:
    try:
        out = run(["sysctl", "-n", name], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def system_memory() -> int | None:
    if sys.platform == "win32":
        return None  # no os.sysconf there
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError):
        return None


def local_fit(gpus: list[Gpu]) -> LocalFit:
    """Whether to offer running GLM-4.6V-Flash here, and in which form."""
    nvidia = sorted((g for g in gpus if g.kind == "nvidia"), key=lambda g: g.memory, reverse=True)
    apple = [g for g in gpus if g.kind == "apple"]
    if nvidia and nvidia[0].memory >= FLASH_BF16_NEED:
        return LocalFit("bf16", f"{nvidia[0].describe()} holds GLM-4.6V-Flash in bf16.")
    if apple and apple[0].memory >= APPLE_MIN_MEMORY:
        return LocalFit("bf16", f"{apple[0].describe()} holds GLM-4.6V-Flash through Metal (MPS).")
    if nvidia and nvidia[0].memory >= FLASH_4BIT_NEED:
        return LocalFit(
            "4bit",
            f"{nvidia[0].describe()} is too small for bf16 (about {FLASH_BF16_NEED / GIB:.0f} GiB) but holds the "
            "model in 4-bit (needs bitsandbytes; slightly lower quality).",
        )
    if nvidia:
        return LocalFit("", f"{nvidia[0].describe()} is too small for GLM-4.6V-Flash (10 GiB at the least).")
    if apple:
        return LocalFit(
            "", f"{apple[0].describe()} is too little for GLM-4.6V-Flash ({APPLE_MIN_MEMORY / GIB:.0f} GiB or more)."
        )
    return LocalFit("", "No NVIDIA or Apple GPU was found; on the CPU the model takes minutes per answer.")
