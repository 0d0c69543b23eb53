"""`glmv doctor`: what this machine and this install can do, and for each problem what to do about it.

A person whose hotkey does nothing or whose GPU is not used should not have to read the source: each check
looks at one thing the app depends on, through the same code the app uses (the capture handlers' own
``problem()``, the keyring lookup, ``find_soffice``), and says what it found and, when that is a problem, the
fix. No Qt here: doctor must work where the window cannot open. Probes that may crash or hang (pynput opening
an X connection, torchvision against a mismatched torch) run in a child process where one can be started.
"""

from __future__ import annotations

import importlib.util
import os
import platform
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from app.core.capture.commands import SHORTCUT_COMMANDS
from app.core.capture.screenshotters import is_wayland
from app.core.hardware import (
    FLASH_4BIT_NEED,
    FLASH_BF16_NEED,
    FLASH_DOWNLOAD_BYTES,
    GIB,
    engine_installed,
    find_gpus,
    local_fit,
    system_memory,
)

OK, NOTE, PROBLEM = "ok", "note", "problem"
WAYLAND_COMMANDS = tuple((c.label, c.shell) for c in SHORTCUT_COMMANDS)
PROBE_TIMEOUT_S = 60.0


@dataclass
class Check:
    """One finding: ``status`` is ok, note (works, with something worth knowing) or problem (something the
    person wants is not going to work), ``fix`` says what to do for a note or problem, ``data`` holds the facts
    for `glmv doctor --json`."""

    area: str
    status: str
    finding: str
    fix: str = ""
    data: dict[str, Any] = field(default_factory=dict)


def frozen() -> bool:
    """True inside a PyInstaller bundle, where ``sys.executable`` is the app and cannot run ``-c`` probes."""
    return bool(getattr(sys, "frozen", False))


# -- the checks -------------------------------------------------------------------------------------------------


def check_platform() -> Check:
    try:
        from importlib.metadata import version

        app_version = version("glmv-desktop")
    except Exception:
        app_version = "unknown"
    install = "bundle" if frozen() else "source/pip"
    engine = "with the local engine" if engine_installed() else "API-only (no local engine)"
    system = f"{platform.system()} {platform.release()} {platform.machine()}"
    return Check(
        "Platform",
        OK,
        f"{system}, Python {platform.python_version()}, glmv-desktop {app_version} ({install}, {engine})",
        data={
            "system": platform.system(),
            "release": platform.release(),
            "machine": platform.machine(),
            "python": platform.python_version(),
            "version": app_version,
            "frozen": frozen(),
            "local_engine": engine_installed(),
        },
    )


def display_server() -> str:
    """x11, wayland, none (Linux without a display), macos or windows."""
    if sys.platform == "darwin":
        return "macos"
    if sys.platform == "win32":
        return "windows"
    if is_wayland():
        return "wayland"
    if os.environ.get("DISPLAY"):
        return "x11"
    return "none"


def _x_socket(display: str) -> Path | None:
    """The local X server's socket for ``:N`` displays; None for remote ones (host:N), which cannot be told."""
    host, _, rest = display.partition(":")
    if host or not rest:
        return None
    number = rest.split(".")[0]
    return Path("/tmp/.X11-unix") / f"X{number}" if number.isdigit() else None


