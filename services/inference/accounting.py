"""Energy of each request: the engine host's meter readings split by tokens (energy_split.py).

The meter (services.runtime.energy.EnergyMeter; CodeCarbon in production) measures the whole
machine; readings are taken off the event loop. Shares include the PUE, like the energy of
EmissionsMeasured, so the two add up. Without a meter every share is None.
"""

from __future__ import annotations

import asyncio

from services.inference.energy_split import EnergyLedger
from services.runtime.energy import EnergyMeter


class EnergyAccounts:
    def __init__(self, meter: EnergyMeter | None, pue: float = 1.0) -> None:
        self.meter = meter
        self.pue = pue  # facility overhead applied to the machine's energy
        self.ledger = EnergyLedger()
        self._last_kwh = 0.0  # cumulative meter reading at the last close
        self._lock = asyncio.Lock()

    @property
    def metered(self) -> bool:
        return self.meter is not None

    async def open(self, request_id: str) -> None:
        """Start accounting for a request; energy metered while nothing ran is closed as idle first."""
        if self.ledger.open_requests == 0:
            await self.settle()
        self.ledger.open(request_id)

    def add_tokens(self, request_id: str, tokens: int) -> None:
        self.ledger.add_tokens(request_id, tokens)

    async def settle(self) -> None:
        """Close the current interval: read the meter and share what it measured since the last close."""
        if self.meter is None:
            return
        async with self._lock:
            reading = await asyncio.to_thread(self.meter.read)
            delta = max(0.0, reading.energy_kwh - self._last_kwh)  # kWh; a restarted meter never goes negative
            self._last_kwh = reading.energy_kwh
            self.ledger.close_interval(delta * self.pue)

    def finish(self, request_id: str) -> float | None:
        share = self.ledger.finish(request_id)
        return share if self.meter is not None else None
