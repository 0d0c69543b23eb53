"""torch.compile for the decode step: where its artefacts are kept, and a count of what was compiled.

Compiling a bucket's graph takes a minute on a GPU the first time. Inductor keeps what it built (FX graphs,
Triton kernels) in ``TORCHINDUCTOR_CACHE_DIR``; pointing it at the app's cache folder (unless the person set it)
makes that cost once per machine and version, and later loads trace and load in seconds. A small record of the
buckets compiled before lets the status say which of the two to expect.

``Watch`` counts compilations and CUDA graph captures per thread, through dynamo's compile callbacks, so an
engine can say how many its own thread did (recompiles must equal the buckets used; captures must stop once
each bucket has been replayed). The counts hang on the thread object, not its ident: Python gives a finished
thread's ident to the next thread it starts, which would hand one engine's counts to the next.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import weakref
from collections import Counter
from pathlib import Path
from typing import Any, ClassVar

log = logging.getLogger(__name__)

RECORD = "glmv-compiled.json"


def cache_folder(setting: str | Path | None = None) -> Path:
    if setting:
        return Path(setting)
    import platformdirs

    return Path(platformdirs.user_cache_dir("glmv-desktop", appauthor=False)) / "torch-compile"


def use_cache_folder(folder: Path) -> Path:
    """Where inductor writes from now on: ``folder``, unless the person set TORCHINDUCTOR_CACHE_DIR to a folder
    of their own (torch itself sets it to its default in the temporary folder the first time it looks)."""
    from torch._inductor.runtime.cache_dir_utils import default_cache_dir
    from torch._inductor.utils import clear_caches

    current = os.environ.get("TORCHINDUCTOR_CACHE_DIR")
    if current is None or os.path.abspath(current) == os.path.abspath(default_cache_dir()):
        os.environ["TORCHINDUCTOR_CACHE_DIR"] = str(folder / "inductor")
        clear_caches()  # what inductor memoised about the old folder
    return Path(os.environ["TORCHINDUCTOR_CACHE_DIR"])


def graph_key(model: Any, *, device: str, dtype: str, mode: str, bucket: int) -> str:
    """Names one compiled graph: what changes the generated code changes the key."""
    import torch
    import transformers

    config = json.dumps(model.config.get_text_config().to_dict(), sort_keys=True, default=str)
    digest = hashlib.sha256(config.encode()).hexdigest()[:16]
    where = torch.cuda.get_device_name(torch.device(device)) if device.startswith("cuda") else device
    return f"torch {torch.__version__} transformers {transformers.__version__} {where} {dtype} {mode} {digest} {bucket}"


class Record:
    """The graph keys compiled on this machine before (a JSON list in the cache folder)."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / RECORD

    def _read(self) -> set[str]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return set()
        return {str(k) for k in data} if isinstance(data, list) else set()

    def __contains__(self, key: str) -> bool:
        return key in self._read()

    def add(self, key: str) -> None:
        keys = self._read() | {key}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(sorted(keys), indent=1), encoding="utf-8")
            tmp.replace(self.path)
        except OSError as e:
            log.warning("cannot record the compiled graph in %s: %s", self.path, e)


class Watch:
    """Compilations (dynamo traces) and CUDA graph recordings, counted per thread, process-wide."""

    _lock = threading.Lock()
    _installed = False
    available = False  # torch before 2.7 has no compile callbacks with a trigger: nothing is counted
    _counts: ClassVar[weakref.WeakKeyDictionary[threading.Thread, Counter[str]]] = weakref.WeakKeyDictionary()

    @classmethod
    def counts(cls, thread: threading.Thread) -> tuple[int, int]:
        """(compilations, CUDA graph captures) that ``thread`` has started so far."""
        with cls._lock:
            seen = cls._counts.get(thread, Counter())
            return seen["compiles"], seen["captures"]

    @classmethod
    def install(cls) -> None:
        with cls._lock:
            if cls._installed:
                return
            cls._installed = True
            try:
                from torch._dynamo.callback import CallbackTrigger, callback_handler
            except ImportError:
                log.info("this torch does not report compilations; they are not counted")
                return

            def started(args: Any) -> None:
                if args.callback_trigger == CallbackTrigger.DYNAMO:
                    kind = "compiles"
                elif args.callback_trigger == CallbackTrigger.CUDAGRAPH_RECORDING:
                    kind = "captures"
                else:
                    return
                with cls._lock:
                    cls._counts.setdefault(threading.current_thread(), Counter())[kind] += 1

            callback_handler.register_start_callback(started)
            cls.available = True
