"""What can go wrong in the engine, as exception types a caller can tell apart.

Every message says what happened and what to do, so a front end can show it as is. ``kind`` groups them the
way a front end reports them: ``input`` (the request), ``model`` (files, memory, runtime), ``download`` (worth
trying again) and ``dependency``.
"""

from __future__ import annotations


class GlmvLocalError(Exception):
    kind = "model"


class ModelNotFound(GlmvLocalError):
    """No such local directory, or an id that is neither in the cache nor downloadable (offline)."""


class ModelFilesError(GlmvLocalError):
    """A checkpoint that is incomplete, corrupt or not a GLM-V model: never loaded."""


class DownloadError(GlmvLocalError):
    """The download failed or cannot start (disk space, network, access)."""

    kind = "download"


class NotEnoughMemory(GlmvLocalError):
    """The estimate says the model and its cache do not fit on the device."""


class OutOfMemory(GlmvLocalError):
    """The device ran out of memory while generating; the engine freed what it could and stays usable."""


class MissingDependency(GlmvLocalError):
    kind = "dependency"


class InputError(GlmvLocalError):
    """A request the model cannot take (no question, a video without video support, too long a prompt)."""

    kind = "input"
