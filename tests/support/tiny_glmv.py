"""Tiny GLM-4.6V-style checkpoints for offline tests, built once per session.

``tiny_glmv_dir``: random weights (about 0.3 M parameters), a GLM tokenizer and template, processor files as a
real checkpoint has them; its output is noise, so tests assert on shapes, counts and invariants.
``scripted_glmv_dir``: the same checkpoint with weights set so that greedy decoding writes a known text
(``SCRIPT``): the attention and MLP outputs are zeroed, so each next token depends only on the current one,
and the embedding and lm_head rows of the script's tokens chain them one to the next. Generation still runs
through the real loader, processor, vision tower and ``generate``.

Import the fixtures into a test module with ``from tests.support.tiny_glmv import tiny_glmv_dir  # noqa: F401``.
"""

from __future__ import annotations

import itertools
import shutil
from pathlib import Path

import pytest

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


@pytest.fixture(scope="session")
def tiny_glmv_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("glmv") / "tiny-glm-4.6v")


@pytest.fixture(scope="session")
def scripted_glmv_dir(tiny_glmv_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return script(tiny_glmv_dir, tmp_path_factory.mktemp("glmv") / "scripted-glm-4.6v")
