"""What `glmv serve` costs per token: decode tokens/s through the server against the engine called directly.

    python benchmarks/bench_serve.py                        # the tiny test model (built in a temporary folder)
    python benchmarks/bench_serve.py --model DIR_OR_ID      # a real checkpoint (a GPU)

Both sides run the same request on the same loaded engine, in turns, with ``ignore_eos`` so every answer is
``--tokens`` long. The default model is the scripted tiny checkpoint (tests/support/tiny_glmv.py): it thinks, then
answers, then repeats "OK" and a special token, one text piece per token as a real model writes (the random one
writes byte garbage that decodes to one piece at the end, which would hide the server's per-piece work).
Direct: ``Engine.stream`` read on this thread. Served: the server in this process, as `glmv serve` runs it
(uvicorn, the request line, the reasoning splitter, SSE), read by a plain httpx stream and by the official openai
SDK. Decode rate is (tokens - 1) / (last piece - first piece) as the reader sees it; the server's cost per token
is the difference of the time per token. Medians of ``--rounds``. Wall time on a busy machine is noisy, so the
CPU time the server's event-loop thread and the engine thread spend per token is printed too (Unix): that is the
server's own work, whatever else the machine runs.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from glmv_local.chat import ChatMessage
from glmv_local.engine import Engine

PROMPT = "Describe what a benchmark measures."


def direct(engine: Engine, tokens: int) -> tuple[float, float]:
    """(decode tokens/s, seconds to the first piece)."""
    started = time.perf_counter()
    generation = engine.stream([ChatMessage.text("user", PROMPT)], max_new_tokens=tokens, ignore_eos=True)
    first = last = 0.0
    for _ in generation:
        last = time.perf_counter()
        first = first or last
    assert generation.completion_tokens == tokens, generation.completion_tokens
    return (tokens - 1) / (last - first), first - started


def body(tokens: int) -> dict:
    return {
        "model": "bench",
        "messages": [{"role": "user", "content": PROMPT}],
        "stream": True,
        "stream_options": {"include_usage": True},
        "max_tokens": tokens,
        "ignore_eos": True,
    }


def served_httpx(client, url: str, tokens: int) -> tuple[float, float]:
    started = time.perf_counter()
    first = last = 0.0
    counted = 0
    with client.stream("POST", url + "/chat/completions", json=body(tokens)) as response:
        response.raise_for_status()
        for line in response.iter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            chunk = json.loads(line[6:])
            if chunk.get("usage"):
                counted = chunk["usage"]["completion_tokens"]
            delta = chunk["choices"][0]["delta"] if chunk["choices"] else {}
            if delta.get("content") or delta.get("reasoning"):
                last = time.perf_counter()
                first = first or last
    assert counted == tokens, counted
    return (tokens - 1) / (last - first), first - started


def served_sdk(sdk, tokens: int) -> tuple[float, float]:
    started = time.perf_counter()
    first = last = 0.0
    counted = 0
    stream = sdk.chat.completions.create(
        model="bench",
        messages=[{"role": "user", "content": PROMPT}],
        stream=True,
        stream_options={"include_usage": True},
        max_tokens=tokens,
        extra_body={"ignore_eos": True},
    )
    for chunk in stream:
        if chunk.usage:
            counted = chunk.usage.completion_tokens
        if chunk.choices:
            delta = chunk.choices[0].delta
            if delta.content or getattr(delta, "reasoning", None):
                last = time.perf_counter()
                first = first or last
    assert counted == tokens, counted
    return (tokens - 1) / (last - first), first - started


def cpu_seconds(ident: int | None) -> float:
    """CPU time a thread has used (0 where the platform cannot say)."""
    if ident is None or not hasattr(time, "pthread_getcpuclockid"):
        return 0.0
    try:
        return time.clock_gettime(time.pthread_getcpuclockid(ident))
    except OSError:
        return 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="a checkpoint folder or Hub id (default: the tiny random model)")
    parser.add_argument("--tokens", type=int, default=400, help="answer length (400)")
    parser.add_argument("--rounds", type=int, default=5, help="runs of each kind (5)")
    parser.add_argument("--dtype", default=None, help="e.g. float32 (default: the engine's choice)")
    args = parser.parse_args(argv)

    import httpx
    import openai

    from app.serve.server import LocalServer
    from app.serve.service import ServeOptions, Service

    with tempfile.TemporaryDirectory() as tmp:
        model = args.model
        if model is None:
            from tests.support.tiny_glmv import build, script

            model = str(script(build(Path(tmp) / "tiny-glm-4.6v"), Path(tmp) / "scripted-glm-4.6v"))
        engine = Engine(model=model, dtype=args.dtype or ("float32" if args.model is None else None))
        engine.load()
        service = Service(engine, ServeOptions(model_name="bench", max_queue=None))
        server = LocalServer(service, "127.0.0.1", 0)
        server.start()
        rates: dict[str, list[float]] = {"direct": [], "server (httpx)": [], "server (openai SDK)": []}
        firsts: dict[str, list[float]] = {k: [] for k in rates}
        cpu: dict[str, list[tuple[float, float]]] = {k: [] for k in rates}  # (event loop, engine) s per token
        loop_thread = next(t for t in threading.enumerate() if t.name == "glmv-serve").ident
        try:
            with httpx.Client(timeout=600) as client:
                sdk = openai.OpenAI(base_url=server.url, api_key="bench", max_retries=0, timeout=600)
                direct(engine, min(args.tokens, 32))  # warm up both paths
                served_httpx(client, server.url, min(args.tokens, 32))
                for _ in range(args.rounds):
                    for name, run in (
                        ("direct", lambda: direct(engine, args.tokens)),
                        ("server (httpx)", lambda: served_httpx(client, server.url, args.tokens)),
                        ("server (openai SDK)", lambda: served_sdk(sdk, args.tokens)),
                    ):
                        loop_before, engine_before = cpu_seconds(loop_thread), cpu_seconds(engine.thread_ident)
                        rate, first = run()
                        loop_used = cpu_seconds(loop_thread) - loop_before
                        engine_used = cpu_seconds(engine.thread_ident) - engine_before
                        rates[name].append(rate)
                        firsts[name].append(first)
                        cpu[name].append((loop_used / args.tokens, engine_used / args.tokens))
        finally:
            server.stop()
            engine.unload()

    device = engine.settings.device or "auto"
    print(f"model: {args.model or 'tiny scripted GLM-4.6V (0.3 M parameters)'}, device {device}, {args.tokens} tokens")
    print(
        f"{'':22} {'decode tok/s':>13} {'ms/token':>9} {'first piece ms':>15} {'CPU µs/token: loop':>19} {'engine':>7}"
    )
    base = 1000 / statistics.median(rates["direct"])
    for name in rates:
        rate = statistics.median(rates[name])
        loop_us = 1e6 * statistics.median(c[0] for c in cpu[name])
        engine_us = 1e6 * statistics.median(c[1] for c in cpu[name])
        first_ms = 1000 * statistics.median(firsts[name])
        print(f"{name:22} {rate:13.0f} {1000 / rate:9.3f} {first_ms:15.1f} {loop_us:19.0f} {engine_us:7.0f}")
    for name in ("server (httpx)", "server (openai SDK)"):
        per_token = 1000 / statistics.median(rates[name]) - base
        print(f"cost per token, {name}: {per_token * 1000:+.0f} µs ({per_token / base:+.1%} of a direct token)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
