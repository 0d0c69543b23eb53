"""The engine's job queue, sampling, KV cache buckets and detokenizer, on the tiny GLM-4.6V model: jobs run one
at a time in order on the engine thread, cancel from any thread (a queued job at once), and a soak of threads
submitting and cancelling leaves the engine answering exactly as before."""

from __future__ import annotations

import math
import random
import threading
import time
from types import SimpleNamespace

import pytest

from glmv_local import jobs
from glmv_local.chat import ChatMessage
from glmv_local.engine import Engine

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def engine(tiny_glmv_dir):
    engine = Engine(model=str(tiny_glmv_dir), dtype="float32", context_tokens=4096)
    engine.load()
    yield engine
    engine.unload()


def question(text: str = "Say something long.") -> list[ChatMessage]:
    return [ChatMessage.text("user", text)]


def finish_of(job: jobs.Job) -> jobs.Finished | jobs.Failed:
    events = list(job.events(timeout=60))
    assert sum(isinstance(e, jobs.Finished | jobs.Failed) for e in events) == 1
    final = events[-1]
    assert isinstance(final, jobs.Finished | jobs.Failed)
    return final


# Jobs


def test_jobs_run_one_at_a_time_in_the_order_submitted(engine):
    finished: list[int] = []
    lock = threading.Lock()
    done = threading.Event()

    def on_event(job_id: int):
        def record(event: jobs.JobEvent) -> None:
            if isinstance(event, jobs.Finished | jobs.Failed):
                with lock:
                    finished.append(job_id)
                    if len(finished) == 4:
                        done.set()

        return record

    submitted = []
    for n in range(4):
        job = engine.submit(question(f"Question {n}"), max_new_tokens=20, ignore_eos=True, on_event=on_event(n))
        submitted.append(job)
    assert done.wait(60)
    assert finished == [0, 1, 2, 3]
    with pytest.raises(RuntimeError, match="on_event"):
        next(submitted[0].events())


def test_a_queued_job_cancelled_ends_at_once_and_never_runs(engine):
    running = engine.submit(question(), max_new_tokens=3000, ignore_eos=True)
    queued = engine.submit(question("Never asked"), max_new_tokens=10)
    first = next(running.events(timeout=60))  # the long job is answering
    assert isinstance(first, jobs.Text | jobs.Status)
    started = time.perf_counter()
    queued.cancel()
    outcome = finish_of(queued)
    assert time.perf_counter() - started < 1.0 and not running.done
    assert isinstance(outcome, jobs.Finished) and outcome.reason == "cancelled"
    assert queued.tokens == 0 and queued.prompt_tokens == 0
    running.cancel()
    outcome = finish_of(running)
    assert isinstance(outcome, jobs.Finished) and outcome.reason == "cancelled"
    assert 0 < outcome.stats.completion_tokens < 3000


def test_the_callers_cancel_event_cancels(engine):
    cancel = threading.Event()
    cancel.set()
    outcome = finish_of(engine.submit(question(), max_new_tokens=50, cancel=cancel))
    assert isinstance(outcome, jobs.Finished) and outcome.reason == "cancelled"
    assert outcome.stats.completion_tokens == 0


def test_an_over_long_question_fails_as_its_event(engine):
    outcome = finish_of(engine.submit(question("word " * 900), max_new_tokens=8))
    assert isinstance(outcome, jobs.Failed) and outcome.error.kind == "input"
    assert "4096-token context" in str(outcome.error)
    again = finish_of(engine.submit(question(), max_new_tokens=5, ignore_eos=True))
    assert isinstance(again, jobs.Finished) and again.stats.completion_tokens == 5


def test_stats_add_up(engine):
    outcome = finish_of(engine.submit(question(), max_new_tokens=12, ignore_eos=True))
    assert isinstance(outcome, jobs.Finished)
    stats = outcome.stats
    assert stats.completion_tokens == 12 and stats.bucket == 2048 and stats.prompt_tokens > 0
    assert stats.first_token_s is not None and 0 < stats.first_token_s <= stats.seconds
    assert stats.preprocess_s > 0 and stats.prefill_s > 0 and stats.decode_tokens_per_s > 0


def test_a_seed_gives_the_same_sampled_answer_whatever_ran_before_it(engine):
    """The seed travels with the request and is set on the engine thread just before its first token, so a
    sampled request in between (the window's, in shared mode) cannot move it."""

    def sampled(seed: int | None) -> list[int]:
        job = engine.submit(question(), max_new_tokens=24, ignore_eos=True, temperature=1.5, seed=seed)
        assert isinstance(finish_of(job), jobs.Finished)
        return job.token_ids

    first = sampled(7)
    sampled(None)  # another answer draws from the generator in between
    sampled(None)
    assert sampled(7) == first
    assert sampled(8) != first


