"""Enter to request: how long after Enter the loopback server receives a question carrying the 285-page corpus PDF,
a deck and an image (issue 12, point 3), in the assembled app on Xvfb (``tests.support.app_window``).

Two cases: Enter once the three chips have read their files (the person waited), and Enter right after attaching
(the chips still reading). Also the core's own cost: ``ApiBackend.request_body`` for the same question, cold
and after the files were prepared once in this process.

Figures on the 2-core machine, before the prepared parts were kept -> after: Enter after the chips read 4.4 s
-> 0.12-0.18 s; Enter while they read 5.5 s -> 3.9 s (the wait for the deck's one LibreOffice conversion, no
longer done twice side by side); request_body once the files were prepared 4.3 s -> 0.05 s.

    .venv/bin/python benchmarks/bench_send.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.app_window import key, look, running_app, settle, type_text  # noqa: E402
from tests.support.openai_server import dialect_stream  # noqa: E402
from tests.support.profiled_app import until  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus"
FILES = [CORPUS / name for name in ("mupdf_explored.pdf", "cht-chart-type.pptx", "glmv-bench-chart.jpeg")]
READY = "len(w.composer.strip.chips()) == 3 and all(c.ready for c in w.composer.strip.chips())"


def core() -> None:
    from app.core.backends.api import ApiBackend
    from app.core.backends.base import GenerationOptions
    from app.core.conversation import Attachment, Conversation, Message
    from app.core.media import prepare

    backend = ApiBackend("vllm", base_url="http://127.0.0.1:9/v1", model="glm-4.6v")
    conversation = Conversation([Message("user", "What is in these?", [Attachment(f) for f in FILES])])
    for when in ("cold", "after the chips prepared them"):
        if when != "cold":
            for f in FILES:
                prepare(Attachment(f), backend.media_target)
        start = time.perf_counter()
        body = backend.request_body(conversation, GenerationOptions())
        print(f"request_body, {when}: {time.perf_counter() - start:.2f} s ({body.length / 1e6:.1f} MB)")


def send(app, wait_for_chips: bool) -> float:
    app.server.enqueue(dialect_stream("vllm", reasoning="Looking.", answer="Seen."))
    count = len(app.server.chat_requests)
    look(app, "w.new_chat()")
    if not wait_for_chips:  # files not attached before: nothing kept from the earlier questions
        look(app, "__import__('app.core.media.prepared', fromlist=['SHARED']).SHARED.clear()")
    look(app, f"w.add_files({[str(f) for f in FILES]!r})")
    if wait_for_chips:
        until(lambda: look(app, READY), 120, "the chips read")
    look(app, "w.focus_composer()")
    type_text(app, "What is in these?")
    settle(app, 0.2)
    if wait_for_chips:
        until(lambda: look(app, READY), 120, "the chips read")
    else:
        assert not look(app, READY), "the chips were done before Enter"
    start = time.monotonic()
    key(app, "Return")
    until(lambda: len(app.server.chat_requests) > count, 120, "the request", every=0.02)
    seconds = time.monotonic() - start
    until(lambda: not look(app, "w.is_streaming()"), 60, "the answer")
    return seconds


def main() -> None:
    core()
    with tempfile.TemporaryDirectory() as tmp, running_app(Path(tmp)) as app:
        print(f"window, first question, Enter after the chips read: {send(app, True):.2f} s to the request")
        print(f"window, next question, Enter after the chips read: {send(app, True):.2f} s to the request")
        print(f"window, next question, Enter while the chips read: {send(app, False):.2f} s to the request")


if __name__ == "__main__":
    main()
