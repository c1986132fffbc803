"""`greentune demo` from start to end: the embedded stack up, the walkthrough, the stack down."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from services.embedded import walkthrough
from services.embedded.stack import EmbeddedStack
from services.runtime.jetstream import connect


@dataclass(frozen=True)
class DemoOutcome:
    job_id: str
    exact_match: float
    energy_kwh: float
    emissions_g: float


async def run_demo(data_dir: Path, say: walkthrough.Say, questions: int = 5) -> DemoOutcome:
    started = time.monotonic()
    stack = EmbeddedStack(data_dir)
    say(f"starting the embedded stack in {data_dir} (nats-server, trainer, worker, inference, registry, carbon)")
    stack.start()
    try:
        nc = await connect(stack.url, "greentune-demo")
        try:
            await stack.wait_ready(nc)
            say(f"     ready at {stack.url}; service logs in {data_dir / 'logs'}")
            tiny = data_dir / "models" / "tiny"
            walkthrough.build_tiny_model(tiny, say)
            base, dataset_id = await walkthrough.register_inputs(nc, tiny, say)
            job_id, exported = await walkthrough.fine_tune(nc, dataset_id, say)
            exact = await walkthrough.ask_questions(nc, base, exported, questions, say)
            report = await walkthrough.carbon_report(nc, job_id, say)
        finally:
            await nc.close()
    finally:
        stack.stop()
    say(f"done in {time.monotonic() - started:.0f} s: {exact:.0%} of the questions answered right after fine-tuning")
    return DemoOutcome(job_id, exact, report["energy_kwh"], report["emissions_g"])
