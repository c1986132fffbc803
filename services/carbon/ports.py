"""Ports of the carbon service. The energy meter port itself is the kernel's
(services.runtime.energy.EnergyMeter), shared with the trainer and the inference host.
"""

from __future__ import annotations

from typing import Protocol

from contracts import Envelope
from services.carbon.domain import CarbonIntensity


class GridIntensity(Protocol):
    """Carbon intensity of the configured grid, with its source."""

    def current(self) -> CarbonIntensity: ...


class EventAppender(Protocol):
    """Appends an event to the log and returns its stream sequence (EventPublisher satisfies it)."""

    async def publish(self, envelope: Envelope, expected_last_sequence: int | None = None) -> int: ...
