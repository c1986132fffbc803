"""Split metered energy across requests by the tokens each processed (prompt + completion).

The engine host closes an interval whenever a request finishes: the energy metered since the
previous close is shared among the requests that processed tokens in that interval, in
proportion to those tokens. Energy of an interval in which requests were open but none processed
a token yet (queued, prefilling) is carried into the next interval's split; only energy metered
while no request was open is idle, kept apart. Every kWh read ends in a share, in `idle_kwh`, or
(until the next close) in the carry.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class _Account:
    pending_tokens: int = 0  # processed since the last close
    energy_kwh: float = 0.0


@dataclass
class EnergyLedger:
    idle_kwh: float = 0.0
    _carry_kwh: float = 0.0  # metered while requests were open but had processed no token yet
    _accounts: dict[str, _Account] = field(default_factory=dict)

    def open(self, request_id: str) -> None:
        self._accounts.setdefault(request_id, _Account())

    def add_tokens(self, request_id: str, tokens: int) -> None:
        self._accounts[request_id].pending_tokens += tokens

    def close_interval(self, energy_kwh: float) -> None:
        """Share `energy_kwh` (metered since the last close) by the tokens of this interval."""
        if not self._accounts:
            self.idle_kwh += energy_kwh + self._carry_kwh
            self._carry_kwh = 0.0
            return
        total = sum(a.pending_tokens for a in self._accounts.values())
        if total == 0:
            self._carry_kwh += energy_kwh
            return
        energy_kwh, self._carry_kwh = energy_kwh + self._carry_kwh, 0.0
        for account in self._accounts.values():
            account.energy_kwh += energy_kwh * account.pending_tokens / total
            account.pending_tokens = 0

    def finish(self, request_id: str) -> float:
        """The request's total share, kWh (0 if it never started); its account is closed."""
        account = self._accounts.pop(request_id, None)
        return account.energy_kwh if account is not None else 0.0

    @property
    def open_requests(self) -> int:
        return len(self._accounts)
