"""One root for every failure the app reports to a person, and the one list of kinds they come in.

A failure says what happened and what to do, has a kind (the stream's ``FailureKind``: how front ends report
it) and says whether trying again can help. Each area raises its own subclass (``MediaError``,
``GroundingError``, ``CaptureError``, ``KeyringUnavailable``, ``UnknownPreset``, ``PageSpecError``,
``SchemaTooNew``...), so code catches what it can handle, and a front end that meets any of them reads the same
four things: ``glmv`` turns the kind into its exit code in one place (``app.cli.exit_code``), the window into
its banner in one place (``app.ui.transcript.Banner``).

``glmv_local`` knows nothing of ``app``: its errors carry a kind of their own (``input``, ``model``,
``dependency``, ``download``), which ``engine_failure`` maps here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, get_args

from app.core.events import Failed, FailureKind

if TYPE_CHECKING:
    from glmv_local.errors import GlmvLocalError

KINDS: tuple[FailureKind, ...] = get_args(FailureKind)


class AppError(Exception):
    """A failure for a person to read. ``str(error)`` is the whole sentence: ``message`` (what happened), then
    ``what_to_do`` when it is given apart. A subclass sets its usual ``kind`` and ``retryable``; a raise may
    say otherwise."""

    kind: FailureKind = "input"
    retryable: bool = False

    def __init__(
        self, message: str, what_to_do: str = "", *, kind: FailureKind | None = None, retryable: bool | None = None
    ) -> None:
        super().__init__(f"{message}; {what_to_do}" if what_to_do else message)
        self.message = message
        self.what_to_do = what_to_do
        if kind is not None:
            self.kind = kind
        if retryable is not None:
            self.retryable = retryable

    def failed(self) -> Failed:
        """The failure as the event that ends a stream."""
        return Failed(self.kind, str(self), self.retryable)


def as_kind(value: str | None, default: FailureKind = "model") -> FailureKind:
    """A kind read back from somewhere untyped (a history row, an older version's save): itself when it is
    one, else ``default``."""
    for kind in KINDS:
        if value == kind:
            return kind
    return default


# glmv_local's kind -> (the app's kind, whether trying again can help). A download that failed may work on the
# next try (the network, a full disk freed); the rest need something changed first.
ENGINE_KINDS: dict[str, tuple[FailureKind, bool]] = {
    "input": ("input", False),
    "model": ("model", False),
    "dependency": ("model", False),
    "download": ("network", True),
}


def engine_failure(error: GlmvLocalError) -> Failed:
    """An error of the in-process engine as the event that ends a stream, by the engine's own kind."""
    kind, retryable = ENGINE_KINDS.get(error.kind, ("model", False))
    return Failed(kind, str(error), retryable)
