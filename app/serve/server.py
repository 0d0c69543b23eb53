"""The API on a socket, with uvicorn: in the foreground (`glmv serve`) or on a thread (the window shares its model).

The socket is bound here rather than by uvicorn, so a port in use or a host that is not this machine's is an
error with a message (uvicorn logs it and exits the process), and port 0 takes any free port (tests). A server on
an address other than loopback without an API key is refused before anything is bound: everyone who can reach the
machine could use the model and send it anything.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
from dataclasses import dataclass

from app.core.errors import AppError
from app.serve.service import Service, is_loopback

log = logging.getLogger(__name__)
GRACEFUL_SHUTDOWN_S = 5


class ServeError(AppError):
    """The server cannot start; the message says why and what to do."""


@dataclass(frozen=True)
class Address:
    host: str
    port: int

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/v1"


def check_exposure(host: str, has_key: bool) -> None:
    if not is_loopback(host) and not has_key:
        raise ServeError(
            f"refusing to listen on {host} without an API key: anyone who can reach this machine could use the "
            "model and send it anything. Set a key in an environment variable and name it, e.g. "
            f"GLMV_SERVE_KEY=$(openssl rand -hex 16) glmv serve --host {host} --api-key-env GLMV_SERVE_KEY, "
            "or keep the default --host 127.0.0.1"
        )


def bind(host: str, port: int) -> socket.socket:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as e:
        raise ServeError(f"cannot listen on {host}: {e.strerror or e}; give an address of this machine") from None
    family, _, _, _, address = infos[0]
    try:
        sock = socket.create_server(address[:2] if family == socket.AF_INET else address, family=family)
    except OSError as e:
        what = e.strerror or str(e)
        hint = " (another server has it: pick another --port)" if e.errno in (98, 48, 10048) else ""
        raise ServeError(f"cannot listen on {host}:{port}: {what}{hint}") from None
    sock.set_inheritable(True)
    return sock


class LocalServer:
    """``service``'s API on ``host:port``. ``run`` blocks (and stops on Ctrl+C); ``start``/``stop`` run it on a
    thread. Stopping closes the service's line (waiting and running requests are cancelled), not the engine."""

    def __init__(self, service: Service, host: str = "127.0.0.1", port: int = 8000) -> None:
        import uvicorn

        from app.serve.app import create_app

        check_exposure(host, bool(service.options.api_key))
        service.loopback_only = is_loopback(host) and not service.options.api_key
        self.service = service
        self.socket = bind(host, port)
        bound = self.socket.getsockname()
        self.address = Address(host, int(bound[1]))
        config = uvicorn.Config(
            create_app(service),
            log_config=None,
            lifespan="off",
            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
        )
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return self.address.url

    @property
    def started(self) -> bool:
        return bool(self._server.started)

    def run(self) -> None:
        try:
            asyncio.run(self._server.serve(sockets=[self.socket]))
        finally:
            self._close()

    def start(self, timeout: float = 10.0) -> None:
        self._thread = threading.Thread(target=self.run, name="glmv-serve", daemon=True)
        self._thread.start()
        ready = threading.Event()

        def wait() -> bool:
            for _ in range(int(timeout / 0.02)):
                if self._server.started or not self._thread or not self._thread.is_alive():
                    return bool(self._server.started)
                ready.wait(0.02)
            return bool(self._server.started)

        if not wait():
            self.stop()
            raise ServeError(f"the server on {self.address.host}:{self.address.port} did not start")

    def request_stop(self) -> None:
        """Ask the server to finish (from any thread; ``run`` returns soon after)."""
        self._server.should_exit = True

    def stop(self, timeout: float = 10.0) -> None:
        self.request_stop()
        self.service.close()
        if self._thread is not None:
            self._thread.join(timeout)
        self._close()

    def _close(self) -> None:
        self.service.close()
        with contextlib.suppress(OSError):
            self.socket.close()
