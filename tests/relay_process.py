"""Run an outbox relay for the test ledger in its own process, so a test can SIGKILL it.

python -m tests.relay_process DATA_DIR NATS_URL
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from services.runtime.jetstream import connect
from services.runtime.outbox import OutboxRelay
from tests.fakes import ledger_app


async def main(data_dir: Path, url: str) -> None:
    nc = await connect(url, "relay-process")
    relay = OutboxRelay(ledger_app(data_dir), nc, batch_size=5)
    print("relay up", flush=True)
    await relay.run(asyncio.Event(), poll_interval=0.05)


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), sys.argv[2]))
