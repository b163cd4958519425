#!/usr/bin/env bash
# The one prepared script for a lent GPU machine (device tool): CUDA tests, then the GPU benchmark.
# Needs .whl/ with what that image lacks, made here beforehand and carried (device tool, carry [".whl"]):
#   pip download tomli_w torchao==0.18.0 liger-kernel==0.8.5 --no-deps -d .whl
# (torchao: train.precision = "fp8"; liger-kernel: bench/gpu.py's liger variant, over the image's triton)
# Budget: tests 180 s, benchmark 340 s; run it with timeout_s 580 and give the machine back. (fp8 training on
# CUDA is in test_cuda.py: tests/engine/runtime/test_fp8.py reads its corpus through `datasets`, which that image may lack.)
set -u
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu.txt"
python3 -c "import torch; print('torch', torch.__version__)" | tee -a "$OUT/gpu.txt"
timeout 180 python3 -m pytest -q -p no:cacheprovider ${TESTS:-tests/engine/runtime/test_cuda.py tests/engine/model/test_model.py \
  tests/engine/model/test_linear_loss.py} 2>&1 | tail -15 | tee "$OUT/cuda_tests.txt"
cd bench && PYTHONUNBUFFERED=1 timeout 340 python3 gpu.py --steps "${STEPS:-50}" 2>&1 | grep -v Warning | tee "$OUT/gpu_bench.txt"
