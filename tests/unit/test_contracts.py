"""The wire contract: schemas checked in, envelopes validated, old versions upcast."""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from uuid import uuid4

import pytest
from pydantic import ValidationError

from contracts import EVENT_TYPES, Actor, ContractError, Envelope, UnknownEventTypeError, UpcastError
from contracts.envelope import decode_envelope, encode_envelope
from contracts.events.jobs import JobQueued, TrainingProgressed
from contracts.schema_export import SCHEMA_DIR, drift, generated_schemas
from contracts.subjects import parse_subject
from contracts.training_config import TrainingConfig

ACTOR = Actor(kind="api_key", id="key-1")


def _envelope(event=None) -> Envelope:  # type: ignore[no-untyped-def]
    return Envelope.new(
        event or JobQueued(priority=3),
        producer="trainer",
        aggregate_id=str(uuid4()),
        aggregate_version=2,
        actor=ACTOR,
    )


def test_checked_in_schemas_match_the_models():
    assert drift() == [], "run `python -m contracts.schema_export` and commit contracts/schemas"


def test_schema_drift_is_reported_per_file(tmp_path):
    shutil.copytree(SCHEMA_DIR, tmp_path, dirs_exist_ok=True)
    changed = tmp_path / "JobQueued.v1.json"
    schema = json.loads(changed.read_text())
    schema["properties"]["priority"]["description"] = "edited by hand"
    changed.write_text(json.dumps(schema))
    (tmp_path / "JobStarted.v1.json").unlink()
    (tmp_path / "JobQueued.v0.json").write_text("{}")

    assert drift(tmp_path) == [
        "missing JobStarted.v1.json",
        "stale JobQueued.v0.json (no such event version any more)",
        "changed JobQueued.v1.json",
    ]


def test_every_event_field_is_described():
    for name, text in generated_schemas().items():
        schema = json.loads(text)
        for definition in [schema, *schema.get("$defs", {}).values()]:
            for field, spec in definition.get("properties", {}).items():
                assert "description" in spec or "$ref" in spec or "allOf" in spec, f"{name}: {field} undescribed"


def test_envelope_round_trips_through_json():
    envelope = _envelope()
    decoded = decode_envelope(encode_envelope(envelope))
    assert decoded == envelope
    assert isinstance(decoded.event, JobQueued)
    assert decoded.subject == f"events.trainer.job.{envelope.aggregate_id}.JobQueued"
    assert parse_subject(decoded.subject).event_type == "JobQueued"


def test_events_are_frozen():
    event = JobQueued(priority=1)
    with pytest.raises(ValidationError):
        event.priority = 2  # type: ignore[misc]


def test_version_1_training_progress_is_upcast_to_version_2():
    stored = json.loads(encode_envelope(_envelope(TrainingProgressed(step=1, epoch=0.5, loss=1.0, learning_rate=0.1))))
    stored["event"] = {
        "type": "TrainingProgressed",
        "version": 1,
        "step": 7,
        "epoch": 0.5,
        "loss": 1.25,
        "lr": 3e-4,
    }

    event = decode_envelope(json.dumps(stored)).event

    assert isinstance(event, TrainingProgressed)
    assert (event.version, event.step, event.learning_rate, event.loss) == (2, 7, 3e-4, 1.25)
    assert event.grad_norm is None and event.tokens_per_second is None  # never measured in v1, not zero


def test_unknown_event_type_and_future_version_are_refused_clearly():
    stored = json.loads(encode_envelope(_envelope()))
    with pytest.raises(UnknownEventTypeError, match="'JobTeleported'"):
        decode_envelope(json.dumps({**stored, "event": {"type": "JobTeleported", "version": 1}}))
    with pytest.raises(UpcastError, match="v9 is newer"):
        decode_envelope(json.dumps({**stored, "event": {"type": "JobQueued", "version": 9, "priority": 1}}))


@pytest.mark.parametrize(
    ("field", "value", "complaint"),
    [
        ("occurred_at", "2026-01-01T10:00:00", "timezone"),
        ("aggregate_id", "job.1", "aggregate_id"),
        ("unexpected", 1, "unexpected"),
    ],
)
def test_malformed_envelopes_name_the_field(field, value, complaint):
    stored = json.loads(encode_envelope(_envelope()))
    stored[field] = value
    with pytest.raises(ContractError, match=complaint):
        decode_envelope(json.dumps(stored))


def test_occurred_at_is_kept_in_utc():
    envelope = _envelope()
    stored = json.loads(encode_envelope(envelope))
    stored["occurred_at"] = datetime.fromisoformat("2026-01-01T12:00:00+02:00").isoformat()
    assert decode_envelope(json.dumps(stored)).occurred_at.isoformat() == "2026-01-01T10:00:00+00:00"


def test_training_config_reports_every_error_at_once():
    with pytest.raises(ValidationError) as caught:
        TrainingConfig(base_model="", dataset_id="d", learning_rate=0, lora={"rank": 0}, epochs=None)
    fields = {".".join(map(str, e["loc"])) for e in caught.value.errors()}
    assert {"base_model", "learning_rate", "lora.rank"} <= fields


def test_catalog_lists_the_core_events():
    core = {
        "DatasetRegistered",
        "DatasetValidated",
        "JobRequested",
        "JobQueued",
        "JobStarted",
        "TrainingProgressed",
        "EpochCompleted",
        "CheckpointSaved",
        "JobCompleted",
        "JobFailed",
        "JobCancelRequested",
        "JobCancelled",
        "ModelExported",
        "ModelRegistered",
        "ModelAliasSet",
        "ModelLoaded",
        "InferenceCompleted",
        "EmissionsMeasured",
    }
    assert core <= set(EVENT_TYPES)
