"""Peak memory of `glmv ask` against a hostile server (issue 13): each case runs `glmv ask` as a child process
against the loopback test server and reads that child's peak RSS (getrusage(RUSAGE_CHILDREN) in a small launcher
process: a child forked straight from this process would start its peak at this process's size, server included).

Cases: a 1 GB text/html body on status 200; a 500 MB SSE line without a newline; a 600 MB video for the openai
preset (a real short clip made 600 MB by a trailing MP4 free box, written to a temporary folder a MB at a time),
which must be re-encoded under the preset's request limit; a 60 MB video within the limit, sent whole as an
80 MB base64 body streamed from the file; keep-alive comments every 0.2 s after some tokens with --timeout 5
(how long until it ends). Target: every peak under 500 MB, the keep-alive case ended near 5 s.

    .venv/bin/python benchmarks/bench_hostile_server.py [--only page,line,video,whole,keepalive] [--dir TMP]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.openai_server import Lazy, OpenAIServer, Stream, dialect_chunks, dialect_stream  # noqa: E402

MB = 2**20


LAUNCHER = """
import resource, subprocess, sys
code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, code)
"""


def ask(server: OpenAIServer, *extra: str, preset: str = "vllm") -> tuple[float, float, int, str]:
    """(peak RSS in MB, wall seconds, exit code, last line of stderr) of one `glmv ask`."""
    args = [sys.executable, "-m", "app.cli", "ask", "--preset", preset, "--base-url", server.url, "--model", "m"]
    env = {k: v for k, v in os.environ.items() if k != "GLMV_API_KEY"}
    with tempfile.TemporaryFile() as err:
        started = time.monotonic()
        launched = subprocess.run(
            [sys.executable, "-c", LAUNCHER, *args, *extra], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=err
        )
        took = time.monotonic() - started
        err.seek(0)
        lines = err.read().decode("utf-8", "replace").strip().splitlines()
    peak_kb, code = launched.stdout.split()
    return int(peak_kb) / 1024, took, int(code), lines[-1] if lines else ""


def report(name: str, result: tuple[float, float, int, str], note: str = "") -> bool:
    peak, took, code, last = result
    ok = peak < 500
    print(f"{name}: peak RSS {peak:.0f} MB ({'under' if ok else 'OVER'} 500 MB), {took:.1f} s, exit {code}{note}")
    print(f"    {last[:300]}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="page,line,video,whole,keepalive", help="comma-separated cases to run")
    parser.add_argument("--dir", default=None, help="where the 600 MB video is written (default: a temp folder)")
    args = parser.parse_args()
    cases = set(args.only.split(","))
    ok = True
    with OpenAIServer() as server:
        floor = ask(server, "hi")
        print(f"floor (a normal short answer): peak RSS {floor[0]:.0f} MB, {floor[1]:.1f} s, exit {floor[2]}")
        if "page" in cases:
            page = Lazy(1024 * MB, "text/html; charset=utf-8", head=b"<html><body>It works!")
            server.enqueue(page)
            ok &= report("1 GB text/html body", ask(server, "hi"), f", server got to send {page.sent / MB:.0f} MB")
        if "line" in cases:
            line = Lazy(500 * MB, "text/event-stream", head=b'data: {"choices": "')
            server.enqueue(line)
            ok &= report("500 MB SSE line", ask(server, "hi"), f", server got to send {line.sent / MB:.0f} MB")
        for case, size, name in (("video", 600, "600 MB video"), ("whole", 60, "60 MB video within the limit")):
            if case not in cases:
                continue
            from tests.support.videos import padded_video

            with tempfile.TemporaryDirectory(dir=args.dir) as folder:
                made = time.monotonic()
                video = padded_video(Path(folder) / "big.mp4", size * MB)
                print(f"(made the {video.stat().st_size / MB:.0f} MB video in {time.monotonic() - made:.1f} s)")
                server.enqueue(dialect_stream("openai", "", "A noisy clip."))
                before = len(server.chat_requests)
                result = ask(server, "--attach", str(video), "what is it?", preset="openai")
                sent = server.chat_requests[before:]
                body = f", request body {len(sent[-1].raw) / 1e6:.2f} MB" if sent else ", nothing sent"
                server.requests.clear()  # a recorded 80 MB body only makes this process bigger
                ok &= report(f"{name} (openai preset)", result, body)
        if "keepalive" in cases:
            server.enqueue(Stream([*dialect_chunks("vllm", "", "kept")[:-2], *[": ping\n\n"] * 300], delay=0.2))
            result = ask(server, "--timeout", "5", "hi")
            ended = 4 < result[1] < 12
            ok &= ended and report("keep-alive comments, --timeout 5", result, " (target: ends after ~5 s)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
