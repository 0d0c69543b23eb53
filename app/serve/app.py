"""The HTTP API (Starlette): ``POST /v1/chat/completions``, ``GET /v1/models``, ``GET /health``.

A chat completion goes: key, size, JSON, fields (``protocol``), ready, media decoded on a worker thread
(``media``), a place in the engine's line (``queue``; 429 with Retry-After when it is full), then the job's
events to the client, as server-sent events or one JSON body (``completion``). The job's events come from the
engine thread through an ``Inbox`` and are sent in batches: whatever arrived while the last write was going out
goes in the next one. A client that goes away cancels its request at once: a streaming response listens for the
disconnect itself (``EventStream``) instead of waiting for the next write to fail, and a plain one watches for it
while the answer is generated.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from app.serve import media
from app.serve.completion import DONE, KEEPALIVE, Completion, sse
from app.serve.errors import ApiError, bad_request
from app.serve.protocol import ChatRequest, parse_chat_request
from app.serve.queue import NotLoaded, QueueClosed, QueueFull, Ticket
from app.serve.service import MB, Service
from glmv_local import jobs
from glmv_local.errors import GlmvLocalError, InputError, MissingDependency, OutOfMemory
from glmv_local.processor import VIDEO_NEEDS

log = logging.getLogger(__name__)
# A stream that has nothing to say for this long (waiting in line, compiling) sends an SSE comment, which
# clients ignore, so proxies and idle timeouts keep the connection.
KEEPALIVE_S = 10.0
# A body over the limit is read (and dropped) up to this much more, so the client gets its 413 instead of a
# connection reset in the middle of sending.
DRAIN_BYTES = 64 * MB


class Inbox:
    """Job events from the engine thread to the event loop, taken in batches."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._items: deque[jobs.JobEvent] = deque()
        self._lock = threading.Lock()
        self._armed = False
        self._ready = asyncio.Event()

    def put(self, event: jobs.JobEvent) -> None:
        with self._lock:
            self._items.append(event)
            wake, self._armed = self._armed, False
        if wake:
            with contextlib.suppress(RuntimeError):  # the loop has closed: nobody is listening any more
                self._loop.call_soon_threadsafe(self._ready.set)

    async def take(self, timeout: float | None) -> list[jobs.JobEvent]:
        """Everything that has arrived, waiting for at least one event up to ``timeout`` ([] when it passes).
        The timeout is a timer that sets the same event (``wait_for`` would make a task for every token)."""
        while True:
            with self._lock:
                if self._items:
                    items = list(self._items)
                    self._items.clear()
                    return items
                self._armed = True
                self._ready.clear()
            timer = None if timeout is None else self._loop.call_later(timeout, self._ready.set)
            await self._ready.wait()
            if timer is not None:
                timer.cancel()
            with self._lock:
                if not self._items and timer is not None and timer.when() <= self._loop.time():
                    self._armed = False
                    return []


class EventStream(StreamingResponse):
    """Server-sent events that call ``on_disconnect`` the moment the client goes away."""

    def __init__(self, chunks: AsyncIterator[bytes], on_disconnect: Callable[[], None]) -> None:
        super().__init__(
            chunks, media_type="text/event-stream", headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        )
        self._chunks = chunks
        self._on_disconnect = on_disconnect

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        sent = False
        async with anyio.create_task_group() as group:

            async def listen() -> None:
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        if not sent:
                            self._on_disconnect()
                        group.cancel_scope.cancel()
                        return

            group.start_soon(listen)
            try:
                await self.stream_response(send)
                sent = True
            except OSError:
                self._on_disconnect()
            finally:
                group.cancel_scope.cancel()


