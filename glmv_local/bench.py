"""Speed of the engine against the plain ``model.generate`` path the GLM-V demo scripts use.

``python -m glmv_local.bench`` builds a model of GLM-4.6V-Flash's exact shape with random weights directly on the
GPU (no download; ``--shape tiny`` on CPU for CI), or loads a real checkpoint with ``--model ID_OR_DIR``, and
prints: load time, preprocessing of a 1920x1080 screenshot, time to first token for it with a 20-word question,
decode tokens/s over 256 new tokens (end of sequence suppressed), peak memory; then the same for the reference
path and the ratios. Targets on one H200: decode >= 150 tokens/s and >= 3x the reference; first token <= 200 ms.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

QUESTION = "Look at this screenshot and tell me which window is in front, what it shows, and what I should click next."


@dataclass
class Figures:
    preprocess_s: float
    first_token_s: float
    decode_tps: float
    new_tokens: int
    peak_bytes: int | None


def screenshot() -> Any:
    """A 1920x1080 image with structure (windows, text-like stripes) rather than a flat colour."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (1920, 1080), (32, 36, 48))
    draw = ImageDraw.Draw(image)
    for i in range(12):
        x, y = 60 + i * 140, 40 + (i * 73) % 600
        draw.rectangle((x, y, x + 700, y + 420), fill=(230 - i * 9, 230, 240 - i * 5), outline=(0, 0, 0))
        for line in range(0, 380, 18):
            draw.line((x + 20, y + 30 + line, x + 20 + (line * 7) % 600, y + 30 + line), fill=(40, 40, 40), width=3)
    return image


