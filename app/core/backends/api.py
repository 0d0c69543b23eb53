"""The remote backend: any OpenAI-compatible `/chat/completions` server, streamed over SSE.

One code path serves Z.ai, BigModel, vLLM, SGLang and llama.cpp; what differs between them lives in
``dialects``. Every delta goes through one ``ReasoningSplitter``, so reasoning is told apart the same way
whether the server put it in ``reasoning_content``, ``reasoning`` or inline ``<think>`` tags.

Cancelling must close the connection promptly even while a read is blocked, so each request runs its
connection phase on a small helper thread that afterwards watches the cancel flag and shuts the socket down
(a shutdown, unlike a close, wakes a thread blocked in ``recv``).

Nothing a server sends is held without a bound: bodies are read up to ``MAX_BODY_BYTES`` and SSE is parsed
here (not by httpx-sse, which buffers a line without limit) holding at most ``MAX_SSE_LINE_BYTES`` of a line.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import email.utils
import json
import logging
import re
import socket
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path

import httpx

from app.core.backends.base import Capabilities, GenerationOptions, recent_turns
from app.core.backends.dialects import Dialect, Preset, get_preset, host_of
from app.core.backends.preparing import CANCEL_POLL_S, cancelled, prepared
from app.core.conversation import Conversation, Message
from app.core.events import Done, Event, Failed
from app.core.logs import redact
from app.core.media import ImagePart, MediaError, MediaTarget, Progress, TextPart, VideoPart, prepare
from app.core.media.prepared import SHARED
from app.core.media.told import told_parts
from app.core.reasoning import ReasoningSplitter

log = logging.getLogger(__name__)

CONNECT_RETRIES = 2
RETRY_BACKOFF_S = (0.25, 0.75)
# What a server may make the client hold: a whole body (a completion sent without streaming, an error, the model
# list) and one SSE line or event. A reply is a few KB; anything past these is a misconfigured or hostile server.
MAX_BODY_BYTES = 4 * 2**20
MAX_SSE_LINE_BYTES = 16 * 2**20


class ApiBackend:
    """A conversation in, events out, from an OpenAI-compatible server.

    ``model`` None takes the preset's default, and when the preset has none (self-hosted servers) the first
    model the server lists at ``/models``. ``transport`` is handed to httpx (a proxy or custom TLS setup).
    ``read_timeout`` is the longest wait for the response headers and then the longest time without an answer
    event (thinking, answer text, boxes): keep-alive comments or a byte now and then do not hold it open.
    """

    def __init__(
        self,
        preset: str = "openai",
        *,
        base_url: str | None = None,
        model: str | None = None,
        api_key: str | None = None,
        connect_timeout: float = 10.0,
        read_timeout: float = 120.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.preset: Preset = get_preset(preset)
        self.dialect: Dialect = self.preset.dialect
        self.base_url = (base_url or self.preset.base_url).rstrip("/")
        self.model = model or self.preset.default_model or ""
        self.name = f"api:{self.preset.name}"
        self._api_key = api_key
        self._read_timeout = read_timeout
        self._connect_timeout = connect_timeout
        self._timeout = httpx.Timeout(connect=connect_timeout, read=read_timeout, write=read_timeout, pool=5.0)
        self._transport = transport
        self._client: httpx.Client | None = None
        self._client_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"ApiBackend(preset={self.preset.name!r}, base_url={self.base_url!r}, model={self.model!r})"

    @property
    def host(self) -> str:
        return host_of(self.base_url)

    @property
    def capabilities(self) -> Capabilities:
        return self.dialect.capabilities

    @property
    def media_target(self) -> MediaTarget:
        return self.dialect.media_target

    def close(self) -> None:
        with self._client_lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    # -- request ---------------------------------------------------------------------------------------------

    def request_body(
        self,
        conversation: Conversation,
        options: GenerationOptions,
        *,
        cancel: threading.Event | None = None,
        progress: Progress | None = None,
    ) -> RequestBody:
        """The JSON body for this conversation. Raises ``MediaError`` for attachments the server cannot take,
        and for a question bigger than one request to the server can carry; ``MediaCancelled`` when ``cancel``
        is set while attachments are prepared (``progress`` hears which). Files the window's chips (or an earlier
        question) prepared come from ``media.prepared.SHARED`` instead of being prepared again."""
        files: dict[str, tuple[Path, int]] = {}
        messages: list[dict] = []
        if conversation.system_prompt:
            messages.append({"role": "system", "content": conversation.system_prompt})
        images = videos = 0
        for message in recent_turns(conversation, options.history_turns):
            if message.role == "assistant":
                # Reasoning stays out of history: the chat template drops it too, and it would eat the context.
                messages.append({"role": "assistant", "content": message.text})
                continue
            content, n_images, n_videos = self._user_content(message, files, cancel, progress)
            images += n_images
            videos += n_videos
            messages.append({"role": message.role, "content": content})
        self._check_counts(images, videos)
        body: dict = {"model": self.model, "messages": messages, "stream": True}
        body.update(self.dialect.thinking_fields(options.thinking, options.thinking_budget))
        if options.max_tokens is not None:
            body["max_tokens"] = self.dialect.clamp_max_tokens(options.max_tokens)
        if options.temperature is not None:
            body["temperature"] = self.dialect.clamp_temperature(options.temperature)
        if options.top_p is not None:
            body["top_p"] = options.top_p
        if self.dialect.stream_usage_option:
            body["stream_options"] = {"include_usage": True}
        request = RequestBody(body, files)
        limit = self.dialect.max_request_bytes
        if limit is not None and request.length > limit:
            raise MediaError(
                f"this question makes a {request.length / 1e6:.0f} MB request, over the {limit / 1e6:.0f} MB one "
                f"request to a {self.dialect.label} server can carry; attach fewer or shorter videos, or fewer files"
            )
        return request

    def _user_content(
        self,
        message: Message,
        files: dict[str, tuple[Path, int]],
        cancel: threading.Event | None = None,
        progress: Progress | None = None,
    ) -> tuple[str | list[dict], int, int]:
        if not message.attachments:
            return message.text, 0, 0
        parts: list[dict] = []
        images = videos = 0
        target = self.media_target
        for attachment in message.attachments:
            report = prepare(attachment, target, cancel=cancel, progress=progress, cache=SHARED)
            for part in told_parts(report):
                if isinstance(part, ImagePart):
                    url = self.dialect.media_url(part.mime, base64.b64encode(part.data).decode("ascii"))
                    parts.append({"type": "image_url", "image_url": {"url": url}})
                    images += 1
                elif isinstance(part, VideoPart):
                    parts.append({"type": "video_url", "video_url": {"url": self._video_url(part, files)}})
                    videos += 1
                elif isinstance(part, TextPart):
                    parts.append({"type": "text", "text": part.text})
        if message.text:
            parts.append({"type": "text", "text": message.text})
        return parts, images, videos

    def _video_url(self, part: VideoPart, files: dict[str, tuple[Path, int]]) -> str:
        """The URL with a token where the file's base64 goes: it is read and encoded as the request is sent
        (``RequestBody``), so a video is never held in memory, let alone as base64 and as JSON besides."""
        label = self.dialect.label
        if not self.dialect.accepts_video:
            raise MediaError(
                f"{part.path}: a {label} server does not accept video; attach still frames or screenshots instead"
            )
        try:
            size = Path(part.path).stat().st_size
        except OSError as e:
            raise MediaError(f"{part.path}: cannot be read ({e.strerror or e})") from e
        limit = self.dialect.video_bytes_limit
        if limit and size > limit:
            raise MediaError(
                f"{part.path}: {size / 1e6:.0f} MB is over the {limit / 1e6:.0f} MB video that one request to "
                f"{label} can carry; trim or re-encode the video"
            )
        token = f"glmv-file-{uuid.uuid4().hex}"
        files[token] = (Path(part.path), size)
        return self.dialect.media_url(part.mime, token)

    def _check_counts(self, images: int, videos: int) -> None:
        label = self.dialect.label
        if self.dialect.max_images is not None and images > self.dialect.max_images:
            raise MediaError(
                f"this question carries {images} images but {label} accepts at most {self.dialect.max_images}; "
                "choose fewer pages (--pages) or fewer files"
            )
        if self.dialect.max_videos is not None and videos > self.dialect.max_videos:
            raise MediaError(
                f"this question carries {videos} videos but {label} accepts at most {self.dialect.max_videos}; "
                "ask about fewer videos at once"
            )

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "text/event-stream", "Cache-Control": "no-store"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        return headers

    def _http(self) -> httpx.Client:
        with self._client_lock:
            if self._client is None:
                self._client = httpx.Client(timeout=self._timeout, transport=self._transport, trust_env=True)
            return self._client

    # -- streaming -------------------------------------------------------------------------------------------

    def stream(
        self, conversation: Conversation, options: GenerationOptions, cancel: threading.Event | None = None
    ) -> Iterator[Event]:
        """The events of one answer. A failure's message has the configured key masked before it leaves: servers
        echo the key in their errors (401, 400, in-stream), and the message is printed, shown and stored."""
        for event in self._stream(conversation, options, cancel or threading.Event()):
            if isinstance(event, Failed):
                event = dataclasses.replace(event, message=redact(event.message, [self._api_key or ""]))
                log.info("%s answer failed (%s): %s", self.name, event.kind, event.message)
            yield event

    def _stream(
        self, conversation: Conversation, options: GenerationOptions, cancel: threading.Event
    ) -> Iterator[Event]:
        built = yield from prepared(
            lambda hear: self.request_body(conversation, options, cancel=cancel, progress=hear), cancel
        )
        if isinstance(built, Failed):
            yield built
            return
        body = built
        if not body.fields["model"]:
            found = self._discover_model()
            if isinstance(found, Failed):
                yield found
                return
            body = RequestBody({**body.fields, "model": found}, body.files)
        headers = {**self._headers(), "Content-Type": "application/json", "Content-Length": str(body.length)}
        request = self._http().build_request("POST", f"{self.base_url}/chat/completions", content=body, headers=headers)
        yield from self._send(request, body.fields["model"], cancel)

    def _send(self, request: httpx.Request, model: str, cancel: threading.Event) -> Iterator[Event]:
        for attempt in range(CONNECT_RETRIES + 1):
            if cancel.is_set():
                yield cancelled()
                return
            connection = _Connection(self._http(), request, cancel, self._read_timeout)
            connection.start()
            taken = False
            try:
                while not connection.ready.wait(CANCEL_POLL_S):
                    if cancel.is_set():
                        yield cancelled()
                        return
                error = connection.error
                taken = error is None
            finally:
                if not taken:
                    connection.abandon()
            if error is None:
                break
            if isinstance(error, httpx.ReadTimeout):
                yield Failed(
                    "network",
                    f"{self.host} accepted the request but sent nothing for {self._read_timeout:g} s; the server "
                    "may be overloaded or still loading the model; ask again later",
                    retryable=True,
                )
                return
            if not isinstance(error, _BEFORE_RESPONSE) or attempt == CONNECT_RETRIES:
                yield self._connect_failure(error)
                return
            cancel.wait(RETRY_BACKOFF_S[min(attempt, len(RETRY_BACKOFF_S) - 1)])
        response = connection.response
        assert response is not None
        try:
            if response.status_code >= 400:
                yield self._http_failure(response, model)
                return
            if 300 <= response.status_code < 400:
                yield self._redirect_failure(response)
                return
            yield from self._events(response, cancel, connection)
        finally:
            connection.finish()

    def _events(self, response: httpx.Response, cancel: threading.Event, connection: _Connection) -> Iterator[Event]:
        splitter = ReasoningSplitter()
        finish_reason: str | None = None
        usage: dict = {}
        complete = False
        content_type = response.headers.get("content-type", "")
        try:
            if "text/event-stream" not in content_type:
                # Some servers ignore "stream": true and answer with one JSON completion.
                yield from _progressing(self._whole_completion(response, splitter), connection)
                return
            for data in _sse_data(connection.heard(response.iter_bytes()), MAX_SSE_LINE_BYTES):
                if not data:
                    continue
                if data == "[DONE]":
                    complete = True
                    break
                try:
                    chunk = json.loads(data)
                except ValueError:
                    yield from splitter.finish()
                    yield Failed(
                        "server",
                        f"{self.host} sent something that is not JSON in the stream ({_clip(data)}); the answer "
                        "so far is kept; the server or a proxy in between is misbehaving",
                    )
                    return
                if not isinstance(chunk, dict):
                    continue
                error = chunk.get("error")
                if error:
                    yield from splitter.finish()
                    yield self._stream_error(error)
                    return
                choices = chunk.get("choices")
                if choices and isinstance(choices, list) and isinstance(choices[0], dict):
                    choice = choices[0]
                    delta = choice.get("delta")
                    if delta and isinstance(delta, dict):
                        content = _text(delta.get("content"))
                        reasoning = _text(delta.get("reasoning_content")) or _text(delta.get("reasoning"))
                        if content or reasoning:
                            yield from _progressing(splitter.feed(content, reasoning), connection)
                    if choice.get("finish_reason"):
                        finish_reason = str(choice["finish_reason"])
                if chunk.get("usage") and isinstance(chunk["usage"], dict):
                    usage = chunk["usage"]
                if cancel.is_set():
                    break
        except _TooLarge:
            yield from splitter.finish()
            yield Failed(
                "server",
                f"{self.host} sent a line longer than {MAX_SSE_LINE_BYTES // 2**20} MB in the event stream, which no "
                "answer needs; it was not read further; what arrived is kept; the server or a proxy in between is "
                "misbehaving",
            )
            return
        except (httpx.TransportError, httpx.StreamError) as e:
            yield from splitter.finish()
            if cancel.is_set():
                yield cancelled()
            elif connection.idle_expired or isinstance(e, httpx.ReadTimeout):
                yield self._idle_failure(connection)
            else:
                yield _dropped(self.host)
            return
        yield from splitter.finish()
        if cancel.is_set():
            yield cancelled()
        elif connection.idle_expired:
            yield self._idle_failure(connection)
        elif finish_reason == "network_error":
            yield Failed(
                "server",
                f"{self.host} reported a network error inside its own service; what arrived is kept; ask again",
                retryable=True,
            )
        elif complete or finish_reason:
            yield Done(finish_reason, usage)
        else:
            yield _dropped(self.host)

    def _whole_completion(self, response: httpx.Response, splitter: ReasoningSplitter) -> Iterator[Event]:
        raw, more = read_capped(response, MAX_BODY_BYTES)
        content_type = response.headers.get("content-type") or "no content type"
        if more:
            yield Failed(
                "server",
                f"{self.host} answered with more than {MAX_BODY_BYTES // 2**20} MB of {content_type} instead of an "
                "event stream, so it is not a chat server's answer and was not read further; check --base-url "
                "(for self-hosted servers it usually ends in /v1)",
            )
            return
        try:
            payload = json.loads(raw)
            choice = payload["choices"][0] if "choices" in payload else None
        except (ValueError, TypeError, KeyError, IndexError):
            payload, choice = None, None
        if isinstance(payload, dict) and payload.get("error"):
            yield self._stream_error(payload["error"])
            return
        if not isinstance(choice, dict):
            yield Failed(
                "server",
                f"{self.host} answered with {content_type} instead of an event stream "
                f"({_clip(raw.decode('utf-8', 'replace'))}); check --base-url",
            )
            return
        message = choice.get("message") or {}
        reasoning = message.get("reasoning_content") or message.get("reasoning") or ""
        yield from splitter.feed(message.get("content") or "", reasoning)
        yield from splitter.finish()
        yield Done(choice.get("finish_reason"), payload.get("usage") or {})

    # -- failures --------------------------------------------------------------------------------------------

    def _idle_failure(self, connection: _Connection) -> Failed:
        """No answer event for the time limit: the silence itself, or bytes that carried no answer (keep-alive
        comments, empty deltas, a byte at a time), which a read timeout alone never ends."""
        limit = f"{self._read_timeout:g} s"
        more = "ask again, or allow more time (glmv ask --timeout, or Answer time limit in Settings)"
        if connection.heard_nothing:
            return Failed(
                "network", f"{self.host} stopped sending for {limit}; what arrived is kept; {more}", retryable=True
            )
        return Failed(
            "network",
            f"{self.host} kept the connection open but sent no answer for {limit} (only keep-alive comments or "
            f"stray bytes); what arrived is kept; {more}",
            retryable=True,
        )

    def _connect_failure(self, error: Exception) -> Failed:
        if isinstance(error, httpx.ConnectTimeout):
            return Failed(
                "network",
                f"connecting to {self.base_url} timed out after {self._connect_timeout:g} s; check the address "
                "and that the server is reachable from here",
                retryable=True,
            )
        if isinstance(error, httpx.TransportError):
            return Failed(
                "network",
                f"could not connect to {self.base_url}: is the server running? ({_reason(error)})",
                retryable=True,
            )
        return Failed("network", f"the request to {self.base_url} failed: {_reason(error)}", retryable=True)

    def _stream_error(self, error: object) -> Failed:
        code, message = _code_and_message(error)
        text = f"{self.host} ended the answer with an error: {message or 'no message given'}"
        if code:
            text += f" (code {code})"
        if code == "1301":
            return Failed("model", text + "; the provider's content filter refused this question")
        return Failed("server", text + "; what arrived is kept; ask again", retryable=True)

    def _redirect_failure(self, response: httpx.Response) -> Failed:
        """Redirects are not followed: a POST with the key must not wander to another host unasked. The person is
        told where the server pointed and which base URL that means."""
        status = response.status_code
        location = response.headers.get("location", "").strip()
        if not location:
            return Failed(
                "server",
                f"{self.host} redirected the request (HTTP {status}) without saying where; check --base-url (or Base "
                "URL in Settings) against the server's documentation",
            )
        target = str(response.request.url.join(location))
        suffix = "/chat/completions" if response.request.url.path.endswith("/chat/completions") else "/models"
        said = f"{self.host} redirected the request to {_clip(target)} (HTTP {status})"
        where = target.split("?")[0].rstrip("/")
        if where.endswith(suffix):
            base = _clip(where[: -len(suffix)])
            return Failed("server", f"{said}; set the base URL to {base} (--base-url, or Base URL in Settings)")
        return Failed(
            "server",
            f"{said}, which is not a chat endpoint (a login page or a moved site); check --base-url (or Base URL in "
            "Settings): it should end where /chat/completions is added, usually in /v1",
        )

    def _http_failure(self, response: httpx.Response, model: str) -> Failed:
        status = response.status_code
        try:
            raw, _ = read_capped(response, MAX_BODY_BYTES)
        except httpx.HTTPError:
            raw = b""
        code, server_message = _error_body(raw)
        said = f" (server said: {server_message})" if server_message else ""
        host = self.host
        if status in (401, 403):
            if not self._api_key:
                return Failed(
                    "auth",
                    f"{host} needs an API key (HTTP {status}){said}; set GLMV_API_KEY or save a key in the app's "
                    "settings",
                )
            return Failed(
                "auth",
                f"the key was rejected by {host} (HTTP {status}){said}; check the key for this host — keys are "
                "region-specific (z.ai vs bigmodel.cn)",
            )
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        wait = f"wait {retry_after:g} s" if retry_after is not None else "wait a moment"
        if status == 429 or code in ("1113", "1302"):
            if code == "1113":
                return Failed(
                    "rate_limit",
                    f"the account behind this key has no balance left at {host} (code 1113){said}; top up the "
                    "account, then ask again",
                )
            if code == "1302":
                return Failed(
                    "rate_limit",
                    f"too many requests are running at once for this key at {host} (code 1302){said}; let the "
                    f"others finish, {wait} and ask again",
                    retryable=True,
                    retry_after=retry_after,
                )
            return Failed(
                "rate_limit",
                f"{host} is limiting requests (HTTP 429){said}; {wait} and ask again",
                retryable=True,
                retry_after=retry_after,
            )
        if code == "1211" or (status == 404 and "model" in server_message.lower()):
            return Failed(
                "model",
                f"the server does not know model {model!r}{said}; check --model (the server's /models lists what "
                "it serves)",
            )
        if status == 404:
            return Failed(
                "server",
                f"{host} has no chat endpoint at {response.request.url} (HTTP 404){said}; check --base-url (for "
                "self-hosted servers it usually ends in /v1)",
            )
        if code == "1301":
            return Failed("model", f"{host} refused the question (code 1301){said}; the content filter blocked it")
        if status == 413:
            return Failed(
                "input", f"the request is too large for {host} (HTTP 413){said}; attach fewer or smaller files"
            )
        if status in (500, 502, 503, 504):
            what = "is overloaded or starting up" if status == 503 else "had an internal error"
            return Failed(
                "server",
                f"{host} {what} (HTTP {status}){said}; {wait} and ask again",
                retryable=True,
                retry_after=retry_after,
            )
        return Failed("server", f"{host} rejected the request (HTTP {status}){said}")

    def _discover_model(self) -> str | Failed:
        """The first model a self-hosted server lists, for presets that do not name one."""
        try:
            with self._http().stream("GET", f"{self.base_url}/models", headers=self._headers()) as response:
                if response.status_code >= 400:
                    return self._http_failure(response, "(none given)")
                if 300 <= response.status_code < 400:
                    return self._redirect_failure(response)
                raw, more = read_capped(response, MAX_BODY_BYTES)
        except httpx.TransportError as e:
            return self._connect_failure(e)
        if more:
            return Failed(
                "server",
                f"{self.host} answered /models with more than {MAX_BODY_BYTES // 2**20} MB, which no model list "
                "needs; pass --model to name the model instead",
            )
        try:
            return str(json.loads(raw)["data"][0]["id"])
        except (ValueError, KeyError, IndexError, TypeError):
            return Failed(
                "model", f"no model was given and {host_of(self.base_url)} lists none at /models; pass --model"
            )


FILE_PIECE = 3 * 2**20  # a multiple of 3: each piece's base64 joins the next without padding


class RequestBody:
    """The request's JSON as the pieces httpx sends: ``fields`` encoded as httpx would, with each video file's
    base64 read and encoded piece by piece where its token stands. ``length`` is known before sending (the
    Content-Length), and it can be sent again (a retried connection) since each pass reopens the files."""

    def __init__(self, fields: dict, files: dict[str, tuple[Path, int]]) -> None:
        self.fields = fields
        self.files = files
        self._text = json.dumps(fields, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()
        self.length = sum(
            len(piece) if isinstance(piece, bytes) else 4 * ((piece[1] + 2) // 3) for piece in self._pieces()
        )

    def _pieces(self) -> Iterator[bytes | tuple[Path, int]]:
        if not self.files:
            yield self._text
            return
        for piece in _TOKEN.split(self._text):
            file = self.files.get(piece.decode("ascii", "replace")) if piece.startswith(b"glmv-file-") else None
            yield file if file is not None else piece

    def __iter__(self) -> Iterator[bytes]:
        for piece in self._pieces():
            if isinstance(piece, bytes):
                yield piece
                continue
            path, size = piece
            with path.open("rb") as f:
                left = size
                while left > 0:
                    want = min(FILE_PIECE, left)
                    data = f.read(want)
                    while len(data) < want:  # a short read mid-file would break the base64 between pieces
                        more = f.read(want - len(data))
                        if not more:
                            raise OSError(f"{path.name} became shorter while it was sent; attach it again")
                        data += more
                    left -= want
                    yield base64.b64encode(data)


_TOKEN = re.compile(rb"(glmv-file-[0-9a-f]{32})")


_BEFORE_RESPONSE = (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)
"""Failures where no response byte arrived, so sending again cannot duplicate an answer the person saw."""


class _Connection(threading.Thread):
    """Sends the request, then watches ``cancel`` and the time since the last answer event, and shuts the
    socket down when cancel is set or ``idle_limit`` seconds passed without ``progress``.

    The consumer either takes the response (and calls ``finish`` when done with it) or ``abandon``s the
    connection, in which case this thread closes the response whenever it arrives.
    """

    def __init__(
        self, client: httpx.Client, request: httpx.Request, cancel: threading.Event, idle_limit: float | None = None
    ) -> None:
        super().__init__(name="glmv-api-connection", daemon=True)
        self._client = client
        self._request = request
        self._cancel = cancel
        self._idle_limit = idle_limit
        self._progress_at = time.monotonic()
        self._done = threading.Event()
        self._abandoned = False
        self.ready = threading.Event()
        self.response: httpx.Response | None = None
        self.error: Exception | None = None
        self.idle_expired = False
        self.heard_nothing = True  # no byte since the last answer event

    def progress(self) -> None:
        """An answer event arrived: the idle clock starts again."""
        self._progress_at = time.monotonic()
        self.heard_nothing = True

    def heard(self, chunks: Iterable[bytes]) -> Iterator[bytes]:
        """``chunks``, noting that bytes came (which tells keep-alives from silence when the limit passes)."""
        for chunk in chunks:
            self.heard_nothing = False
            yield chunk

    def run(self) -> None:
        try:
            self.response = self._client.send(self._request, stream=True)
        except Exception as e:
            self.error = e
        finally:
            self.ready.set()
        if self.response is None:
            return
        self.progress()  # the clock starts when the headers arrived; waiting for them is httpx's read timeout
        while not self._done.is_set():
            if self._cancel.wait(CANCEL_POLL_S):
                self._interrupt()
                self._done.wait()
                break
            if self._idle_limit is not None and time.monotonic() - self._progress_at > self._idle_limit:
                self.idle_expired = True
                self._interrupt()
                self._done.wait()
                break
        if self._abandoned:
            self.response.close()

    def finish(self) -> None:
        """The consumer is done with the response."""
        self._done.set()
        if self.response is not None:
            self.response.close()

    def abandon(self) -> None:
        """The consumer left before taking the response (cancelled, or the request failed)."""
        self._abandoned = True
        self._done.set()

    def _interrupt(self) -> None:
        assert self.response is not None
        stream = self.response.extensions.get("network_stream")
        sock = stream.get_extra_info("socket") if stream is not None else None
        if isinstance(sock, socket.socket):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


def _progressing(events: Iterable[Event], connection: _Connection) -> Iterator[Event]:
    """``events``, each restarting the idle clock, before the consumer takes it and after (a slow consumer,
    a terminal piped into a pager, is not the server's silence)."""
    for event in events:
        connection.progress()
        yield event
        connection.progress()


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header, given as seconds or as an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


class _TooLarge(Exception):
    """An SSE line or event over its cap: the stream ends instead of buffering it."""


def read_capped(response: httpx.Response, limit: int) -> tuple[bytes, bool]:
    """At most ``limit`` bytes of the body, and whether the server had more (it is then not read further)."""
    buffer = bytearray()
    for chunk in response.iter_bytes():
        buffer += chunk
        if len(buffer) > limit:
            return bytes(buffer[:limit]), True
    return bytes(buffer), False


def _sse_data(chunks: Iterable[bytes], limit: int) -> Iterator[str]:
    """The data of each server-sent event, by the SSE rules (a line ends in CRLF, CR or LF, ``:`` starts a
    comment, a blank line ends the event), holding at most ``limit`` bytes of one line or one event: past that
    it raises ``_TooLarge``, whatever the server keeps sending."""
    pending: list[bytes] = []  # the line so far, when it spans chunks
    pending_size = 0
    data: list[bytes] = []
    data_size = 0
    after_cr = False  # the last chunk ended in CR: a LF starting the next one belongs to it
    for chunk in chunks:
        if after_cr and chunk.startswith(b"\n"):
            chunk = chunk[1:]
        if not chunk:
            continue
        after_cr = chunk.endswith(b"\r")
        if b"\r" in chunk:
            chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        lines = chunk.split(b"\n")
        rest = lines.pop()
        if pending and lines:
            pending.append(lines[0])
            lines[0] = b"".join(pending)
            pending.clear()
            pending_size = 0
        for line in lines:
            if not line:
                if data:
                    yield b"\n".join(data).decode("utf-8", "replace")
                    data.clear()
                    data_size = 0
                continue
            name, _, value = line.partition(b":")
            if name != b"data":
                continue  # a comment (keep-alive), or a field the chat stream does not use
            value = value[1:] if value[:1] == b" " else value
            data_size += len(value) + 1
            if data_size > limit:
                raise _TooLarge
            data.append(value)
        if rest:
            pending_size += len(rest)
            if pending_size > limit:
                raise _TooLarge
            pending.append(rest)


def _error_body(raw: bytes) -> tuple[str, str]:
    """(code, message) from the error bodies servers send: ``{"error": {...}}``, vLLM's flat ``{"message"}``,
    FastAPI's ``{"detail"}``, or plain text."""
    text = raw.decode("utf-8", "replace").strip()
    try:
        payload = json.loads(text)
    except ValueError:
        return "", _clip(text) if text else ""
    if isinstance(payload, dict):
        if "error" in payload:
            return _code_and_message(payload["error"])
        code, message = _code_and_message(payload)
        if message:
            return code, message
        if "detail" in payload:
            return "", _clip(str(payload["detail"]))
    return "", _clip(text)


def _code_and_message(error: object) -> tuple[str, str]:
    if isinstance(error, dict):
        code = error.get("code")
        message = error.get("message") or error.get("msg") or ""
        return ("" if code is None else str(code)), _clip(str(message))
    return "", _clip(str(error))


def _text(value: object) -> str:
    """A delta field as text; servers send null for absent fields, and a malformed one is not worth a crash."""
    return value if isinstance(value, str) else ""


def _clip(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _reason(error: Exception) -> str:
    """The innermost OS-level reason (e.g. "Connection refused"), without URLs or headers."""
    inner: BaseException | None = error
    while inner is not None:
        if isinstance(inner, OSError) and inner.strerror:
            return inner.strerror
        inner = inner.__cause__ or inner.__context__
    return str(error) or type(error).__name__


def _dropped(host: str) -> Failed:
    return Failed(
        "network",
        f"the connection to {host} dropped before the answer was complete; what arrived is kept; ask again",
        retryable=True,
    )
