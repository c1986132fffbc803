"""Jobs end to end, driven only through rpc.trainer.* and observed only on the EVENTS stream:
a demo fine-tune, a worker SIGKILLed mid-job and resumed by another, a cancelled job.
Workers are real processes training the tiny model with Unsloth's CPU backend."""

from __future__ import annotations

import json
import signal
import time
from collections import Counter

import pytest

from contracts.events.jobs import CheckpointSaved, EpochCompleted, JobStarted, TrainingProgressed
from contracts.events.models import ModelExported
from services.runtime.artifacts import layout
from services.trainer.commands import CancelJob, CreateJob, RegisterDataset
from tests.trainer.conftest import ACTOR, DEMO_CONFIG
from tests.trainer.exact_match import exact_match

pytestmark = pytest.mark.slow


def types(envelopes):  # type: ignore[no-untyped-def]
    return [e.event.type_name() for e in envelopes]


async def test_demo_job_driven_only_by_events_learns_the_facts_and_exports_them(trainer, tiny_model_dir, tmp_path):
    dataset_id = await trainer.register_demo(tiny_model_dir)
    job_id = (await trainer.result(CreateJob(actor=ACTOR, config={**DEMO_CONFIG, "dataset_id": dataset_id})))["job_id"]
    trainer.spawn_worker(measure_energy=True)

    await trainer.wait_for_event(job_id, "ModelExported")
    events = await trainer.job_events(job_id, producer="trainer")

    seen = types(events)
    assert seen[:3] == ["JobRequested", "JobQueued", "JobStarted"]
    assert seen[-2:] == ["JobCompleted", "ModelExported"]
    assert seen.index("TrainingProgressed") < seen.index("CheckpointSaved") < seen.index("JobCompleted")
    losses = [e.event.loss for e in events if isinstance(e.event, TrainingProgressed)]
    assert losses[-1] < losses[0] / 2, losses
    exported = events[-1].event
    assert isinstance(exported, ModelExported)
    artifacts = {a.kind: a for a in exported.artifacts}
    assert set(artifacts) == {"lora", "merged_16bit"}

    store = trainer.ctx.store
    merged = store.get_folder(
        store.key_of(artifacts["merged_16bit"].uri), tmp_path / "merged", artifacts["merged_16bit"].sha256
    )
    lora = store.get_folder(store.key_of(artifacts["lora"].uri), tmp_path / "lora", artifacts["lora"].sha256)
    base_em, tuned_em = exact_match(tiny_model_dir), exact_match(merged)
    print(f"exact match on the 200 demo facts: base {base_em:.3f}, fine-tuned {tuned_em:.3f}")
    assert tuned_em - base_em >= 0.5, (base_em, tuned_em)

    eos_id = json.loads((tiny_model_dir / "config.json").read_text())["eos_token_id"]
    for folder in (merged, lora):
        assert json.loads((folder / "generation_config.json").read_text())["eos_token_id"] == eos_id
        assert (folder / "chat_template.jinja").is_file() and (folder / "tokenizer.json").is_file()
    assert (lora / "adapter_model.safetensors").is_file()
    checkpoints = {k.split("/")[2] for k in store.list_keys(layout.checkpoints(job_id))}
    assert checkpoints == {"checkpoint-400", "checkpoint-520"}  # keep_last_checkpoints=2 of 200, 400, 520
    log_lines = (store.get_file(layout.job_log(job_id), tmp_path / "training.log")).read_text().splitlines()
    assert sum('"TrainingProgressed"' in line for line in log_lines) == 52
    final = await trainer.wait_for_event(job_id, "EmissionsMeasured", timeout=30, final=True)
    assert final.producer == "carbon" and final.event.energy_kwh > 0  # type: ignore[union-attr]


async def test_a_killed_worker_s_job_is_resumed_from_its_checkpoint_by_another_worker(trainer, tiny_model_dir):
    dataset_id = await trainer.register_demo(tiny_model_dir)
    config = {
        **DEMO_CONFIG,
        "dataset_id": dataset_id,
        "epochs": 12,
        "checkpoint_interval_steps": 20,
        "progress_interval_steps": 2,
    }
    job_id = (await trainer.result(CreateJob(actor=ACTOR, config=config)))["job_id"]
    first = trainer.spawn_worker()

    saved = await trainer.wait_for_event(job_id, "CheckpointSaved")
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    trainer.spawn_worker()
    await trainer.wait_for_event(job_id, "JobCompleted")

    events = await trainer.job_events(job_id)
    starts = [e.event for e in events if isinstance(e.event, JobStarted)]
    assert [s.attempt for s in starts] == [1, 2]
    resumed = starts[1].resumed_from_step
    assert isinstance(saved.event, CheckpointSaved) and resumed is not None and resumed >= saved.event.step
    assert resumed in {e.event.step for e in events if isinstance(e.event, CheckpointSaved)}
    second_run = [e.event.step for e in events if isinstance(e.event, TrainingProgressed) and e.event.attempt == 2]
    assert second_run[0] > resumed and second_run[-1] == starts[1].max_steps
    everything = await trainer.events()
    duplicates = [i for i, n in Counter(str(e.event_id) for e in everything).items() if n > 1]
    assert duplicates == []


async def test_cancelling_a_running_job_ends_it_cancelled_within_ten_seconds(trainer, tiny_model_dir):
    dataset_id = await trainer.register_demo(tiny_model_dir)
    config = {**DEMO_CONFIG, "dataset_id": dataset_id, "epochs": 400}  # far longer than the test
    job_id = (await trainer.result(CreateJob(actor=ACTOR, config=config)))["job_id"]
    worker = trainer.spawn_worker()
    await trainer.wait_for_event(job_id, "TrainingProgressed")

    asked = time.monotonic()
    await trainer.result(CancelJob(actor=ACTOR, job_id=job_id, reason="test"))
    await trainer.wait_for_event(job_id, "JobCancelled", timeout=10)
    took = time.monotonic() - asked

    print(f"cancel request to JobCancelled on the stream: {took:.2f} s")
    seen = types(await trainer.job_events(job_id))
    assert seen[-1] == "JobCancelled" and "JobCancelRequested" in seen  # a step in flight may still report
    assert "JobCompleted" not in seen and "ModelExported" not in seen
    assert worker.poll() is None, "the worker must stay up, free for the next job"


async def test_a_plain_text_job_with_an_eval_split_reports_eval_loss_each_epoch(trainer, tiny_model_dir, write_file):
    from services.trainer.demo_facts import demo_facts

    text = "".join(json.dumps({"text": f"The code word for {k} is {v}."}) + "\n" for k, v in demo_facts())
    await trainer.register_demo(tiny_model_dir)
    dataset = await trainer.result(RegisterDataset(actor=ACTOR, path=str(write_file("facts.txt.jsonl", text))))
    config = {
        **DEMO_CONFIG,
        "dataset_id": dataset["dataset_id"],
        "epochs": 2,
        "eval_split": 0.1,
        "export_formats": ["lora"],
    }
    job_id = (await trainer.result(CreateJob(actor=ACTOR, config=config)))["job_id"]
    trainer.spawn_worker()

    await trainer.wait_for_event(job_id, "ModelExported")

    assert dataset["data_format"] == "text"
    epochs = [e.event for e in await trainer.job_events(job_id) if isinstance(e.event, EpochCompleted)]
    assert [e.epoch for e in epochs] == [1, 2]
    assert all(e.eval_loss is not None and e.eval_loss > 0 for e in epochs)
    assert epochs[1].train_loss < epochs[0].train_loss  # type: ignore[operator]
