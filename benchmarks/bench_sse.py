"""SSE throughput: 100k tokens from a loopback server through ApiBackend.stream (httpx, SSE parsing, JSON, the
reasoning splitter), one token per chunk as vLLM sends them.

Target: at least 50k tokens/s on a 2-core machine with memory flat, so the client is never the bottleneck
(fast servers stream a few hundred tokens/s per request). Prints tokens/s, wall time and RSS, then how long a
cancel takes to end a stream whose server went silent (target: under 200 ms).

    .venv/bin/python benchmarks/bench_sse.py [--tokens 100000] [--runs 3] [--style vllm|zai|llamacpp]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.core.backends.api import ApiBackend
from app.core.backends.base import GenerationOptions
from app.core.conversation import Conversation
from app.core.events import Answer, Done, Failed, Thinking
from tests.support.openai_server import OpenAIServer, RawStream, Stream, dialect_chunks

WORDS = ["the", " model", " looks", " at", " a", " chart", ",", " then", " 42", " 你好", " answer", "."]


def payload(tokens: int, style: str) -> bytes:
    """Half reasoning, half answer, one token per SSE event, with the envelope real servers send."""
    half = tokens // 2
    head = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1700000000, "model": "glm-4.6v"}
    field = {"vllm": "reasoning", "zai": "reasoning_content"}.get(style, "content")
    out = []
    for i in range(tokens):
        word = WORDS[i % len(WORDS)]
        if style == "llamacpp":
            word = ("<think>" if i == 0 else "") + word + ("</think>" if i == half - 1 else "")
        delta = {field if i < half else "content": word}
        chunk = {**head, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}
        out.append(b"data: " + json.dumps(chunk, ensure_ascii=False).encode() + b"\n\n")
    last = {**head, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
    out.append(b"data: " + json.dumps(last).encode() + b"\n\n")
    out.append(b"data: [DONE]\n\n")
    return b"".join(out)


def rss_mb() -> float:
    """Current resident set size (Linux /proc), else the peak so far."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * resource.getpagesize() / 2**20
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_once(server: OpenAIServer, body: bytes, tokens: int) -> tuple[float, int, float, float]:
    server.enqueue(RawStream(body))
    backend = ApiBackend("vllm", base_url=server.url, model="glm-4.6v")
    rss_start = rss_mb()
    rss_peak = rss_start
    thinking = answer = events = 0
    started = time.perf_counter()
    for event in backend.stream(Conversation().ask("bench"), GenerationOptions()):
        events += 1
        if isinstance(event, Thinking):
            thinking += len(event.text)
        elif isinstance(event, Answer):
            answer += len(event.text)
        elif not isinstance(event, Done):
            raise SystemExit(f"unexpected event: {event}")
        if events % 10000 == 0:
            rss_peak = max(rss_peak, rss_mb())
    wall = time.perf_counter() - started
    backend.close()
    if not thinking or not answer:
        raise SystemExit("the stream did not split into thinking and answer")
    return wall, events, rss_start, max(rss_peak, rss_mb())


def cancel_latency(server: OpenAIServer) -> float:
    """Seconds from setting cancel to the stream's final ``Failed(cancelled)``, with the read blocked."""
    server.enqueue(Stream(dialect_chunks("vllm", "r", "partial")[:-2], ending="stall"))
    backend = ApiBackend("vllm", base_url=server.url, model="glm-4.6v")
    cancel = threading.Event()
    set_at = None
    last = None
    for event in backend.stream(Conversation().ask("bench"), GenerationOptions(), cancel):
        last = event
        if isinstance(event, Answer) and set_at is None:
            # Let the read block on the silent server before cancelling.
            timer = threading.Timer(0.2, cancel.set)
            timer.start()
            set_at = time.perf_counter() + 0.2
    ended = time.perf_counter()
    backend.close()
    if not (isinstance(last, Failed) and last.kind == "cancelled") or set_at is None:
        raise SystemExit(f"cancel did not end the stream as cancelled: {last}")
    return ended - set_at


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--style", choices=("vllm", "zai", "llamacpp"), default="vllm")
    args = parser.parse_args()

    body = payload(args.tokens, args.style)
    print(f"payload: {args.tokens} tokens as SSE ({args.style} style), {len(body) / 2**20:.1f} MB")
    walls = []
    with OpenAIServer() as server:
        for run in range(1, args.runs + 1):
            wall, events, rss_start, rss_peak = run_once(server, body, args.tokens)
            walls.append(wall)
            print(
                f"run {run}: {args.tokens / wall:,.0f} tokens/s, wall {wall:.2f} s, {events} events, "
                f"RSS {rss_start:.0f} -> peak {rss_peak:.0f} MB (+{rss_peak - rss_start:.1f})"
            )
        latencies = [cancel_latency(server) for _ in range(5)]
    best, median = min(walls), statistics.median(walls)
    print(f"best {args.tokens / best:,.0f} tokens/s, median {args.tokens / median:,.0f} tokens/s (target >= 50,000)")
    print(f"peak RSS of the process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    print(
        f"cancel with the read blocked: median {statistics.median(latencies) * 1000:.0f} ms, "
        f"worst {max(latencies) * 1000:.0f} ms over {len(latencies)} (target < 200 ms)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
