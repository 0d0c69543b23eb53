"""Tiny GLM-4.6V-style checkpoints for offline tests, built once per session.

``tiny_glmv_dir``: random weights (about 0.3 M parameters), a GLM tokenizer and template, processor files as a
real checkpoint has them; its output is noise, so tests assert on shapes, counts and invariants.
``scripted_glmv_dir``: the same checkpoint with weights set so that greedy decoding writes a known text
(``SCRIPT``): the attention and MLP outputs are zeroed, so each next token depends only on the current one,
and the embedding and lm_head rows of the script's tokens chain them one to the next. Generation still runs
through the real loader, processor, vision tower and ``generate``.

The fixtures of these names (tests/conftest.py) build them when a test first asks for one. ``fake_cache`` lays a
checkpoint out as the Hugging Face cache does.
"""

from __future__ import annotations

import itertools
import shutil
from pathlib import Path

# Greedy decoding from a prompt ending in "\n" (as every GLM-4.6V generation prompt does) writes this.
SCRIPT = ["<think>", "P", "l", "a", "n", "</think>", "O", "K", "<|user|>"]
SCRIPT_START = "\n"
SCRIPT_THINKING = "Plan"
SCRIPT_ANSWER = "OK"
# Small images keep the tests fast: 28*28*64 pixels at most (64 image tokens).
TEST_MAX_PIXELS = 28 * 28 * 64


def build(directory: Path) -> Path:
    from glmv_local.synthetic import TINY, build_checkpoint

    return build_checkpoint(directory, TINY, max_pixels=TEST_MAX_PIXELS)


def script(source: Path, directory: Path) -> Path:
    """Copy ``source`` to ``directory`` and rewrite its weights to generate ``SCRIPT``."""
    import torch
    from safetensors.torch import load_file, save_file
    from transformers import AutoTokenizer

    shutil.copytree(source, directory)
    tokenizer = AutoTokenizer.from_pretrained(directory)
    chain = [SCRIPT_START, *SCRIPT]
    ids = []
    for token in chain:
        encoded = tokenizer.encode(token, add_special_tokens=False)
        assert len(encoded) == 1, f"{token!r} is not one token"
        ids.append(encoded[0])
    assert len(set(ids)) == len(ids), "the script needs distinct tokens"
    weights_file = directory / "model.safetensors"
    state = load_file(weights_file)
    for name, tensor in state.items():
        if "language_model.layers" in name and ("o_proj" in name or "down_proj" in name):
            tensor.zero_()
    embed = state["model.language_model.embed_tokens.weight"]
    head = state["lm_head.weight"]
    hidden = embed.shape[1]
    assert len(ids) <= hidden
    for position, token in enumerate(ids):
        embed[token] = torch.nn.functional.one_hot(torch.tensor(position), hidden).to(embed.dtype)
    for position, (current, following) in enumerate(itertools.pairwise(ids)):
        assert current != following
        head[following] = 10.0 * torch.nn.functional.one_hot(torch.tensor(position), hidden).to(head.dtype)
    save_file(state, weights_file, metadata={"format": "pt"})
    return directory


def fake_cache(source: Path, cache: Path, repo: str) -> Path:
    """The Hugging Face cache layout: blobs, a snapshot of symlinks, and refs/main naming it."""
    commit = "0123456789abcdef0123456789abcdef01234567"
    root = cache / f"models--{repo.replace('/', '--')}"
    snapshot = root / "snapshots" / commit
    (root / "blobs").mkdir(parents=True)
    snapshot.mkdir(parents=True)
    for i, file in enumerate(sorted(source.iterdir())):
        blob = root / "blobs" / f"blob{i:04d}"
        shutil.copyfile(file, blob)
        (snapshot / file.name).symlink_to(blob)
    (root / "refs").mkdir()
    (root / "refs" / "main").write_text(commit)
    return snapshot
