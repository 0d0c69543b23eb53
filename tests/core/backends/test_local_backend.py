"""LocalBackend end to end on tiny GLM-V checkpoints: real attachments, real engine, real reasoning splitter."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from PIL import Image

from app.core.backends.base import GenerationOptions
from app.core.backends.local import LocalBackend
from app.core.conversation import Attachment, Conversation, Message
from app.core.events import Answer, Done, Failed, Preparing, Thinking
from app.core.media.libreoffice import find_soffice
from tests.support.paths import ROOT
from tests.support.tiny_glmv import SCRIPT_ANSWER, SCRIPT_THINKING

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def scripted(scripted_glmv_dir):
    backend = LocalBackend(str(scripted_glmv_dir), dtype="float32")
    yield backend
    backend.unload()


@pytest.fixture
def screenshot(tmp_path) -> Path:
    path = tmp_path / "screenshot.png"
    image = Image.new("RGB", (640, 400), "navy")
    image.paste((250, 200, 0), (100, 100, 300, 200))
    image.save(path)
    return path


def collect(events):
    events = list(events)
    thinking = "".join(e.text for e in events if isinstance(e, Thinking))
    answer = "".join(e.text for e in events if isinstance(e, Answer))
    return events, thinking, answer


def test_thinking_and_answer_from_an_image_question(scripted, screenshot):
    conversation = Conversation().ask("What is on the screen?", [Attachment(screenshot)])
    events, thinking, answer = collect(scripted.stream(conversation, GenerationOptions(thinking=True)))
    assert thinking == SCRIPT_THINKING
    assert answer == SCRIPT_ANSWER
    done = events[-1]
    assert isinstance(done, Done) and done.finish_reason == "stop"
    assert done.usage["completion_tokens"] == 9
    image_tokens = scripted.media_target.max_pixels // (28 * 28 * 2)
    assert done.usage["prompt_tokens"] > image_tokens // 2
    first_answer = next(i for i, e in enumerate(events) if isinstance(e, Answer))
    assert all(isinstance(e, Thinking) for e in events[:first_answer])


def test_history_and_system_prompt(scripted):
    conversation = Conversation(
        messages=[
            Message("user", "Hi"),
            Message("assistant", "Hello!", thinking="the person greets me"),
            Message("user", "And now?"),
        ],
        system_prompt="Be brief.",
    )
    messages = scripted.messages(conversation, GenerationOptions(thinking=False))
    prompt = scripted.engine.prompt(messages, thinking=False)
    assert prompt.startswith("[gMASK]<sop><|system|>\nBe brief.<|user|>\nHi/nothink")
    assert "greets" not in prompt
    assert prompt.endswith("<|user|>\nAnd now?/nothink<|assistant|>\n<think></think>\n")
    one_turn = scripted.messages(conversation, GenerationOptions(history_turns=0))
    assert [m.role for m in one_turn] == ["system", "user"]


def test_random_model_streams_well_formed_events(tiny_glmv_dir, screenshot):
    backend = LocalBackend(str(tiny_glmv_dir), dtype="float32", max_pixels=28 * 28 * 32)
    try:
        conversation = Conversation().ask("Describe", [Attachment(screenshot)])
        events = list(backend.stream(conversation, GenerationOptions(max_tokens=16)))
    finally:
        backend.unload()
    assert isinstance(events[-1], Done)
    assert events[-1].finish_reason in ("stop", "length")
    assert all(isinstance(e, (Thinking, Answer)) for e in events[:-1])
    assert 1 <= events[-1].usage["completion_tokens"] <= 16


def test_cancel_ends_with_cancelled(scripted):
    cancel = threading.Event()
    cancel.set()
    events = list(scripted.stream(Conversation().ask("Hi"), GenerationOptions(), cancel))
    assert isinstance(events[-1], Failed) and events[-1].kind == "cancelled"


needs_soffice = pytest.mark.skipif(find_soffice() is None, reason="LibreOffice is not installed")


@needs_soffice
def test_the_local_stream_says_what_it_prepares_before_the_model_reads(scripted, tmp_path):
    """As the API backend does (issue 12): a deck LibreOffice converts for seconds is named while it is, then
    the answer comes."""
    from app.core.media.prepared import SHARED
    from tests.support.documents import text_deck

    SHARED.clear()
    deck = text_deck(tmp_path / "plan.pptx", 3)
    events = list(scripted.stream(Conversation().ask("What?", [Attachment(deck)]), GenerationOptions(max_tokens=8)))
    said = [e.text for e in events if isinstance(e, Preparing)]
    assert said and said[0].startswith("Preparing plan.pptx") and said[-1] == ""
    first_text = next(i for i, e in enumerate(events) if isinstance(e, (Thinking, Answer)))
    assert all(not isinstance(e, Preparing) or e.text == "" for e in events[first_text:])
    assert isinstance(events[-1], Done)


@needs_soffice
def test_a_stop_while_the_local_stream_prepares_ends_it_at_once(scripted, tmp_path):
    """It went on preparing and then said "input": a cancel reached only the engine."""
    from app.core.media.prepared import SHARED
    from tests.support.documents import text_deck

    SHARED.clear()
    cancel = threading.Event()
    events, stopped_at = [], None
    deck = text_deck(tmp_path / "long.pptx", 30)
    for event in scripted.stream(Conversation().ask("What?", [Attachment(deck)]), GenerationOptions(), cancel):
        events.append(event)
        if isinstance(event, Preparing) and event.text and stopped_at is None:
            stopped_at = time.monotonic()
            cancel.set()
    assert stopped_at is not None and time.monotonic() - stopped_at < 0.5
    assert isinstance(events[-1], Failed) and events[-1].kind == "cancelled"
    assert not any(isinstance(e, (Thinking, Answer)) for e in events)


def test_bad_attachment_is_an_input_failure(scripted, tmp_path):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    events = list(scripted.stream(Conversation().ask("What?", [Attachment(broken)]), GenerationOptions()))
    assert len(events) == 1 and isinstance(events[0], Failed) and events[0].kind == "input"
    assert "broken.png" in events[0].message


def test_missing_model_directory_is_a_model_failure(tmp_path):
    backend = LocalBackend(str(tmp_path / "no-model"))
    events = list(backend.stream(Conversation().ask("Hi"), GenerationOptions()))
    assert len(events) == 1 and events[0].kind == "model"
    assert "no such directory" in events[0].message


def test_media_target_follows_the_checkpoint(scripted, tiny_glmv_dir):
    from tests.support.tiny_glmv import TEST_MAX_PIXELS

    scripted.load()
    assert scripted.media_target.max_pixels == TEST_MAX_PIXELS
    assert scripted.capabilities.thinking_switch
    assert LocalBackend(str(tiny_glmv_dir), max_pixels=28 * 28 * 32).media_target.max_pixels == 28 * 28 * 32


def test_glmv_ask_backend_local_json(scripted_glmv_dir, screenshot):
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "app.cli",
            "ask",
            "--backend",
            "local",
            "--model",
            str(scripted_glmv_dir),
            "--attach",
            str(screenshot),
            "--json",
            "What is this?",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert run.returncode == 0, run.stderr
    events = [json.loads(line) for line in run.stdout.splitlines() if line.strip()]
    assert "".join(e["text"] for e in events if e["type"] == "thinking") == SCRIPT_THINKING
    assert "".join(e["text"] for e in events if e["type"] == "answer") == SCRIPT_ANSWER
    assert events[-1]["type"] == "done" and events[-1]["finish_reason"] == "stop"


def test_an_api_only_install_says_what_the_local_backend_needs(tmp_path):
    """Without torch (an API-only install) `glmv ask --backend local` fails with what to install, not a
    traceback from deep inside loading."""
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "from app.cli import main\n"
        f"sys.exit(main(['ask', '--backend', 'local', '--model', {str(tmp_path)!r}, 'hi']))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    assert "pip install 'glmv-desktop[local]'" in done.stderr and "Traceback" not in done.stderr


def test_an_image_attachment_reaches_the_processor_as_decoded(scripted, screenshot, monkeypatch):
    """No resize, PNG encode and decode on the way (the processor resizes by the same rule): the engine gets the
    file's pixels at the file's size, over the pixel budget as it is."""
    from app.core.media import images
    from glmv_local.chat import Image as ImagePart

    def no_round_trip(*args, **kwargs):
        raise AssertionError("the image went through a PNG encode")

    monkeypatch.setattr(images, "_png", no_round_trip)
    messages = scripted.messages(Conversation().ask("What?", [Attachment(screenshot)]), GenerationOptions())
    parts = [p for p in messages[-1].parts if isinstance(p, ImagePart)]
    assert len(parts) == 1 and parts[0].image.size == (640, 400)
    assert scripted.media_target.max_pixels < 640 * 400 * 2  # prepare() would have scaled it down
    assert parts[0].image.getpixel((150, 150)) == (250, 200, 0)
    events, thinking, answer = collect(
        scripted.stream(Conversation().ask("What?", [Attachment(screenshot)]), GenerationOptions())
    )
    assert (thinking, answer) == (SCRIPT_THINKING, SCRIPT_ANSWER)
    assert events[-1].usage["prompt_tokens"] > scripted.media_target.max_pixels // (28 * 28 * 2) // 2


def test_compiling_for_a_new_answer_size_shows_as_preparing(scripted_glmv_dir, tmp_path):
    """A folder of its own, whose record of compiled graphs is empty: the first compile says "Compiling" whatever
    the tests before it compiled (inductor's own cache stays the process-wide one)."""
    backend = LocalBackend(str(scripted_glmv_dir), dtype="float32")
    backend.engine.settings.speed = "compile"
    backend.engine.settings.warm_tokens = ()
    backend.engine.settings.compile_cache = str(tmp_path)
    try:
        events = list(backend.stream(Conversation().ask("Why?"), GenerationOptions(max_tokens=16)))
        again = list(backend.stream(Conversation().ask("Why?"), GenerationOptions(max_tokens=16)))
    finally:
        backend.unload()
    preparing = [e.text for e in events if isinstance(e, Preparing)]
    assert len(preparing) == 2 and "Compiling the decode step" in preparing[0] and preparing[1] == ""
    first_text = next(i for i, e in enumerate(events) if isinstance(e, (Thinking, Answer)))
    assert all(not isinstance(e, Preparing) for e in events[first_text:])
    assert collect(events)[1:] == (SCRIPT_THINKING, SCRIPT_ANSWER) and isinstance(events[-1], Done)
    assert not any(isinstance(e, Preparing) for e in again)  # the graph is kept for the next answers
    assert collect(again)[1:] == (SCRIPT_THINKING, SCRIPT_ANSWER)
    # Another start of the app: compiled before, the compiled graph comes from the cache folder, and it says so.
    later = LocalBackend(str(scripted_glmv_dir), dtype="float32")
    later.engine.settings.speed = "compile"
    later.engine.settings.warm_tokens = ()
    later.engine.settings.compile_cache = str(tmp_path)
    try:
        events = list(later.stream(Conversation().ask("Why?"), GenerationOptions(max_tokens=16)))
    finally:
        later.unload()
    preparing = [e.text for e in events if isinstance(e, Preparing)]
    assert "compiled before" in preparing[0] and preparing[1] == ""


def test_failed_download_is_a_network_failure_worth_retrying(tmp_path, monkeypatch):
    """The engine's own kind decides (app.core.errors.ENGINE_KINDS): its DownloadError is "download", which the
    window and `glmv ask` report as a network failure that may work when tried again."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "ENDPOINT", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    events = list(LocalBackend("nobody/no-such-model").stream(Conversation().ask("Hi"), GenerationOptions()))
    assert len(events) == 1 and isinstance(events[0], Failed)
    assert (events[0].kind, events[0].retryable) == ("network", True)
    assert "try again" in events[0].message
