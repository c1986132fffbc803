"""Per-key caps on the requests that hold the services: at most `cap` generations (`/v1`) and job
creations of one API key at a time in this API process; one more is answered 429 with Retry-After,
so one key cannot take every engine slot or flood the queue. A streamed answer holds its slot until
its last chunk is sent."""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterator

from services.api.errors import ApiProblem

RETRY_AFTER_S = 1


class KeySlots:
    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.active: Counter[str] = Counter()

    @contextlib.contextmanager
    def held(self, key: str) -> Iterator[None]:
        if self.active[key] >= self.cap:
            raise ApiProblem(
                429,
                "too_many_requests",
                f"API key {key} already has {self.cap} requests running here (GREENTUNE_API_MAX_CONCURRENT_PER_KEY): "
                "retry once one has finished",
                headers={"Retry-After": str(RETRY_AFTER_S)},
            )
        self.active[key] += 1
        try:
            yield
        finally:
            self.active[key] -= 1
            if not self.active[key]:
                del self.active[key]
