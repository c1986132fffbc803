"""`greentune demo` from start to end: the embedded stack up, the walkthrough, the stack down.

The stack is supervised without restarts: a service that exits fails the demo at once with its log
tail, and a job with no progress for `stall_s` seconds fails it too. Third-party warnings of this
process and its subprocesses go to <data>/logs/demo.log, not the terminal.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from nats.aio.client import Client

from services.embedded import walkthrough
from services.embedded.demo_models import DemoModel, demo_model
from services.embedded.quiet import stderr_to
from services.embedded.stack import EmbeddedStack
from services.embedded.stall import DEFAULT_STALL_S, watch_for_stalls
from services.embedded.supervisor import log_tail
from services.runtime.jetstream import connect


@dataclass(frozen=True)
class DemoOutcome:
    job_id: str
    exact_match: float
    energy_kwh: float
    emissions_g: float


async def run_demo(
    data_dir: Path,
    say: walkthrough.Say,
    questions: int = 5,
    stall_s: float = DEFAULT_STALL_S,
    extra_env: dict[str, str] | None = None,
    model: str = "smollm2",
) -> DemoOutcome:
    started = time.monotonic()
    demo = demo_model(model, questions)
    stack = EmbeddedStack(data_dir, extra_env=extra_env or {}, say=say)
    say(f"starting the embedded stack in {data_dir} (nats-server, trainer, worker, inference, registry, carbon)")
    with stderr_to(data_dir / "logs" / "demo.log"):
        try:
            await stack.start()
            nc = await connect(stack.url, "greentune-demo", access=stack.access)
            try:
                await stack.wait_ready(nc)
                say(f"     ready at {stack.url}; service logs in {data_dir / 'logs'}")
                stalls = watch_for_stalls(nc, stall_s, lambda: log_tail(data_dir / "logs" / "worker.log"))
                outcome = await stack.guard(nc, _walkthrough(nc, data_dir, say, demo), stalls)
            finally:
                await nc.close()
        finally:
            stack.stop()
    elapsed = time.monotonic() - started
    say(f"done in {elapsed:.0f} s: {outcome.exact_match:.0%} of the new facts answered right after fine-tuning")
    return outcome


async def _walkthrough(nc: Client, data_dir: Path, say: walkthrough.Say, demo: DemoModel) -> DemoOutcome:
    folder = walkthrough.build_model(demo, data_dir, say)
    base, dataset_id = await walkthrough.register_inputs(nc, demo, folder, say)
    job_id, exported = await walkthrough.fine_tune(nc, demo, dataset_id, say)
    exact = await walkthrough.ask_questions(nc, demo, base, exported, say)
    report = await walkthrough.carbon_report(nc, job_id, say)
    return DemoOutcome(job_id, exact, report["energy_kwh"], report["emissions_g"])