def check_display() -> Check:
    kind = display_server()
    data: dict[str, Any] = {
        "server": kind,
        "DISPLAY": os.environ.get("DISPLAY", ""),
        "WAYLAND_DISPLAY": os.environ.get("WAYLAND_DISPLAY", ""),
        "XDG_SESSION_TYPE": os.environ.get("XDG_SESSION_TYPE", ""),
        "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", ""),
    }
    if kind == "none":
        return Check(
            "Display",
            PROBLEM,
            "no display (neither DISPLAY nor WAYLAND_DISPLAY is set): the window cannot open here",
            "run glmv in a desktop session, or on a server under a virtual X display: xvfb-run -a glmv "
            "(glmv ask, glmv inspect and glmv doctor work without one)",
            data,
        )
    if kind == "wayland":
        return Check(
            "Display",
            NOTE,
            f"Wayland ({data['WAYLAND_DISPLAY'] or 'XDG_SESSION_TYPE=wayland'})",
            "global hotkeys are not possible on Wayland: bind the glmv capture commands in the desktop's "
            "keyboard settings (see Hotkeys); screenshots go through the desktop portal",
            data,
        )
    if kind == "x11":
        display = data["DISPLAY"]
        socket = _x_socket(display)
        if socket is not None and not socket.exists():
            return Check(
                "Display",
                PROBLEM,
                f"X11, DISPLAY={display}, but no X server listens there ({socket} is missing)",
                "start the X server (or xvfb-run -a glmv), or set DISPLAY to the running one",
                data,
            )
        missing = _missing_qt_xcb_libraries()
        data["missing_libraries"] = missing
        if missing:
            return Check(
                "Display",
                PROBLEM,
                f"X11 (DISPLAY={display}), but Qt's X11 plugin lacks {', '.join(missing)}",
                "install them: sudo apt install libxcb-cursor0 libxkbcommon-x11-0 libxcb-icccm4 libxcb-keysyms1 "
                "(Fedora: sudo dnf install xcb-util-cursor xcb-util-wm xcb-util-keysyms)",
                data,
            )
        return Check("Display", OK, f"X11 (DISPLAY={display})", data=data)
    label = "macOS (Quartz)" if kind == "macos" else "Windows desktop"
    return Check("Display", OK, label, data=data)


def _missing_qt_xcb_libraries() -> list[str]:
    """System libraries Qt's xcb platform plugin loads that pip's PySide6 does not bring (Qt then names only
    libxcb-cursor0 in a start-up abort). A bundle carries its own copies beside the executable."""
    import ctypes.util

    here = Path(sys.executable).parent
    missing = []
    for lib in ("xcb-cursor", "xkbcommon-x11", "xcb-icccm", "xcb-keysyms"):
        if ctypes.util.find_library(lib) is None and not any(here.glob(f"**/lib{lib}.so*")):
            missing.append(f"lib{lib}")
    return missing


def check_capture() -> Check:
    from app.core.capture.screenshotters import default_handlers

    handlers = default_handlers()
    if display_server() == "none":
        return Check(
            "Capture", PROBLEM, "no display, so nothing to capture", "see Display", {"handlers": {}, "used": ""}
        )
    results = {h.name: h.problem() for h in handlers}
    working = [name for name, problem in results.items() if problem is None]
    data: dict[str, Any] = {"handlers": {name: problem or "works" for name, problem in results.items()}, "used": ""}
    if not working:
        lines = "; ".join(f"{h.name}: {results[h.name]}" for h in handlers)
        fixes = "; ".join(f"for {h.name}: {h.install_hint}" for h in handlers)
        return Check("Capture", PROBLEM, f"no way to take screenshots works here ({lines})", fixes, data)
    data["used"] = working[0]
    others = [f"{name}: {problem}" for name, problem in results.items() if problem is not None]
    finding = f"screenshots through {working[0]}" + (f" (not available: {'; '.join(others)})" if others else "")
    if working[0] == "xdg-desktop-portal":
        from app.core.capture.portal import recording_problem

        recording = recording_problem()
        data["recording"] = recording or "works"
        if recording is not None:
            return Check("Capture", NOTE, f"{finding}; recordings cannot be made here: {recording}", data=data)
        finding += "; recordings through the ScreenCast portal and PipeWire (GStreamer)"
    if sys.platform == "darwin":
        allowed = _mac_screen_capture_allowed()
        data["screen_recording_permission"] = allowed
        if allowed is False:
            return Check(
                "Capture",
                PROBLEM,
                finding + ", but macOS has not given this app Screen Recording permission (captures come out "
                "showing only the desktop background)",
                "System Settings > Privacy & Security > Screen & System Audio Recording: turn GLM-V on, then "
                "quit and reopen it",
                data,
            )
    return Check("Capture", OK, finding, data=data)


def _mac_screen_capture_allowed() -> bool | None:
    import ctypes

    try:
        graphics = ctypes.CDLL("/System/Library/Frameworks/CoreGraphics.framework/CoreGraphics")
        graphics.CGPreflightScreenCaptureAccess.restype = ctypes.c_bool
        return bool(graphics.CGPreflightScreenCaptureAccess())
    except (OSError, AttributeError):
        return None


