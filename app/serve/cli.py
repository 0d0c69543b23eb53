"""`glmv serve`: load the local model once and serve it over an OpenAI-compatible API.

Registered by ``app.cli`` (``add_parser`` and ``run``); importing this module imports neither the web stack nor
torch, so `glmv --help` stays fast.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from app.arguments import whole_number
from app.core.terminal_text import for_terminal
from app.serve import DEFAULT_MAX_QUEUE, DEFAULT_MAX_REQUEST_MB

log = logging.getLogger("app.serve")
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
DEFAULT_MODEL = "zai-org/GLM-4.6V-Flash"


def add_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    serve = commands.add_parser(
        "serve",
        help="serve the local model over an OpenAI-compatible API (for editors, scripts and agents)",
        description="Load the local model once and answer OpenAI-compatible requests at http://HOST:PORT/v1 "
        "(POST /v1/chat/completions, GET /v1/models, GET /health).",
    )
    serve.add_argument("--model", default=DEFAULT_MODEL, metavar="ID_OR_DIR", help=f"HF id or folder ({DEFAULT_MODEL})")
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)"
    )
    serve.add_argument("--port", type=_port, default=8000, help="port (default 8000; 0 takes a free one)")
    serve.add_argument(
        "--api-key-env",
        metavar="VAR",
        help="environment variable holding the key clients must send (needed for any --host but loopback)",
    )
    serve.add_argument(
        "--max-queue",
        type=whole_number(),
        default=DEFAULT_MAX_QUEUE,
        metavar="N",
        help=f"requests that may wait behind the one being answered; more get 429 (default {DEFAULT_MAX_QUEUE})",
    )
    serve.add_argument(
        "--allow-remote-images",
        action="store_true",
        help="fetch http(s) image and video URLs (off: only data URLs and base64 are read)",
    )
    serve.add_argument(
        "--max-request-mb",
        type=_megabytes,
        default=float(DEFAULT_MAX_REQUEST_MB),
        metavar="MB",
        help=f"largest request body, images included (default {DEFAULT_MAX_REQUEST_MB})",
    )
    serve.add_argument("--name", metavar="ID", help="the model id clients see (default: the model's own name)")
    serve.add_argument("--quantization", choices=("none", "8bit", "4bit"), default="none", help="load in 8 or 4 bits")
    serve.add_argument(
        "--context-tokens",
        type=whole_number(256),
        default=32768,
        metavar="N",
        help="prompt and answer together (32768)",
    )
    return serve


def run(args: argparse.Namespace) -> int:
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as e:
        return _fail(f"glmv serve needs the 'serve' extra ({e.name} is missing): pip install 'glmv-desktop[serve]'")
    from app.serve.server import LocalServer, ServeError, check_exposure
    from app.serve.service import MB, ServeOptions, Service, model_name_of
    from glmv_local.engine import Engine, EngineSettings, require_inference_stack
    from glmv_local.errors import GlmvLocalError

    key = None
    if args.api_key_env:
        key = os.environ.get(args.api_key_env, "").strip()
        if not key:
            return _fail(
                f"{args.api_key_env} is not set: put the key clients must send in it, or leave out --api-key-env",
                EXIT_USAGE,
            )
    try:
        check_exposure(args.host, bool(key))
        require_inference_stack()
    except ServeError as e:
        return _fail(str(e), EXIT_USAGE)
    except GlmvLocalError as e:
        return _fail(str(e))
    _log_to_terminal(key)
    options = ServeOptions(
        model_name=args.name or model_name_of(args.model),
        api_key=key,
        max_queue=args.max_queue,
        max_request_bytes=int(args.max_request_mb * MB),
        allow_remote_images=args.allow_remote_images,
    )
    quantization = None if args.quantization == "none" else args.quantization
    engine = Engine(EngineSettings(model=args.model, quantization=quantization, context_tokens=args.context_tokens))
    service = Service(engine, options)
    try:
        server = LocalServer(service, args.host, args.port)
    except ServeError as e:
        service.close()
        return _fail(str(e))

    def failed(message: str) -> None:
        log.error("the model could not be loaded: %s", message)
        server.request_stop()

    def ready() -> None:
        print(
            for_terminal(
                f"glmv serve: ready: {options.model_name} at {server.url} "
                f"({'API key required' if key else 'no API key'}; Ctrl+C stops)"
            ),
            file=sys.stderr,
            flush=True,
        )

    print(
        for_terminal(f"glmv serve: listening on {server.url}; loading {args.model} (503 until it is ready)"),
        file=sys.stderr,
        flush=True,
    )
    service.load_in_background(failed, ready)
    try:
        server.run()
    finally:
        engine.unload()
    if service.load_error:
        return _fail(f"the model could not be loaded: {service.load_error}")
    return EXIT_OK


def _log_to_terminal(key: str | None) -> None:
    """The server's own records and uvicorn's (startup, one line per request) on stderr, redacted as the log
    file is: never a key, never image data."""
    from app.core.logs import RedactingFilter, TerminalFormatter, remember_secret

    remember_secret(key)
    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(logging.INFO)
    handler.setFormatter(TerminalFormatter("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S"))
    handler.addFilter(RedactingFilter([key] if key else []))
    for name in ("app.serve", "uvicorn.error", "uvicorn.access", "glmv_local"):
        logger = logging.getLogger(name)
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)


def _fail(message: str, code: int = EXIT_FAILED) -> int:
    print(for_terminal(f"glmv serve: {message}"), file=sys.stderr)
    return code


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError("a port is between 0 and 65535")
    return value


def _megabytes(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 < value <= 4096:
        raise argparse.ArgumentTypeError("must be more than 0 and at most 4096")
    return value
