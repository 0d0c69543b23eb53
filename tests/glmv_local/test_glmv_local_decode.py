"""The engine's decode loop on the tiny GLM-4.6V model, eager and with torch.compile forced on the CPU: greedy
decoding gives generate's tokens, everything runs on the engine's one thread, one graph per KV cache bucket, and
the compiled step attends over its bucket with the model's 2 K/V heads."""

from __future__ import annotations

import threading

import pytest
from PIL import Image

from glmv_local import attention, jobs
from glmv_local.chat import ChatMessage, Text
from glmv_local.chat import Image as ImagePart
from glmv_local.engine import Engine

pytestmark = pytest.mark.slow
NEW = 40


def picture(width: int, height: int) -> Image.Image:
    image = Image.new("RGB", (width, height), "white")
    for x in range(0, width, 5):
        image.putpixel((x, (3 * x) % height), (200, 30, 30))
    return image


def graphs_so_far() -> int:
    from torch._dynamo.utils import counters

    return int(counters["stats"]["unique_graphs"])


@pytest.fixture(scope="module")
def eager(tiny_glmv_dir):
    engine = Engine(model=str(tiny_glmv_dir), dtype="float32", context_tokens=4096)
    engine.load()
    yield engine
    engine.unload()


@pytest.fixture(scope="module")
def compiled(tiny_glmv_dir, compile_cache_dir):
    """Compile forced on the CPU, the 2K bucket warmed while loading; the load's progress remembers its thread."""
    graphs_before = graphs_so_far()
    engine = Engine(
        model=str(tiny_glmv_dir),
        dtype="float32",
        context_tokens=4096,
        speed="compile",
        warm_tokens=(1,),
        compile_cache=str(compile_cache_dir),
    )
    stages: list[tuple[str, int]] = []
    engine.load(lambda p: stages.append((p.stage, threading.get_ident())))
    engine.test_stages = stages  # type: ignore[attr-defined]
    engine.test_graphs_before = graphs_before  # type: ignore[attr-defined]
    assert engine.compiled and engine.decoder.ready == {2048}
    yield engine
    engine.unload()


def reference(engine: Engine, messages: list[ChatMessage], new: int) -> list[int]:
    """``model.generate``'s greedy tokens with transformers' own attention and cache (on the engine thread, which
    is idle meanwhile), the stop tokens forbidden for ``new`` tokens as the engine's ``ignore_eos``."""
    batch = engine.inputs(messages, thinking=False)
    model = engine.loaded.model

    def generate() -> list[int]:
        with attention.stock_attention(model):
            out = model.generate(**batch, max_new_tokens=new, min_new_tokens=new, do_sample=False, disable_compile=True)
        return out[0, batch["input_ids"].shape[1] :].tolist()

    return engine.run(generate)


def answer(engine: Engine, messages: list[ChatMessage], new: int = NEW) -> tuple[list[int], str, jobs.Finished]:
    job = engine.submit(messages, thinking=False, max_new_tokens=new, ignore_eos=True)
    events = list(job.events())
    assert isinstance(events[-1], jobs.Finished), events[-1]
    text = "".join(e.text for e in events if isinstance(e, jobs.Text))
    return job.token_ids, text, events[-1]


def conversations() -> dict[str, list[ChatMessage]]:
    first = [ChatMessage("user", [ImagePart(picture(168, 112)), Text("What is in the picture?")])]
    return {
        "text": [ChatMessage.text("user", "Tell me about the weather in Lisbon in spring.")],
        "image": first,
        "two turns": [
            *first,
            ChatMessage.text("assistant", "<think>hidden</think>A white card with red dots."),
            ChatMessage.text("user", "And how many dots are there?"),
        ],
    }


@pytest.mark.parametrize("case", ["text", "image", "two turns"])
@pytest.mark.parametrize("mode", ["eager", "compiled"])
def test_greedy_decoding_is_token_identical_to_generate(request, mode, case):
    engine = request.getfixturevalue(mode)
    messages = conversations()[case]
    ids, text, finished = answer(engine, messages)
    expected = reference(engine, messages, NEW)
    assert ids == expected
    assert finished.reason == "length" and finished.stats.completion_tokens == NEW
    assert text == engine.processor.tokenizer.decode(expected, skip_special_tokens=False)