def _mac_accessibility_allowed() -> bool | None:
    import ctypes

    try:
        services = ctypes.CDLL("/System/Library/Frameworks/ApplicationServices.framework/ApplicationServices")
        services.AXIsProcessTrusted.restype = ctypes.c_bool
        return bool(services.AXIsProcessTrusted())
    except (OSError, AttributeError):
        return None


def _probe(code: str, timeout: float = PROBE_TIMEOUT_S) -> tuple[bool, str]:
    """Run ``code`` in a child interpreter: (worked, last line of its output or error). In a bundle there is no
    interpreter to start, so the code runs here (the bundle's own imports are known to be sound)."""
    if frozen():
        scope: dict[str, Any] = {}
        try:
            exec(code, scope)
        except BaseException as e:
            return False, f"{type(e).__name__}: {e}"
        return True, str(scope.get("result", ""))
    try:
        out = subprocess.run(
            [sys.executable, "-c", code + "\nprint(result)"],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return False, f"it did not finish within {timeout:.0f} s"
    except OSError as e:
        return False, str(e)
    if out.returncode != 0:
        lines = [line for line in out.stderr.strip().splitlines() if line.strip()]
        return False, lines[-1] if lines else f"exit status {out.returncode}"
    return True, out.stdout.strip().splitlines()[-1] if out.stdout.strip() else ""


def check_hotkeys() -> Check:
    kind = display_server()
    commands = "; ".join(f"{label}: {command}" for label, command in WAYLAND_COMMANDS)
    data: dict[str, Any] = {"method": "", "commands": dict(WAYLAND_COMMANDS)}
    if kind == "wayland":
        data["method"] = "desktop shortcut"
        return Check(
            "Hotkeys",
            NOTE,
            "Wayland: applications cannot listen to the keyboard globally, so hotkeys come from desktop shortcuts",
            f"add custom shortcuts in the desktop's keyboard settings that run these commands ({commands}); the "
            "command reaches the running app",
            data,
        )
    if kind == "none":
        data["method"] = "none"
        return Check("Hotkeys", NOTE, "no display, so no hotkeys", "see Display", data)
    worked, detail = _probe("import pynput.keyboard\nresult = pynput.keyboard.Listener.__module__")
    if not worked:
        data["method"] = "desktop shortcut"
        data["pynput"] = detail
        return Check(
            "Hotkeys",
            PROBLEM,
            f"pynput cannot listen to the keyboard here ({detail})",
            "pip install pynput (and on Linux run under X11); until then bind desktop shortcuts to these "
            f"commands: {commands}",
            data,
        )
    data["method"] = "pynput"
    data["pynput"] = detail
    if sys.platform == "darwin":
        trusted = _mac_accessibility_allowed()
        data["accessibility_permission"] = trusted
        if trusted is False:
            return Check(
                "Hotkeys",
                PROBLEM,
                "pynput is installed, but macOS has not given this app Accessibility/Input Monitoring permission, "
                "so hotkeys are not heard",
                "System Settings > Privacy & Security > Accessibility and > Input Monitoring: turn GLM-V on, then "
                "quit and reopen it",
                data,
            )
    return Check("Hotkeys", OK, "global hotkeys through pynput", data=data)


def check_keyring() -> Check:
    from app.core import secrets

    backend = secrets.keyring_backend()
    env = os.environ.get(secrets.DEFAULT_ENV, "").strip()
    fallback = secrets.KeyVault().file
    data = {
        "backend": f"{type(backend).__module__}.{type(backend).__name__}" if backend is not None else None,
        "env_key_set": bool(env),
        "fallback_file": str(fallback),
        "fallback_file_exists": fallback.exists(),
    }
    if backend is not None:
        name = getattr(backend, "name", type(backend).__name__)
        return Check("Keyring", OK, f"API keys are kept in {name}", data=data)
    where = f"keys typed into the app are kept in {fallback}, readable only by you"
    return Check(
        "Keyring",
        NOTE,
        f"no system keyring works in this session; {where}",
        f"for the keyring: run a Secret Service (GNOME Keyring or KWallet) and unlock it; or set "
        f"{secrets.DEFAULT_ENV} in the environment" + (" (it is set now and is used)" if env else ""),
        data,
    )


def check_gpu() -> Check:
    gpus = find_gpus()
    fit = local_fit(gpus)
    data: dict[str, Any] = {
        "gpus": [asdict(g) for g in gpus],
        "local_fit": fit.mode,
        "system_memory": system_memory(),
    }
    if not engine_installed():
        found = ", ".join(g.describe() for g in gpus) or "no NVIDIA or Apple GPU"
        return Check(
            "GPU",
            NOTE,
            f"API-only install: the local engine (torch, transformers) is not installed; {found}",
            "use an API backend, or install the local engine: "
            + (
                "the local-engine bundle"
                if frozen()
                else "GLMV_LOCAL=1 scripts/setup, or pip install 'glmv-desktop[local]'"
            )
            + (f". {fit.reason}" if gpus else ""),
            data,
        )
    try:
        import torch

        from glmv_local.device import pick_device
    except Exception as e:
        return Check(
            "GPU",
            PROBLEM,
            f"torch is installed but does not import ({type(e).__name__}: {e})",
            "reinstall torch for this machine (https://pytorch.org/get-started/locally/)",
            data,
        )
    device = pick_device()
    data["device"] = device
    data["torch_cuda"] = torch.version.cuda
    if device == "cuda":
        cards: list[dict[str, Any]] = []
        for index in range(torch.cuda.device_count()):
            free, total = torch.cuda.mem_get_info(index)
            cards.append(
                {"name": torch.cuda.get_device_name(index), "free": int(free), "total": int(total), "index": index}
            )
        data["cuda_devices"] = cards
        listed = ", ".join(f"{c['name']} ({c['free'] / GIB:.1f} of {c['total'] / GIB:.1f} GiB free)" for c in cards)
        bf16 = torch.cuda.is_bf16_supported()
        data["bf16"] = bf16
        best = max(c["total"] for c in cards)
        status, fix = OK, ""
        if best < FLASH_4BIT_NEED:
            status, fix = PROBLEM, "the GPU is too small for GLM-4.6V-Flash; use an API backend"
        elif best < FLASH_BF16_NEED:
            status, fix = NOTE, "load GLM-4.6V-Flash in 4-bit (Settings > Local > Quantization; needs bitsandbytes)"
        dtype = "bf16" if bf16 else "fp16 (no bf16 on this GPU)"
        return Check("GPU", status, f"CUDA {torch.version.cuda}: {listed}; runs in {dtype}", fix, data)
    if device == "mps":
        total = int(torch.mps.recommended_max_memory())
        data["mps_recommended_max"] = total
        status = OK if total >= FLASH_BF16_NEED else NOTE
        fix = (
            "" if status == OK else "Metal offers less memory than GLM-4.6V-Flash wants; expect swapping or use an API"
        )
        return Check("GPU", status, f"Apple MPS, {total / GIB:.0f} GiB usable by Metal", fix, data)
    nvidia = [g for g in gpus if g.kind == "nvidia"]
    if nvidia and torch.version.cuda is None:
        return Check(
            "GPU",
            PROBLEM,
            f"{nvidia[0].describe()} is present, but this torch ({torch.__version__}) is a CPU-only build",
            "install a CUDA build of torch: pip install torch --index-url https://download.pytorch.org/whl/cu128 "
            "(or GLMV_TORCH_VERSION with the CUDA index in scripts/setup)",
            data,
        )
    if nvidia:
        return Check(
            "GPU",
            PROBLEM,
            f"{nvidia[0].describe()} is present, but CUDA does not work in torch {torch.__version__}",
            "update the NVIDIA driver to one that supports CUDA " + str(torch.version.cuda) + ", then check nvidia-smi",
            data,
        )
    return Check(
        "GPU",
        NOTE,
        "no GPU: the local engine would run on the CPU (minutes per answer for GLM-4.6V-Flash)",
        "use an API backend (Z.ai, BigModel, or a vLLM/SGLang server), or run on a machine with a 24 GB GPU",
        data,
    )


def _dist_version(name: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return None


def check_versions() -> Check:
    versions = {
        name: _dist_version(name) for name in ("torch", "transformers", "accelerate", "huggingface_hub", "bitsandbytes")
    }
    data: dict[str, Any] = {"versions": versions}
    if versions["torch"] is None:
        return Check("Engine versions", NOTE, "torch and transformers are not installed (API-only)", data=data)
    parts = [f"{name} {v}" for name, v in versions.items() if v]
    status, fix = OK, ""
    transformers = versions["transformers"]
    if transformers is None:
        status, fix = PROBLEM, "install transformers 5 or newer: pip install 'transformers>=5'"
    elif int(transformers.split(".")[0]) < 5:
        status, fix = PROBLEM, f"transformers {transformers} has no GLM-4.6V; pip install -U 'transformers>=5'"
    if importlib.util.find_spec("torchvision") is None:
        data["torchvision"] = None
        parts.append("torchvision not installed (video input in the local engine needs it; images work)")
    else:
        worked, detail = _probe("import torchvision\nresult = torchvision.__version__")
        data["torchvision"] = detail if worked else None
        data["torchvision_error"] = None if worked else detail
        if worked:
            parts.append(f"torchvision {detail}")
        else:
            parts.append(f"torchvision is installed but does not import ({detail})")
            status = PROBLEM
            fix = (fix + "; " if fix else "") + (
                "torchvision must be the build made for this torch: install the matching one from the same index "
                "as torch, or pip uninstall torchvision (images work without it; video in the local engine needs it)"
            )
    return Check("Engine versions", status, ", ".join(parts), fix, data)


def check_libreoffice() -> Check:
    from app.core.media.libreoffice import INSTALL_HINT, find_soffice

    soffice = find_soffice()
    if soffice:
        return Check(
            "LibreOffice",
            OK,
            f"found at {soffice}: Word, Excel and PowerPoint files are drawn faithfully",
            data={"soffice": soffice},
        )
    return Check(
        "LibreOffice",
        NOTE,
        "not found: slides are drawn by the app's own renderer (text, shapes, pictures); .docx/.xlsx cannot be read",
        INSTALL_HINT,
        {"soffice": None},
    )


def check_pyav() -> Check:
    try:
        import av
    except ImportError as e:
        return Check(
            "PyAV",
            NOTE,
            f"not available ({e}): recordings are saved as MPEG-4 through OpenCV instead of H.264",
            "pip install av",
            {"version": None},
        )
    data: dict[str, Any] = {"version": av.__version__}
    try:
        av.codec.Codec("libx264", "w")
    except Exception:
        data["h264"] = False
        return Check(
            "PyAV",
            NOTE,
            f"PyAV {av.__version__} without an H.264 encoder: recordings fall back to MPEG-4",
            "install a PyAV wheel from PyPI (it bundles libx264)",
            data,
        )
    data["h264"] = True
    return Check("PyAV", OK, f"PyAV {av.__version__}: screen recordings in H.264", data=data)


def model_cache() -> Path:
    """Where Hugging Face models are cached (HF_HUB_CACHE, HF_HOME), told without importing much."""
    if importlib.util.find_spec("huggingface_hub") is not None:
        from huggingface_hub import constants

        return Path(constants.HF_HUB_CACHE)
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"])
    home = os.environ.get("HF_HOME") or os.path.join(os.environ.get("XDG_CACHE_HOME", "~/.cache"), "huggingface")
    return Path(home).expanduser() / "hub"


def free_disk(path: Path) -> int | None:
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        return shutil.disk_usage(probe).free
    except OSError:
        return None


def check_paths() -> Check:
    from app.core import logs
    from app.core.settings import config_folder, default_path
    from app.core.store import default_folder

    paths = {
        "config": config_folder(),
        "settings": default_path(),
        "data": default_folder(),
        "logs": logs.log_folder(),
        "model_cache": model_cache(),
    }
    data: dict[str, Any] = {name: str(path) for name, path in paths.items()}
    data["crash_traces"] = str(logs.crash_log_path())
    data["settings_exists"] = paths["settings"].exists()
    free = free_disk(paths["model_cache"])
    data["model_cache_free"] = free
    finding = (
        f"settings {paths['settings']}{'' if data['settings_exists'] else ' (not saved yet: first start)'}; "
        f"history {paths['data']}; logs {paths['logs']} (a crash leaves its trace in {logs.CRASH_FILE_NAME} there); "
        f"models {paths['model_cache']}"
    )
    if free is not None:
        finding += f" ({free / 1e9:.1f} GB free)"
    if engine_installed() and free is not None and free < FLASH_DOWNLOAD_BYTES + 2e9:
        return Check(
            "Folders",
            NOTE,
            finding,
            f"GLM-4.6V-Flash needs about {FLASH_DOWNLOAD_BYTES / 1e9:.1f} GB there: free space or set HF_HOME "
            "to a larger disk",
            data,
        )
    return Check("Folders", OK, finding, data=data)


def check_settings() -> Check:
    from app.core import settings as settings_io
    from app.core.backends.dialects import PRESETS

    path = settings_io.default_path()
    current = settings_io.load(path)
    data: dict[str, Any] = {"backend": current.backend, "preset": current.preset, "warnings": list(current.warnings)}
    if current.warnings:
        return Check("Settings", PROBLEM, "; ".join(current.warnings), "open Settings and save them again", data)
    if current.backend == "local":
        where = current.local_folder or current.local_model
        fix = "" if engine_installed() else "this install has no local engine: pick an API backend in Settings"
        return Check("Settings", PROBLEM if fix else OK, f"local engine with {where}", fix, data)
    preset = PRESETS.get(current.preset)
    if preset is None:
        return Check("Settings", PROBLEM, f"unknown preset {current.preset!r}", "choose a server in Settings", data)
    url = current.base_url or preset.base_url
    finding = f"API backend: {preset.label} at {url}"
    if not preset.needs_key:
        return Check("Settings", OK, finding, data=data)
    from app.core.secrets import KeyVault

    key = KeyVault().get(current.preset, current.base_url or None)
    data["api_key_found"] = key is not None
    if key is None:
        return Check(
            "Settings",
            PROBLEM if path.exists() else NOTE,
            finding + ", but no API key was found",
            "enter the key in Settings (it goes to the keyring), or set GLMV_API_KEY",
            data,
        )
    return Check("Settings", OK, finding + ", API key present", data=data)


CHECKS: tuple[Callable[[], Check], ...] = (
    check_platform,
    check_display,
    check_capture,
    check_hotkeys,
    check_keyring,
    check_gpu,
    check_versions,
    check_libreoffice,
    check_pyav,
    check_paths,
    check_settings,
)


def run_checks(checks: tuple[Callable[[], Check], ...] = CHECKS) -> list[Check]:
    """Every check; one that breaks is reported as a problem of its own instead of stopping the rest."""
    found = []
    for check in checks:
        area = check.__name__.removeprefix("check_").replace("_", " ").capitalize()
        try:
            found.append(check())
        except Exception as e:
            found.append(
                Check(area, PROBLEM, f"the check itself failed: {type(e).__name__}: {e}", "report this as a bug")
            )
    return found


MARKS = {OK: "ok", NOTE: "note", PROBLEM: "PROBLEM"}


def format_text(checks: list[Check]) -> str:
    """Aligned lines for a terminal: status, area, finding, and under a note or problem what to do."""
    width = max((len(c.area) for c in checks), default=0)
    lines = []
    for c in checks:
        lines.append(f"{MARKS.get(c.status, c.status):>7}  {c.area:<{width}}  {c.finding}")
        if c.fix and c.status != OK:
            lines.append(f"{'':>7}  {'':<{width}}  -> {c.fix}")
    problems = sum(c.status == PROBLEM for c in checks)
    lines.append("")
    lines.append("No problems found." if not problems else f"{problems} problem{'s' * (problems != 1)} found.")
    return "\n".join(lines) + "\n"


def to_json(checks: list[Check]) -> dict[str, Any]:
    return {
        "version": 1,
        "problems": sum(c.status == PROBLEM for c in checks),
        "checks": [asdict(c) for c in checks],
    }


def exit_code(checks: list[Check]) -> int:
    """0 when nothing is a problem, else 1 (so scripts can tell)."""
    return int(any(c.status == PROBLEM for c in checks))
