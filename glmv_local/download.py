"""Getting a checkpoint onto the disk: a local directory as is, or a Hugging Face id through the shared cache.

The download goes through huggingface_hub, so HF_HOME, HF_HUB_CACHE, HF_ENDPOINT, HF_TOKEN and HF_HUB_OFFLINE
work as everywhere else and a model another tool already fetched is reused. Only what loading needs is fetched
(safetensors, configs, tokenizer, processor, template); an interrupted download resumes, and a cached snapshot
with missing or damaged weight files is repaired, never loaded.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from glmv_local import checkpoint
from glmv_local.errors import DownloadError, ModelFilesError, ModelNotFound

DEFAULT_MODEL = "zai-org/GLM-4.6V-Flash"
PATTERNS = ["*.safetensors", "*.json", "*.jinja", "*.txt", "*.model", "*.tiktoken"]
# Keep this much free beyond the download itself: a full disk breaks everything else on the machine.
DISK_MARGIN = 2 * 1024**3


@dataclass(frozen=True)
class DownloadProgress:
    done: int
    total: int


ProgressFn = Callable[[DownloadProgress], None]


def is_local(model: str) -> bool:
    """A path when it exists or is written like one; otherwise a Hub id ("org/name")."""
    if Path(model).expanduser().exists():
        return True
    return model.startswith(("/", ".", "~")) or model.count("/") != 1 or (os.sep != "/" and os.sep in model)


def cache_dir(explicit: str | Path | None = None) -> Path:
    from huggingface_hub import constants

    return Path(explicit) if explicit else Path(constants.HF_HUB_CACHE)


def offline() -> bool:
    from huggingface_hub import constants

    return bool(constants.HF_HUB_OFFLINE)


def check_disk_space(needed: int, where: Path) -> None:
    probe = where
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    free = shutil.disk_usage(probe).free
    if needed + DISK_MARGIN > free:
        raise DownloadError(
            f"Not enough disk space for the download: {needed / 1e9:.1f} GB needed (plus {DISK_MARGIN / 1e9:.0f} GB "
            f"to spare), {free / 1e9:.1f} GB free at {probe}. Free some space, or set HF_HOME to a larger disk."
        )


def damaged_files(path: Path) -> list[Path]:
    """Weight files in ``path`` whose size disagrees with their header, or whose header is unreadable."""
    bad = []
    for file in sorted(path.glob("*.safetensors")):
        try:
            header = checkpoint.read_header(file)
            ok = file.stat().st_size == header.expected_size
        except (ModelFilesError, OSError):
            ok = False
        if not ok:
            bad.append(file)
    return bad


def _forget(file: Path) -> None:
    """Remove a cached file and the blob behind its symlink so the next download fetches it again."""
    blob = file.resolve()
    file.unlink(missing_ok=True)
    if blob != file:
        blob.unlink(missing_ok=True)


def _progress_class(progress: ProgressFn) -> type:
    """A tqdm stand-in that forwards the byte counts huggingface_hub reports to ``progress``."""
    from tqdm.auto import tqdm

    class Forward(tqdm):
        def __init__(self, *args, **kwargs):
            self._bytes = kwargs.get("unit") == "B" and kwargs.get("name") == "huggingface_hub.snapshot_download"
            kwargs["disable"] = True
            kwargs.pop("name", None)
            super().__init__(*args, **kwargs)

        def update(self, n=1):
            self.n += n or 0
            if self._bytes:
                progress(DownloadProgress(done=int(self.n), total=int(self.total or 0)))

    return Forward


def resolve(
    model: str = DEFAULT_MODEL,
    *,
    progress: ProgressFn | None = None,
    allow_download: bool = True,
    cache: str | Path | None = None,
    revision: str | None = None,
) -> checkpoint.Checkpoint:
    """A verified local checkpoint for ``model`` (a directory or a Hub id), downloading what is missing."""
    if is_local(model):
        return checkpoint.verify(model)
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    where = cache_dir(cache)
    cached: Path | None = None
    try:
        cached = Path(
            snapshot_download(model, allow_patterns=PATTERNS, local_files_only=True, cache_dir=where, revision=revision)
        )
    except (LocalEntryNotFoundError, OSError, ValueError):
        cached = None
    if cached is not None:
        try:
            return checkpoint.verify(cached)
        except ModelFilesError as e:
            if offline() or not allow_download:
                raise ModelFilesError(
                    f"{e} Offline mode is on (HF_HUB_OFFLINE), so it cannot be repaired "
                    "now; go online and load the model again to resume the download."
                ) from e
            for file in damaged_files(cached):
                _forget(file)
    if offline() or not allow_download:
        raise ModelNotFound(
            f"{model}: not in the Hugging Face cache at {where}"
            + (" and offline mode is on (HF_HUB_OFFLINE=1)." if offline() else ".")
            + " Download it once while online (or set HF_HOME to where it is), or give a local model directory."
        )
    return download(model, where, progress=progress, revision=revision)


def download(
    model: str, where: Path, *, progress: ProgressFn | None = None, revision: str | None = None
) -> checkpoint.Checkpoint:
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError, RepositoryNotFoundError

    try:
        plan = snapshot_download(model, allow_patterns=PATTERNS, cache_dir=where, revision=revision, dry_run=True)
        needed = sum(int(f.file_size or 0) for f in plan if f.will_download)
        check_disk_space(needed, where)
        tqdm_class = _progress_class(progress) if progress else None
        path = Path(
            snapshot_download(model, allow_patterns=PATTERNS, cache_dir=where, revision=revision, tqdm_class=tqdm_class)
        )
    except RepositoryNotFoundError as e:
        raise ModelNotFound(f"{model}: no such model on the Hub (or it is private: set HF_TOKEN).") from e
    except (HfHubHTTPError, LocalEntryNotFoundError, OSError) as e:
        raise DownloadError(
            f"Downloading {model} failed: {e}. Check the connection and try again; the download "
            "resumes where it stopped."
        ) from e
    return checkpoint.verify(path)