def test_soak_threads_submitting_and_cancelling(engine):
    """Four threads, 40 requests of random lengths, a third cancelled at random moments (queued or running), one
    more thread cancelling others' jobs: every job ends exactly once, and afterwards the same question gets the
    same answer as before (the cache is reset between jobs whatever happened)."""
    probe = question("The probe question.")
    before = engine.submit(probe, max_new_tokens=30, ignore_eos=True)
    finish_of(before)
    threads_before = threading.active_count()
    outcomes: list[tuple[jobs.Job, jobs.Finished | jobs.Failed, bool]] = []
    lock = threading.Lock()
    shared: list[jobs.Job] = []

    def client(seed: int) -> None:
        rng = random.Random(seed)
        for n in range(10):
            job = engine.submit(
                question(f"client {seed} request {n} " * rng.randint(1, 5)), max_new_tokens=rng.randint(1, 40)
            )
            with lock:
                shared.append(job)
            cancel_after = rng.choice([None, None, 0, 1, 5])
            final = None
            for event in job.events(timeout=60):
                if cancel_after is not None and isinstance(event, jobs.Text) and event.tokens >= cancel_after:
                    job.cancel()
                if cancel_after == 0 and final is None:
                    job.cancel()
                final = event
            assert isinstance(final, jobs.Finished | jobs.Failed)
            with lock:
                outcomes.append((job, final, cancel_after is not None))

    def saboteur() -> None:
        rng = random.Random(99)
        for _ in range(15):
            time.sleep(rng.uniform(0.0, 0.05))
            with lock:
                victim = rng.choice(shared) if shared else None
            if victim is not None:
                victim.cancel()

    threads = [threading.Thread(target=client, args=(seed,)) for seed in range(4)]
    threads.append(threading.Thread(target=saboteur))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
        assert not thread.is_alive()
    assert len(outcomes) == 40
    for job, final, _ in outcomes:
        assert job.done and job.outcome is final
        assert isinstance(final, jobs.Finished), final
        assert final.reason in ("stop", "length", "cancelled")
        assert job.tokens <= job.request.max_new_tokens
        if final.reason == "length":
            assert job.tokens == job.request.max_new_tokens
    assert any(final.reason == "cancelled" for _, final, _ in outcomes)
    assert threading.active_count() == threads_before
    after = engine.submit(probe, max_new_tokens=30, ignore_eos=True)
    finish_of(after)
    assert after.token_ids == before.token_ids


# Sampling


def state_for(logits, sampling):
    import torch

    from glmv_local.sampling import SamplingState

    state = SamplingState(logits.shape[-1], torch.device("cpu"))
    state.set(sampling, torch.tensor([], dtype=torch.long))
    return state


def test_sampling_follows_the_probabilities_and_their_filters():
    import torch

    from glmv_local.sampling import Sampling, choose

    torch.manual_seed(0)
    logits = torch.log(torch.tensor([[0.7, 0.2, 0.1]]))

    def frequencies(sampling: Sampling, draws: int = 3000) -> list[float]:
        state = state_for(logits, sampling)
        counts = [0, 0, 0]
        for _ in range(draws):
            state.seen.zero_()
            counts[int(choose(logits.clone(), state))] += 1
        return [c / draws for c in counts]

    plain = frequencies(Sampling(temperature=1.0))
    assert all(math.isclose(f, p, abs_tol=0.03) for f, p in zip(plain, (0.7, 0.2, 0.1), strict=True))
    assert frequencies(Sampling(temperature=1.0, top_p=0.75))[2] == 0  # 0.7 falls short of 0.75; 0.9 reaches it
    assert frequencies(Sampling(temperature=1.0, top_k=1)) == [1.0, 0.0, 0.0]
    cold = frequencies(Sampling(temperature=0.25))
    assert cold[0] > 0.95
    assert frequencies(Sampling(temperature=0.0), draws=20) == [1.0, 0.0, 0.0]
    assert frequencies(Sampling(temperature=1.0, suppress=(0,)))[0] == 0


