"""The window's loaded model shared on 127.0.0.1:PORT, so other tools use the one copy in GPU memory.

The window keeps owning the engine: it loads it (requests get 503 until then) and unloads it; sharing only
puts a server in front of it and takes it away again. Its own questions go to the engine directly and take
turns with the server's requests.
"""

from __future__ import annotations

from app.serve.server import LocalServer
from app.serve.service import ServeOptions, Service
from glmv_local.engine import Engine

SHARE_HOST = "127.0.0.1"


class SharedModel:
    def __init__(self, engine: Engine, port: int, model_name: str) -> None:
        """Starts serving at once; ``ServeError`` when the port cannot be had."""
        self.engine = engine
        self.port = port
        self.service = Service(engine, ServeOptions(model_name=model_name))
        self.server = LocalServer(self.service, SHARE_HOST, port)
        self.server.start()

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def waiting(self) -> int:
        return self.service.queue.waiting

    @property
    def answering(self) -> bool:
        return self.service.queue.running

    def status(self) -> str:
        """What the status bar says: 'Shared on 127.0.0.1:8000 · answering · 2 waiting'."""
        text = f"Shared on {SHARE_HOST}:{self.server.address.port}"
        if self.answering:
            text += " · answering"
        if self.waiting:
            text += f" · {self.waiting} waiting"
        return text

    def stop(self) -> None:
        """Stop serving (the server's requests are cancelled); the engine stays loaded."""
        self.server.stop()
