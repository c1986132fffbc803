"""`greentune models|datasets|jobs ...`: the trainer's commands (sent over rpc.trainer.*) and its processes.

Commands print the trainer's JSON answer; a refusal prints each problem (file, line, field, what
to do) on stderr and exits with status 1. `jobs serve` runs the intake, `jobs worker` one worker.
"""

from __future__ import annotations

import asyncio
import getpass
import json
import signal
import sys
from pathlib import Path
from typing import Any

import click

from contracts import Actor
from services.runtime.jetstream import connect
from services.runtime.settings import KernelSettings
from services.trainer.commands import (
    CancelJob,
    Command,
    CreateJob,
    GetJob,
    RegisterBaseModel,
    RegisterDataset,
    ValidateDataset,
)
from services.trainer.config import TrainerSettings

DEMO_DATASET = Path(__file__).resolve().parents[1] / "trainer" / "demo" / "facts.jsonl"


def _actor() -> Actor:
    return Actor(kind="cli", id=getpass.getuser() or "cli")


def _send(command: Command) -> None:
    from services.runtime.rpc import RpcFailed
    from services.trainer.client import ask

    async def call() -> Any:
        nc = await connect(KernelSettings().nats_url, "greentune-cli")
        try:
            return await ask(nc, command, TrainerSettings().rpc_timeout_seconds)
        finally:
            await nc.close()

    try:
        reply = asyncio.run(call())
    except RpcFailed as exc:
        problem = exc.problem()
        click.echo(f"refused ({problem.code}): {problem.detail}", err=True)
        for item in problem.problems:
            where = ", ".join(
                f"{k} {v}" for k, v in (("file", item.file), ("line", item.line), ("field", item.field)) if v
            )
            click.echo(f"  - {where + ': ' if where else ''}{item.message}", err=True)
        sys.exit(1)
    click.echo(reply.model_dump_json(indent=2))


@click.group()
def models() -> None:
    """Base models that jobs fine-tune."""


@models.command("create-tiny")
@click.option("--out", type=click.Path(path_type=Path), default=Path(".greentune/models/tiny"), show_default=True)
@click.option("--register", "register_as", default=None, help="Also register it as a base model under this name.")
def create_tiny(out: Path, register_as: str | None) -> None:
    """Build the offline demo model (tiny Llama, BPE tokenizer, briefly pretrained), ~20 s on 2 cores."""
    from services.trainer.tiny_model import build_tiny_model

    report = build_tiny_model(out)
    losses = f"{report.first_loss:.2f} -> {report.last_loss:.2f}"
    click.echo(f"tiny model in {report.path}: {report.parameters} weights, pretraining loss {losses}")
    if register_as:
        _send(RegisterBaseModel(actor=_actor(), model_name=register_as, source=str(out.resolve())))


@models.command("add")
@click.argument("model", type=click.Choice(["smollm2"]))
@click.option(
    "--cache-dir", type=click.Path(path_type=Path), default=None, help="Default: the trainer's CACHE_DIR/models."
)
@click.option("--register", "register_as", default=None, help="Also register it as a base model under this name.")
def add_model(model: str, cache_dir: Path | None, register_as: str | None) -> None:
    """Build a real pretrained model from its installed wheel (smollm2: SmolLM2-135M-Instruct, ~1 min; cached)."""
    from services.trainer.smollm2_model import SmolLM2SourceError, describe, ensure_smollm2

    root = cache_dir or TrainerSettings().resolved(KernelSettings().data_dir).folder("cache_dir") / "models"
    try:
        build = ensure_smollm2(root.resolve(), lambda line: click.echo(line, err=True))
    except SmolLM2SourceError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(describe(build))
    if register_as:
        _send(RegisterBaseModel(actor=_actor(), model_name=register_as, source=str(build.path)))


@models.command("register")
@click.argument("name")
@click.argument("source")
def register_model(name: str, source: str) -> None:
    """Register SOURCE (a local Hugging Face folder or an s3:// URI) as base model NAME."""
    source = source if source.startswith("s3://") else str(Path(source).resolve())
    _send(RegisterBaseModel(actor=_actor(), model_name=name, source=source))


