"""A real OpenAI-compatible HTTP server on 127.0.0.1 for tests: streams each dialect and injects faults.

It is a real socket server (stdlib ``ThreadingHTTPServer``, chunked HTTP/1.1, SSE), so the client code under
test runs exactly as against vLLM or Z.ai. Each test scripts the replies and then asserts on the requests
the server recorded.

    from tests.support.openai_server import dialect_stream

    def test_x(openai_server):  # the fixture (tests/conftest.py): a started server, stopped after the test
        openai_server.enqueue(dialect_stream("vllm", reasoning="hm", answer="Paris"))
        ... point a client at openai_server.url ...
        assert openai_server.last.body["model"] == "glm-4.6v"

Replies are taken in order, one per chat request; when the queue is empty ``default`` answers.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Literal

USAGE = {
    "prompt_tokens": 25,
    "completion_tokens": 12,
    "total_tokens": 37,
    "completion_tokens_details": {"reasoning_tokens": 5},
}

Style = Literal["zai", "bigmodel", "vllm", "sglang", "llamacpp", "openai"]


@dataclass
class Recorded:
    """One request as the server saw it. ``headers`` keys are lower-case."""

    method: str
    path: str
    headers: dict[str, str]
    body: dict | None
    raw: bytes


@dataclass
class Stream:
    """An SSE answer. ``events``: dicts are sent as ``data: {json}``, str/bytes are written verbatim.

    ``ending``: "close" sends ``data: [DONE]`` (when ``done``) and ends the chunked body properly; "drop" cuts
    the TCP connection without ending the body; "stall" keeps the connection open and silent until
    ``release()`` or ``stop()``. ``delay`` sleeps between events.
    """

    events: list[dict | str | bytes]
    done: bool = True
    ending: Literal["close", "drop", "stall"] = "close"
    delay: float = 0.0
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class RawStream:
    """A pre-encoded SSE body written in large pieces: the server costs nothing while a benchmark measures."""

    body: bytes
    piece: int = 65536


@dataclass
class JsonReply:
    """A plain JSON answer: errors, or a non-streamed completion."""

    status: int
    body: dict | str
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class HangUp:
    """Read the request, then close the connection without sending a single byte back."""


@dataclass
class Silent:
    """Read the request and send nothing at all (not even headers) until ``release()``, then hang up."""


@dataclass
class Lazy:
    """``head``, then ``size`` bytes of ``fill`` made piece by piece as they are written, never held whole: a
    1 GB web page or a 500 MB SSE line costs the server 64 KB. ``content_type`` None sends no Content-Type;
    ``sent`` counts the bytes written before the client hung up (or all of them)."""

    size: int
    content_type: str | None = "text/html"
    status: int = 200
    head: bytes = b""
    fill: bytes = b"x"
    headers: dict[str, str] = field(default_factory=dict)
    piece: int = 65536
    sent: int = 0

    def pieces(self) -> Iterator[bytes]:
        if self.head:
            yield self.head
        block = (self.fill * (self.piece // len(self.fill) + 1))[: self.piece]
        left = self.size
        while left > 0:
            yield block[:left] if left < len(block) else block
            left -= len(block)


Reply = Stream | RawStream | JsonReply | HangUp | Silent | Lazy


def split(text: str, piece: int) -> list[str]:
    return [text[i : i + piece] for i in range(0, len(text), piece)] if text else []


def dialect_chunks(
    style: Style,
    reasoning: str = "",
    answer: str = "",
    *,
    model: str = "glm-4.6v",
    finish_reason: str = "stop",
    usage: dict | None = None,
    piece: int = 3,
) -> list[dict]:
    """Chunks the way each server streams: Z.ai/BigModel/SGLang put reasoning in ``reasoning_content``, vLLM in
    ``reasoning``, llama.cpp (reasoning-format none) inline as ``<think>..</think>`` in ``content``. Z.ai sends
    usage with the finish chunk; the open servers send it in a last chunk with no choices."""
    usage = USAGE if usage is None else usage
    created = int(time.time())

    def chunk(delta: dict, finish: str | None = None) -> dict:
        return {
            "id": "chatcmpl-test",
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }

    chunks = [chunk({"role": "assistant", "content": ""})]
    if style == "llamacpp":
        text = (f"<think>{reasoning}</think>" if reasoning else "") + answer
        chunks += [chunk({"content": p}) for p in split(text, piece)]
    else:
        field_name = "reasoning" if style == "vllm" else "reasoning_content"
        chunks += [chunk({field_name: p}) for p in split(reasoning, piece)]
        chunks += [chunk({"content": p}) for p in split(answer, piece)]
    last = chunk({}, finish_reason)
    if style in ("zai", "bigmodel"):
        last["usage"] = usage
        chunks.append(last)
    else:
        chunks.append(last)
        if usage:
            tail = chunk({})
            tail["choices"] = []
            tail["usage"] = usage
            chunks.append(tail)
    return chunks


def dialect_stream(style: Style, reasoning: str = "", answer: str = "", **kwargs) -> Stream:
    stream_kwargs = {k: kwargs.pop(k) for k in ("done", "ending", "delay") if k in kwargs}
    return Stream(dialect_chunks(style, reasoning, answer, **kwargs), **stream_kwargs)


def error_reply(status: int, message: str, code: str | None = None, retry_after: str | None = None) -> JsonReply:
    """Z.ai's error shape: ``{"error": {"code": "1113", "message": ...}}``."""
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    return JsonReply(status, {"error": {"code": code or str(status), "message": message}}, headers)


