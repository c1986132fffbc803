"""Run the demo fine-tune (Unsloth, the tiny model, the demo facts) as a metered job, the way the
trainer worker wires the carbon meter: EmissionsMeasured from the real CodeCarbon meter, and
JobStarted / TrainingProgressed / JobCompleted from a TrainerCallback, all on the real stream.

python -m tests.carbon.metered_training NATS_URL JOB_ID BASE_MODEL_DIR WORK_DIR INTERVAL_SECONDS
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

from services.trainer import recipe

recipe.import_unsloth()  # before transformers/trl/peft

from transformers import TrainerCallback  # noqa: E402

from contracts import Actor, DomainEvent, Envelope  # noqa: E402
from contracts.events.jobs import JobCompleted, JobRequested, JobStarted, TrainingProgressed  # noqa: E402
from contracts.training_config import TrainingConfig  # noqa: E402
from services.carbon.config import CarbonSettings  # noqa: E402
from services.carbon.metering import JobEnergyReporter  # noqa: E402
from services.runtime.jetstream import connect  # noqa: E402
from services.runtime.publisher import EventPublisher  # noqa: E402
from services.trainer.demo_facts import as_messages, demo_facts, demo_training_config  # noqa: E402

ACTOR = Actor(kind="api_key", id="key-demo")


class Progress(TrainerCallback):  # type: ignore[misc]
    """Hands step events to the event loop, in order (one queue, one publisher)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[DomainEvent | None]) -> None:
        self.loop, self.queue = loop, queue

    def _put(self, event: DomainEvent) -> None:
        self.loop.call_soon_threadsafe(self.queue.put_nowait, event)

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._put(JobStarted(worker_id="test", attempt=1, device="cpu", max_steps=state.max_steps))

    def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **kwargs: Any) -> None:
        if logs and "loss" in logs:
            self._put(
                TrainingProgressed(
                    step=state.global_step,
                    max_steps=state.max_steps,
                    epoch=state.epoch or 0.0,
                    loss=logs["loss"],
                    learning_rate=logs.get("learning_rate", 0.0),
                    tokens_seen=int(state.num_input_tokens_seen or 0),
                )
            )


async def main(url: str, job_id: str, base: Path, work: Path, interval: float) -> None:
    nc = await connect(url, "metered-training")
    publisher = EventPublisher(nc)
    queue: asyncio.Queue[DomainEvent | None] = asyncio.Queue()

    async def drain() -> None:
        while (event := await queue.get()) is not None:
            await publisher.publish(Envelope.new(event, producer="trainer", aggregate_id=job_id, actor=ACTOR))

    config = demo_training_config(str(base), checkpoint_interval_steps=10_000)
    await publisher.publish(
        Envelope.new(JobRequested(config=config), producer="trainer", aggregate_id=job_id, actor=ACTOR)
    )
    energy = JobEnergyReporter.for_process(nc, CarbonSettings(country_iso_code="FRA", interval_seconds=interval))
    publishing = asyncio.create_task(drain())
    async with energy.measuring(job_id, ACTOR):
        run = await asyncio.to_thread(train, config, base, work, Progress(asyncio.get_running_loop(), queue))
        queue.put_nowait(
            JobCompleted(steps=run.global_step, tokens_trained=run.tokens_seen, train_seconds=run.train_seconds)
        )
        queue.put_nowait(None)
        await publishing
    await nc.close()


def train(config: TrainingConfig, base: Path, work: Path, progress: Progress) -> recipe.RecipeRun:
    model, tokenizer = recipe.load_model(base, config)
    return recipe.train(model, tokenizer, config, as_messages(demo_facts()), work, callbacks=[progress])


if __name__ == "__main__":
    url, job_id, base, work, interval = sys.argv[1:6]
    asyncio.run(main(url, job_id, Path(base), Path(work), float(interval)))
