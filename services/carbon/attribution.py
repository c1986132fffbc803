"""Per-request energy for an inference engine: the engine's metered energy split across requests
by the tokens each processed (prompt + generated).

Every time a request finishes, the energy metered since the previous settlement is divided among
the requests that processed tokens in that window, in proportion to those tokens; the finished
request takes its accumulated share. All metered energy lands on some request except the energy
after the last settlement (`unsettled_kwh()`), so the shares sum to the engine's metered energy.
Report tokens as they are processed (`add_tokens` per streamed chunk) for a fair split.

    splitter = RequestEnergySplitter(meter, pue=settings.pue)
    splitter.add_tokens(request_id, prompt_tokens)      # at prefill
    splitter.add_tokens(request_id, n_new)              # per generated chunk
    energy_kwh = splitter.finish(request_id)            # -> InferenceCompleted(energy_kwh=...)
"""

from __future__ import annotations

import threading
from collections import defaultdict

from services.runtime.energy import EnergyMeter


def split_by_tokens(energy_kwh: float, tokens: dict[str, int]) -> dict[str, float]:
    """`energy_kwh` divided in proportion to `tokens`; empty when no token was processed."""
    total = sum(tokens.values())
    if total <= 0:
        return {}
    return {request_id: energy_kwh * count / total for request_id, count in tokens.items() if count > 0}


class RequestEnergySplitter:
    def __init__(self, meter: EnergyMeter, *, pue: float = 1.0) -> None:
        self.meter = meter
        self.pue = pue
        self._lock = threading.Lock()
        self._window_tokens: dict[str, int] = defaultdict(int)  # tokens since the last settlement
        self._shares: dict[str, float] = defaultdict(float)  # kWh credited to open requests
        self.meter.start()  # idempotent on a running meter
        self._settled_kwh = self._metered_kwh()  # kWh (incl. PUE) at the last settlement
        self.unattributed_kwh = 0.0  # windows in which no request processed a token

    def add_tokens(self, request_id: str, tokens: int) -> None:
        if tokens < 0:
            raise ValueError(f"request {request_id}: token count must be >= 0, got {tokens}")
        with self._lock:
            self._window_tokens[request_id] += tokens

    def finish(self, request_id: str) -> float:
        """Settle the window and return this request's energy, kWh (incl. PUE)."""
        with self._lock:
            self._settle()
            self._window_tokens.pop(request_id, None)
            return self._shares.pop(request_id, 0.0)

    def unsettled_kwh(self) -> float:
        """Energy metered since the last settlement, not yet on any request."""
        with self._lock:
            return self._metered_kwh() - self._settled_kwh

    def _settle(self) -> None:
        metered = self._metered_kwh()
        window = max(metered - self._settled_kwh, 0.0)
        shares = split_by_tokens(window, dict(self._window_tokens))
        if not shares:
            self.unattributed_kwh += window
        for request_id, kwh in shares.items():
            self._shares[request_id] += kwh
        self._window_tokens.clear()
        self._settled_kwh = metered

    def _metered_kwh(self) -> float:
        return self.meter.read().energy_kwh * self.pue
