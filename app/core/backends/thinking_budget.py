"""A thinking budget for the in-process engine: once the model has thought for N tokens, its thinking block is
closed for it (the next token is forced to ``</think>``), and it goes on to answer.

GLM-V opens its reasoning with ``<think>`` (or the prompt already has, for checkpoints that always think) and
closes it with ``</think>``; the ids are read from the checkpoint's own tokenizer, never assumed. The engine
takes this as a transformers logits processor (``Engine.stream(logits_processor=...)``), so nothing in
``glmv_local`` changes for it. torch and transformers are imported only when a budget is used.
"""

from __future__ import annotations

from typing import Any

THINK_OPEN = "<think>"
THINK_CLOSE = "</think>"


def thinking_budget_processor(tokenizer: Any, budget: int) -> Any:
    """A ``LogitsProcessorList`` that lets each sequence think for at most ``budget`` tokens; ``ValueError``
    when the tokenizer has no thinking tokens (the model cannot be held to a budget then)."""
    from transformers import LogitsProcessor, LogitsProcessorList

    open_id, close_id = (_token_id(tokenizer, token) for token in (THINK_OPEN, THINK_CLOSE))

    class CloseThinking(LogitsProcessor):
        """Per sequence: whether it is thinking and for how many tokens so far, from the last token each step
        (the prompt decides the start: one that ends inside an open block counts from its first token)."""

        def __init__(self) -> None:
            self.started = False
            self.thinking: list[bool] = []
            self.spent: list[int] = []

        def __call__(self, input_ids: Any, scores: Any) -> Any:
            if not self.started:
                self.thinking = [_open_at_end(row.tolist(), open_id, close_id) for row in input_ids]
                self.spent = [0] * len(self.thinking)
            else:
                for row, token in enumerate(input_ids[:, -1].tolist()):
                    if token == open_id:
                        self.thinking[row], self.spent[row] = True, 0
                    elif token == close_id:
                        self.thinking[row] = False
                    elif self.thinking[row]:
                        self.spent[row] += 1
            self.started = True
            for row, thinking in enumerate(self.thinking):
                if thinking and self.spent[row] >= budget:
                    scores[row, :] = float("-inf")
                    scores[row, close_id] = 0.0
            return scores

    return LogitsProcessorList([CloseThinking()])


def _token_id(tokenizer: Any, token: str) -> int:
    found = tokenizer.convert_tokens_to_ids(token)
    if not isinstance(found, int) or found == getattr(tokenizer, "unk_token_id", None):
        raise ValueError(f"the model's tokenizer has no {token} token")
    return found


def _open_at_end(ids: list[int], open_id: int, close_id: int) -> bool:
    """Whether a prompt ends inside a thinking block (opened and not closed after it)."""
    last_open = max((i for i, t in enumerate(ids) if t == open_id), default=-1)
    last_close = max((i for i, t in enumerate(ids) if t == close_id), default=-1)
    return last_open > last_close
