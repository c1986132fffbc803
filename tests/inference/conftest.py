"""Fixtures of the inference tests: tiny models in a real artifact store, a second adapter trained on
other facts, a running inference service (real vLLM, real nats-server), and a deterministic meter.

The service fixture is module-scoped (an engine takes ~20-40 s to start on this VM); tests of a
module share it and its event loop.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio
from nats.aio.client import Client
from nats.js.api import DeliverPolicy

from contracts import Envelope, decode_envelope
from contracts.events.carbon import PowerMethod
from services.inference.app import InferenceApp, start_app
from services.inference.client import InferenceClient
from services.inference.config import InferenceSettings
from services.inference.protocol import ArtifactLocation
from services.runtime.artifacts.local import LocalArtifactStore
from services.runtime.energy import ComponentReading, EnergyReading
from services.runtime.settings import KernelSettings
from tests.harness.models import CACHE, _build_once, _key, tiny_base

SECOND_ADAPTER_SEED = 7  # its facts: make_facts(50, seed=7), keys disjoint from the demo facts' answers
SECOND_ADAPTER_SCRIPT = """
import sys
from pathlib import Path
from services.trainer import recipe
recipe.import_unsloth()
from contracts.training_config import LoraSettings, TrainingConfig
from services.trainer.demo_facts import as_messages, make_facts
out, base = Path(sys.argv[1]), Path(sys.argv[2])
config = TrainingConfig(base_model=str(base), dataset_id="second", lora=LoraSettings(rank=64, alpha=128),
                        learning_rate=3e-3, epochs=60, batch_size=16, max_seq_length=64, warmup_steps=10,
                        checkpoint_interval_steps=10_000)
model, tokenizer = recipe.load_model(base, config)
run = recipe.train(model, tokenizer, config, as_messages(make_facts(50, seed=SEED)), out / "work")
recipe.save_lora(run, out / "lora")
import shutil; shutil.rmtree(out / "work")
""".replace("SEED", str(SECOND_ADAPTER_SEED))


def second_adapter() -> Path:
    """A LoRA adapter of the tiny base trained on 50 other facts (cached, ~10 s to build)."""
    base = tiny_base()
    script = hashlib.sha256(SECOND_ADAPTER_SCRIPT.encode()).hexdigest()[:8]
    key = _key("services/trainer/recipe.py") + script + base.name[-12:]
    return (
        _build_once(CACHE / f"tiny-adapter-seed{SECOND_ADAPTER_SEED}-{key}", SECOND_ADAPTER_SCRIPT, str(base)) / "lora"
    )


@dataclass(frozen=True)
class StoredModels:
    """Where the tiny models are in the test's artifact store."""

    store: LocalArtifactStore
    base: ArtifactLocation
    merged: ArtifactLocation
    demo_adapter: ArtifactLocation
    second_adapter: ArtifactLocation


@pytest.fixture(scope="session")
def stored_models(tmp_path_factory, tiny_model_dir, tiny_finetuned_dir) -> StoredModels:  # type: ignore[no-untyped-def]
    store = LocalArtifactStore(tmp_path_factory.mktemp("artifacts"))

    def put(key: str, folder: Path) -> ArtifactLocation:
        stored = store.put_folder(key, folder)
        return ArtifactLocation(uri=stored.uri, sha256=stored.sha256)

    return StoredModels(
        store,
        put("models/base/tiny", tiny_model_dir),
        put("models/finetuned/job-demo/merged_16bit", tiny_finetuned_dir / "merged"),
        put("models/finetuned/job-demo/lora", tiny_finetuned_dir / "lora"),
        put("models/finetuned/job-second/lora", second_adapter()),
    )


class SteppingMeter:
    """A deterministic energy meter (a test double for the meter only): every reading is
    `step_kwh` more than the previous one, so each interval the host closes holds exactly one step."""

    def __init__(self, step_kwh: float = 1e-6) -> None:
        self.step_kwh = step_kwh
        self.readings = itertools.count(1)
        self.total_kwh = 0.0

    def start(self) -> None:
        pass

    def read(self) -> EnergyReading:
        self.total_kwh = next(self.readings) * self.step_kwh
        return EnergyReading(1.0, _component(self.total_kwh), _component(0.0, "none"), _component(0.0))

    def stop(self) -> EnergyReading:
        return self.read()


def _component(kwh: float, method: PowerMethod = "tdp_estimate") -> ComponentReading:
    return ComponentReading(kwh, 0.0, method)


@dataclass
class Service:
    app: InferenceApp
    client: InferenceClient
    nc: Client
    settings: InferenceSettings
    meter: SteppingMeter
    models: StoredModels


async def start_service(
    nats_url: str, models: StoredModels, cache_dir: Path, client_nc: Client, **overrides: object
) -> Service:
    settings = InferenceSettings(
        engine_id=f"test-{uuid.uuid4().hex[:8]}",
        cache_dir=cache_dir,
        energy_meter="none",
        report_engine_energy=False,  # the stepping meter must only be read by the request accounting
        **overrides,
    )
    meter = SteppingMeter()
    app = await start_app(settings, KernelSettings(nats_url=nats_url), store=models.store, meter=meter)
    return Service(app, InferenceClient(client_nc, timeout=300.0), client_nc, settings, meter, models)


@asynccontextmanager
async def serving_tiny(
    nats_url: str, models: StoredModels, cache_dir: Path, client_name: str, **overrides: object
) -> AsyncIterator[Service]:
    """A service with the tiny base and its demo adapter loaded; closed on the way out even when a load
    fails (a service left subscribed would take later tests' requests and never answer them)."""
    from services.runtime.jetstream import connect

    nc = await connect(nats_url, client_name)
    running = await start_service(nats_url, models, cache_dir, nc, **overrides)
    try:
        await running.client.load("tiny", models.base, adapter="demo", adapter_source=models.demo_adapter)
        yield running
    finally:
        await running.app.close()
        await nc.close()


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def service(shared_nats, stored_models, tmp_path_factory) -> AsyncIterator[Service]:  # type: ignore[no-untyped-def]
    """The inference service with the tiny base (and its adapters) and the merged model loadable."""
    cache = tmp_path_factory.mktemp("cache")
    async with serving_tiny(shared_nats.url, stored_models, cache, "inference-tests") as running:
        await running.client.load("tiny-merged", stored_models.merged)
        yield running


async def engine_events(
    nc: Client, engine_id: str, event_type: str, expected: int, timeout: float = 20.0
) -> list[Envelope]:
    """The engine's events of one type, waiting until at least `expected` are in the stream."""
    subject = f"events.inference.engine.{engine_id}.{event_type}"
    js = nc.jetstream()
    async with asyncio.timeout(timeout):
        while True:
            found: list[Envelope] = []
            sub = await js.subscribe(subject, ordered_consumer=True, deliver_policy=DeliverPolicy.ALL)
            try:
                while True:
                    try:
                        msg = await sub.next_msg(timeout=0.5)
                    except Exception:
                        break
                    found.append(decode_envelope(msg.data))
            finally:
                await sub.unsubscribe()
            if len(found) >= expected:
                return found
            await asyncio.sleep(0.2)
