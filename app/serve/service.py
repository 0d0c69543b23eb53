"""What a server runs on: one engine, its request line, the key and the limits.

``glmv serve`` makes its own engine and loads it in the background (requests get 503 until it is ready); the
window's "share" setting hands over the engine it has loaded. Either way the server never loads or unloads a
model by itself once it runs: that is its owner's to do.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.core.media import MediaTarget
from app.serve import DEFAULT_MAX_QUEUE, DEFAULT_MAX_REQUEST_MB
from app.serve.errors import ApiError, bad_request
from app.serve.protocol import MediaRef
from app.serve.queue import EngineQueue
from glmv_local.engine import Engine

log = logging.getLogger(__name__)
MB = 1024 * 1024
# Without max_tokens an answer stops here (the app's local backend uses the same), within the context.
DEFAULT_MAX_TOKENS = 8192
LOOPBACK_NAMES = ("localhost", "localhost.", "ip6-localhost")
REMOTE_TIMEOUT_S = 30.0
MAX_REDIRECTS = 3


def model_name_of(model: str) -> str:
    """The id a Hub model goes by, or a folder's name (not its full path: clients need not see the disk)."""
    path = Path(model).expanduser()
    return path.name if path.is_dir() else model


def is_loopback(host: str) -> bool:
    host = host.strip().strip("[]").lower()
    if host in LOOPBACK_NAMES or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class ServeOptions:
    """``model_name`` is the id ``/v1/models`` lists and responses carry. ``api_key`` None: no key asked (only
    on a loopback address: ``server.LocalServer`` refuses anything else). ``max_queue`` None: no bound."""

    model_name: str
    api_key: str | None = None
    max_queue: int | None = DEFAULT_MAX_QUEUE
    max_request_bytes: int = DEFAULT_MAX_REQUEST_MB * MB
    allow_remote_images: bool = False
    default_max_tokens: int = DEFAULT_MAX_TOKENS


class Service:
    def __init__(self, engine: Engine, options: ServeOptions) -> None:
        self.engine = engine
        self.options = options
        self.queue = EngineQueue(engine, options.max_queue)
        self.load_error: str | None = None
        self.loopback_only = False  # set by the server: bound to loopback with no key, check Host headers

    @property
    def state(self) -> str:
        if self.engine.is_loaded:
            return "ready"
        return "failed" if self.load_error else "loading"

    def load_in_background(self, on_failure: Callable[[str], None], on_ready: Callable[[], None]) -> threading.Thread:
        """Load the engine's model on a thread, logging its progress; the server answers 503 meanwhile."""

        def progress(p: Any) -> None:
            message = str(getattr(p, "message", "") or "")
            if message:
                log.info("loading: %s", message)

        def load() -> None:
            try:
                self.engine.load(progress)
            except Exception as e:
                self.load_error = str(e) or type(e).__name__
                if not hasattr(e, "kind"):
                    log.exception("loading the model failed")
                on_failure(self.load_error)
                return
            on_ready()

        thread = threading.Thread(target=load, name="glmv-serve-load", daemon=True)
        thread.start()
        return thread

    def close(self) -> None:
        self.queue.close()

    # Checks every request goes through

    def check_host(self, host_header: str) -> None:
        """Bound to loopback without a key, only requests addressed to loopback are answered: a web page can
        otherwise point a name of its own at 127.0.0.1 (DNS rebinding) and use the model from the browser."""
        if not self.loopback_only:
            return
        host = host_header.strip()
        if host.startswith("["):
            host = host[1:].partition("]")[0]
        elif host.count(":") == 1:
            host = host.partition(":")[0]
        if not is_loopback(host):
            raise ApiError(
                400,
                f"this server answers requests to 127.0.0.1 or localhost only, not to {host_header!r} (start it "
                "with --api-key-env to accept other names)",
                code="invalid_host",
            )

    def authorize(self, authorization: str | None) -> None:
        key = self.options.api_key
        if not key:
            return
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), key.encode()):
            what = "no API key was sent" if not authorization else "the API key is not this server's"
            raise ApiError(
                401,
                f"Unauthorized: {what}. Send the key the server was started with as 'Authorization: Bearer KEY' "
                "(the api_key of an OpenAI client).",
                code="invalid_api_key",
            )

    def require_ready(self) -> None:
        state = self.state
        if state == "loading":
            raise ApiError(
                503,
                "the model is still loading; try again in a few seconds (GET /health says when it is ready)",
                code="model_loading",
                headers={"Retry-After": "5"},
            )
        if state == "failed":
            raise ApiError(503, f"the model could not be loaded: {self.load_error}", code="model_unavailable")

    # What the loaded model takes

    def media_target(self) -> MediaTarget:
        from glmv_local.processor import pixel_budget

        low, high = pixel_budget(self.engine.processor)
        return MediaTarget(min_pixels=low, max_pixels=high, context_tokens=self.engine.settings.context_tokens)

    def supports_video(self) -> bool:
        return self.engine.supports_video

    def fetch(self, ref: MediaRef) -> tuple[bytes, str | None]:
        """A remote image or video (``--allow-remote-images`` only), within the request size limit."""
        import httpx

        limit = self.options.max_request_bytes
        try:
            with (
                httpx.Client(timeout=REMOTE_TIMEOUT_S, follow_redirects=True, max_redirects=MAX_REDIRECTS) as client,
                client.stream("GET", ref.url) as response,
            ):
                if response.status_code != 200:
                    raise bad_request(
                        f"{ref.where}: fetching the {ref.kind} gave HTTP {response.status_code}", ref.where
                    )
                data = bytearray()
                for chunk in response.iter_bytes():
                    data += chunk
                    if len(data) > limit:
                        raise ApiError(
                            413,
                            f"{ref.where}: the {ref.kind} at that URL is over {limit // MB} MB",
                            code="request_too_large",
                        )
                mime = response.headers.get("content-type", "").split(";")[0].strip().lower() or None
        except httpx.HTTPError as e:
            raise bad_request(
                f"{ref.where}: the {ref.kind} could not be fetched ({type(e).__name__})", ref.where
            ) from e
        return bytes(data), mime
