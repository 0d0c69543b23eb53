"""Which models a preset offers: the server's own list (GET /models) where it answers, the known vision models
of the Z.ai and BigModel clouds otherwise.

The clouds list every model they serve, most of them text-only, so for them the server's list is cut down to the
vision models (the known ones first, in the table's order); a self-hosted server serves what it was started
with, and its list is taken as it is. A preset without a table and without an answer offers nothing: its model
is whatever the person types, or the first the server lists when asked (``ApiBackend``).
"""

from __future__ import annotations

import json
import re

from app.core.backends.factory import BackendUnavailable

# The current GLM-V vision models on Z.ai and BigModel, newest first (../shared/reference/GLM.md).
CLOUD_VISION_MODELS = ("glm-4.6v", "glm-4.6v-flash", "glm-4.6v-flashx", "glm-5v-turbo", "glm-4.5v")
VISION_MODELS: dict[str, tuple[str, ...]] = {"zai": CLOUD_VISION_MODELS, "bigmodel": CLOUD_VISION_MODELS}
# GLM's vision models are named glm-<version>v[-<variant>] (glm-4.6v-flash, glm-5v-turbo, glm-4v-plus-0111).
_VISION_NAME = re.compile(r"glm-\d+(\.\d+)?v(-[a-z0-9.]+)*")


def is_vision_model(name: str) -> bool:
    return _VISION_NAME.fullmatch(name.strip().lower()) is not None


def offered_models(preset: str, listed: list[str] | None) -> list[str]:
    """The models to offer for ``preset``: ``listed`` is what the server answered at /models (None when it did
    not answer, or was not asked)."""
    table = VISION_MODELS.get(preset, ())
    if listed is None:
        return list(table)
    if not table:
        return list(dict.fromkeys(listed))
    vision = [m for m in dict.fromkeys(listed) if is_vision_model(m)]
    if not vision:
        return list(table)
    known = [m for m in table if m in vision]
    return known + [m for m in vision if m not in known]


def list_models(base_url: str, api_key: str | None, timeout: float = 10.0) -> list[str]:
    """The model ids the server lists at GET /models (empty when it answers with no list it can read);
    ``BackendUnavailable`` says what went wrong and what to do when it cannot be asked."""
    import httpx

    from app.core.backends.api import MAX_BODY_BYTES, read_capped

    url = base_url.rstrip("/") + "/models"
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    try:
        with httpx.stream("GET", url, headers=headers, timeout=timeout) as response:
            raw, _ = read_capped(response, MAX_BODY_BYTES)
    except httpx.TransportError as e:
        raise BackendUnavailable(f"Cannot reach {base_url}: {e}. Check the address and your network.") from e
    if response.status_code in (401, 403):
        raise BackendUnavailable(f"The server refused the API key (HTTP {response.status_code}). Check the key.")
    if response.status_code == 404:
        raise BackendUnavailable(
            f"{url} was not found (HTTP 404). The server answered, but the base URL may be missing /v1."
        )
    if response.status_code >= 400:
        said = raw[:200].decode("utf-8", "replace")
        raise BackendUnavailable(f"The server answered HTTP {response.status_code}: {said}")
    try:
        return [str(m["id"]) for m in json.loads(raw).get("data", [])]
    except (ValueError, KeyError, TypeError, AttributeError):
        return []