def test_greedy_stops_where_generate_stops(eager):
    """Without ignore_eos both end at the first stop token (the engine counts it, its text leaves it out)."""
    messages = conversations()["text"]
    stop_ids = eager.stop_ids
    job = eager.submit(messages, thinking=False, max_new_tokens=400)
    finished = list(job.events())[-1]
    batch = eager.inputs(messages, thinking=False)
    model = eager.loaded.model

    def generate() -> list[int]:
        with attention.stock_attention(model):
            out = model.generate(**batch, max_new_tokens=400, do_sample=False, disable_compile=True)
        return out[0, batch["input_ids"].shape[1] :].tolist()

    expected = eager.run(generate)
    assert job.token_ids == expected
    assert finished.reason == ("stop" if expected[-1] in stop_ids else "length")


def test_load_warm_up_and_every_request_run_on_the_engine_thread(compiled):
    ident = compiled.thread_ident
    assert ident is not None and ident != threading.get_ident()
    stages = compiled.test_stages
    assert {stage for stage, _ in stages} >= {"verify", "weights", "warmup", "ready"}
    assert {thread for _, thread in stages} == {ident}
    seen: list[int] = []
    handle = compiled.loaded.model.register_forward_pre_hook(lambda *_: seen.append(threading.get_ident()))
    try:
        for case in ("text", "image"):
            answer(compiled, conversations()[case], new=4)
    finally:
        handle.remove()
    assert seen and set(seen) == {ident}  # the prefills (the compiled steps run no Python hooks)
    assert compiled.compile_counts()[0] >= 1  # the warm-up compiled on this thread


def test_recompiles_equal_the_buckets_used(compiled):
    """Short answers use the warmed 2K bucket; answers with room for 2,100 tokens take the 4K bucket, compiled
    on its first use (with a status line) and reused after: two graphs in all, whatever the number of requests."""
    buckets = set()
    statuses = []
    for new in (8, 2100, 8, 2100, 2100):
        cancel = threading.Event()
        job = compiled.submit(
            conversations()["text"], thinking=False, max_new_tokens=new, ignore_eos=True, cancel=cancel
        )
        for event in job.events():
            if isinstance(event, jobs.Status):
                statuses.append(event.message)
            elif isinstance(event, jobs.Text) and event.tokens >= 8:
                cancel.set()
            elif isinstance(event, jobs.Finished):
                buckets.add(event.stats.bucket)
    assert buckets == {2048, 4096} == compiled.decoder.ready
    compiles, captures = compiled.compile_counts()
    assert compiles == len(buckets)
    assert graphs_so_far() - compiled.test_graphs_before == len(buckets)
    cuda = compiled.loaded.placement.device.startswith("cuda")
    assert captures == (len(buckets) if cuda else 0)  # one CUDA graph per bucket, none on the CPU
    assert len(statuses) == 2 and "4,096 tokens" in statuses[0] and statuses[1] == ""


def test_a_seed_repeats_a_sampled_answer_in_the_compiled_loop(compiled):
    """The compiled step draws its noise inside the graph: the seed set before the first token still decides it."""

    def sampled(seed: int | None) -> list[int]:
        job = compiled.submit(
            conversations()["text"], thinking=False, max_new_tokens=16, ignore_eos=True, temperature=1.5, seed=seed
        )
        assert isinstance(list(job.events())[-1], jobs.Finished)
        return job.token_ids

    first = sampled(3)
    sampled(None)
    assert sampled(3) == first and sampled(4) != first


def test_cancel_stops_the_compiled_loop_within_two_tokens(compiled):
    cancel = threading.Event()
    generation = compiled.stream(conversations()["text"], max_new_tokens=1500, ignore_eos=True, cancel=cancel)
    for n, _piece in enumerate(generation):
        if n == 3:
            cancel.set()
            at_cancel = generation.tokens_so_far
    assert generation.finish_reason == "cancelled"
    assert at_cancel <= generation.completion_tokens <= at_cancel + 2


