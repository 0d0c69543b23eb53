"""The engine on tiny GLM-4.6V-style checkpoints: the real loader, processor, template, generate and streamer."""

from __future__ import annotations

import threading

import pytest
from PIL import Image

from glmv_local.chat import ChatMessage, Text, Video
from glmv_local.chat import Image as ImagePart
from glmv_local.engine import Engine
from glmv_local.errors import InputError, MissingDependency, OutOfMemory
from tests.support.tiny_glmv import SCRIPT_ANSWER, SCRIPT_THINKING

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def engine(tiny_glmv_dir):
    engine = Engine(model=str(tiny_glmv_dir), dtype="float32")
    engine.load()
    yield engine
    engine.unload()


@pytest.fixture(scope="module")
def scripted(scripted_glmv_dir):
    engine = Engine(model=str(scripted_glmv_dir), dtype="float32")
    yield engine
    engine.unload()


def picture(width: int, height: int) -> Image.Image:
    image = Image.new("RGB", (width, height), "white")
    for x in range(0, width, 7):
        image.putpixel((x, x % height), (200, 30, 30))
    return image


def ask(text: str, *images: Image.Image) -> list[ChatMessage]:
    return [ChatMessage("user", [*(ImagePart(i) for i in images), Text(text)])]


def test_load_reports_progress_and_stays_resident(tiny_glmv_dir):
    stages = []
    engine = Engine(model=str(tiny_glmv_dir), dtype="float32")
    loaded = engine.load(lambda p: stages.append(p.stage))
    assert stages[0] == "verify" and "weights" in stages and stages[-1] == "ready"
    assert loaded.placement.device == "cpu"
    assert any("slow" in w for w in loaded.warnings)
    assert engine.load() is loaded
    engine.unload()
    assert not engine.is_loaded


def test_image_reaches_the_model_with_expanded_tokens_and_mm_token_type_ids(engine):
    # 168x112 is a multiple of 28 and (doubled into two temporal frames) within the pixel budget, so it is not
    # resized: 12x8 patches of 14 pixels, merged 2x2 into 24 tokens.
    calls, vision = [], []

    def capture(module, args, kwargs):
        calls.append({k: v for k, v in kwargs.items() if v is not None})

    def capture_vision(module, args, kwargs):
        vision.append((args, kwargs))

    model = engine.loaded.model
    handles = [
        model.register_forward_pre_hook(capture, with_kwargs=True),
        model.model.visual.register_forward_pre_hook(capture_vision, with_kwargs=True),
    ]
    try:
        generation = engine.stream(ask("What is in the picture?", picture(168, 112)), max_new_tokens=3)
        generation.text()
    finally:
        for handle in handles:
            handle.remove()
    assert len(vision) == 1  # the image is encoded once, before the prefill
    (pixels, *_), kwargs = vision[0]
    assert pixels.shape[0] == 96
    assert kwargs["grid_thw"].tolist() == [[1, 8, 12]]
    prefill = calls[0]  # decode steps carry one new token each
    assert "mm_encoder_outputs" in prefill
    image_id = engine.processor.image_token_id
    ids = prefill["input_ids"][0]
    assert int((ids == image_id).sum()) == 24
    types = prefill["mm_token_type_ids"][0]
    assert int((types == 1).sum()) == 24 and bool(((types == 1) == (ids == image_id)).all())
    assert generation.prompt_tokens == ids.shape[0]


def test_pixel_budget_is_configurable(tiny_glmv_dir):
    # The budget counts both temporal frames an image is doubled into: 28*28*32 pixels leave 112x112 for a
    # square image, 8x8 patches, 16 tokens.
    small = Engine(model=str(tiny_glmv_dir), dtype="float32", max_pixels=28 * 28 * 32)
    try:
        batch = small.inputs(ask("Look", picture(560, 560)))
        assert int((batch["input_ids"] == small.processor.image_token_id).sum()) == 16
    finally:
        small.unload()


def test_streams_pieces_from_a_worker_thread(engine):
    threads = set()
    generation = engine.stream(ask("Describe", picture(100, 80)), max_new_tokens=12, ignore_eos=True)
    pieces = []
    for piece in generation:
        pieces.append(piece)
        threads.add(threading.current_thread().name)
    assert generation.completion_tokens == 12
    assert generation.finish_reason == "length"
    assert len(pieces) >= 2 and all(pieces)
    assert generation.first_token_seconds is not None and generation.first_token_seconds <= generation.seconds
    assert threads == {threading.current_thread().name}


