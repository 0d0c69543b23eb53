"""Random-weight GLM-4.6V-style checkpoints built offline.

The tests need a checkpoint that goes through exactly the loading and generation code a real GLM-4.6V-Flash
download goes through, and the benchmark needs GLM-4.6V-Flash's exact shape on a GPU without downloading 20 GB.
Both are built here: a byte-level tokenizer carrying the GLM special tokens (at GLM's own ids when the vocabulary
is full size), a GLM-style chat template, a ``Glm4vConfig`` and random weights saved as safetensors, and the
processor files a real checkpoint has (``processor_class`` names the real class).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# GLM-4.6V's special tokens with their offsets from <|endoftext|> (151329) where they are known; the others
# fill the gaps in this order (their real ids are not verified, and nothing may depend on them).
KNOWN_SPECIALS: dict[str, int] = {
    "<|endoftext|>": 0,
    "[MASK]": 1,
    "[gMASK]": 2,
    "[sMASK]": 3,
    "<sop>": 4,
    "<eop>": 5,
    "<|system|>": 6,
    "<|user|>": 7,
    "<|assistant|>": 8,
    "<|observation|>": 9,
    "<|begin_of_image|>": 10,
    "<|end_of_image|>": 11,
    "<|begin_of_video|>": 12,
    "<|end_of_video|>": 13,
    "<|image|>": 34,
    "<|video|>": 35,
}
OTHER_SPECIALS = (
    "<think>",
    "</think>",
    "/nothink",
    "<|begin_of_box|>",
    "<|end_of_box|>",
    "<tool_call>",
    "</tool_call>",
    "<tool_response>",
    "</tool_response>",
    "<arg_key>",
    "</arg_key>",
    "<arg_value>",
    "</arg_value>",
)
SPECIALS_SPAN = 64

# A GLM-4.6V-style template: the shape of the published one (roles, image/video markers, `/nothink` and the
# `<think></think>` placeholder for past answers and for thinking off), without tools.
CHAT_TEMPLATE = """[gMASK]<sop>
{%- macro visible_text(content) -%}
{%- if content is string -%}{{ content }}
{%- else -%}{%- for item in content -%}{%- if item.type == 'text' -%}{{ item.text }}{%- endif -%}{%- endfor -%}
{%- endif -%}
{%- endmacro -%}
{%- for m in messages -%}
{%- if m.role == 'system' -%}
<|system|>
{{ visible_text(m.content) }}
{%- elif m.role == 'user' -%}
<|user|>
{% if m.content is string -%}
{{ m.content }}
{%- else -%}
{%- for item in m.content -%}
{%- if item.type == 'video' or 'video' in item -%}
<|begin_of_video|><|video|><|end_of_video|>
{%- elif item.type == 'image' or 'image' in item -%}
<|begin_of_image|><|image|><|end_of_image|>
{%- elif item.type == 'text' -%}
{{ item.text }}
{%- endif -%}
{%- endfor -%}
{%- endif -%}
{{- '/nothink' if (enable_thinking is defined and not enable_thinking
    and not visible_text(m.content).endswith('/nothink')) else '' -}}
{%- elif m.role == 'assistant' -%}
<|assistant|>
{%- set content = visible_text(m.content) -%}
{%- if '</think>' in content -%}{%- set content = content.split('</think>')[-1] -%}{%- endif -%}
{{ '\\n<think></think>' }}
{%- if content.strip() -%}{{ '\\n' + content.strip() }}{%- endif -%}
{%- endif -%}
{%- endfor -%}
{%- if add_generation_prompt -%}
<|assistant|>
{{ '<think></think>\\n' if (enable_thinking is defined and not enable_thinking) else '' }}
{%- endif -%}"""


@dataclass(frozen=True)
class Shape:
    """Model dimensions. ``special_base`` is the id of <|endoftext|>; the 256 byte symbols take ids 0..255."""

    vocab_size: int
    special_base: int
    hidden: int
    intermediate: int
    layers: int
    heads: int
    kv_heads: int
    mrope_section: tuple[int, int, int]
    rope_theta: float
    max_positions: int
    vision_depth: int
    vision_hidden: int
    vision_heads: int
    vision_intermediate: int


TINY = Shape(
    vocab_size=256 + SPECIALS_SPAN,
    special_base=256,
    hidden=64,
    intermediate=128,
    layers=2,
    heads=4,
    kv_heads=2,
    mrope_section=(1, 1, 2),
    rope_theta=1e4,
    max_positions=4096,
    vision_depth=2,
    vision_hidden=64,
    vision_heads=4,
    vision_intermediate=128,
)

# GLM-4.6V-Flash as published (see the reference notes): 10.3 B parameters.
FLASH = Shape(
    vocab_size=151552,
    special_base=151329,
    hidden=4096,
    intermediate=13696,
    layers=40,
    heads=32,
    kv_heads=2,
    mrope_section=(8, 12, 12),
    rope_theta=500000.0,
    max_positions=131072,
    vision_depth=24,
    vision_hidden=1536,
    vision_heads=12,
    vision_intermediate=13696,
)


def special_tokens(shape: Shape) -> dict[str, int]:
    ids = {name: shape.special_base + offset for name, offset in KNOWN_SPECIALS.items()}
    taken = set(ids.values())
    free = (i for i in range(shape.special_base, shape.special_base + SPECIALS_SPAN) if i not in taken)
    for name in OTHER_SPECIALS:
        ids[name] = next(free)
    return ids


def build_tokenizer(shape: Shape) -> Any:
    """A byte-level BPE without merges: every byte is one token, the GLM specials are single tokens."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    byte_symbols = sorted(pre_tokenizers.ByteLevel.alphabet())
    vocab = {symbol: i for i, symbol in enumerate(byte_symbols)}
    for i in range(256, shape.special_base):
        vocab[f"<|filler_{i}|>"] = i
    specials = special_tokens(shape)
    vocab.update(specials)
    for i in range(shape.special_base, shape.vocab_size):
        if i not in specials.values():
            vocab[f"<|reserved_{i}|>"] = i
    core = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    core.decoder = decoders.ByteLevel()
    core.add_special_tokens([AddedToken(name, special=True, normalized=False) for name in specials])
    return PreTrainedTokenizerFast(
        tokenizer_object=core,
        eos_token="<|endoftext|>",
        pad_token="<|endoftext|>",
        padding_side="left",
        chat_template=CHAT_TEMPLATE,
    )


