"""Run the post-export checks of one version: fetch its exports (hash-checked), find its base model,
answer the golden prompts (the base model's own when its folder ships them, else the configured
file) in each export's runtime and beside the reference, and judge.

A corrupt or missing export is an `error` check naming its URI, never a crash: the verdict is
recorded either way. The rules themselves are in verification.py.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contracts.events.models import ArtifactCheck, ArtifactRef, ModelRegistered
from services.registry.config import RegistrySettings
from services.registry.domain import RegistryError
from services.registry.ports import AnswerEngine, EventHistory, Prompt
from services.registry.verification import (
    AnswerSet,
    Target,
    candidate_target,
    judge,
    not_checked,
    reference_target,
    runtime_of,
)
from services.runtime.artifacts import ArtifactError, ArtifactStore

BASE_MODEL_PROMPTS = "golden_prompts.jsonl"  # in a base model's folder: the prompts its fine-tunes answer


class GoldenPromptsError(RegistryError):
    """The golden prompts file cannot be used."""


def load_golden_prompts(path: Path) -> list[Prompt]:
    prompts: list[Prompt] = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            messages = json.loads(line)["messages"]
            assert isinstance(messages, list) and all({"role", "content"} <= set(m) for m in messages)
        except (ValueError, KeyError, TypeError, AssertionError):
            raise GoldenPromptsError(
                f'{path} line {number}: expected {{"messages": [{{"role": ..., "content": ...}}, ...]}}'
            ) from None
        prompts.append(messages)
    if not prompts:
        raise GoldenPromptsError(f"{path} holds no prompts")
    return prompts


@dataclass(frozen=True)
class Outcome:
    checks: list[ArtifactCheck]
    transcript: dict[str, Any]  # every prompt and every answer, for the stored report


def golden_prompts_for(base_dir: Path | None, default: list[Prompt]) -> list[Prompt]:
    """The prompts a base model ships for its fine-tunes (`golden_prompts.jsonl` in its folder:
    questions it answers briefly, so a sound export stops within the token limit), else `default`."""
    shipped = base_dir / BASE_MODEL_PROMPTS if base_dir is not None else None
    return load_golden_prompts(shipped) if shipped is not None and shipped.is_file() else default


class Verifier:
    def __init__(
        self,
        artifacts: ArtifactStore,
        history: EventHistory,
        engine: AnswerEngine,
        settings: RegistrySettings,
        work_dir: Path,
    ) -> None:
        self.artifacts, self.history, self.engine = artifacts, history, engine
        self.settings, self.work_dir = settings, work_dir
        self.prompts = load_golden_prompts(settings.golden_prompts)

    def run(self, registered: ModelRegistered) -> Outcome:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=self.work_dir, prefix="verify-") as scratch:
            local, checks = self._fetch_all(registered.artifacts, Path(scratch))
            base_dir = self._base_dir(registered.base_model)
            prompts = golden_prompts_for(base_dir, self.prompts)
            targets = self._targets(registered.artifacts, local, base_dir, checks)
            answers = self._answer(registered.artifacts, reference_target(local, base_dir), targets, checks, prompts)
        return Outcome([checks[a.kind] for a in registered.artifacts], _transcript(prompts, answers))

    def _answer(
        self,
        artifacts: Sequence[ArtifactRef],
        reference: tuple[Target, str] | None,
        targets: dict[str, Target],
        checks: dict[str, ArtifactCheck],
        prompts: Sequence[Prompt],
    ) -> dict[str, AnswerSet]:
        """Run the reference and every loadable export in one go, and judge each export."""
        if not targets:
            return {}
        if reference is None:
            why = "nothing to compare with: neither base + adapter nor merged weights could be loaded"
            for artifact in artifacts:
                checks.setdefault(artifact.kind, not_checked(artifact, "error", why, "none"))
            return {}
        target, name = reference
        answers = self.engine.answer([target, *targets.values()], prompts, self.settings.max_new_tokens)
        threshold = self.settings.match_threshold
        for artifact in (a for a in artifacts if a.kind in targets):
            checks[artifact.kind] = judge(artifact, answers[artifact.kind], answers["reference"], name, threshold)
        return answers

    def _targets(
        self,
        artifacts: Sequence[ArtifactRef],
        local: dict[str, Path],
        base_dir: Path | None,
        checks: dict[str, ArtifactCheck],
    ) -> dict[str, Target]:
        targets: dict[str, Target] = {}
        for artifact in (a for a in artifacts if a.kind not in checks):
            engine = runtime_of(artifact.kind)
            runtime = self.engine.runtime(engine)
            if runtime is None:
                checks[artifact.kind] = not_checked(artifact, "skipped", f"{engine} is not installed here", "none")
                continue
            candidate = candidate_target(artifact.kind, local[artifact.kind], base_dir)
            if isinstance(candidate, str):
                checks[artifact.kind] = not_checked(artifact, "error", candidate, runtime)
            else:
                targets[artifact.kind] = candidate
        return targets

    def _fetch_all(
        self, artifacts: Sequence[ArtifactRef], scratch: Path
    ) -> tuple[dict[str, Path], dict[str, ArtifactCheck]]:
        local: dict[str, Path] = {}
        problems: dict[str, ArtifactCheck] = {}
        for artifact in artifacts:
            try:
                local[artifact.kind] = self._fetch(artifact.uri, artifact.sha256, scratch / artifact.kind)
            except ArtifactError as exc:  # corrupt, missing or foreign: reported, never loaded
                problems[artifact.kind] = not_checked(artifact, "error", str(exc), "none")
        return local, problems

    def _fetch(self, uri: str, sha256: str, destination: Path) -> Path:
        key = self.artifacts.key_of(uri)
        if self.artifacts.list_keys(key) == [key]:  # a single file (a GGUF)
            return self.artifacts.get_file(key, destination / key.rsplit("/", 1)[-1], expected_sha256=sha256)
        folder = self.artifacts.get_folder(key, destination, expected_sha256=sha256)
        ggufs = sorted(folder.glob("*.gguf"))
        return ggufs[0] if ggufs else folder

    def _base_dir(self, base_model: str) -> Path | None:
        """The base's folder: from the catalogue (cached by hash), a store URI, or a local folder."""
        catalogued = [b for b in self.history.base_models() if b.name == base_model]
        try:
            if catalogued:
                entry = catalogued[-1]
                cached = self.work_dir / "bases" / entry.sha256
                return cached if cached.is_dir() else self._fetch(entry.uri, entry.sha256, cached)
            if base_model.startswith(("s3://", "file://")):
                folder = self.work_dir / "bases" / hashlib.sha256(base_model.encode()).hexdigest()[:16]
                return self.artifacts.get_folder(self.artifacts.key_of(base_model), folder)
        except ArtifactError:
            return None
        return Path(base_model) if Path(base_model).is_dir() else None


def _transcript(prompts: Sequence[Prompt], answers: dict[str, AnswerSet]) -> dict[str, Any]:
    rows = []
    for index, prompt in enumerate(prompts):
        row: dict[str, Any] = {"prompt": prompt}
        for label, answer_set in answers.items():
            if index < len(answer_set.answers):
                answer = answer_set.answers[index]
                row[label] = {"text": answer.text, "ended_with_stop": answer.ended_with_stop}
        rows.append(row)
    runtimes = {label: {"runtime": a.runtime, "error": a.error} for label, a in answers.items()}
    return {"runtimes": runtimes, "answers": rows}
