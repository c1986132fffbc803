"""Export a trained model: LoRA adapter, merged 16-bit weights and GGUF files, each stored under
layout.finetuned_model(job_id, kind) and described by an ArtifactRef (URI, size, sha256).

Every Hugging Face folder carries the tokenizer, its chat template and a generation_config.json
whose eos/pad ids are the tokenizer's: the token that ended every assistant turn in training.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from contracts.events.models import ArtifactKind, ArtifactRef
from contracts.training_config import TrainingConfig
from services.runtime.artifacts import ArtifactError, ArtifactStore, layout
from services.trainer import recipe
from services.trainer.adapters.gguf import OUTTYPES
from services.trainer.errors import ExportToolMissingError, Problem, StorageError
from services.trainer.ports import GgufConverter


def export_all(
    run: recipe.RecipeRun,
    config: TrainingConfig,
    job_id: str,
    store: ArtifactStore,
    workdir: Path,
    gguf: GgufConverter | None,
) -> list[ArtifactRef]:
    out = workdir / "export"
    merged: Path | None = None
    refs: list[ArtifactRef] = []
    for kind in config.export_formats:
        if kind == "lora" and config.method != "full":
            refs.append(_store(store, job_id, kind, _lora(run, out / "lora")))
        elif kind == "merged_16bit" or (kind == "lora" and config.method == "full"):
            merged = merged or _merged(run, config, out / "merged_16bit")
            refs.append(_store(store, job_id, "merged_16bit", merged))
        else:
            if gguf is None:
                raise ExportToolMissingError(
                    "GGUF export unavailable", [Problem("llama.cpp converter missing", field="export_formats")]
                )
            merged = merged or _merged(run, config, out / "merged_16bit")
            file = gguf.convert(merged, out / f"model-{OUTTYPES[kind]}.gguf", OUTTYPES[kind])
            refs.append(_store(store, job_id, kind, file))
    return list({ref.kind: ref for ref in refs}.values())


def _lora(run: recipe.RecipeRun, folder: Path) -> Path:
    recipe.save_lora(run, folder)
    write_generation_config(folder, run.tokenizer, run.model)
    return folder


def _merged(run: recipe.RecipeRun, config: TrainingConfig, folder: Path) -> Path:
    if config.method == "full":
        run.model.save_pretrained(str(folder))
        run.tokenizer.save_pretrained(str(folder))
    else:
        recipe.save_merged_16bit(run, folder)
    write_generation_config(folder, run.tokenizer, run.model)
    return folder


def write_generation_config(folder: Path, tokenizer: Any, model: Any) -> None:
    """generation_config.json with the training tokenizer's eos and pad ids (so generation stops on them)."""
    path = folder / "generation_config.json"
    base = getattr(model, "generation_config", None)
    current = json.loads(path.read_text()) if path.is_file() else (base.to_diff_dict() if base is not None else {})
    current.update(eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
    if tokenizer.bos_token_id is not None:
        current["bos_token_id"] = tokenizer.bos_token_id
    path.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n")


def _store(store: ArtifactStore, job_id: str, kind: ArtifactKind, source: Path) -> ArtifactRef:
    key = layout.finetuned_model(job_id, kind)
    try:
        stored = store.put_folder(key, source) if source.is_dir() else store.put_file(f"{key}/{source.name}", source)
    except (ArtifactError, OSError) as exc:
        raise StorageError(f"the {kind} export could not be stored: {exc}") from exc
    return ArtifactRef(kind=kind, uri=stored.uri, size_bytes=stored.size_bytes, sha256=stored.sha256)
