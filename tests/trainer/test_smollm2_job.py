"""A job on SmolLM2-135M-Instruct, a real pretrained chat model with the stock ChatML template (no
{% generation %} markers), runs through the trainer's intake and a worker, trains on the replies
only, and its loss falls. Lean on purpose: 8 rows, a few steps, the LoRA export only."""

from __future__ import annotations

import json

import pytest

from contracts.events.jobs import TrainingProgressed
from services.trainer.commands import CreateJob, RegisterBaseModel, RegisterDataset
from services.trainer.demo_facts import invented_fact_rows
from tests.trainer.conftest import ACTOR

pytestmark = pytest.mark.slow


async def test_a_chat_job_on_smollm2_trains_on_its_replies_and_its_loss_falls(trainer, smollm2_model_dir, write_file):
    rows = invented_fact_rows()[10:18]  # invented facts: nothing the model knew
    data = write_file("facts.jsonl", "".join(json.dumps(row) + "\n" for row in rows))
    await trainer.result(RegisterBaseModel(actor=ACTOR, model_name="smollm2", source=str(smollm2_model_dir)))
    dataset = await trainer.result(
        RegisterDataset(actor=ACTOR, path=str(data), base_model="smollm2", max_seq_length=64)
    )
    reply = rows[0]["messages"][1]["content"]
    assert dataset["valid"] and f"[[{reply}<|im_end|>]]" in dataset["sample"], dataset["sample"]
    assert "[[<|im_start|>system" not in dataset["sample"]  # the prompt is not trained on

    config = {
        "base_model": "smollm2", "dataset_id": dataset["dataset_id"], "lora": {"rank": 8, "alpha": 16},
        "learning_rate": 2e-3, "max_steps": 8, "batch_size": 4, "max_seq_length": 64,
        "export_formats": ["lora"], "checkpoint_interval_steps": 100,
    }  # fmt: skip
    job_id = (await trainer.result(CreateJob(actor=ACTOR, config=config)))["job_id"]
    trainer.spawn_worker()

    await trainer.wait_for_event(job_id, "ModelExported", timeout=900)
    events = await trainer.job_events(job_id, producer="trainer")
    losses = [e.event.loss for e in events if isinstance(e.event, TrainingProgressed)]
    assert len(losses) == 8 and losses[-1] < 0.6 * losses[0], losses
