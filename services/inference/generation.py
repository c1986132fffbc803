"""One sequence being generated: drives the engine's token stream and keeps the request's figures.

The host prepares it (model resident, adapter loaded, prompt rendered and checked); `run` then
streams deltas to an optional callback and leaves a Completion. If the task running it is
cancelled (the caller went away), the engine aborts the request and the finish reason is `aborted`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from services.inference.accounting import EnergyAccounts
from services.inference.domain import AdapterHandle, SamplingSettings
from services.inference.ports import TextEngine, TokenDelta
from services.inference.protocol import Completion

OnDelta = Callable[[TokenDelta], Awaitable[None]]
FINISH_REASONS = {"stop": "stop", "length": "length", "abort": "aborted"}


@dataclass
class Generation:
    request_id: str
    engine: TextEngine
    adapter: AdapterHandle | None
    prompt_ids: list[int]
    sampling: SamplingSettings
    received_at: float  # monotonic seconds
    accounts: EnergyAccounts
    token_ids: list[int] = field(default_factory=list)
    text: list[str] = field(default_factory=list)
    finish_reason: str = "aborted"
    first_token_at: float | None = None
    ended_at: float | None = None
    energy_kwh: float | None = None  # its share, once the request is accounted

    async def run(self, on_delta: OnDelta | None = None) -> None:
        await self.accounts.open(self.request_id)
        try:
            stream = self.engine.stream(self.request_id, self.prompt_ids, self.sampling, self.adapter)
            async for delta in stream:
                self._record(delta)
                if on_delta is not None:
                    await on_delta(delta)
        except asyncio.CancelledError:
            self.finish_reason = "aborted"
            raise
        finally:
            self.ended_at = time.monotonic()

    def _record(self, delta: TokenDelta) -> None:
        if self.first_token_at is None:
            self.first_token_at = time.monotonic()
            self.accounts.add_tokens(self.request_id, len(self.prompt_ids))  # the prefill is done
        self.accounts.add_tokens(self.request_id, len(delta.token_ids))
        self.token_ids.extend(delta.token_ids)
        self.text.append(delta.text)
        if delta.finish_reason is not None:
            self.finish_reason = FINISH_REASONS.get(delta.finish_reason, "stop")

    def completion(self) -> Completion:
        ended = self.ended_at or time.monotonic()
        return Completion(
            text="".join(self.text),
            token_ids=tuple(self.token_ids),
            prompt_tokens=len(self.prompt_ids),
            completion_tokens=len(self.token_ids),
            finish_reason=self.finish_reason,
            time_to_first_token_ms=None if self.first_token_at is None else _ms(self.first_token_at - self.received_at),
            latency_ms=_ms(ended - self.received_at),
            energy_kwh=self.energy_kwh,
        )


def _ms(seconds: float) -> float:
    return round(seconds * 1000.0, 3)