def test_greedy_applies_the_repetition_penalty_as_generate():
    import torch
    from transformers import RepetitionPenaltyLogitsProcessor

    from glmv_local.sampling import Sampling, SamplingState, choose

    torch.manual_seed(1)
    for _ in range(20):
        logits = torch.randn(1, 50) * 3
        seen = torch.randint(0, 50, (1, 10))
        state = SamplingState(50, torch.device("cpu"))
        state.set(Sampling(repetition_penalty=1.3), seen)
        expected = RepetitionPenaltyLogitsProcessor(1.3)(seen, logits.clone()).argmax(-1)
        assert int(choose(logits.clone(), state)) == int(expected)


def test_unset_sampling_comes_from_the_generation_config():
    from transformers import GenerationConfig

    from glmv_local.sampling import Sampling

    config = GenerationConfig(do_sample=True, temperature=0.8, top_p=0.6, top_k=2, repetition_penalty=1.05)
    assert Sampling.resolve(config, temperature=None, top_p=None, top_k=None) == Sampling(0.8, 0.6, 2, 1.05)
    assert Sampling.resolve(config, temperature=0.0, top_p=None, top_k=None).temperature == 0.0
    assert Sampling.resolve(config, temperature=0.3, top_p=0.9, top_k=40) == Sampling(0.3, 0.9, 40, 1.05)
    greedy = Sampling.resolve(GenerationConfig(), temperature=None, top_p=None, top_k=None)
    assert greedy.temperature == 0.0 and greedy.top_k == 50 and greedy.repetition_penalty == 1.0


# KV cache buckets


def test_bucket_sizes_double_up_to_the_context():
    from glmv_local.kvcache import bucket_sizes

    assert bucket_sizes(32768) == (2048, 4096, 8192, 16384, 32768)
    assert bucket_sizes(10000) == (2048, 4096, 8192, 10000)
    assert bucket_sizes(2048) == (2048,)
    assert bucket_sizes(1000) == (1000,)
    with pytest.raises(ValueError):
        bucket_sizes(0)


def test_buckets_are_views_of_one_allocation():
    import torch

    from glmv_local.kvcache import BucketCache

    config = SimpleNamespace(
        num_attention_heads=4, num_key_value_heads=2, head_dim=8, hidden_size=32, num_hidden_layers=3
    )
    cache = BucketCache(config, 64, dtype=torch.float32, device=torch.device("cpu"), sizes=(16, 32, 64))
    assert cache.nbytes == 3 * 2 * (2 * 64 * 8) * 4
    assert [cache.pick(n) for n in (1, 16, 17, 64)] == [16, 16, 32, 64]
    with pytest.raises(ValueError, match="64-token context"):
        cache.pick(65)
    small, large = cache.cache(16), cache.cache(64)
    keys = torch.ones(1, 2, 5, 8)
    small.update(keys, 2 * keys, 1)
    assert int(large.layers[1].cumulative_length) == 5  # one write position for all buckets
    assert bool((large.layers[1].keys[:, :, :5] == 1).all()) and bool((large.layers[1].values[:, :, :5] == 2).all())
    assert large.layers[1].keys.data_ptr() == small.layers[1].keys.data_ptr()
    cache.reset()
    assert all(int(layer.cumulative_length) == 0 for layer in large.layers)
    with pytest.raises(ValueError, match="grow and end"):
        BucketCache(config, 64, dtype=torch.float32, device=torch.device("cpu"), sizes=(32, 16, 64))


# Detokenizer


def test_text_comes_token_by_token_as_the_full_decode(tiny_glmv_dir):
    from transformers import AutoTokenizer

    from glmv_local.detokenizer import Detokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_glmv_dir)
    stop = tokenizer.convert_tokens_to_ids("<|user|>")
    rng = random.Random(3)
    samples = [tokenizer.encode("héllo wörld, 中文 and emoji 🙂 <think>x</think>", add_special_tokens=False)]
    samples += [[rng.randrange(0, 320) for _ in range(300)] for _ in range(5)]  # random bytes: broken UTF-8 too
    for ids in samples:
        detokenizer = Detokenizer(tokenizer, {stop})
        pieces = [detokenizer.push(i) for i in ids]
        pieces.append(detokenizer.flush())
        shown = [i for i in ids if i != stop]
        assert "".join(pieces) == tokenizer.decode(shown, skip_special_tokens=False)
    held = Detokenizer(tokenizer, set())
    euro = tokenizer.encode("€", add_special_tokens=False)
    assert len(euro) == 3
    assert [held.push(i) for i in euro] == ["", "", "€"]  # a character is shown once its last byte is in
