"""Which loaded models to release: least recently used first when a new one needs room, and any
left idle too long. Pure decisions over a snapshot; the engine host acts on them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from services.inference.domain import CapacityError


@dataclass(frozen=True)
class Resident:
    """A loaded model as the policy sees it."""

    name: str
    last_used: float  # monotonic seconds
    in_flight: int  # requests it is serving now


def eviction_candidate(residents: Sequence[Resident], max_loaded: int) -> str | None:
    """The model to unload so one more fits, None if there is room.

    Only a model serving nothing may go; if every loaded model is busy there is no candidate
    and the load is refused (CapacityError) rather than cut requests off.
    """
    if len(residents) < max_loaded:
        return None
    idle = [r for r in residents if r.in_flight == 0]
    if not idle:
        raise CapacityError(
            f"all {len(residents)} loaded models are serving requests, so none can make room: retry shortly "
            "or raise GREENTUNE_INFERENCE_MAX_LOADED_MODELS"
        )
    return min(idle, key=lambda r: r.last_used).name


def idle_expired(residents: Sequence[Resident], now: float, idle_seconds: float) -> list[str]:
    """Models serving nothing whose last use is at least `idle_seconds` old."""
    return [r.name for r in residents if r.in_flight == 0 and now - r.last_used >= idle_seconds]