def test_the_compiled_step_reads_its_bucket_with_the_models_kv_heads(tiny_glmv_dir, tmp_path):
    """The graph dynamo captures for a decode step: every attention call gets K/V of shape (1, 2 heads, bucket,
    head dim), never expanded to the 4 query heads, and the bucket depends on the request, not on the context:
    with 4K or 32K of context a short answer's step attends over the same 2,048 positions."""
    import torch

    from glmv_local import loader
    from glmv_local.decode import Decoder

    loaded = loader.load(str(tiny_glmv_dir), dtype="float32")
    model = loaded.model
    attention.use_grouped_attention(model)
    text = model.config.get_text_config()
    heads, kv_heads, head_dim = text.num_attention_heads, text.num_key_value_heads, text.head_dim
    shapes = {}
    for context in (4096, 32768):
        graphs = []

        def record(gm, example_inputs, graphs=graphs):
            graphs.append(gm)
            return gm.forward

        with torch.inference_mode():
            decoder = Decoder(model, context_tokens=context, compile_mode="default", compile_backend=record)
            size = decoder.cache.pick(100 + 256)
            decoder.prepare(size)
        assert len(graphs) == 1
        calls = [n for n in graphs[0].graph.nodes if "scaled_dot_product_attention" in str(n.target)]
        assert len(calls) == text.num_hidden_layers
        keys = {tuple(n.args[1].meta["example_value"].shape) for n in calls}
        values = {tuple(n.args[2].meta["example_value"].shape) for n in calls}
        queries = {tuple(n.args[0].meta["example_value"].shape) for n in calls}
        assert keys == values == {(1, kv_heads, 2048, head_dim)}
        assert queries == {(1, kv_heads, heads // kv_heads, head_dim)}  # query heads folded onto the K/V heads
        expanded = [
            n
            for n in graphs[0].graph.nodes
            if hasattr(n.meta.get("example_value"), "shape")
            and tuple(n.meta["example_value"].shape)[:3] == (1, heads, 2048)
        ]
        assert not expanded
        shapes[context] = (size, keys)
    assert shapes[4096] == shapes[32768]


def test_a_compile_failure_is_said_and_answers_come_without_it(tiny_glmv_dir, compile_cache_dir, monkeypatch):
    """Instead of falling back silently: the load's warnings (which the window shows) say what failed and what it
    costs, and the answers are the same tokens, decoded eagerly."""
    import torch

    from glmv_local import decode

    def unsupported_step():
        def step(*args):
            torch._dynamo.graph_break()  # what flash-attn's unpadding does to a full graph
            return decode.decode_step(*args)

        return step

    monkeypatch.setattr(decode, "own_step", unsupported_step)
    engine = Engine(
        model=str(tiny_glmv_dir),
        dtype="float32",
        context_tokens=4096,
        speed="compile",
        warm_tokens=(1,),
        compile_cache=str(compile_cache_dir),
    )
    try:
        loaded = engine.load()
        assert not engine.compiled
        assert any(w.startswith("torch.compile failed (") and "slower" in w for w in loaded.warnings)
        messages = conversations()["text"]
        ids, _, finished = answer(engine, messages, new=12)
        assert ids == reference(engine, messages, 12) and finished.reason == "length"
    finally:
        engine.unload()


def test_unloading_cancels_what_is_answering_and_queued(tiny_glmv_dir):
    engine = Engine(model=str(tiny_glmv_dir), dtype="float32", context_tokens=4096)
    engine.load()
    running = engine.submit(conversations()["text"], max_new_tokens=4000, ignore_eos=True)
    queued = engine.submit(conversations()["text"], max_new_tokens=4000, ignore_eos=True)
    assert isinstance(next(running.events(timeout=60)), jobs.Text)
    engine.unload()
    assert not engine.is_loaded and engine.thread_ident is None
    for job in (running, queued):
        assert job.done and isinstance(job.outcome, jobs.Finished) and job.outcome.reason == "cancelled"
    assert running.tokens < 4000 and queued.tokens == 0
