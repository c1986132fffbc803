"""Split metered energy across requests by the tokens each processed (prompt + completion).

The engine host closes an interval whenever a request finishes: the energy metered since the
previous close is shared among the requests that processed tokens in that interval, in
proportion to those tokens. Energy of an interval in which no request processed a token is idle
energy, kept apart. Every kWh read is either in some request's share or in `idle_kwh`.
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
    _accounts: dict[str, _Account] = field(default_factory=dict)

    def open(self, request_id: str) -> None:
        self._accounts.setdefault(request_id, _Account())

    def add_tokens(self, request_id: str, tokens: int) -> None:
        self._accounts[request_id].pending_tokens += tokens

    def close_interval(self, energy_kwh: float) -> None:
        """Share `energy_kwh` (metered since the last close) by the tokens of this interval."""
        total = sum(a.pending_tokens for a in self._accounts.values())
        if total == 0:
            self.idle_kwh += energy_kwh
            return
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
