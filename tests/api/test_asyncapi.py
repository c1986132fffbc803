"""The AsyncAPI document of the NATS wire: checked in beside contracts/schemas, failing CI when the
services' routes or the event types change without it, served by the API at /asyncapi, and holding
schemas real requests, replies and envelopes validate against."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
import jsonschema
import pytest

from contracts import Actor, Envelope
from contracts.catalog import EVENT_TYPES
from contracts.events.jobs import JobRequested
from contracts.schema_export import ASYNCAPI_DOCUMENT
from contracts.training_config import TrainingConfig
from services import asyncapi
from services.runtime.nats_server import NatsServer
from services.runtime.problems import ProblemDetails
from services.runtime.rpc import Reply
from services.trainer.commands import CreateJob
from services.trainer.replies import JobCreated
from tests.api.conftest import serving

# What the clients of each service call: the document must list every one.
SUBJECTS = {
    "rpc.trainer": {
        "register_dataset", "validate_dataset", "register_base_model", "create_job", "cancel_job", "get_job", "health",
    },
    "rpc.inference": {"generate", "batch", "stream", "load", "unload", "models", "health"},
    "rpc.registry": {
        "catalogue", "versions", "version_rows", "show", "aliases", "base_models", "resolve", "set_alias",
        "deprecate", "delete", "verify", "purge", "create_key", "revoke_key", "api_keys", "health",
    },
    "rpc.carbon": {
        "job", "jobs", "days", "api_keys", "models", "engine", "forecast", "estimate", "recommendations",
        "model_card", "csv", "budgets", "budget.check", "budget.set", "health",
    },
}  # fmt: skip


def validate(document: dict[str, Any], ref: str, instance: Any) -> None:
    """Validate `instance` against the schema `ref` points at inside the document."""
    jsonschema.validate(instance, {"$ref": ref, "components": document["components"]})


def payload_ref(document: dict[str, Any], channel: str) -> str:
    (message,) = document["channels"][channel]["messages"].values()
    name = unquote(message["$ref"].rsplit("/", 1)[-1])  # a JSON pointer: `*` is written %2A
    return str(document["components"]["messages"][name]["payload"]["$ref"])


def test_the_checked_in_document_matches_the_routes_and_a_hand_edit_is_caught(tmp_path: Path, monkeypatch):
    assert asyncapi.main(["--check"]) == 0, "run `python -m services.asyncapi` and commit contracts/asyncapi.json"

    edited = json.loads(ASYNCAPI_DOCUMENT.read_text())
    del edited["channels"]["rpc.trainer.create_job"]
    copy = tmp_path / "asyncapi.json"
    copy.write_text(json.dumps(edited, indent=2, sort_keys=True) + "\n")
    monkeypatch.setattr(asyncapi, "DOCUMENT", copy)
    assert asyncapi.main(["--check"]) == 1


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return dict(json.loads(ASYNCAPI_DOCUMENT.read_text()))


def test_every_rpc_subject_has_its_request_and_reply_and_every_event_its_envelope(document):
    rpc = {channel for channel in document["channels"] if channel.startswith("rpc.") and not channel.endswith(".reply")}
    events = {channel for channel in document["channels"] if channel.startswith("events.")}

    assert rpc == {f"{prefix}.{name}" for prefix, names in SUBJECTS.items() for name in names}
    assert events == {f"events.*.{cls.aggregate_type}.*.{name}" for name, cls in EVENT_TYPES.items()}
    for subject in rpc:
        assert document["operations"][subject]["action"] == "receive"
        assert document["operations"][subject]["reply"]["channel"] == {"$ref": f"#/channels/{subject}.reply"}
        assert payload_ref(document, subject).startswith("#/components/schemas/")
        assert payload_ref(document, f"{subject}.reply") == f"#/components/schemas/{subject}:Reply"


def test_real_requests_replies_and_envelopes_validate_against_the_document(document):
    actor = Actor(kind="api_key", id="alice")
    request = CreateJob(actor=actor, config={"base_model": "tiny", "dataset_id": "demo"}).model_dump(mode="json")
    created = Reply[JobCreated](ok=True, result=JobCreated(job_id=str(uuid.uuid4()), status="QUEUED"))
    refused = Reply[None](ok=False, error=ProblemDetails.of(404, "UnknownJobError", "no job 'x'"))
    config = TrainingConfig(base_model="tiny", dataset_id="demo")
    envelope = Envelope.new(JobRequested(name="n", config=config), producer="trainer", aggregate_id="j1", actor=actor)

    validate(document, payload_ref(document, "rpc.trainer.create_job"), request)
    validate(document, payload_ref(document, "rpc.trainer.create_job.reply"), created.model_dump(mode="json"))
    validate(document, payload_ref(document, "rpc.trainer.create_job.reply"), refused.model_dump(mode="json"))
    validate(document, payload_ref(document, "events.*.job.*.JobRequested"), envelope.model_dump(mode="json"))
    with pytest.raises(jsonschema.ValidationError, match="'actor' is a required property"):
        validate(document, payload_ref(document, "rpc.trainer.create_job"), {"config": {}})
    with pytest.raises(jsonschema.ValidationError):  # a JobRequested subject does not carry another event
        wrong = {**envelope.model_dump(mode="json"), "event": {"type": "JobQueued", "priority": 5}}
        validate(document, payload_ref(document, "events.*.job.*.JobRequested"), wrong)


async def test_the_api_serves_the_document_at_asyncapi(nats_server: NatsServer):
    async with serving(nats_server.url) as url, httpx.AsyncClient() as http:
        served = await http.get(f"{url}/asyncapi")  # no key: it documents the wire, not data

    assert served.status_code == 200 and served.headers["content-type"] == "application/json"
    assert served.content == ASYNCAPI_DOCUMENT.read_bytes()
