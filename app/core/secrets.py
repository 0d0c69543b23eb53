"""Where API keys come from: an environment variable, else the OS keyring entry the app saved.

A key is never taken from a command-line value (it would land in shell history and `ps`), never written to the
settings file or the history database, and never put into a message or log line. ``keyring`` is imported on
first use: probing the OS backends costs time that `glmv inspect` and app start-up need not pay.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from app.core.backends.dialects import get_preset, host_of
from app.core.errors import AppError

SERVICE = "glmv-desktop"
DEFAULT_ENV = "GLMV_API_KEY"


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
    from app.core.logs import remember_secret

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
