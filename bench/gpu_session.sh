#!/usr/bin/env bash
# The one prepared script for a lent GPU machine (device tool): CUDA tests, then the GPU benchmark.
# Needs .whl/ with tomli_w (the only engine dependency missing from that image); see bench/README.md.
set -u
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu.txt"
python3 -c "import torch; print('torch', torch.__version__)" | tee -a "$OUT/gpu.txt"
timeout 240 python3 -m pytest -q -p no:cacheprovider ${TESTS:-tests/engine/test_cuda.py tests/engine/test_model.py \
  tests/engine/test_schedule.py tests/engine/test_batches.py} 2>&1 | tail -15 | tee "$OUT/cuda_tests.txt"
cd bench && PYTHONUNBUFFERED=1 timeout 300 python3 gpu.py --steps "${STEPS:-60}" 2>&1 | grep -v Warning | tee "$OUT/gpu_bench.txt"