def reset_peak(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()


def peak(device: str) -> int | None:
    """Bytes: what torch allocated on CUDA, else the process's peak resident set; None on Windows, which has no
    getrusage."""
    import torch

    if device.startswith("cuda"):
        return int(torch.cuda.max_memory_allocated())
    if sys.platform == "win32":
        return None
    import resource

    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return maxrss if sys.platform == "darwin" else maxrss * 1024  # macOS counts bytes, Linux kilobytes


def sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def random_engine(shape_name: str, device: str | None, dtype: str | None, speed: str) -> Any:
    import torch

    from glmv_local import device as devices
    from glmv_local import processor, synthetic
    from glmv_local.checkpoint import Checkpoint
    from glmv_local.engine import Engine, EngineSettings
    from glmv_local.loader import Loaded

    shape = synthetic.FLASH if shape_name == "flash" else synthetic.TINY
    placement = devices.place(device, dtype or ("float32" if shape_name == "tiny" else None), None)
    start = time.perf_counter()
    model, tokenizer = synthetic.build_model(shape, device=placement.device, dtype=placement.dtype)
    with tempfile.TemporaryDirectory() as tmp:
        synthetic.save_processor_files(Path(tmp), tokenizer, min_pixels=12544, max_pixels=9633792)
        proc = processor.load_processor(Path(tmp))
    model.config._attn_implementation = placement.attention
    parameters = sum(p.numel() for p in model.parameters())
    loaded = Loaded(
        model=model,
        processor=proc,
        checkpoint=Checkpoint(
            path=Path(f"random-{shape_name}"), config=model.config.to_dict(), weight_files=[], parameters=parameters
        ),
        placement=placement,
        quantization=None,
        seconds=time.perf_counter() - start,
    )
    settings = EngineSettings(model=f"random-{shape_name}", speed=speed, context_tokens=8192)
    engine = Engine.from_loaded(loaded, settings)
    torch.manual_seed(0)
    return engine


def measure_engine(engine: Any, new_tokens: int) -> Figures:
    from glmv_local.chat import ChatMessage, Image, Text

    device = engine.loaded.placement.device
    messages = [ChatMessage("user", [Image(screenshot()), Text(QUESTION)])]
    start = time.perf_counter()
    engine.inputs(messages, thinking=False)
    sync(device)
    preprocess = time.perf_counter() - start
    reset_peak(device)
    generation = engine.stream(messages, thinking=False, max_new_tokens=new_tokens, ignore_eos=True)
    generation.text()
    sync(device)
    first = generation.first_token_seconds or 0.0
    decode = (generation.completion_tokens - 1) / max(1e-9, generation.seconds - first)
    return Figures(preprocess, first, decode, generation.completion_tokens, peak(device))


def measure_reference(engine: Any, new_tokens: int) -> Figures:
    """What the demo scripts do: processor on the CPU, ``model.generate`` with the dynamic cache, no compile."""
    import torch
    from transformers.generation.streamers import BaseStreamer

    model, proc = engine.loaded.model, engine.loaded.processor
    device = engine.loaded.placement.device
    messages = [
        {"role": "user", "content": [{"type": "image", "image": screenshot()}, {"type": "text", "text": QUESTION}]}
    ]
    start = time.perf_counter()
    inputs = proc.apply_chat_template(
        messages,
        add_generation_prompt=True,
        tokenize=True,
        return_dict=True,
        return_tensors="pt",
        enable_thinking=False,
    ).to(model.device)
    sync(device)
    preprocess = time.perf_counter() - start

    class FirstToken(BaseStreamer):
        def __init__(self) -> None:
            self.calls = 0
            self.at: float | None = None

        def put(self, value: Any) -> None:
            self.calls += 1
            if self.calls == 2 and self.at is None:
                sync(device)
                self.at = time.perf_counter()

        def end(self) -> None:
            pass

    streamer = FirstToken()
    reset_peak(device)
    start = time.perf_counter()
    with torch.inference_mode():
        out = model.generate(
            **inputs,
            max_new_tokens=new_tokens,
            min_new_tokens=new_tokens,
            do_sample=False,
            streamer=streamer,
            disable_compile=True,
        )
    sync(device)
    total = time.perf_counter() - start
    produced = int(out.shape[1] - inputs["input_ids"].shape[1])
    first = (streamer.at or start) - start
    # The engine's first-token time includes preparing the inputs; count it here too.
    return Figures(preprocess, preprocess + first, (produced - 1) / max(1e-9, total - first), produced, peak(device))


def show(name: str, f: Figures) -> None:
    memory = f"{f.peak_bytes / 1024**3:6.2f} GiB" if f.peak_bytes is not None else "n/a"
    print(
        f"{name:10s} preprocess {f.preprocess_s * 1000:8.1f} ms   first token {f.first_token_s * 1000:8.1f} ms   "
        f"decode {f.decode_tps:8.1f} tok/s ({f.new_tokens} tokens)   peak {memory}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="a checkpoint (Hub id or directory) instead of random weights")
    parser.add_argument(
        "--shape",
        choices=("flash", "tiny"),
        help="random weights of this shape (default: flash on CUDA, tiny elsewhere)",
    )
    parser.add_argument("--device")
    parser.add_argument("--dtype")
    parser.add_argument("--quantization", choices=("4bit", "8bit"))
    parser.add_argument("--speed", choices=("auto", "compile", "eager"), default="auto")
    parser.add_argument("--new-tokens", type=int, default=256)
    parser.add_argument("--no-reference", action="store_true", help="skip the plain model.generate comparison")
    args = parser.parse_args(argv)

    import torch

    from glmv_local.engine import Engine, EngineSettings

    start = time.perf_counter()
    if args.model:
        engine = Engine(
            EngineSettings(
                model=args.model, device=args.device, dtype=args.dtype, quantization=args.quantization, speed=args.speed
            )
        )
        engine.load(lambda p: print(f"  [{p.stage}] {p.message}", flush=True))
    else:
        shape = args.shape or ("flash" if torch.cuda.is_available() else "tiny")
        engine = random_engine(shape, args.device, args.dtype, args.speed)
    load_s = time.perf_counter() - start
    loaded = engine.loaded
    assert loaded is not None  # loaded above, by load() or by random_engine
    placement = loaded.placement
    print(
        f"model {engine.settings.model} on {placement.device} ({placement.dtype_name}, {placement.attention}); "
        f"{loaded.checkpoint.parameters / 1e6:,.1f} M parameters; load + warm-up {load_s:.1f} s; "
        f"static cache + compile: {'on' if engine.compiled else 'off'}"
    )
    ours = measure_engine(engine, args.new_tokens)
    show("engine", ours)
    if not args.no_reference:
        ref = measure_reference(engine, args.new_tokens)
        show("reference", ref)
        print(
            f"ratios     decode x{ours.decode_tps / max(1e-9, ref.decode_tps):.2f}   first token "
            f"x{ref.first_token_s / max(1e-9, ours.first_token_s):.2f} faster   preprocess "
            f"x{ref.preprocess_s / max(1e-9, ours.preprocess_s):.2f} faster"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