def create_app(service: Service) -> Starlette:
    async def health(request: Request) -> Response:
        service.check_host(request.headers.get("host", ""))
        state = service.state
        body: dict[str, Any] = {"status": "ok" if state == "ready" else state, "model": service.options.model_name}
        if state == "ready":
            body.update(waiting=service.queue.waiting, running=service.queue.running)
        elif state == "failed":
            body["error"] = service.load_error
        return JSONResponse(body, status_code=200 if state == "ready" else 503)

    async def models(request: Request) -> Response:
        _check(service, request)
        return JSONResponse({"object": "list", "data": [_model_card(service)]})

    async def model(request: Request) -> Response:
        _check(service, request)
        name = request.path_params["name"]
        if name != service.options.model_name:
            raise ApiError(404, f"no model {name!r} here; this server has {service.options.model_name!r}")
        return JSONResponse(_model_card(service))

    async def chat_completions(request: Request) -> Response:
        _check(service, request)
        body = await _read_json(request, service.options.max_request_bytes)
        chat = parse_chat_request(body)
        service.require_ready()
        return await _answer(service, request, chat)

    async def api_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code == 404:
            message = f"no such endpoint: {request.method} {request.url.path} (this server has /v1/chat/completions, "
            message += "/v1/models and /health)"
        else:
            message = f"{request.method} is not allowed on {request.url.path}"
        return JSONResponse(ApiError(exc.status_code, message).body(), status_code=exc.status_code)

    routes = [
        Route("/health", health, methods=["GET"]),
        Route("/v1/models", models, methods=["GET"]),
        Route("/v1/models/{name:path}", model, methods=["GET"]),
        Route("/v1/chat/completions", chat_completions, methods=["POST"]),
    ]
    return Starlette(routes=routes, exception_handlers={ApiError: api_error, HTTPException: http_error})


def _check(service: Service, request: Request) -> None:
    service.check_host(request.headers.get("host", ""))
    service.authorize(request.headers.get("authorization"))


def _model_card(service: Service) -> dict[str, Any]:
    return {"id": service.options.model_name, "object": "model", "created": 0, "owned_by": "glmv-desktop"}


async def _read_json(request: Request, limit: int) -> Any:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/json":
        # Also what keeps a web page from posting here: a JSON body makes the browser ask first (CORS).
        raise bad_request("send the body as JSON, with Content-Type: application/json")
    too_large = ApiError(
        413,
        f"the request is over this server's limit of {limit / MB:g} MB (--max-request-mb); send smaller images or "
        "fewer of them",
        code="request_too_large",
    )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + DRAIN_BYTES:
        raise too_large
    body = bytearray()
    over = False
    async for chunk in request.stream():
        if not over:
            body += chunk
            over = len(body) > limit
            if over:
                body = bytearray()
                drained = 0
        else:
            drained += len(chunk)
            if drained > DRAIN_BYTES:
                break
    if over or (declared.isdigit() and int(declared) > limit):
        raise too_large
    try:
        return json.loads(bytes(body))
    except (ValueError, RecursionError):
        raise bad_request("the body is not valid JSON") from None


async def _answer(service: Service, request: Request, chat: ChatRequest) -> Response:
    started = time.perf_counter()
    media.check_counts(chat, video=_video(service, chat), video_needs=VIDEO_NEEDS)
    resolve = functools.partial(
        media.resolve,
        chat,
        service.media_target(),
        fetch=service.fetch if service.options.allow_remote_images else None,
        limit=service.options.max_request_bytes,
    )
    resolved = await anyio.to_thread.run_sync(resolve)
    inbox = Inbox(asyncio.get_running_loop())
    work = jobs.Request(
        resolved.messages,
        thinking=chat.thinking,
        max_new_tokens=chat.max_tokens or service.options.default_max_tokens,
        temperature=chat.temperature,
        top_p=chat.top_p,
        top_k=chat.top_k,
        ignore_eos=chat.ignore_eos,
        seed=chat.seed,
    )
    try:
        ticket = service.queue.submit(work, inbox.put, on_end=resolved.cleanup)
    except QueueFull as e:
        resolved.cleanup()
        raise ApiError(
            429,
            f"the server is busy: {e.waiting} requests are waiting for the model already (--max-queue "
            f"{service.queue.max_waiting}); try again in {e.retry_after} s",
            code="queue_full",
            headers={"Retry-After": str(e.retry_after)},
        ) from None
    except QueueClosed:
        resolved.cleanup()
        raise ApiError(503, "the server is shutting down", code="shutting_down") from None
    completion = Completion(service.options.model_name, chat.stop)
    if chat.stream:
        chunks = _stream(completion, ticket, inbox, include_usage=chat.include_usage, started=started)
        return EventStream(chunks, on_disconnect=lambda: ticket.cancel("the client went away"))
    return await _whole(request, completion, ticket, inbox, started)


