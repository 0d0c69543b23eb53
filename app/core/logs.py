"""The log file: what happened, for the person who has to find out why, without their keys or their screen.

Logs get pasted into bug reports, so nothing secret may reach them: a filter on every handler rewrites each
record before it is written, masking Authorization headers, API-key-looking strings, the key values the app
knows of, and base64 runs (a screenshot is megabytes of base64 and private as well). The file lives in the
platform's state/log folder (platformdirs), rotates at 1 MB and keeps three old files.
"""

from __future__ import annotations

import io
import logging
import logging.handlers
import os
import re
import sys
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO, cast

from app.core import private_files
from app.core.terminal_text import for_terminal

APP = "glmv-desktop"
FILE_NAME = "glmv.log"
MAX_BYTES = 1024 * 1024
BACKUPS = 3
FORMAT = "%(asctime)s %(levelname)-7s %(name)s [%(threadName)s] %(message)s"
# Base64 runs at least this long are taken for image, video or document data (a SHA-256 in hex is 64).
BASE64_RUN = 120
REDACTED = "[redacted]"

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Authorization: Bearer X / 'authorization': 'Basic X' / Proxy-Authorization=X
    (
        re.compile(r"""(?i)((?:proxy-)?authorization["']?\s*[:=]\s*["']?)(?:(bearer|basic|token)\s+)?[^\s"',}]+"""),
        r"\1" + REDACTED,
    ),
    (re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]{8,}"), r"\1 " + REDACTED),
    # api_key=..., "x-api-key": "...", token: ..., password=...
    (
        re.compile(
            r"""(?i)\b((?:x-)?api[-_]?key|access[-_]?token|secret|password|passwd|token)(["']?\s*[:=]\s*["']?)"""
            r"""[^\s"',}&]{4,}"""
        ),
        r"\1\2" + REDACTED,
    ),
    # OpenAI-style, Hugging Face and Z.ai/BigModel keys (32 hex, a dot, a secret part).
    (re.compile(r"\bsk-[A-Za-z0-9_-]{12,}"), "sk-" + REDACTED),
    (re.compile(r"\bhf_[A-Za-z0-9]{20,}"), "hf_" + REDACTED),
    (re.compile(r"\b[0-9a-f]{32}\.[A-Za-z0-9]{8,}\b"), REDACTED),
)
_DATA_URI = re.compile(r"data:([\w.+-]+/[\w.+-]+);base64,[A-Za-z0-9+/=\s]*")
_BASE64 = re.compile(rf"[A-Za-z0-9+/]{{{BASE64_RUN},}}={{0,2}}")


