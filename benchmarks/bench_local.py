"""Local engine benchmark against plain generate, as the app runs it (context 32,768, the same greedy decoding).

    python benchmarks/bench_local.py --model zai-org/GLM-4.6V-Flash     # a real checkpoint (GPU)
    python benchmarks/bench_local.py                                   # random GLM-4.6V-Flash shape on CUDA,
                                                                       # a tiny random model elsewhere
    benchmarks/gpu_check.sh                                            # the whole GPU check (tests + bench)

The same as ``python -m glmv_local.bench``; see that module for the figures and targets.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from glmv_local.bench import main

if __name__ == "__main__":
    raise SystemExit(main())
