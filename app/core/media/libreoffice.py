"""Headless LibreOffice conversions (slides and word-processor files to PDF).

Each call gets its own profile directory (``-env:UserInstallation``): two conversions sharing one profile fail
silently, and a person's running LibreOffice would otherwise swallow the request. The process runs in its own
process group so that a time limit, a cancel or Ctrl+C kills soffice and the helpers it spawns, and on POSIX
under a limit of address space (``ulimit -v`` in a ``/bin/sh`` that then execs soffice: no ``preexec_fn``,
which is unsafe in a process with threads, and no race with a limit set after the start), so a document that
makes LibreOffice unpack or decode without end stops it rather than the machine.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from app.core.errors import AppError
from app.core.media import MediaCancelled, MediaError, step
from app.core.media.parts import MediaReport, MediaTarget
from app.core.media.pdf import render_pdf

DEFAULT_TIMEOUT = 120.0
# Address space, not resident memory: soffice maps ~400 MB of libraries and fonts before reading a byte and
# converts ordinary decks and letters in well under 1 GB.
DEFAULT_MEMORY_LIMIT = 2 * 1024**3
# The last lines of LibreOffice's output are quoted in a failure message; a file can make it print a lot.
_LOG_TAIL = 4096

INSTALL_HINT = (
    "install LibreOffice (Debian/Ubuntu: sudo apt install libreoffice-impress libreoffice-writer; "
    "Fedora: sudo dnf install libreoffice; macOS: brew install --cask libreoffice; "
    "Windows: https://www.libreoffice.org/download)"
)

_CANDIDATES = (
    "/Applications/LibreOffice.app/Contents/MacOS/soffice",
    r"C:\Program Files\LibreOffice\program\soffice.exe",
    r"C:\Program Files (x86)\LibreOffice\program\soffice.exe",
)


class ConversionError(AppError):
    """LibreOffice is missing, failed, or ran out of time; the message says which."""


class ConversionCancelled(ConversionError):
    kind = "cancelled"


def render_converted(
    path: Path, target: MediaTarget, report: MediaReport, *, cancel: threading.Event | None = None, **options: Any
) -> None:
    """Converts ``path`` to PDF with LibreOffice and renders its pages (``options`` go to ``render_pdf``): how
    slides and word-processor documents look as LibreOffice draws them. A failed conversion is a ``MediaError``,
    a cancelled one ``MediaCancelled``."""
    step(cancel, path.name, "converting it with LibreOffice", check=False)  # the conversion watches cancel
    try:
        with converted_pdf(path, cancel=cancel) as pdf:
            render_pdf(pdf, target, report, name=path.name, cancel=cancel, **options)
    except ConversionCancelled as e:
        raise MediaCancelled(str(e)) from e
    except ConversionError as e:
        raise MediaError(str(e)) from e


def find_soffice() -> str | None:
    """The LibreOffice executable, or None. ``GLMV_SOFFICE`` overrides the search (an empty value disables it)."""
    override = os.environ.get("GLMV_SOFFICE")
    if override is not None:
        return override or None
    for name in ("soffice", "libreoffice"):
        found = shutil.which(name)
        if found:
            return found
    return next((c for c in _CANDIDATES if Path(c).exists()), None)


@contextlib.contextmanager
def converted_pdf(
    path: Path,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    cancel: threading.Event | None = None,
    soffice: str | None = None,
    memory_limit: int = DEFAULT_MEMORY_LIMIT,
) -> Iterator[Path]:
    """The PDF LibreOffice makes of ``path``, valid inside the ``with`` block (its folder is removed after);
    ``memory_limit`` is the address space soffice may use, in bytes (POSIX only)."""
    exe = soffice or find_soffice()
    if exe is None:
        raise ConversionError(f"LibreOffice is not installed; {INSTALL_HINT}")
    with tempfile.TemporaryDirectory(prefix="glmv-lo-") as tmp:
        work = Path(tmp)
        # A plain ASCII copy name: LibreOffice names its output after the input and trips on some characters.
        source = work / f"input{path.suffix.lower()}"
        try:
            shutil.copyfile(path, source)
        except FileNotFoundError as e:
            raise ConversionError(f"{path.name}: the file is gone (moved or deleted after it was attached)") from e
        out = work / "out"
        command = [
            exe,
            f"-env:UserInstallation={(work / 'profile').as_uri()}",
            "--headless",
            "--invisible",
            "--nologo",
            "--norestore",
            "--nodefault",
            "--nolockcheck",
            "--convert-to",
            "pdf",
            "--outdir",
            str(out),
            str(source),
        ]
        limited = _with_memory_limit(command, memory_limit)
        status = _run(limited, work / "log.txt", timeout=timeout, cancel=cancel, name=path.name)
        result = out / "input.pdf"
        if not result.exists() or result.stat().st_size == 0:
            if status != 0 and limited is not command:
                raise ConversionError(
                    f"{path.name}: LibreOffice stopped (exit status {status}) before converting it: the file needs "
                    f"more than the {_memory(memory_limit)} of memory a conversion may use, or it is damaged. Open it "
                    "in LibreOffice or PowerPoint and export it as PDF, then attach the PDF"
                )
            log = _tail(work / "log.txt")
            detail = f" ({log[-1]})" if log else ""
            raise ConversionError(
                f"{path.name}: LibreOffice could not convert it{detail}; the file may be damaged or "
                "password-protected. Open it in LibreOffice or PowerPoint and export it as PDF, then attach the PDF"
            )
        yield result


def _with_memory_limit(command: list[str], limit: int) -> list[str]:
    """``command`` run through ``/bin/sh`` with ``ulimit -v`` first; ``command`` itself where there is no POSIX
    shell (Windows). A shell that cannot set the limit (macOS does not enforce it) still runs soffice."""
    if sys.platform == "win32" or not os.path.exists("/bin/sh"):
        return command
    script = 'ulimit -v "$1" 2>/dev/null; shift; exec "$@"'
    return ["/bin/sh", "-c", script, "soffice", str(max(1, limit // 1024)), *command]


def _memory(limit: int) -> str:
    return f"{limit / 1024**3:g} GB" if limit >= 1024**3 else f"{limit // 1024**2} MB"


def _tail(log: Path) -> list[str]:
    with open(log, "rb") as f:
        f.seek(0, os.SEEK_END)
        f.seek(max(0, f.tell() - _LOG_TAIL))
        return f.read().decode(errors="replace").strip().splitlines()


def _run(command: list[str], log: Path, *, timeout: float, cancel: threading.Event | None, name: str) -> int:
    """Runs ``command`` to its end and returns its exit status; a time limit or cancel kills it and raises."""
    posix = sys.platform != "win32"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=posix,
            env={**os.environ, "SAL_USE_VCLPLUGIN": "svp"},
        )
        deadline = time.monotonic() + timeout
        try:
            while True:
                try:
                    return proc.wait(timeout=0.1)
                except subprocess.TimeoutExpired:
                    pass
                if cancel is not None and cancel.is_set():
                    raise ConversionCancelled(f"{name}: conversion cancelled")
                if time.monotonic() > deadline:
                    raise ConversionError(
                        f"{name}: LibreOffice did not finish within {timeout:.0f} s; the file may be very large or "
                        "damaged. Export it as PDF yourself and attach the PDF"
                    )
        finally:
            if proc.poll() is None:
                _kill(proc)


def _kill(proc: subprocess.Popen[bytes]) -> None:
    """Kill soffice and everything it started (it runs in a process group of its own on POSIX)."""
    try:
        if sys.platform == "win32":
            proc.kill()
        else:
            os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)
