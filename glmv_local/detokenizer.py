"""Text from token ids one at a time, at a constant cost per token.

Decoding the whole line again for every new token (what transformers' streamers do) costs more the longer the line
gets: 0.31 ms a token over a 2,000-token line. tokenizers' ``DecodeStream`` keeps only the bytes not yet turned
into text, and holds back an incomplete multi-byte character until its last byte arrives. Stop tokens end the
answer and are not part of its text.
"""

from __future__ import annotations

from typing import Any

from glmv_local.errors import ModelFilesError


class Detokenizer:
    def __init__(self, tokenizer: Any, hidden: set[int]) -> None:
        from tokenizers.decoders import DecodeStream

        backend = getattr(tokenizer, "backend_tokenizer", None)
        if backend is None:
            raise ModelFilesError(
                "the checkpoint's tokenizer has no tokenizer.json (a fast tokenizer is needed); download the model "
                "again"
            )
        self._tokenizer = tokenizer
        self._backend = backend
        self._stream = DecodeStream(skip_special_tokens=False)
        self._hidden = hidden
        self._ids: list[int] = []
        self._chars = 0
        self._pending = False

    def push(self, token: int) -> str:
        """The text this token completes ("" while a character is incomplete, or for a hidden token)."""
        if token in self._hidden:
            return ""
        self._ids.append(token)
        piece = self._stream.step(self._backend, token)
        if piece is None:
            self._pending = True
            return ""
        self._pending = False
        self._chars += len(piece)
        return piece

    def flush(self) -> str:
        """What is still held back at the end (an incomplete character decodes as U+FFFD, as a full decode)."""
        if not self._pending:
            return ""
        self._pending = False
        text = self._tokenizer.decode(self._ids, skip_special_tokens=False)
        tail = text[self._chars :]
        self._chars = len(text)
        return tail