def _video(service: Service, chat: ChatRequest) -> bool:
    return not any(ref.kind == "video" for ref in chat.media) or service.supports_video()


async def _stream(
    completion: Completion, ticket: Ticket, inbox: Inbox, *, include_usage: bool, started: float
) -> AsyncIterator[bytes]:
    ended = False
    try:
        yield completion.chunk({"role": "assistant", "content": ""})
        while True:
            events = await inbox.take(KEEPALIVE_S)
            if not events:
                yield KEEPALIVE
                continue
            out: list[bytes] = []
            for event in events:
                if isinstance(event, jobs.Text):
                    out.extend(completion.piece_chunk(p) for p in completion.feed(event))
                    if completion.stopped:
                        ticket.cancel("a stop sequence was reached")
                elif isinstance(event, jobs.Status):
                    if event.message:
                        log.info("%s: %s", completion.id, event.message)
                elif isinstance(event, jobs.Finished):
                    ended = True
                    if event.reason == "cancelled" and not completion.stopped:
                        out.append(sse(ApiError(503, f"the request was cancelled: {ticket.cancel_reason}").body()))
                    else:
                        out.extend(completion.piece_chunk(p) for p in completion.finish())
                        out.append(completion.chunk({}, completion.finish_reason(event)))
                        if include_usage:
                            out.append(completion.usage_chunk(event.stats))
                        _log_done(completion, event, started)
                    out.append(DONE)
                    yield b"".join(out)
                    return
                else:
                    ended = True
                    error = _engine_error(event.error)
                    log.warning("%s failed: %s", completion.id, error.message)
                    out += [sse(error.body()), DONE]
                    yield b"".join(out)
                    return
            if out:
                yield b"".join(out)
    finally:
        if not ended:
            ticket.cancel("the client went away")


async def _whole(request: Request, completion: Completion, ticket: Ticket, inbox: Inbox, started: float) -> Response:
    outcome: jobs.Finished | jobs.Failed | None = None

    async def collect() -> None:
        nonlocal outcome
        while outcome is None:
            for event in await inbox.take(None):
                if isinstance(event, jobs.Text):
                    completion.feed(event)
                    if completion.stopped:
                        ticket.cancel("a stop sequence was reached")
                elif isinstance(event, jobs.Finished | jobs.Failed):
                    outcome = event
                    break

    async with anyio.create_task_group() as group:

        async def watch() -> None:
            while True:
                message = await request.receive()
                if message["type"] == "http.disconnect":
                    ticket.cancel("the client went away")
                    return

        group.start_soon(watch)
        try:
            await collect()
        finally:
            group.cancel_scope.cancel()
            if outcome is None:
                ticket.cancel("the client went away")
    if isinstance(outcome, jobs.Failed):
        error = _engine_error(outcome.error)
        log.warning("%s failed: %s", completion.id, error.message)
        raise error
    assert outcome is not None
    if outcome.reason == "cancelled" and not completion.stopped:
        raise ApiError(503, f"the request was cancelled: {ticket.cancel_reason}", code="cancelled")
    completion.finish()
    _log_done(completion, outcome, started)
    return JSONResponse(completion.response(outcome))


def _engine_error(error: GlmvLocalError) -> ApiError:
    if isinstance(error, InputError | MissingDependency):
        return ApiError(400, str(error))
    if isinstance(error, NotLoaded):
        return ApiError(503, str(error), code="model_unavailable", headers={"Retry-After": "5"})
    if isinstance(error, OutOfMemory):
        return ApiError(503, str(error), code="out_of_memory")
    return ApiError(500, str(error))


def _log_done(completion: Completion, outcome: jobs.Finished, started: float) -> None:
    stats = outcome.stats
    log.info(
        "%s: %s, %d prompt + %d completion tokens in %.2f s (%.1f tokens/s decoding)",
        completion.id,
        completion.finish_reason(outcome),
        stats.prompt_tokens,
        stats.completion_tokens,
        time.perf_counter() - started,
        stats.decode_tokens_per_s,
    )
