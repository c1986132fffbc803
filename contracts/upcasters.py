"""Bring stored events of older schema versions to the current version, one step at a time.

Stored events are never rewritten: readers upcast on the way in. A breaking change to an event
bumps its `version` and adds one function here, `(type, from_version) -> dict of from_version+1`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from contracts.catalog import event_class
from contracts.errors import UpcastError

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]
_UPCASTERS: dict[tuple[str, int], Upcaster] = {}


def upcaster(type_name: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
    """Register `fn` as the step from `from_version` to `from_version + 1` of `type_name`."""

    def register(fn: Upcaster) -> Upcaster:
        _UPCASTERS[(type_name, from_version)] = fn
        return fn

    return register


def upcast(event: dict[str, Any]) -> dict[str, Any]:
    """Return `event` (a decoded JSON object) in the current version of its type."""
    type_name = event.get("type")
    if not isinstance(type_name, str):
        raise UpcastError("event has no string `type` field")
    target = event_class(type_name).schema_version()
    version = event.get("version")
    if not isinstance(version, int) or version < 1:
        raise UpcastError(f"{type_name}: `version` must be a positive integer, got {version!r}")
    if version > target:
        raise UpcastError(
            f"{type_name} v{version} is newer than this greentune understands (v{target}); upgrade the reader"
        )
    while version < target:
        step = _UPCASTERS.get((type_name, version))
        if step is None:
            raise UpcastError(f"no upcaster from {type_name} v{version} to v{version + 1}")
        event = step(dict(event))
        version += 1
        event["version"] = version
    return event


@upcaster("TrainingProgressed", from_version=1)
def _training_progressed_v1_to_v2(event: dict[str, Any]) -> dict[str, Any]:
    # v1: {step, epoch, loss, lr}. v2 renames lr and adds fields v1 never measured (None, not 0).
    event["learning_rate"] = event.pop("lr")
    event.setdefault("max_steps", None)
    event.setdefault("grad_norm", None)
    event.setdefault("tokens_per_second", None)
    event.setdefault("tokens_seen", None)
    return event
