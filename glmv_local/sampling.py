"""Choosing the next token on the device, so the decode loop never waits for the host.

Greedy decoding and sampling are one computation: both are computed and ``temperature > 0`` picks one, so a
compiled graph serves every request and no parameter is a Python number that a graph would bake in (each value
would compile a new graph). The order of the filters is ``generate``'s: the forced suppression of the stop tokens
(``min_new_tokens``) and the repetition penalty apply to both, then temperature, top-k and top-p to sampling.
The draw is ``argmax(p / q)`` with ``q ~ Exp(1)``, which picks index i with probability p_i without a
``multinomial`` (which synchronises with the host on CUDA).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch


@dataclass(frozen=True)
class Sampling:
    """``temperature`` 0 is greedy. ``top_k`` 0 keeps every token. ``suppress`` are token ids never chosen."""

    temperature: float = 0.0
    top_p: float = 1.0
    top_k: int = 0
    repetition_penalty: float = 1.0
    suppress: tuple[int, ...] = ()

    @classmethod
    def resolve(
        cls,
        generation_config: Any,
        *,
        temperature: float | None,
        top_p: float | None,
        top_k: int | None,
        suppress: tuple[int, ...] = (),
    ) -> Sampling:
        """What ``generate`` would do with these arguments and the checkpoint's ``generation_config``: unset
        values come from it, then from transformers' own defaults (greedy; top-k 50 when sampling)."""

        def config(name: str, default: Any) -> Any:
            value = getattr(generation_config, name, None)
            return default if value is None else value

        if temperature is None:
            temperature = float(config("temperature", 1.0)) if config("do_sample", False) else 0.0
        return cls(
            temperature=max(0.0, float(temperature)),
            top_p=float(top_p if top_p is not None else config("top_p", 1.0)),
            top_k=int(top_k if top_k is not None else config("top_k", 50)),
            repetition_penalty=float(config("repetition_penalty", 1.0)),
            suppress=suppress,
        )


class SamplingState:
    """The parameters as device tensors at fixed addresses, set per request in place."""

    def __init__(self, vocab_size: int, device: Any) -> None:
        self.vocab_size = vocab_size
        self.temperature = torch.zeros((), dtype=torch.float32, device=device)
        self.top_p = torch.ones((), dtype=torch.float32, device=device)
        self.top_k = torch.full((), vocab_size, dtype=torch.long, device=device)
        self.penalty = torch.ones((), dtype=torch.float32, device=device)
        self.suppress = torch.zeros(vocab_size, dtype=torch.bool, device=device)
        # Tokens of the prompt and the answer so far, for the repetition penalty.
        self.seen = torch.zeros(vocab_size, dtype=torch.bool, device=device)
        self.ranks = torch.arange(vocab_size, device=device)
        for tensor in (self.temperature, self.top_p, self.top_k, self.penalty, self.suppress, self.seen, self.ranks):
            torch._dynamo.mark_static_address(tensor)

    def set(self, sampling: Sampling, prompt_ids: Any) -> None:
        self.temperature.fill_(sampling.temperature)
        self.top_p.fill_(sampling.top_p)
        self.top_k.fill_(sampling.top_k if 0 < sampling.top_k < self.vocab_size else self.vocab_size)
        self.penalty.fill_(sampling.repetition_penalty)
        self.suppress.zero_()
        if sampling.suppress:
            self.suppress[list(sampling.suppress)] = True
        self.seen.zero_()
        self.seen[prompt_ids.reshape(-1)] = True


def choose(logits: Any, state: SamplingState) -> Any:
    """The next token (shape (1,)) from float32 ``logits`` of shape (1, vocab)."""
    logits = logits.masked_fill(state.suppress, float("-inf"))
    penalised = torch.where(logits < 0, logits * state.penalty, logits / state.penalty)
    logits = torch.where(state.seen, penalised, logits)
    greedy = logits.argmax(-1)

    scores = logits / state.temperature.clamp_min(1e-5)
    ordered, order = scores.sort(-1, descending=True)
    ordered = ordered.masked_fill(state.ranks >= state.top_k, float("-inf"))
    probs = ordered.softmax(-1)
    # Keep the smallest head whose probability reaches top_p: a token stays if the ones before it fall short.
    ordered = ordered.masked_fill(probs.cumsum(-1) - probs >= state.top_p, float("-inf"))
    probs = ordered.softmax(-1)
    draw = (probs / torch.empty_like(probs).exponential_(1)).argmax(-1, keepdim=True)
    sampled = order.gather(-1, draw).squeeze(-1)

    token = torch.where(state.temperature > 0, sampled, greedy)
    state.seen[token] = True
    return token
