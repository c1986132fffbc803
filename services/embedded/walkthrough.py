"""The demo, through the public wire only (RPC and the EVENTS stream): build and register the demo
model (services/embedded/demo_models.py) and its facts, fine-tune it, follow the job's events live,
ask the questions with and without the new adapter, and report the job's kWh and gCO2eq with how
each figure was measured.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
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
from services.embedded.demo_models import DemoModel, Question
from services.inference import protocol as wire
from services.inference.client import InferenceClient
from services.inference.domain import SamplingSettings
from services.runtime.event_feed import read_events
from services.runtime.rpc import RpcFailed
from services.trainer.client import ask
from services.trainer.commands import Command, CreateJob, RegisterBaseModel, RegisterDataset
from services.trainer.demo_facts import answer_contains

Say = Callable[[str], None]
DEMO_ACTOR = Actor(kind="cli", id="demo")
ADAPTER = "demo-facts"


class DemoError(Exception):
    """A step of the demo failed; the message says which and why."""


async def _command(nc: Client, command: Command) -> dict[str, Any]:
    try:
        reply = await ask(nc, command, timeout=300)
    except RpcFailed as exc:
        raise DemoError(f"{command.name} refused: {exc}") from None
    return dict(reply.model_dump(mode="json"))


def build_model(demo: DemoModel, data_dir: Path, say: Say) -> Path:
    """The demo model's folder: built here (tiny), or built once and cached (smollm2)."""
    say(f"1/6 building {demo.title} ({demo.build_seconds})")
    cli = [sys.executable, "-m", "services.cli.main", "models"]
    if demo.name == "tiny":
        folder = data_dir / "models" / "tiny"
        subprocess.run([*cli, "create-tiny", "--out", str(folder)], check=True, stdout=subprocess.DEVNULL)
        return folder
    run = subprocess.run([*cli, "add", demo.name], capture_output=True, text=True)
    if run.returncode != 0:
        raise DemoError(f"`greentune models add {demo.name}` failed: {run.stderr.strip()[-2000:]}")
    build = json.loads(run.stdout.strip().splitlines()[-1])
    how = "reused from the cache, hash checked" if build["cached"] else f"built in {build['seconds']:.0f} s"
    say(f"     {build['path']} ({how})")
    return Path(build["path"])


async def register_inputs(nc: Client, demo: DemoModel, folder: Path, say: Say) -> tuple[dict[str, Any], str]:
    base = await _command(nc, RegisterBaseModel(actor=DEMO_ACTOR, model_name=demo.name, source=str(folder)))
    say(f"2/6 base model `{demo.name}` registered: {base['parameters']:,} parameters, sha256 {base['sha256'][:12]}...")
    dataset = await _command(
        nc,
        RegisterDataset(
            actor=DEMO_ACTOR, path=str(demo.dataset), base_model=demo.name, max_seq_length=demo.job["max_seq_length"]
        ),
    )
    stats = dataset.get("token_stats") or {}
    say(f"     {demo.dataset.name} registered and validated: id {dataset['dataset_id']}, {dataset['rows']} rows, "
        f"{stats.get('total', '?')} tokens (at most {stats.get('max', '?')} a row)")  # fmt: skip
    return base, str(dataset["dataset_id"])


async def fine_tune(nc: Client, demo: DemoModel, dataset_id: str, say: Say) -> tuple[str, ModelExported]:
    config = {**demo.job, "base_model": demo.name, "dataset_id": dataset_id}
    job = await _command(nc, CreateJob(actor=DEMO_ACTOR, config=config))
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
        case TrainingProgressed(step=step, max_steps=total, loss=loss) if step % max(1, (total or 0) // 10) == 0:
            say(f"     step {step}/{total}  loss {loss:.3f}")  # about 10 lines per job
        case EpochCompleted(epoch=epoch, train_loss=loss) if epoch % 10 == 0:
            say(f"     epoch {epoch} done, mean loss {loss:.3f}")
        case CheckpointSaved(step=step):
            say(f"     checkpoint at step {step} stored")
        case ModelExported(artifacts=artifacts):
            say(f"     exported: {', '.join(f'{a.kind} ({a.size_bytes:,} B)' for a in artifacts)}")
        case JobQueued() | JobStarted() | JobCompleted():
            say(f"     {envelope.event.type_name()}")


async def ask_questions(nc: Client, demo: DemoModel, base: dict[str, Any], exported: ModelExported, say: Say) -> float:
    """Ask the demo's questions of the base model and of base + the job's adapter; the share of the
    facts the fine-tuned model answers (an answer counts when it contains the fact)."""
    lora = next(a for a in exported.artifacts if a.kind == "lora")
    client = InferenceClient(nc)
    say(f"4/6 loading `{demo.name}` with the new adapter into vLLM (the engine starts in ~30 s)")
    await client.load(
        demo.name,
        wire.ArtifactLocation(uri=base["uri"], sha256=base["sha256"]),
        adapter=ADAPTER,
        adapter_source=wire.ArtifactLocation(uri=lora.uri, sha256=lora.sha256),
    )
    say(f"5/6 asking the questions (greedy, at most {demo.max_tokens} tokens): base model | fine-tuned")
    sampling = SamplingSettings(temperature=0, max_tokens=demo.max_tokens)
    asked = [*demo.facts, *demo.general]
    # All at once: vLLM batches them.
    answers = await asyncio.gather(
        *(_answer(client, demo.name, adapter, q, sampling) for q, _ in asked for adapter in (None, ADAPTER))
    )
    pairs = [(answers[2 * i], answers[2 * i + 1]) for i in range(len(asked))]
    facts = _table("new facts (invented: the base model cannot know them)", demo.facts, pairs, say)
    if demo.general:
        _table("general questions (the fine-tune must keep these)", demo.general, pairs[len(demo.facts) :], say)
    return facts


async def _answer(
    client: InferenceClient, model: str, adapter: str | None, text: str, sampling: SamplingSettings
) -> str:
    messages = [wire.ChatMessage(role="user", content=text)]
    request = wire.GenerateRequest(model=model, adapter=adapter, messages=messages, sampling=sampling)
    return " ".join((await client.generate(request)).text.split())  # one line per answer


def _table(title: str, asked: tuple[Question, ...], pairs: list[tuple[str, str]], say: Say) -> float:
    say(f"     {title}:")
    right = [0, 0]
    for (text, expected), answers in zip(asked, pairs, strict=False):
        say(f'     Q: {text}  (right when it contains "{expected}")')
        for column, (label, answer) in enumerate(zip(("base", "fine-tuned"), answers, strict=True)):
            ok = answer_contains(answer, expected)
            right[column] += ok
            say(f"        {label:10}  {'right' if ok else 'wrong'}  {answer}")
    say(f"     {title.split(' (')[0]}: base {right[0]}/{len(asked)} right, fine-tuned {right[1]}/{len(asked)} right")
    return right[1] / len(asked) if asked else 1.0


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
        return (await carbon.job(job_id)).model_dump(mode="json")
    except Exception:  # not in the read model yet
        return None
