#!/usr/bin/env bash
# The local engine's whole GPU check (issue 17), for one CUDA GPU, in under 8 minutes on an H200:
#   1. the machine: GPU, driver, torch/transformers/torchvision;
#   2. the engine's tests on the GPU (the tiny model lands on CUDA by itself): token identity with greedy
#      generate (text, image, two turns) eager and compiled with CUDA graphs, the one engine thread, one graph and
#      one CUDA graph per bucket, K/V heads never expanded, the job queue and its soak;
#   3. python -m glmv_local.bench on GLM-4.6V-Flash's shape with random weights (bf16, context 32,768): decode at
#      100 / 3K / 30K-token prompts against plain generate, first token for a 1080p screenshot split into
#      preprocessing / vision / prefill, peak memory, recompiles and captures during the measured runs, host
#      overhead per token, and the targets (>= 180 tok/s at 3K, >= 4x generate, first token <= 150 ms);
#   4. the same model decoded without torch.compile (what bitsandbytes, MPS or a compile failure get).
# Logs go to $OUT (the device machine's result folder) or benchmarks/out. No network is needed: the model is built
# from its shape, not downloaded. PYTHON picks the interpreter (default: .venv/bin/python if its torch sees CUDA,
# else python3).
set -uo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-benchmarks/out}"
mkdir -p "$out"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 QT_QPA_PLATFORM=offscreen
export TORCHINDUCTOR_CACHE_DIR="${TORCHINDUCTOR_CACHE_DIR:-/tmp/glmv-gpu-check-inductor}"
started=$SECONDS
say() { printf '[gpu_check %3ds] %s\n' "$((SECONDS - started))" "$*" | tee -a "$out/summary.txt"; }

python="${PYTHON:-}"
if [[ -z "$python" ]]; then
    python=python3
    if [[ -x .venv/bin/python ]] && .venv/bin/python -c 'import torch, sys; sys.exit(not torch.cuda.is_available())' 2>/dev/null; then
        python=.venv/bin/python
    fi
fi

# 1. The machine (also stops here, saying why, when there is no usable CUDA torch).
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv 2>&1 | tee "$out/gpu.txt"
if ! "$python" - <<'PY' 2>&1 | tee "$out/environment.txt"; then
import sys
import torch
import transformers
print(f"python {sys.version.split()[0]}, torch {torch.__version__} (CUDA {torch.version.cuda}), transformers {transformers.__version__}")
try:
    import torchvision
    print(f"torchvision {torchvision.__version__}: the image processor runs on the GPU")
except Exception as e:  # a missing or broken torchvision: images are processed with PIL on the CPU
    print(f"torchvision unavailable ({type(e).__name__}): the image processor runs on the CPU")
if not torch.cuda.is_available():
    sys.exit("no CUDA device visible to torch: this check needs one")
if int(transformers.__version__.split(".")[0]) < 5:
    sys.exit("transformers >= 5 is needed (GLM-4.6V-Flash's processor classes)")
print(torch.cuda.get_device_name(0), f"{torch.cuda.get_device_properties(0).total_memory / 2**30:.0f} GiB")
PY
    say "no usable CUDA torch + transformers >= 5 with $python: nothing measured"
    exit 1
fi
status=0

# 2. The engine's tests, on CUDA.
if "$python" -c 'import pytest' 2>/dev/null; then
    say "tests on the GPU"
    timeout 120 "$python" -m pytest -q -x -p no:cacheprovider --basetemp=/tmp/glmv-gpu-check-pt \
        tests/glmv_local/test_glmv_local_decode.py tests/glmv_local/test_glmv_local_jobs.py >"$out/tests.txt" 2>&1
    rc=$?
    tail -n 25 "$out/tests.txt"
    say "tests: exit $rc ($(tail -n 1 "$out/tests.txt"))"
    ((rc == 0)) || status=1
else
    say "pytest is not installed for $python: tests skipped"
fi

# 3. The benchmark on GLM-4.6V-Flash's shape, compiled (CUDA graphs).
say "bench, GLM-4.6V-Flash shape, bf16, compiled"
timeout 300 "$python" -m glmv_local.bench --shape flash --new-tokens 256 --rounds 2 --contexts "" \
    --compile-cache /tmp/glmv-gpu-check-compile 2>&1 | tee "$out/bench.txt"
rc=${PIPESTATUS[0]}
say "bench: exit $rc"
((rc == 0)) || status=1

# 4. The same without torch.compile.
say "bench, GLM-4.6V-Flash shape, eager decode step"
timeout 40 "$python" -m glmv_local.bench --shape flash --speed eager --new-tokens 64 --rounds 1 --prompts 3000 \
    --contexts "" --no-reference 2>&1 | tee "$out/bench_eager.txt"
rc=${PIPESTATUS[0]}
say "eager bench: exit $rc"
((rc == 0)) || status=1

say "done in $((SECONDS - started)) s; logs in $out"
exit $status