# A configured key with no key-looking shape: only the masking of the configured key itself can catch it.
ECHOED_KEY = "glmv-test-KEY-0123456789abcdef"


def key_echoes() -> list[Reply]:
    """Servers that write the key back: a 401, a 400 and an error inside the stream after some answer."""
    key = ECHOED_KEY
    return [
        error_reply(401, f"Incorrect API key provided: {key}. Find your key in the console."),
        error_reply(400, f"request from {key} is malformed"),
        Stream([*dialect_chunks("vllm", "", "part")[:-2], {"error": {"message": f"quota used up for {key}"}}]),
    ]


def vllm_error(status: int, message: str) -> JsonReply:
    """vLLM's flat error shape."""
    return JsonReply(status, {"object": "error", "message": message, "type": "BadRequestError", "code": status})


def closed_port_url() -> str:
    """A base URL where nothing listens: connections are refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


class OpenAIServer:
    """The server. ``url`` is the vLLM-style base (``/v1``); ``zai_url`` the Z.ai-style one (``/api/paas/v4``)."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.models: list[str] = ["glm-4.6v"]
        self.models_reply: JsonReply | Lazy | None = None  # answers GET /models instead of ``models`` when set
        self.default: Reply = dialect_stream("vllm", reasoning="Let me look.", answer="Hello!")
        self._queue: list[Reply] = []
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------------------------

    def start(self) -> OpenAIServer:
        httpd = _Server(("127.0.0.1", 0), _Handler)
        httpd.owner = self
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, name="openai-test-server", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._release.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> OpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._httpd is not None, "server not started"
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def zai_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/paas/v4"

    # -- scripting -------------------------------------------------------------------------------------------

    def enqueue(self, *replies: Reply) -> None:
        with self._lock:
            self._queue.extend(replies)

    def release(self) -> None:
        """Let stalled streams end (they drop the connection)."""
        self._release.set()

    @property
    def chat_requests(self) -> list[Recorded]:
        return [r for r in self.requests if r.path.endswith("/chat/completions")]

    @property
    def last(self) -> Recorded:
        return self.chat_requests[-1]

    def wait_for_requests(self, count: int, timeout: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.chat_requests) >= count:
                return True
            time.sleep(0.01)
        return False

    def _next_reply(self) -> Reply:
        with self._lock:
            return self._queue.pop(0) if self._queue else self.default


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    owner: OpenAIServer

    def handle_error(self, request, client_address) -> None:
        # Clients hanging up mid-stream is what half the tests do; that is not a server error.
        pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        pass

    @property
    def owner(self) -> OpenAIServer:
        return self.server.owner

    def _record(self) -> Recorded:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        headers = {k.lower(): v for k, v in self.headers.items()}
        recorded = Recorded(self.command, self.path, headers, body, raw)
        self.owner.requests.append(recorded)
        return recorded

    def do_GET(self) -> None:
        self._record()
        if self.path.rstrip("/").endswith("/models") and self.owner.models_reply is not None:
            reply = self.owner.models_reply
            self._lazy(reply) if isinstance(reply, Lazy) else self._json(reply)
        elif self.path.rstrip("/").endswith("/models"):
            data = [{"id": m, "object": "model", "owned_by": "test"} for m in self.owner.models]
            self._json(JsonReply(200, {"object": "list", "data": data}))
        else:
            self._json(JsonReply(404, {"detail": "Not Found"}))

    def do_POST(self) -> None:
        self._record()
        if not (self.path.startswith(("/v1/", "/api/paas/v4/")) and self.path.endswith("/chat/completions")):
            self._json(JsonReply(404, {"detail": "Not Found"}))
            return
        reply = self.owner._next_reply()
        if isinstance(reply, (HangUp, Silent)):
            if isinstance(reply, Silent):
                self.owner._release.wait(60)
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
        elif isinstance(reply, JsonReply):
            self._json(reply)
        elif isinstance(reply, Lazy):
            self._lazy(reply)
        elif isinstance(reply, RawStream):
            self._start_stream(200, {})
            for i in range(0, len(reply.body), reply.piece):
                self._chunk(reply.body[i : i + reply.piece])
            self._chunk(b"")
        else:
            self._stream(reply)

    def _json(self, reply: JsonReply) -> None:
        data = (reply.body if isinstance(reply.body, str) else json.dumps(reply.body)).encode()
        self.send_response(reply.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _lazy(self, reply: Lazy) -> None:
        self.send_response(reply.status)
        if reply.content_type is not None:
            self.send_header("Content-Type", reply.content_type)
        self.send_header("Transfer-Encoding", "chunked")
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        for data in reply.pieces():
            self._chunk(data)
            reply.sent += len(data)
        self._chunk(b"")

    def _start_stream(self, status: int, headers: dict[str, str]) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    def _stream(self, reply: Stream) -> None:
        self._start_stream(reply.status, reply.headers)
        for event in reply.events:
            if isinstance(event, dict):
                data = b"data: " + json.dumps(event, ensure_ascii=False).encode() + b"\n\n"
            else:
                data = event.encode() if isinstance(event, str) else event
            self._chunk(data)
            if reply.delay:
                time.sleep(reply.delay)
        if reply.ending == "stall":
            self.owner._release.wait(60)
        if reply.ending in ("drop", "stall"):
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if reply.done:
            self._chunk(b"data: [DONE]\n\n")
        self._chunk(b"")
