"""Per-key limits on the requests that hold the services: at most `cap` generations (`/v1`) and job
creations of one API key at a time, and at most `per_minute` of them started in any minute (a
moving window, the `limits` library), in this API process; one more is answered 429 with
Retry-After, so one key cannot take every engine slot or flood the queue. A streamed answer holds
its slot until its last chunk is sent."""

from __future__ import annotations

import contextlib
import math
import time
from collections import Counter
from collections.abc import Iterator

from limits import RateLimitItemPerMinute
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from services.api.errors import ApiProblem

RETRY_AFTER_S = 1


class KeySlots:
    def __init__(self, cap: int, per_minute: int) -> None:
        self.cap = cap
        self.active: Counter[str] = Counter()
        self.rate = RateLimitItemPerMinute(per_minute)
        self.limiter = MovingWindowRateLimiter(MemoryStorage())

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
        if not self.limiter.hit(self.rate, key):
            reset = self.limiter.get_window_stats(self.rate, key).reset_time
            wait = max(1, math.ceil(reset - time.time()))
            raise ApiProblem(
                429,
                "rate_limited",
                f"API key {key} started {self.rate.amount} requests here in the last minute "
                f"(GREENTUNE_API_MAX_REQUESTS_PER_MINUTE_PER_KEY): retry in {wait} s",
                headers={"Retry-After": str(wait)},
            )
        self.active[key] += 1
        try:
            yield
        finally:
            self.active[key] -= 1
            if not self.active[key]:
                del self.active[key]
