"""What a Hugging Face model folder holds, read without loading it: config.json and safetensors headers.

Enough to check that a folder is a loadable model, count its weights exactly and size the LoRA
adapters the pre-flight memory estimate needs (no torch import: headers are 8 bytes + JSON).
"""

from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from services.trainer.errors import InvalidBaseModelError, Problem

TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "vocab.json")
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".gguf", ".ckpt")  # skipped when only the tokenizer is needed


@dataclass(frozen=True)
class ModelShape:
    architecture: str
    parameters: int
    hidden_size: int
    num_layers: int
    num_heads: int
    vocab_size: int
    # per linear-module name (q_proj, down_proj...): how many there are and the sum of (in + out)
    linear_in_out: dict[str, tuple[int, int]] = field(default_factory=dict)

    def lora_parameters(self, rank: int, target_modules: tuple[str, ...]) -> int:
        """Adapter weights: rank x (in + out) for every targeted linear layer."""
        return sum(rank * self.linear_in_out[name][1] for name in target_modules if name in self.linear_in_out)


def read_model_shape(folder: Path) -> ModelShape:
    """Shape of the model in `folder`, or InvalidBaseModelError listing what is missing."""
    config = _config(folder)
    weights = sorted(folder.glob("*.safetensors"))
    problems = []
    if not any((folder / name).is_file() for name in TOKENIZER_FILES):
        problems.append(Problem(f"no tokenizer file ({', '.join(TOKENIZER_FILES)})", folder.name))
    if not weights:
        problems.append(
            Problem("no *.safetensors weights (other formats cannot be checked: convert them)", folder.name)
        )
    if problems:
        raise InvalidBaseModelError(f"{folder} is not a usable base model", problems)
    tensors: dict[str, list[int]] = {}
    for path in weights:
        tensors.update(_safetensors_shapes(path))
    text = config.get("text_config", config)  # multimodal configs nest the language model's
    return ModelShape(
        architecture=str(config["architectures"][0]),
        parameters=sum(math.prod(shape) for shape in tensors.values()),
        hidden_size=int(text.get("hidden_size", 0)),
        num_layers=int(text.get("num_hidden_layers", 0)),
        num_heads=int(text.get("num_attention_heads", 1)),
        vocab_size=int(text.get("vocab_size", 0)),
        linear_in_out=_linear_modules(tensors),
    )


def _config(folder: Path) -> dict[str, Any]:
    path = folder / "config.json"
    if not folder.is_dir():
        raise InvalidBaseModelError("no such base model folder", [Problem("folder not found", str(folder))])
    try:
        config = json.loads(path.read_text())
    except FileNotFoundError:
        raise InvalidBaseModelError("not a model folder", [Problem("config.json is missing", folder.name)]) from None
    except json.JSONDecodeError as exc:
        raise InvalidBaseModelError("broken config.json", [Problem(exc.msg, "config.json", exc.lineno)]) from None
    if not isinstance(config, dict):
        raise InvalidBaseModelError("broken config.json", [Problem("it must hold a JSON object", "config.json")])
    architectures = config.get("architectures")
    if not isinstance(architectures, list) or not architectures:
        raise InvalidBaseModelError(
            "config.json names no architecture", [Problem("set `architectures`", "config.json")]
        )
    return config


def _safetensors_shapes(path: Path) -> dict[str, list[int]]:
    try:
        with open(path, "rb") as handle:
            (length,) = struct.unpack("<Q", handle.read(8))
            header = json.loads(handle.read(length))
    except (struct.error, json.JSONDecodeError, UnicodeDecodeError, MemoryError) as exc:
        raise InvalidBaseModelError(
            "corrupt weights", [Problem(f"unreadable safetensors header: {exc}", path.name)]
        ) from exc
    return {name: list(info["shape"]) for name, info in header.items() if name != "__metadata__"}


def _linear_modules(tensors: dict[str, list[int]]) -> dict[str, tuple[int, int]]:
    found: dict[str, tuple[int, int]] = {}
    for name, shape in tensors.items():
        parts = name.split(".")
        if len(shape) != 2 or parts[-1] != "weight" or len(parts) < 2 or "embed" in name or "lm_head" in name:
            continue
        module = parts[-2]
        count, in_out = found.get(module, (0, 0))
        found[module] = (count + 1, in_out + shape[0] + shape[1])
    return found
