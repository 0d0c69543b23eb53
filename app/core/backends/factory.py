"""The backend the settings ask for: made from them, kept across a change that does not touch it, and checked.

The local backend (torch, transformers) is imported only when chosen: start-up with an API backend never pays
for it.
"""

from __future__ import annotations

from typing import TypeGuard

from app.core.backends.base import Backend, InProcessBackend
from app.core.errors import AppError
from app.core.events import FailureKind
from app.core.logs import redact
from app.core.media import MediaTarget
from app.core.secrets import KeyVault
from app.core.settings import Settings


class BackendUnavailable(AppError):
    """The chosen backend cannot be made; the message says why and what to do."""

    kind: FailureKind = "model"


def make_backend(settings: Settings, vault: KeyVault) -> Backend:
    if settings.backend == "local":
        try:
            from app.core.backends.local import LocalBackend
        except ImportError as e:
            raise BackendUnavailable(
                f"The local backend cannot start ({e}). Install the local extras "
                "(pip install 'glmv-desktop[local]') or pick an API backend in Settings."
            ) from e
        model, quantization = local_model(settings)
        return LocalBackend(model, quantization=quantization)
    from app.core.backends.api import ApiBackend
    from app.core.backends.dialects import UnknownPreset

    base_url = settings.base_url or None
    try:
        return ApiBackend(
            settings.preset,
            base_url=base_url,
            model=settings.model or None,
            api_key=vault.get(settings.preset, base_url),
            read_timeout=float(settings.answer_timeout),
        )
    except UnknownPreset as e:
        raise BackendUnavailable(f"{e}. Pick a server in Settings.") from e


def local_model(settings: Settings) -> tuple[str, str | None]:
    """The model (folder or Hub id) and quantization the local backend is made with."""
    quantization = None if settings.quantization == "none" else settings.quantization
    return settings.local_folder or settings.local_model, quantization


def is_local(backend: Backend | None) -> TypeGuard[InProcessBackend]:
    return isinstance(backend, InProcessBackend) and backend.name == "local"


def same_local(backend: Backend | None, settings: Settings) -> bool:
    """Whether ``backend`` is already the local model these settings ask for: a loaded model (gigabytes on the
    GPU) is kept across a settings change that does not touch it."""
    if settings.backend != "local" or not is_local(backend):
        return False
    model, quantization = local_model(settings)
    return backend.model == model and backend.engine.settings.quantization == quantization


def media_target(backend: Backend | None) -> MediaTarget:
    """What attachments are prepared for: the backend's limits, or the defaults while there is none."""
    return backend.media_target if backend is not None else MediaTarget()


def needs_key_but_has_none(settings: Settings, vault: KeyVault) -> str | None:
    """A sentence for the empty window when the chosen cloud needs a key that is not there."""
    if settings.backend != "api":
        return None
    from app.core.backends.dialects import PRESETS

    preset = PRESETS.get(settings.preset)
    if preset is None or not preset.needs_key or vault.get(settings.preset, settings.base_url or None):
        return None
    return f"No API key for {preset.label} yet: open Settings (Ctrl+,) and paste your key."


def check_connection(base_url: str, api_key: str | None, timeout: float = 10.0) -> str:
    """Asks the server for its models (GET /models). Returns a sentence on success; raises
    ``BackendUnavailable`` with what went wrong and what to do."""
    try:
        return _check_connection(base_url, api_key, timeout)
    except BackendUnavailable as e:
        # A server may echo the key in what it says, and this sentence is shown in the dialog.
        raise BackendUnavailable(redact(str(e), [api_key or ""])) from None


def _check_connection(base_url: str, api_key: str | None, timeout: float) -> str:
    from app.core.backends.models import list_models

    models = list_models(base_url, api_key, timeout)
    if not models:
        return "Connected. The server did not list its models."
    shown = ", ".join(models[:4]) + (f" and {len(models) - 4} more" if len(models) > 4 else "")
    return f"Connected: {shown}."
