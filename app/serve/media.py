"""Images and videos of a request turned into the engine's message parts.

An image arrives as a data URL, as bare base64 (Z.ai's SDK strips the prefix) or, only when the server was
started with ``--allow-remote-images``, as an http(s) URL it fetches: a server that fetches any URL it is sent
can be made to reach into the network it stands in. Images are decoded by ``app.core.media.images`` (the app's
own checks: size, truncation, orientation, colour) and brought within the checkpoint's pixel budget at once, so
a request of many large images holds only what the processor will use. A video is written to a private
temporary file for the processor, removed when its request ends.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.core.media import MediaError, MediaTarget
from app.serve.errors import ApiError, bad_request
from app.serve.protocol import ChatRequest, MediaRef
from glmv_local import chat

MAX_IMAGES = 64
MAX_VIDEOS = 2
REMOTE_TIMEOUT_S = 30.0
_DATA_URL = re.compile(r"data:(?P<mime>[\w.+-]+/[\w.+-]+)?(?P<params>(?:;[\w.+-]+=[\w.+-]+)*)(?P<b64>;base64)?,", re.I)
_VIDEO_SUFFIXES = {"video/mp4": ".mp4", "video/webm": ".webm", "video/quicktime": ".mov", "video/x-matroska": ".mkv"}


@dataclass
class Resolved:
    messages: list[chat.ChatMessage]
    files: list[Path] = field(default_factory=list)

    def cleanup(self) -> None:
        for path in self.files:
            path.unlink(missing_ok=True)
        self.files.clear()


def check_counts(request: ChatRequest, *, video: bool, video_needs: str) -> None:
    """What can be refused before anything is decoded or fetched."""
    images = sum(ref.kind == "image" for ref in request.media)
    videos = sum(ref.kind == "video" for ref in request.media)
    if images > MAX_IMAGES:
        raise bad_request(f"{images} images in one request; this server takes up to {MAX_IMAGES}", "messages")
    if videos > MAX_VIDEOS:
        raise bad_request(f"{videos} videos in one request; this server takes up to {MAX_VIDEOS}", "messages")
    if videos and not video:
        raise bad_request(f"this server cannot read video: {video_needs}", "messages", code="video_unsupported")


def resolve(
    request: ChatRequest,
    target: MediaTarget,
    *,
    fetch: Callable[[MediaRef], tuple[bytes, str | None]] | None,
    limit: int,
) -> Resolved:
    """The request's messages for the engine (blocking: run it on a worker thread). ``fetch`` gets a remote URL's
    bytes and type, or is None when remote media are refused."""
    resolved = Resolved([])
    try:
        for spec in request.messages:
            parts: list[chat.Part] = []
            for part in spec.parts:
                if isinstance(part, str):
                    parts.append(chat.Text(part))
                    continue
                if part.remote:
                    if fetch is None:
                        raise bad_request(
                            f"{part.where}: this server does not fetch remote {part.kind} URLs; send the "
                            f"{part.kind} as a data URL (data:{part.kind}/...;base64,...) or start the server with "
                            "--allow-remote-images",
                            part.where,
                            code="remote_media_refused",
                        )
                    data, mime = fetch(part)
                else:
                    data, mime = decode_data(part, limit)
                if part.kind == "image":
                    parts.append(chat.Image(_image(data, part, target)))
                else:
                    path = _video_file(data, mime)
                    resolved.files.append(path)
                    parts.append(chat.Video(path))
            resolved.messages.append(chat.ChatMessage(spec.role, parts))
    except BaseException:
        resolved.cleanup()
        raise
    return resolved


def decode_data(ref: MediaRef, limit: int) -> tuple[bytes, str | None]:
    """A data URL's (or bare base64's) bytes and media type."""
    text, mime = ref.url, None
    match = _DATA_URL.match(text)
    if match:
        mime = (match.group("mime") or "").lower() or None
        if not match.group("b64"):
            raise bad_request(
                f"{ref.where}: a data URL of an {ref.kind} must be base64 (data:...;base64,...)", ref.where
            )
        if mime and not mime.startswith(ref.kind + "/"):
            raise bad_request(f"{ref.where}: a data URL of type {mime} where an {ref.kind} was expected", ref.where)
        text = text[match.end() :]
    elif text[:5].lower() == "data:":
        raise bad_request(f"{ref.where}: not a data URL this server can read (data:TYPE;base64,DATA)", ref.where)
    if len(text) * 3 // 4 > limit:
        raise ApiError(413, f"{ref.where}: the {ref.kind} is larger than this server takes", code="request_too_large")
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        try:
            data = base64.b64decode("".join(text.split()), validate=True)
        except (binascii.Error, ValueError):
            raise bad_request(
                f"{ref.where}: the {ref.kind} is neither a data URL nor valid base64"
                + (" (a local path or file:// URL cannot be read by the server)" if _looks_like_path(text) else ""),
                ref.where,
            ) from None
    if not data:
        raise bad_request(f"{ref.where}: the {ref.kind} is empty", ref.where)
    return data, mime


def _looks_like_path(text: str) -> bool:
    return text.startswith(("/", "./", "~", "file:")) or bool(re.match(r"[A-Za-z]:\\", text))


def _image(data: bytes, ref: MediaRef, target: MediaTarget) -> Any:
    """Decoded with the app's image checks, then scaled to the size the processor will use."""
    from PIL import Image

    from app.core.media.images import fit_size, load_image

    fd, name = tempfile.mkstemp(prefix="glmv-serve-", suffix=".img")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        try:
            image = load_image(name)
            size = fit_size(image.width, image.height, target)
        except (MediaError, ValueError) as e:
            message = str(e).replace(Path(name).name, "the image")
            raise bad_request(f"{ref.where}: {message}", ref.where, code="invalid_image") from None
    finally:
        Path(name).unlink(missing_ok=True)
    if size != image.size:
        image = image.resize(size, Image.Resampling.BICUBIC)
    return image


def _video_file(data: bytes, mime: str | None) -> Path:
    fd, name = tempfile.mkstemp(prefix="glmv-serve-", suffix=_VIDEO_SUFFIXES.get(mime or "", ".mp4"))
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    return Path(name)
