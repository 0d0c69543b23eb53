"""The person's settings: one typed object, defaults in one place, a versioned JSON file in the config folder.

Secrets never go in this file: API keys are kept by ``app.core.secrets.KeyVault`` (the OS keyring, or where none
works a file only the user can read).
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from app.core import private_files
from app.core.backends.base import GenerationOptions
from app.core.damaged import SetAside, set_aside
from app.core.quick_actions import QuickAction, built_in_dicts, load_actions

# Moved to app.core.secrets; app/ui/main_window.py and app/ui/backend_factory.py import it from here until the
# conversation-session branch (issue 15, point 1), which rewrites both, imports it from there.

log = logging.getLogger(__name__)

VERSION = 1
FILE_NAME = "settings.json"
BACKENDS = ("api", "local")
QUANTIZATIONS = ("none", "8bit", "4bit")
THEMES = ("system", "light", "dark")
LIMITS: dict[str, tuple[float, float]] = {
    "temperature": (0.0, 2.0),
    "top_p": (0.01, 1.0),
    "max_tokens": (1, 131072),
    "history_turns": (0, 100),
    "answer_timeout": (1, 3600),
    "capture_fps": (1, 30),
    "record_max_seconds": (1, 3600),
    "share_port": (1, 65535),
}


def config_folder() -> Path:
    import platformdirs

    return Path(platformdirs.user_config_dir("glmv-desktop", appauthor=False))


def default_path() -> Path:
    return config_folder() / FILE_NAME


@dataclass
class Settings:
    """Everything the person can choose. Empty ``base_url``/``model`` mean "the preset's own"."""

    backend: str = "api"
    preset: str = "zai"
    base_url: str = ""
    model: str = ""
    local_model: str = "zai-org/GLM-4.6V-Flash"
    local_folder: str = ""
    quantization: str = "none"
    temperature: float = 0.8
    top_p: float = 0.6
    max_tokens: int = 16384
    thinking: bool = True
    system_prompt: str = ""
    history_turns: int = 4
    # Seconds without an answer event (thinking, text, boxes) before an API answer is given up: `glmv ask --timeout`.
    answer_timeout: int = 120
    thinking_collapsed: bool = False
    theme: str = "system"
    # Capture and the desktop shell. ``shortcuts`` (global hotkeys) holds only the person's changes to the
    # platform's defaults (action -> "Ctrl+Shift+S"; "" turns an action off). A floating position of -1 means
    # "not placed yet".
    shortcuts: dict[str, str] = field(default_factory=dict)
    capture_fps: int = 10
    record_max_seconds: int = 60
    floating_x: int = -1
    floating_y: int = -1
    floating_pinned: bool = True
    close_to_tray: bool = True
    # The loaded local model served to other tools on 127.0.0.1:share_port (`app.serve.share`).
    share_model: bool = False
    share_port: int = 8000
    # Quick actions (``app.core.quick_actions``) as their fields; the built-in ones until the person edits them.
    quick_actions: list[dict[str, str]] = field(default_factory=built_in_dicts)
    translate_language: str = "English"  # the {language} of quick actions
    version: int = VERSION
    warnings: list[str] = field(default_factory=list, compare=False, repr=False)
    # The damaged file ``load`` moved aside instead of reading it, for the window to tell the person.
    damaged: SetAside | None = field(default=None, compare=False, repr=False)

    def actions(self) -> list[QuickAction]:
        """The quick actions, each usable (``from_dict`` left out, with a warning, any that was not)."""
        return load_actions(self.quick_actions)[0]

    def generation_options(self) -> GenerationOptions:
        return GenerationOptions(
            thinking=self.thinking,
            max_tokens=self.max_tokens,
            temperature=self.temperature,
            top_p=self.top_p,
            history_turns=self.history_turns,
        )

    def with_overrides(self, overrides: dict[str, Any] | None) -> Settings:
        """A copy with the command line's one-run choices (preset, base_url, model) applied; None is ignored.
        An override of the API fields also picks the API backend."""
        data = self.to_dict()
        for key, value in (overrides or {}).items():
            if value is not None and key in data:
                data[key] = value
                if key in ("preset", "base_url", "model"):
                    data["backend"] = "api"
        overridden = from_dict(data)
        overridden.warnings[:0] = self.warnings
        overridden.damaged = self.damaged
        return overridden

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("warnings")
        data.pop("damaged")
        return data


def from_dict(data: dict[str, Any]) -> Settings:
    """Settings from a parsed file; unknown keys are ignored and bad values fall back to their defaults, each
    with a warning that says which."""
    defaults = Settings()
    values: dict[str, Any] = {}
    warnings: list[str] = []
    for f in fields(Settings):
        if f.name in ("warnings", "damaged", "version") or f.name not in data:
            continue
        default = getattr(defaults, f.name)
        value = data[f.name]
        ok, value = _coerce(f.name, value, default)
        if ok:
            values[f.name] = value
        else:
            warnings.append(f"setting {f.name!r} had an unusable value {data[f.name]!r}; using {default!r}")
    settings = Settings(**values)
    actions, problems = load_actions(settings.quick_actions)
    if problems:
        settings.quick_actions = [action.to_dict() for action in actions]
        warnings.extend(problems)
    settings.warnings = warnings
    return settings


def _coerce(name: str, value: Any, default: Any) -> tuple[bool, Any]:
    if isinstance(default, bool):
        return isinstance(value, bool), value
    if isinstance(default, (int, float)):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False, default
        if isinstance(default, int) and not float(value).is_integer():
            return False, default
        low, high = LIMITS.get(name, (float("-inf"), float("inf")))
        if not low <= value <= high:
            return False, default
        return True, type(default)(value)
    if isinstance(default, dict):
        ok = isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())
        return ok, dict(value) if ok else default
    if isinstance(default, list):
        ok = isinstance(value, list) and all(isinstance(item, dict) for item in value)
        return ok, [dict(item) for item in value] if ok else default
    if not isinstance(value, str):
        return False, default
    choices = {"backend": BACKENDS, "quantization": QUANTIZATIONS, "theme": THEMES}.get(name)
    if choices is not None and value not in choices:
        return False, default
    return True, value


def load(path: Path | None = None) -> Settings:
    """The saved settings, or the defaults when there is no file yet. A file that is not a JSON object in UTF-8
    is moved aside as ``settings.damaged-<time>.json`` (``damaged`` says so) and the defaults are used; a value of
    the wrong type or out of range falls back to its default on its own, with a warning."""
    path = Path(path) if path is not None else default_path()
    if path.parent.is_dir():
        private_files.private_folder(path.parent)  # read at every start: where an older version's open folder closes
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return Settings()
    except OSError as e:
        settings = Settings()
        settings.warnings.append(f"could not read {path} ({e.strerror or e}); using the defaults")
        return settings
    try:
        data = json.loads(raw.decode("utf-8"))
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
    except ValueError as e:  # UnicodeDecodeError and json's errors are ValueErrors
        settings = Settings()
        try:
            settings.damaged = set_aside(path, _short(e), "settings")
        except OSError as moving:
            settings.warnings.append(
                f"{path} is damaged ({_short(e)}) and could not be moved aside ({moving.strerror or moving}); "
                "using the defaults"
            )
        else:
            settings.warnings.append(settings.damaged.message)
        log.warning("%s", settings.warnings[-1])
        return settings
    version = data.get("version", 1)
    if isinstance(version, int) and version > VERSION:
        log.warning("settings file %s is from a newer version (%s); reading what this one knows", path, version)
    return from_dict(data)


def _short(error: ValueError) -> str:
    if isinstance(error, UnicodeDecodeError):
        return f"not UTF-8 text at byte {error.start}"
    return str(error)


def save(settings: Settings, path: Path | None = None) -> Path:
    """Writes atomically (a crash never leaves half a file)."""
    path = Path(path) if path is not None else default_path()
    private_files.private_folder(path.parent)
    data = settings.to_dict()
    data["version"] = VERSION
    fd, tmp = tempfile.mkstemp(prefix=".settings-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=2, sort_keys=True)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