def build_config(shape: Shape, tokens: dict[str, int]) -> Any:
    from transformers import Glm4vConfig

    head_dim = shape.hidden // shape.heads
    text = {
        "vocab_size": shape.vocab_size,
        "hidden_size": shape.hidden,
        "intermediate_size": shape.intermediate,
        "num_hidden_layers": shape.layers,
        "num_attention_heads": shape.heads,
        "num_key_value_heads": shape.kv_heads,
        "head_dim": head_dim,
        "max_position_embeddings": shape.max_positions,
        "attention_bias": True,
        "pad_token_id": tokens["<|endoftext|>"],
        "eos_token_id": [tokens["<|endoftext|>"], tokens["<|user|>"], tokens["<|observation|>"]],
        "rope_parameters": {
            "rope_type": "default",
            "rope_theta": shape.rope_theta,
            "mrope_section": list(shape.mrope_section),
            "partial_rotary_factor": 0.5,
        },
    }
    vision = {
        "depth": shape.vision_depth,
        "hidden_size": shape.vision_hidden,
        "num_heads": shape.vision_heads,
        "intermediate_size": shape.vision_intermediate,
        "out_hidden_size": shape.hidden,
        "patch_size": 14,
        "spatial_merge_size": 2,
        "temporal_patch_size": 2,
        "image_size": 336,
    }
    return Glm4vConfig(
        text_config=text,
        vision_config=vision,
        image_token_id=tokens["<|image|>"],
        video_token_id=tokens["<|video|>"],
        image_start_token_id=tokens["<|begin_of_image|>"],
        image_end_token_id=tokens["<|end_of_image|>"],
        video_start_token_id=tokens["<|begin_of_video|>"],
        video_end_token_id=tokens["<|end_of_video|>"],
    )


def build_model(shape: Shape, *, device: str = "cpu", dtype: Any = None, seed: int = 0) -> tuple[Any, Any]:
    """The model and tokenizer, with random weights, built directly on ``device``."""
    import torch
    from transformers import AutoModelForImageTextToText, GenerationConfig

    tokenizer = build_tokenizer(shape)
    tokens = special_tokens(shape)
    config = build_config(shape, tokens)
    torch.manual_seed(seed)
    with torch.device(device):
        model = AutoModelForImageTextToText.from_config(config, dtype=dtype or torch.float32)
    eos = [tokens["<|endoftext|>"], tokens["<|user|>"], tokens["<|observation|>"]]
    model.generation_config = GenerationConfig(eos_token_id=eos, pad_token_id=eos[0], do_sample=False)
    model.eval()
    return model, tokenizer


def save_processor_files(directory: Path, tokenizer: Any, *, min_pixels: int, max_pixels: int) -> None:
    """What a real checkpoint ships for its processor: tokenizer files, the chat template, the image/video
    processor settings, and ``processor_class`` naming the real class (without it AutoProcessor returns just
    the tokenizer)."""
    tokenizer.save_pretrained(directory)
    (directory / "chat_template.jinja").write_text(CHAT_TEMPLATE, encoding="utf-8")
    config_path = directory / "tokenizer_config.json"
    tok_config = json.loads(config_path.read_text(encoding="utf-8"))
    tok_config["processor_class"] = "Glm46VProcessor"
    tok_config.pop("chat_template", None)
    config_path.write_text(json.dumps(tok_config, indent=2), encoding="utf-8")
    image = {
        "image_processor_type": "Glm46VImageProcessor",
        "processor_class": "Glm46VProcessor",
        "do_resize": True,
        "size": {"shortest_edge": min_pixels, "longest_edge": max_pixels},
        "do_rescale": True,
        "rescale_factor": 1 / 255,
        "do_normalize": True,
        "image_mean": [0.48145466, 0.4578275, 0.40821073],
        "image_std": [0.26862954, 0.26130258, 0.27577711],
        "do_convert_rgb": True,
        "patch_size": 14,
        "temporal_patch_size": 2,
        "merge_size": 2,
    }
    (directory / "preprocessor_config.json").write_text(json.dumps(image, indent=2), encoding="utf-8")
    video = {
        "video_processor_type": "Glm46VVideoProcessor",
        "processor_class": "Glm46VProcessor",
        "size": {"shortest_edge": min_pixels, "longest_edge": max_pixels},
        "patch_size": 14,
        "temporal_patch_size": 2,
        "merge_size": 2,
    }
    (directory / "video_preprocessor_config.json").write_text(json.dumps(video, indent=2), encoding="utf-8")


def build_checkpoint(
    directory: Path,
    shape: Shape = TINY,
    *,
    min_pixels: int = 12544,
    max_pixels: int = 9633792,
    shard_size: str = "5GB",
    seed: int = 0,
) -> Path:
    """Save a random-weight checkpoint to ``directory`` laid out like a downloaded GLM-4.6V-Flash."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    model, tokenizer = build_model(shape, seed=seed)
    model.save_pretrained(directory, safe_serialization=True, max_shard_size=shard_size)
    save_processor_files(directory, tokenizer, min_pixels=min_pixels, max_pixels=max_pixels)
    return directory
