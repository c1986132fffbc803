"""One attempt at a job, metered the way a trainer worker meters it, with busy CPU work in place of
the training: the worker's JobEnergy port (JobEnergyReporter on the process's CodeCarbon meter),
and JobStarted recorded once the meter runs, as run_job records it. As a process it works until
it is killed (or SECONDS pass), so a test can SIGKILL it between two intervals.

python -m tests.carbon.metered_attempt NATS_URL JOB_ID ATTEMPT INTERVAL_SECONDS SECONDS
"""

from __future__ import annotations

import asyncio
import sys

from contracts.events.jobs import JobStarted
from services.carbon.config import CarbonSettings
from services.carbon.metering import JobEnergyReporter
from services.carbon.reporter import EmissionsReporter
from services.runtime.jetstream import connect
from tests.carbon.conftest import ALICE, busy, publish

MAX_STEPS = 100


async def run_attempt(nc, energy: JobEnergyReporter, job_id: str, attempt: int, seconds: float) -> EmissionsReporter:  # type: ignore[no-untyped-def]
    async with energy.measuring(job_id, ALICE) as reporter:
        started = JobStarted(worker_id=f"worker-{attempt}", attempt=attempt, device="cpu", max_steps=MAX_STEPS)
        await publish(nc, started, job_id)
        await busy(seconds)
    return reporter


async def main(url: str, job_id: str, attempt: int, interval: float, seconds: float) -> None:
    nc = await connect(url, f"metered-attempt-{attempt}")
    energy = JobEnergyReporter.for_process(nc, CarbonSettings(country_iso_code="FRA", interval_seconds=interval))
    await run_attempt(nc, energy, job_id, attempt, seconds)
    await nc.close()


if __name__ == "__main__":
    url, job_id, attempt, interval, seconds = sys.argv[1:6]
    asyncio.run(main(url, job_id, int(attempt), float(interval), float(seconds)))
