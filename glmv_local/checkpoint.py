"""Is this directory a complete checkpoint? Checked from the files alone, before any weights are loaded.

An interrupted download or a half-copied folder must never reach ``from_pretrained``: a missing shard there
shows up as randomly initialised layers (garbage answers, no error) and a truncated file as an obscure
safetensors error. The safetensors header says exactly how long each file must be, so the check is cheap.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field
from pathlib import Path

from glmv_local.errors import ModelFilesError, ModelNotFound

INDEX = "model.safetensors.index.json"
SINGLE = "model.safetensors"
MAX_HEADER = 100 * 1024 * 1024
REDOWNLOAD = "Download the model again (an interrupted download resumes where it stopped)."


@dataclass
class Checkpoint:
    """A verified checkpoint: its config and weight files, and what the weights occupy by dtype."""

    path: Path
    config: dict
    weight_files: list[Path]
    weight_bytes: int = 0
    bytes_by_dtype: dict[str, int] = field(default_factory=dict)
    parameters: int = 0


@dataclass
class SafetensorsHeader:
    tensors: dict[str, dict]
    expected_size: int


def read_header(path: Path) -> SafetensorsHeader:
    """The JSON header of a safetensors file and the file size it implies."""
    try:
        with path.open("rb") as f:
            head = f.read(8)
            if len(head) < 8:
                raise ModelFilesError(f"{path}: truncated safetensors file ({len(head)} bytes). {REDOWNLOAD}")
            (length,) = struct.unpack("<Q", head)
            if length > MAX_HEADER:
                raise ModelFilesError(f"{path}: not a safetensors file (header length {length}). {REDOWNLOAD}")
            raw = f.read(length)
    except OSError as e:
        raise ModelFilesError(f"{path}: cannot be read ({e.strerror or e}). {REDOWNLOAD}") from e
    if len(raw) < length:
        raise ModelFilesError(f"{path}: truncated safetensors header. {REDOWNLOAD}")
    try:
        header = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ModelFilesError(f"{path}: corrupt safetensors header ({e}). {REDOWNLOAD}") from e
    if not isinstance(header, dict):
        raise ModelFilesError(f"{path}: corrupt safetensors header. {REDOWNLOAD}")
    tensors = {k: v for k, v in header.items() if k != "__metadata__"}
    try:
        end = max((int(v["data_offsets"][1]) for v in tensors.values()), default=0)
    except (KeyError, IndexError, TypeError, ValueError) as e:
        raise ModelFilesError(f"{path}: corrupt safetensors header (bad tensor entry). {REDOWNLOAD}") from e
    return SafetensorsHeader(tensors=tensors, expected_size=8 + length + end)


def weight_files(path: Path) -> list[Path]:
    """The safetensors files the checkpoint consists of, from its index when it is sharded."""
    index = path / INDEX
    if index.is_file():
        try:
            weight_map = json.loads(index.read_text(encoding="utf-8"))["weight_map"]
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise ModelFilesError(f"{index}: unreadable shard index ({e}). {REDOWNLOAD}") from e
        names = sorted(set(weight_map.values()))
        missing = [n for n in names if not (path / n).is_file()]
        if missing:
            shown = ", ".join(missing[:4]) + (f" and {len(missing) - 4} more" if len(missing) > 4 else "")
            raise ModelFilesError(
                f"{path}: incomplete download, {len(missing)} of {len(names)} weight files missing ({shown}). "
                + REDOWNLOAD
            )
        return [path / n for n in names]
    if (path / SINGLE).is_file():
        return [path / SINGLE]
    if any(path.glob("*.bin")) or any(path.glob("*.pth")):
        raise ModelFilesError(
            f"{path}: only pickle weights (.bin/.pth) found; this app loads safetensors only, which cannot run "
            "code when opened. Use a checkpoint that ships *.safetensors (zai-org/GLM-4.6V-Flash does)."
        )
    raise ModelFilesError(f"{path}: no weights (*.safetensors) in this directory. {REDOWNLOAD}")


DTYPE_BYTES = {"F64": 8, "I64": 8, "F32": 4, "I32": 4, "BF16": 2, "F16": 2, "I16": 2, "U8": 1, "I8": 1, "BOOL": 1}


def verify(path: Path | str) -> Checkpoint:
    """Check ``path`` holds a config and complete, readable safetensors weights; raise with advice if not."""
    path = Path(path).expanduser()
    if not path.exists():
        raise ModelNotFound(f"{path}: no such directory. Give a local model directory or a Hugging Face id.")
    if not path.is_dir():
        raise ModelNotFound(f"{path}: is a file; give the directory that holds config.json and the weights.")
    config_path = path / "config.json"
    if not config_path.is_file():
        raise ModelFilesError(
            f"{path}: no config.json, so this is not a model directory (or the download is incomplete). {REDOWNLOAD}"
        )
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ModelFilesError(f"{config_path}: unreadable ({e}). {REDOWNLOAD}") from e
    checkpoint = Checkpoint(path=path, config=config, weight_files=weight_files(path))
    for file in checkpoint.weight_files:
        header = read_header(file)
        size = file.stat().st_size
        if size != header.expected_size:
            state = "truncated" if size < header.expected_size else "larger than its header says"
            raise ModelFilesError(
                f"{file}: {state} ({size} bytes, expected {header.expected_size}); the file is corrupt or "
                f"its download was interrupted. {REDOWNLOAD}"
            )
        for tensor in header.tensors.values():
            start, end = tensor["data_offsets"]
            nbytes = int(end) - int(start)
            dtype = str(tensor.get("dtype", "?"))
            checkpoint.weight_bytes += nbytes
            checkpoint.bytes_by_dtype[dtype] = checkpoint.bytes_by_dtype.get(dtype, 0) + nbytes
            checkpoint.parameters += nbytes // DTYPE_BYTES.get(dtype, 2)
    return checkpoint
