"""The demo, through the public wire only (RPC and the EVENTS stream): build and register the tiny
model and the demo facts, fine-tune it, follow the job's events live, ask the questions with and
without the new adapter, and report the job's kWh and gCO2eq with how each figure was measured.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nats.aio.client import Client

from contracts import Actor, Envelope, decode_envelope
from contracts.events.jobs import (
    CheckpointSaved,
    EpochCompleted,
    JobCompleted,
    JobFailed,
    JobQueued,
    JobStarted,
    TrainingProgressed,
)
from contracts.events.models import ModelExported
from services.carbon.client import CarbonClient
from services.inference import protocol as rpc
from services.inference.client import InferenceClient
from services.inference.domain import SamplingSettings
from services.runtime.event_feed import read_events
from services.trainer.adapters.rpc import call
from services.trainer.commands import Command, CreateJob, RegisterBaseModel, RegisterDataset
from services.trainer.demo_facts import DEMO_HYPERPARAMETERS, demo_facts, question

Say = Callable[[str], None]
GREEDY = SamplingSettings(temperature=0, max_tokens=8)
DEMO_ACTOR = Actor(kind="cli", id="demo")
DEMO_DATA = Path(__file__).resolve().parents[1] / "trainer" / "demo" / "facts.jsonl"
DEMO_JOB: dict[str, Any] = {
    **DEMO_HYPERPARAMETERS,
    "base_model": "tiny",
    "checkpoint_interval_steps": 200,
    "progress_interval_steps": 10,
}


class DemoError(Exception):
    """A step of the demo failed; the message says which and why."""


async def _command(nc: Client, command: Command) -> dict[str, Any]:
    reply = await call(nc, command, timeout=300)
    if not reply["ok"]:
        raise DemoError(f"{command.name} refused: {reply['error']['message']}")
    return dict(reply["result"])


def build_tiny_model(folder: Path, say: Say) -> None:
    say("1/6 building the tiny demo model (Llama, BPE tokenizer trained here, briefly pre-trained; ~20 s)")
    subprocess.run(
        [sys.executable, "-m", "services.cli.main", "models", "create-tiny", "--out", str(folder)],
        check=True,
        stdout=subprocess.DEVNULL,
    )


async def register_inputs(nc: Client, folder: Path, say: Say) -> tuple[dict[str, Any], str]:
    base = await _command(nc, RegisterBaseModel(actor=DEMO_ACTOR, model_name="tiny", source=str(folder)))
    say(f"2/6 base model `tiny` registered: {base['parameters']:,} parameters, sha256 {base['sha256'][:12]}...")
    dataset = await _command(
        nc, RegisterDataset(actor=DEMO_ACTOR, path=str(DEMO_DATA), base_model="tiny", max_seq_length=64)
    )
    say(f"     demo dataset registered and validated: id {dataset['dataset_id']}")
    return base, str(dataset["dataset_id"])


async def fine_tune(nc: Client, dataset_id: str, say: Say) -> tuple[str, ModelExported]:
    job = await _command(nc, CreateJob(actor=DEMO_ACTOR, config={**DEMO_JOB, "dataset_id": dataset_id}))
    job_id = str(job["job_id"])
    say(f"3/6 job {job_id} requested; following its events (greentune events tail --subject 'events.*.job.{job_id}.*')")
    exported = await follow_job(nc, job_id, say)
    return job_id, exported


async def follow_job(nc: Client, job_id: str, say: Say, timeout: float = 1800) -> ModelExported:
    feed = read_events(nc, f"events.*.job.{job_id}.*", follow=True)
    async with asyncio.timeout(timeout), contextlib.aclosing(feed):
        async for stored in feed:
            if stored is None:
                continue
            envelope = decode_envelope(stored.data)
            _narrate(envelope, say)
            match envelope.event:
                case ModelExported() as exported:
                    return exported
                case JobFailed(category=category, message=message):
                    raise DemoError(f"the job failed ({category}): {message}")
    raise DemoError(f"the event feed of job {job_id} ended")  # unreachable: a followed feed only waits


def _narrate(envelope: Envelope, say: Say) -> None:
    match envelope.event:
        case TrainingProgressed(step=step, max_steps=max_steps, loss=loss) if step % 100 == 0 or step == max_steps:
            say(f"     step {step}/{max_steps}  loss {loss:.3f}")
        case EpochCompleted(epoch=epoch, train_loss=loss) if epoch % 10 == 0:
            say(f"     epoch {epoch} done, mean loss {loss:.3f}")
        case CheckpointSaved(step=step):
            say(f"     checkpoint at step {step} stored")
        case ModelExported(artifacts=artifacts):
            say(f"     exported: {', '.join(f'{a.kind} ({a.size_bytes:,} B)' for a in artifacts)}")
        case JobQueued() | JobStarted() | JobCompleted():
            say(f"     {envelope.event.type_name()}")


async def ask_questions(nc: Client, base: dict[str, Any], exported: ModelExported, count: int, say: Say) -> float:
    """Ask the first `count` demo questions of the base model and of base + the job's adapter."""
    lora = next(a for a in exported.artifacts if a.kind == "lora")
    client = InferenceClient(nc)
    say("4/6 loading `tiny` with the new adapter into vLLM (the engine starts in ~30 s)")
    await client.load(
        "tiny",
        rpc.ArtifactLocation(uri=base["uri"], sha256=base["sha256"]),
        adapter="demo-facts",
        adapter_source=rpc.ArtifactLocation(uri=lora.uri, sha256=lora.sha256),
    )
    say("5/6 asking the demo questions (greedy): expected | base model | fine-tuned")
    right = 0
    for key, expected in demo_facts()[:count]:
        messages = [rpc.ChatMessage(role="user", content=question(key))]
        answers = [
            (
                await client.generate(
                    rpc.GenerateRequest(model="tiny", adapter=adapter, messages=messages, sampling=GREEDY)
                )
            ).text
            for adapter in (None, "demo-facts")
        ]
        right += answers[1].strip() == expected
        say(f"     {question(key):38} {expected:6} | {answers[0].strip():8} | {answers[1].strip()}")
    return right / count


async def carbon_report(nc: Client, job_id: str, say: Say, timeout: float = 120) -> dict[str, Any]:
    """Wait until the carbon service holds the job's final measurement, then print it."""
    carbon = CarbonClient(nc)
    async with asyncio.timeout(timeout):
        while not (report := await _job_report(carbon, job_id)) or not report["final_seen"]:
            await asyncio.sleep(0.5)
    how = report["how_measured"]
    say(
        f"6/6 the job used {report['energy_kwh']:.3e} kWh and emitted {report['emissions_g']:.3e} gCO2eq "
        f"over {report['duration_s']:.0f} s ({report['intervals']} measured intervals)"
    )
    for part in ("cpu", "gpu", "ram"):
        say(f"     {part}: {'; '.join(how[part])}")
    for intensity in how["intensity"]:
        flag = "  [FALLBACK: no country configured, world average]" if intensity["is_fallback"] else ""
        say(
            f"     carbon intensity {intensity['g_per_kwh']:.1f} gCO2eq/kWh from {intensity['source']}, "
            f"PUE {intensity['pue']}{flag}"
        )
    return report


async def _job_report(carbon: CarbonClient, job_id: str) -> dict[str, Any] | None:
    try:
        return await carbon.job(job_id)
    except Exception:  # not in the read model yet
        return None