def test_cancel_stops_within_two_decode_steps(engine):
    cancel = threading.Event()
    generation = engine.stream(ask("Go on"), max_new_tokens=400, ignore_eos=True, cancel=cancel)
    for n, _piece in enumerate(generation):
        if n == 2:
            cancel.set()
            at_cancel = generation.tokens_so_far
    assert generation.finish_reason == "cancelled"
    assert at_cancel <= generation.completion_tokens <= at_cancel + 2
    assert generation.completion_tokens < 400


def test_prompt_with_thinking_on_and_off(engine):
    messages = ask("Hi")
    on = engine.prompt(messages, thinking=True)
    off = engine.prompt(messages, thinking=False)
    assert on.startswith("[gMASK]<sop>") and on.endswith("<|user|>\nHi<|assistant|>\n")
    assert "/nothink" not in on
    assert off.endswith("<|user|>\nHi/nothink<|assistant|>\n<think></think>\n")


def test_history_is_sent_without_reasoning(engine):
    messages = [
        ChatMessage("user", [ImagePart(picture(56, 56)), Text("First?")]),
        ChatMessage.text("assistant", "<think>secret chain of thought</think>First answer."),
        ChatMessage.text("user", "Second?"),
    ]
    prompt = engine.prompt(messages, thinking=False)
    assert "secret" not in prompt
    assert "<|assistant|>\n<think></think>\nFirst answer.<|user|>\nSecond?/nothink" in prompt
    assert prompt.count("/nothink") == 2
    assert prompt.count("<|begin_of_image|><|image|><|end_of_image|>") == 1


def test_scripted_model_writes_its_thinking_and_answer(scripted):
    generation = scripted.stream(ask("Why?", picture(120, 90)), max_new_tokens=50)
    text = generation.text()
    assert text == f"<think>{SCRIPT_THINKING}</think>{SCRIPT_ANSWER}"
    assert generation.finish_reason == "stop"
    assert generation.completion_tokens == 9  # 8 pieces of text and the stop token, which is not in the text


def test_two_turns_on_one_resident_model(scripted):
    first = scripted.stream(ask("One?"), max_new_tokens=50)
    answer = first.text()
    history = [*ask("One?"), ChatMessage.text("assistant", answer), ChatMessage.text("user", "Two?")]
    assert SCRIPT_THINKING not in scripted.prompt(history)
    second = scripted.stream(history, max_new_tokens=50)
    assert second.text() == answer
    assert second.prompt_tokens > first.prompt_tokens


def test_out_of_memory_becomes_a_clear_error_and_the_engine_recovers(engine):
    import torch

    def explode(module, args, output):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    handle = engine.loaded.model.model.language_model.register_forward_hook(explode)
    try:
        generation = engine.stream(ask("Hi"), max_new_tokens=5)
        with pytest.raises(OutOfMemory, match=r"ran out of memory.*4-bit"):
            generation.text()
    finally:
        handle.remove()
    again = engine.stream(ask("Hi"), max_new_tokens=4, ignore_eos=True)
    again.text()
    assert again.completion_tokens == 4


def test_video_without_torchvision_names_what_to_install(engine, tmp_path):
    from glmv_local.processor import has_torchvision

    if has_torchvision():
        pytest.skip("torchvision is installed here: video goes through the real video processor")
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"\x00\x00\x00\x18ftypmp42")
    with pytest.raises(MissingDependency, match="torchvision"):
        engine.stream([ChatMessage("user", [Video(clip), Text("What happens?")])])


def test_conversation_must_end_with_a_question(engine):
    with pytest.raises(InputError, match="question"):
        engine.stream([ChatMessage.text("assistant", "Hello")])


def test_prompt_over_the_context_is_refused(tiny_glmv_dir):
    short = Engine(model=str(tiny_glmv_dir), dtype="float32", context_tokens=64)
    try:
        generation = short.stream(ask("word " * 100))  # prepared on the engine thread: refused there
        with pytest.raises(InputError, match="64-token context"):
            generation.text()
        assert generation.completion_tokens == 0
    finally:
        short.unload()
