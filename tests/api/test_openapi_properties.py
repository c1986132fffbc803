"""Property-based runs of Schemathesis over the API's own /openapi.json, against the real services
on a nats-server of its own (what it records must not reach other tests): the trainer's intake
(with the tiny base model, the demo dataset and one queued job recorded), the carbon service, the
registry (its own process) and the inference service (no engine loaded: chats name models it does
not serve). Every operation of `/api/v1` and `/v1` gets
generated valid and invalid requests; no answer may be a 5xx, each must have a documented status
and content type and match its schema, and invalid input must be refused with a 4xx. Three runs:
with a member key of the tenant that owns the dataset and the job; with another tenant's key,
path ids and dataset ids drawn half the time from the owner's (no 2xx may ask for or show them:
tests/api/tenant_checks.py); with an invalid key (nothing behind authentication answers 2xx).
Schemathesis prints each operation's cases and outcome.

A job's live feed (`/api/v1/jobs/{job_id}/events`, which stays open with `follow=true`) is left
out: tests/api/test_jobs_api.py reads it.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from contracts import Actor
from services.trainer.client import ask
from services.trainer.commands import Command, CreateJob, RegisterBaseModel, RegisterDataset
from tests.api.conftest import wait_for_key
from tests.api.keys import publish_key
from tests.api.stack import every_service
from tests.inference.conftest import StoredModels
from tests.trainer.conftest import ACTOR, DEMO, DEMO_CONFIG

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.slow]
CHECKS = (
    "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,"
    "negative_data_rejection,no_2xx_on_another_tenants_resource,no_2xx_with_an_invalid_key"
)
EXAMPLES = 100  # generated cases per operation in the fuzzing phase (the coverage phase adds its own)
FOREIGN_EXAMPLES = 40  # with another tenant's key, half of the ids drawn from the owner's
INVALID_EXAMPLES = 10  # with an invalid key: every answer is the same 401
REPO = Path(__file__).resolve().parents[2]
ACME = Actor(kind="api_key", id="acme-admin", tenant="acme", role="admin")  # records acme's dataset and job
ACME_KEY, BETA_KEY = "sk-gt-properties-acme", "sk-gt-properties-beta"


async def _ok(nc, command: Command) -> dict[str, object]:  # type: ignore[no-untyped-def]
    return dict((await ask(nc, command, timeout=120)).model_dump(mode="json"))


def _config(foreign: dict[str, str]) -> str:
    """schemathesis.toml: path ids and the body's dataset_id drawn half the time from another tenant's."""
    values = ", ".join(f'"{v}"' for v in foreign.values())
    return (
        f"[dictionaries.foreign]\nvalues = [{values}]\n\n[parameters]\n"
        '"path.job_id" = { dictionary = "foreign", probability = 0.5 }\n'
        '"body.dataset_id" = { dictionary = "foreign", probability = 0.5 }\n'
    )


async def _schemathesis(url: str, key: str, examples: int, cwd: Path, **env: str) -> tuple[int, str]:
    """One run over every operation with `key`, our tenancy checks included; its exit code and output."""
    cwd.mkdir(parents=True, exist_ok=True)
    run = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "schemathesis.cli", "--no-color", "run", f"{url}/openapi.json",
        "--header", f"Authorization: Bearer {key}", "--checks", CHECKS,
        "--max-examples", str(examples), "--seed", "1", "--workers", "1", "--request-timeout", "120",
        "--exclude-path", "/api/v1/jobs/{job_id}/events", "--suppress-health-check", "all",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, cwd=cwd,  # its cache and config there
        env={**os.environ, "SCHEMATHESIS_HOOKS": "tests.api.tenant_checks", "PYTHONPATH": str(REPO), **env},
    )  # fmt: skip
    output = (await run.communicate())[0].decode(errors="replace")
    return run.returncode or 0, output


async def test_generated_requests_with_own_other_tenant_and_invalid_keys_get_only_documented_answers(
    nats_server, stored_models: StoredModels, tiny_model_dir: Path, tmp_path: Path
):  # type: ignore[no-untyped-def]
    runs: dict[str, tuple[int, str]] = {}
    async with every_service(nats_server.url, stored_models, tmp_path) as stack:
        nc, url = stack.nc, stack.url
        await _ok(nc, RegisterBaseModel(actor=ACTOR, model_name="tiny", source=str(tiny_model_dir)))
        dataset = await _ok(nc, RegisterDataset(actor=ACME, path=str(DEMO), base_model="tiny"))
        config = {**DEMO_CONFIG, "dataset_id": dataset["dataset_id"]}
        job = await _ok(nc, CreateJob(actor=ACME, config=config))
        foreign = {"dataset": str(dataset["dataset_id"]), "job": str(job["job_id"])}  # acme's
        for secret, tenant in ((ACME_KEY, "acme"), (BETA_KEY, "beta")):
            await publish_key(nc, secret, f"member-{tenant}", role="member", tenant=tenant)
            await wait_for_key(url, secret)
        runs["acme's own key"] = await _schemathesis(url, ACME_KEY, EXAMPLES, tmp_path / "own")
        (tmp_path / "other").mkdir()
        (tmp_path / "other" / "schemathesis.toml").write_text(_config(foreign))
        foreign_ids = ",".join(foreign.values())
        runs["beta's key, on acme's ids"] = await _schemathesis(
            url, BETA_KEY, FOREIGN_EXAMPLES, tmp_path / "other", GREENTUNE_TEST_FOREIGN_IDS=foreign_ids
        )
        runs["an invalid key"] = await _schemathesis(
            url, "sk-gt-no-such-key", INVALID_EXAMPLES, tmp_path / "invalid", GREENTUNE_TEST_KEY_IS_INVALID="1"
        )
    for name, (_, output) in runs.items():
        print(f"===== {name} =====\n{output}")  # every operation with its cases and checks
    for name, (code, output) in runs.items():
        assert code == 0, f"{name}:\n{output[-8000:]}"
        assert "/api/v1/jobs" in output and "/v1/chat/completions" in output, f"{name}: every operation was run"