def log_folder() -> Path:
    """The platform's place for logs: ~/.local/state/glmv-desktop/log on Linux, ~/Library/Logs/glmv-desktop on
    macOS, %LOCALAPPDATA%\\glmv-desktop\\Logs on Windows."""
    import platformdirs

    return Path(platformdirs.user_log_dir(APP, appauthor=False))


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with known secrets, key-looking strings and base64 data replaced by short placeholders."""
    for secret in sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    text = _DATA_URI.sub(lambda m: f"data:{m.group(1)};base64,[{len(m.group(0))} chars omitted]", text)
    text = _BASE64.sub(lambda m: f"[base64, {len(m.group(0))} chars omitted]", text)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites each record's message (and traceback) through ``redact`` before any handler formats it.

    Sits on handlers rather than loggers: a logger's filters do not see records coming up from its children.
    The key values the app holds are added with ``remember`` as they become known (a key typed in Settings).
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._secrets: set[str] = set()
        for secret in secrets:
            self.remember(secret)
        self.remember(os.environ.get("GLMV_API_KEY", ""))

    def remember(self, secret: str | None) -> None:
        if secret and len(secret.strip()) >= 4:
            with self._lock:
                self._secrets.add(secret.strip())

    def filter(self, record: logging.LogRecord) -> bool:
        with self._lock:
            secrets = tuple(self._secrets)
        if getattr(record, "_glmv_redacted", False):
            return True
        try:
            message = record.getMessage()
        except Exception as e:
            message = f"{record.msg!r} (could not be formatted: {type(e).__name__})"
        record.msg = redact(message, secrets)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, secrets)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, secrets)
        record._glmv_redacted = True
        return True


class TerminalFormatter(logging.Formatter):
    """Records on stderr quote server replies and file names: printed through ``for_terminal``."""

    def format(self, record: logging.LogRecord) -> str:
        return for_terminal(super().format(record))


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """Each log file it opens (the first, and the new one after each rotation) is 0600: logs tell what the
    person asked and where their files are, redacted or not."""

    def _open(self) -> io.TextIOWrapper:
        # The handler keeps it open and closes it; the mode is a text one, though not a literal mypy can read.
        return cast(
            io.TextIOWrapper,
            open(self.baseFilename, self.mode, encoding=self.encoding, errors=self.errors, opener=private_files.opener),
        )


_installed: list[logging.Handler] = []
_filter: RedactingFilter | None = None


def setup_logging(verbose: bool = False, *, folder: Path | None = None, secrets: Iterable[str] = ()) -> Path:
    """Send the app's log records to the rotating file; returns the file's path. Calling it again replaces
    what an earlier call installed.

    ``verbose`` is `glmv --verbose`: debug records in the file and the same on stderr. Without it the file gets
    INFO and up and the terminal nothing (the commands print what the person needs themselves), unless the file
    cannot be written, when warnings go to stderr instead.
    """
    global _filter
    folder = Path(folder) if folder is not None else log_folder()
    path = folder / FILE_NAME
    root = logging.getLogger()
    for handler in _installed:
        root.removeHandler(handler)
        handler.close()
    _installed.clear()
    _filter = RedactingFilter(secrets)
    handlers: list[logging.Handler] = []
    try:
        private_files.private_folder(folder)
        file_handler = PrivateRotatingFileHandler(
            path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8", delay=True
        )
    except OSError as e:
        print(
            f"glmv: cannot write the log file {path} ({e.strerror or e}); logging to the terminal only", file=sys.stderr
        )
    else:
        file_handler.setLevel(logging.DEBUG if verbose else logging.INFO)
        handlers.append(file_handler)
    if verbose or not handlers:
        console = logging.StreamHandler(sys.stderr)
        console.setLevel(logging.DEBUG if verbose else logging.WARNING)
        handlers.append(console)
    for handler in handlers:
        terminal = not isinstance(handler, logging.FileHandler)
        handler.setFormatter(TerminalFormatter(FORMAT) if terminal else logging.Formatter(FORMAT))
        handler.addFilter(_filter)
        root.addHandler(handler)
        _installed.append(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    # Libraries that log request bodies or every chunk at DEBUG stay quieter unless asked for.
    for noisy in ("httpx", "httpcore", "PIL", "urllib3", "filelock", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if verbose else logging.WARNING)
    logging.getLogger(__name__).info("log started (verbose=%s) at %s", verbose, path)
    return path


def remember_secret(secret: str | None) -> None:
    """Mask ``secret`` in every later log record (call it when a key is entered, saved or loaded)."""
    if _filter is not None:
        _filter.remember(secret)


CRASH_FILE_NAME = "crash.log"
_crash_file: TextIO | None = None


def crash_log_path(folder: Path | None = None) -> Path:
    return (Path(folder) if folder is not None else log_folder()) / CRASH_FILE_NAME


def enable_crash_traces(folder: Path | None = None) -> Path | None:
    """A crash of the process itself (a segmentation fault in Qt or a binding) leaves the Python stack of every
    thread in ``crash.log`` beside the log, where `glmv doctor` points: the one trace a crash in the field gives.
    Each start adds a dated line, so the file says which run a trace belongs to. None when it cannot be written."""
    import faulthandler

    global _crash_file
    path = crash_log_path(folder)
    try:
        private_files.private_folder(path.parent)
        if path.exists() and path.stat().st_size > MAX_BYTES:
            path.replace(path.with_suffix(".log.1"))
        # Open for the life of the process: faulthandler writes to it when the process dies.
        crash_file = open(path, "a", encoding="utf-8", opener=private_files.opener)  # noqa: SIM115
        crash_file.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} pid {os.getpid()} started\n")
        crash_file.flush()
    except OSError as e:
        logging.getLogger(__name__).warning("no crash traces: cannot write %s (%s)", path, e)
        return None
    faulthandler.enable(file=crash_file, all_threads=True)
    if _crash_file is not None:
        _crash_file.close()
    _crash_file = crash_file
    return path