@click.group()
def datasets() -> None:
    """Training data: register, validate."""


@datasets.command("register")
@click.argument("path", type=click.Path(path_type=Path), required=False)
@click.option("--demo", is_flag=True, help="Register the shipped demo facts instead of PATH.")
@click.option("--name", default=None, help="Human name (default: the file name).")
@click.option("--base-model", default=None, help="Compute token statistics with this model's tokenizer.")
@click.option("--max-seq-length", type=int, default=2048, show_default=True)
def register_dataset(
    path: Path | None, demo: bool, name: str | None, base_model: str | None, max_seq_length: int
) -> None:
    """Store PATH (JSONL, JSON, CSV, Parquet or a save_to_disk folder) after validating every row."""
    source = DEMO_DATASET if demo else path
    if source is None:
        raise click.UsageError("give PATH or --demo")
    _send(
        RegisterDataset(
            actor=_actor(),
            path=str(source.resolve()),
            display_name=name,
            base_model=base_model,
            max_seq_length=max_seq_length,
        )
    )


@datasets.command("validate")
@click.argument("path", type=click.Path(path_type=Path), required=False)
@click.option("--dataset-id", default=None, help="Re-validate a registered dataset (records DatasetValidated).")
@click.option("--base-model", default=None)
@click.option("--max-seq-length", type=int, default=2048, show_default=True)
def validate_dataset(path: Path | None, dataset_id: str | None, base_model: str | None, max_seq_length: int) -> None:
    """Check PATH without registering it, or a registered dataset under a model's tokenizer."""
    _send(
        ValidateDataset(
            actor=_actor(),
            path=str(path.resolve()) if path else None,
            dataset_id=dataset_id,
            base_model=base_model,
            max_seq_length=max_seq_length,
        )
    )


@click.group()
def jobs() -> None:
    """Fine-tuning jobs: create, cancel, inspect; run the intake and workers."""


@jobs.command("create")
@click.option("--config", "config_file", type=click.Path(exists=True, path_type=Path), help="TrainingConfig as JSON.")
@click.option(
    "--set", "overrides", multiple=True, help="key=value (JSON value), e.g. --set epochs=3 --set lora.rank=64"
)
@click.option("--name", default=None)
def create_job(config_file: Path | None, overrides: tuple[str, ...], name: str | None) -> None:
    """Ask for a job; it is queued only if every check passes."""
    config: dict[str, Any] = json.loads(config_file.read_text()) if config_file else {}
    for item in overrides:
        key, _, raw = item.partition("=")
        target = config
        *parents, leaf = key.split(".")
        for part in parents:
            target = target.setdefault(part, {})
        try:
            target[leaf] = json.loads(raw)
        except json.JSONDecodeError:
            target[leaf] = raw
    _send(CreateJob(actor=_actor(), config=config, job_name=name))


@jobs.command("cancel")
@click.argument("job_id")
@click.option("--reason", default=None)
def cancel_job(job_id: str, reason: str | None) -> None:
    _send(CancelJob(actor=_actor(), job_id=job_id, reason=reason))


@jobs.command("status")
@click.argument("job_id")
def job_status(job_id: str) -> None:
    _send(GetJob(actor=_actor(), job_id=job_id))


@jobs.command("serve")
def serve() -> None:
    """Run the trainer intake (commands, outbox relay, queue dispatcher) until SIGTERM/Ctrl-C."""
    from services.trainer.app import build_context
    from services.trainer.app import serve as run_intake

    _run_until_signal(lambda stop: run_intake(build_context(), stop))


@jobs.command("worker")
@click.option("--max-jobs", type=int, default=None, help="Exit after this many jobs.")
def worker(max_jobs: int | None) -> None:
    """Run one trainer worker: one job at a time, until SIGTERM/Ctrl-C (the running job finishes first)."""
    from services.trainer.app import build_context, work

    _run_until_signal(lambda stop: work(build_context(), stop, max_jobs))


def _run_until_signal(main: Any) -> None:
    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await main(stop)

    asyncio.run(run())


TRAINER_GROUPS = (models, datasets, jobs)
