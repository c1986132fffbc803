"""The carbon service may be the first service up (`greentune up` starts them all at once): on a
server without the EVENTS stream it creates it instead of exiting."""

from __future__ import annotations

from pathlib import Path

from contracts.stream import STREAM_NAME
from services.carbon.app import CarbonService
from services.carbon.config import CarbonSettings
from services.runtime.jetstream import connect
from services.runtime.nats_server import NatsServer
from services.runtime.settings import KernelSettings


async def test_the_carbon_service_starts_on_a_server_with_no_stream_yet(nats_server: NatsServer, tmp_path: Path):
    nc = await connect(nats_server.url, "carbon-first")
    try:
        settings = CarbonSettings(view_path=tmp_path / "carbon.sqlite")
        async with CarbonService.open(nc, settings, KernelSettings(data_dir=tmp_path)) as service:
            await service.catch_up()
            info = await nc.jetstream().stream_info(STREAM_NAME)
        assert info.config.name == STREAM_NAME
    finally:
        await nc.close()
