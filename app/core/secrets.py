"""Where API keys come from: an environment variable, else the OS keyring entry the app saved, else (where no
keyring works) the key vault's own file.

A key is never taken from a command-line value (it would land in shell history and `ps`), never written to the
settings file or the history database, and never put into a message or log line. ``keyring`` is imported on
first use: probing the OS backends costs time that `glmv inspect` and app start-up need not pay.
"""

from __future__ import annotations

import json
import logging
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from app.core import private_files
from app.core.backends.dialects import get_preset, host_of
from app.core.errors import AppError
from app.core.logs import remember_secret

log = logging.getLogger(__name__)

SERVICE = "glmv-desktop"
DEFAULT_ENV = "GLMV_API_KEY"
KEYS_FILE_NAME = "api-keys.json"


class KeyringUnavailable(AppError):
    """No working OS keyring (a headless session, no Secret Service). The message says what to do instead."""

    kind = "auth"


@dataclass(frozen=True)
class FoundKey:
    """A key and where it came from (``env:NAME`` or ``keyring``), so messages can name the source."""

    value: str
    source: str

    def __repr__(self) -> str:
        return f"FoundKey(source={self.source!r})"


def account_name(preset: str, base_url: str | None = None) -> str:
    """The keyring username a key is filed under: the preset's name for its usual server, else the host.

    Two custom servers on different hosts thus keep different keys, while Z.ai and BigModel (whose keys are
    region-specific) never share one.
    """
    default = get_preset(preset).base_url
    if not base_url or base_url.rstrip("/") == default.rstrip("/"):
        return preset
    return host_of(base_url)


def find_api_key(preset: str, base_url: str | None = None, env_var: str | None = None) -> FoundKey | None:
    """The key to use: ``env_var`` when named and set, else ``GLMV_API_KEY``, else the keyring entry."""
    for name in (env_var, DEFAULT_ENV):
        if name:
            value = os.environ.get(name, "").strip()
            if value:
                remember_secret(value)
                return FoundKey(value, f"env:{name}")
    saved = get_api_key(account_name(preset, base_url))
    remember_secret(saved)
    return FoundKey(saved, "keyring") if saved else None


def get_api_key(account: str) -> str | None:
    """The saved key for ``account``, or None when there is none or no keyring works here."""
    backend = keyring_backend()
    if backend is None:
        return None
    try:
        value = backend.get_password(SERVICE, account)
    except Exception:
        # A locked or broken keyring is the same to the caller as an empty one: ask for a key.
        return None
    return value or None


def set_api_key(account: str, value: str) -> None:
    backend = _require_backend()
    try:
        backend.set_password(SERVICE, account, value)
    except Exception as e:
        raise KeyringUnavailable(
            f"the OS keyring refused to save the key ({type(e).__name__})",
            f"unlock the keyring, or set the {DEFAULT_ENV} environment variable instead",
        ) from None


def delete_api_key(account: str) -> bool:
    """Forget the saved key; False when there was none."""
    backend = _require_backend()
    from keyring.errors import PasswordDeleteError

    try:
        backend.delete_password(SERVICE, account)
    except PasswordDeleteError:
        return False
    except Exception as e:
        raise KeyringUnavailable(
            f"the OS keyring refused to delete the key ({type(e).__name__})", "unlock the keyring and try again"
        ) from None
    return True


def keyring_available() -> bool:
    return keyring_backend() is not None


def keyring_backend():
    """The OS keyring backend, or None when only keyring's "fail" backend (or none at all) is available."""
    try:
        import keyring
        from keyring.backends import fail
    except ImportError:
        return None
    try:
        backend = keyring.get_keyring()
    except Exception:
        return None
    if isinstance(backend, fail.Keyring) or getattr(backend, "priority", 1) <= 0:
        return None
    return backend


def _require_backend():
    backend = keyring_backend()
    if backend is None:
        raise KeyringUnavailable(
            "no OS keyring is available in this session (no Secret Service, Keychain or Credential Locker was "
            "found), so no key can be kept there",
            f"set the {DEFAULT_ENV} environment variable instead",
        )
    return backend


class KeyVault:
    """API keys per server: an environment variable or the OS keyring first; when no keyring works, a file
    readable only by this user, announced by ``where()`` in the settings dialog, so the person knows exactly
    where the key is.

    Keys are filed per preset for its usual server and per host for custom servers (``account_name``).
    """

    def __init__(self, folder: Path | None = None, *, use_keyring: bool = True) -> None:
        if folder is None:
            from app.core.settings import config_folder  # settings re-exports this class: imported when used

            folder = config_folder()
        self.folder = Path(folder)
        self.file = self.folder / KEYS_FILE_NAME
        self.use_keyring = use_keyring
        self.keyring_problem: str | None = None if use_keyring else "the keyring is turned off"

    def get(self, preset: str, base_url: str | None = None) -> str | None:
        account = _account(preset, base_url)
        if self.use_keyring:
            found = find_api_key(preset, base_url)
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
                set_api_key(account, key)
            except KeyringUnavailable as e:
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
                delete_api_key(account)
            except KeyringUnavailable as e:
                self._keyring_failed(e)
        self._remove_from_file(account)

    def where(self, preset: str, base_url: str | None = None) -> str:
        """Where the key for this server is (or would be) kept, in a sentence."""
        env = DEFAULT_ENV
        if self.use_keyring and os.environ.get(env, "").strip():
            return f"Taken from the {env} environment variable, which wins over a saved key."
        if _account(preset, base_url) in self._read_file():
            return f"Saved in {self.file}, readable only by you, because no system keyring works here."
        if not self.use_keyring or not keyring_available():
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
        return account_name(preset, base_url or None)
    except ValueError:
        return preset
