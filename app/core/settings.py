"""The person's settings: one typed object, defaults in one place, a versioned JSON file in the config folder.

Secrets never go in this file. API keys live in the OS keyring (``app.core.secrets``); where no keyring backend
works, ``KeyVault`` keeps them in a file only the user can read and says so, so the settings dialog can tell the
person exactly where the key is.
"""

from __future__ import annotations

import json
import logging
import os
import stat
import tempfile
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from app.core import private_files
from app.core.backends.base import GenerationOptions
from app.core.damaged import SetAside, set_aside
from app.core.logs import remember_secret

log = logging.getLogger(__name__)

VERSION = 1
FILE_NAME = "settings.json"
KEYS_FILE_NAME = "api-keys.json"
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
    version: int = VERSION
    warnings: list[str] = field(default_factory=list, compare=False, repr=False)
    # The damaged file ``load`` moved aside instead of reading it, for the window to tell the person.
    damaged: SetAside | None = field(default=None, compare=False, repr=False)

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
    return from_dict(_migrate(data))


def _short(error: ValueError) -> str:
    if isinstance(error, UnicodeDecodeError):
        return f"not UTF-8 text at byte {error.start}"
    return str(error)


def _migrate(data: dict[str, Any]) -> dict[str, Any]:
    """Older layouts -> the current one. Version 1 is the first; later versions add their steps here."""
    return data


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


class KeyVault:
    """API keys per server: an environment variable or the OS keyring first (``app.core.secrets``); when no
    keyring works, a file readable only by this user, announced by ``where()`` in the settings dialog.

    Keys are filed per preset for its usual server and per host for custom servers (``secrets.account_name``).
    """

    def __init__(self, folder: Path | None = None, *, use_keyring: bool = True) -> None:
        self.folder = Path(folder) if folder is not None else config_folder()
        self.file = self.folder / KEYS_FILE_NAME
        self.use_keyring = use_keyring
        self.keyring_problem: str | None = None if use_keyring else "the keyring is turned off"

    def get(self, preset: str, base_url: str | None = None) -> str | None:
        account = _account(preset, base_url)
        if self.use_keyring:
            found = _secrets().find_api_key(preset, base_url)
            if found is not None:
                return found.value
        key = self._read_file().get(account) or None
        remember_secret(key)
        return key

    def set(self, preset: str, key: str, base_url: str | None = None) -> str:
        """Saves ``key`` and returns where it went, in words."""
        key = key.strip()
        remember_secret(key)
        account = _account(preset, base_url)
        if not key:
            self.delete(preset, base_url)
            return "removed"
        if self.use_keyring:
            try:
                _secrets().set_api_key(account, key)
            except _secrets().KeyringUnavailable as e:
                self._keyring_failed(e)
            else:
                self._remove_from_file(account)
                return "the system keyring"
        keys = self._read_file()
        keys[account] = key
        self._write_file(keys)
        return str(self.file)

    def delete(self, preset: str, base_url: str | None = None) -> None:
        account = _account(preset, base_url)
        if self.use_keyring:
            try:
                _secrets().delete_api_key(account)
            except _secrets().KeyringUnavailable as e:
                self._keyring_failed(e)
        self._remove_from_file(account)

    def where(self, preset: str, base_url: str | None = None) -> str:
        """Where the key for this server is (or would be) kept, in a sentence."""
        env = _secrets().DEFAULT_ENV
        if self.use_keyring and os.environ.get(env, "").strip():
            return f"Taken from the {env} environment variable, which wins over a saved key."
        if _account(preset, base_url) in self._read_file():
            return f"Saved in {self.file}, readable only by you, because no system keyring works here."
        if not self.use_keyring or not _secrets().keyring_available():
            return f"No system keyring works here; a key you enter is saved in {self.file}, readable only by you."
        return "Saved in the system keyring."

    def _keyring_failed(self, error: Exception) -> None:
        self.keyring_problem = str(error) or type(error).__name__
        log.info("keyring unavailable, using %s: %s", self.file, self.keyring_problem)

    def _read_file(self) -> dict[str, str]:
        try:
            data = json.loads(self.file.read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            return {}
        if not isinstance(data, dict):
            return {}
        return {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, str)}

    def _remove_from_file(self, account: str) -> None:
        keys = self._read_file()
        if keys.pop(account, None) is not None:
            self._write_file(keys)

    def _write_file(self, keys: dict[str, str]) -> None:
        private_files.private_folder(self.folder)
        tmp = self.file.with_name(self.file.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, stat.S_IRUSR | stat.S_IWUSR)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(keys, f, indent=2)
        os.chmod(tmp, stat.S_IRUSR | stat.S_IWUSR)
        os.replace(tmp, self.file)


def _account(preset: str, base_url: str | None) -> str:
    try:
        return _secrets().account_name(preset, base_url or None)
    except ValueError:
        return preset


def _secrets() -> Any:
    from app.core import secrets

    return secrets
