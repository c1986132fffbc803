"""Supervision of the embedded stack's child processes: starts each, notices one that exited, reports
it (service, exit code or signal, the last lines of its log) and restarts it after a bounded,
doubling delay, or gives up on it with StackError. It knows nothing of NATS or HTTP: its owner says
when a child answers (`mark_ready`) and calls `check()` from its own loop (no thread of its own).
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from services.runtime.processes import die_with_parent

TAIL_LINES = 15
Report = Callable[[str], None]


class StackError(Exception):
    """A service of the embedded stack could not start, or kept dying and was given up on."""


@dataclass(frozen=True)
class ChildSpec:
    name: str
    argv: list[str]
    env: dict[str, str]
    log: Path
    ready_after_s: float | None = None  # seconds alive that count as ready; None: the owner calls mark_ready


@dataclass(frozen=True)
class RestartPolicy:
    restart: bool = True  # False: the first exit gives up (the demo fails at once)
    first_delay_s: float = 0.5
    max_delay_s: float = 8.0
    max_unready_deaths: int = 3  # in a row, before the child became ready again
    max_deaths: int = 5  # within window_s; one more gives up
    window_s: float = 300.0


NEVER_RESTART = RestartPolicy(restart=False)


@dataclass
class _Child:
    spec: ChildSpec
    process: subprocess.Popen[bytes] | None = None
    log: IO[bytes] | None = None
    started_at: float = 0.0
    ready: bool = False
    runs: int = 0
    unready_deaths: int = 0
    deaths: deque[float] = field(default_factory=deque)
    restart_at: float | None = None


class Supervisor:
    def __init__(
        self,
        specs: Iterable[ChildSpec],
        policy: RestartPolicy,
        report: Report,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.children = {spec.name: _Child(spec) for spec in specs}
        self.policy, self.report, self.clock = policy, report, clock
        self.stopping = False

    @property
    def processes(self) -> dict[str, subprocess.Popen[bytes]]:
        return {name: c.process for name, c in self.children.items() if c.process is not None}

    def start(self) -> None:
        for child in self.children.values():
            self._spawn(child)

    def unready(self) -> list[str]:
        """Children not (again) ready, waiting for a restart included: the owner probes these."""
        return [n for n, c in self.children.items() if not c.ready]

    def mark_ready(self, name: str) -> None:
        child = self.children[name]
        if not child.ready and child.runs > 1:
            self.report(f"the {name} service is back (restart {child.runs - 1})")
        child.ready, child.unready_deaths = True, 0

    def check(self) -> None:
        """One round: report and schedule the children that exited, restart those whose delay is
        over, mark ready those alive long enough. StackError when one is given up on."""
        now = self.clock()
        for name, child in self.children.items():
            if self.stopping or child.process is None:
                continue
            if child.restart_at is not None:
                if now >= child.restart_at:
                    self._spawn(child)
                continue
            code = child.process.poll()
            if code is None:
                after = child.spec.ready_after_s
                if not child.ready and after is not None and now - child.started_at >= after:
                    self.mark_ready(name)
                continue
            self._exited(child, code, now)

    def _exited(self, child: _Child, code: int, now: float) -> None:
        policy, name = self.policy, child.spec.name
        child.unready_deaths += 0 if child.ready else 1
        child.deaths.append(now)
        while child.deaths and now - child.deaths[0] > policy.window_s:
            child.deaths.popleft()
        what = f"the {name} service {describe_exit(code)}"
        tail = log_tail(child.spec.log)
        if not policy.restart:
            raise StackError(f"{what}.\n{tail}")
        if child.unready_deaths >= policy.max_unready_deaths or len(child.deaths) > policy.max_deaths:
            why = (
                f"{child.unready_deaths} times before it was ready"
                if child.unready_deaths >= policy.max_unready_deaths
                else f"{len(child.deaths)} times in {policy.window_s:.0f} s"
            )
            raise StackError(f"{what}; it exited {why}, giving up.\n{tail}")
        delay = min(policy.max_delay_s, policy.first_delay_s * 2 ** (len(child.deaths) - 1))
        child.ready, child.restart_at = False, now + delay
        self.report(f"{what}; restarting it in {delay:.1f} s.\n{tail}")

    def _spawn(self, child: _Child) -> None:
        if child.log is not None:
            child.log.close()
        child.log = open(child.spec.log, "ab")  # noqa: SIM115  # kept for the child's life
        if child.runs:
            child.log.write(f"--- greentune: restart {child.runs} of the {child.spec.name} service ---\n".encode())
            child.log.flush()
        child.process = subprocess.Popen(
            child.spec.argv,
            env=child.spec.env,
            stdin=subprocess.DEVNULL,
            stdout=child.log,
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent,
            start_new_session=True,  # a terminal's Ctrl-C reaches the stack, which stops them in turn
        )
        child.started_at, child.restart_at, child.ready = self.clock(), None, False
        child.runs += 1

    def stop(self, grace_s: float) -> list[str]:
        """SIGTERM every child, SIGKILL those still running after `grace_s`; the names killed."""
        self.stopping = True
        running = [c.process for c in self.children.values() if c.process is not None and c.process.poll() is None]
        for process in running:
            process.send_signal(signal.SIGTERM)
        deadline, killed = self.clock() + grace_s, []
        for name, child in self.children.items():
            if child.process is None:
                continue
            try:
                child.process.wait(max(0.0, deadline - self.clock()))
            except subprocess.TimeoutExpired:
                child.process.kill()
                child.process.wait()
                killed.append(name)
            if child.log is not None:
                child.log.close()
        return killed


def describe_exit(code: int) -> str:
    """`was killed by SIGKILL` for a signal (Popen's negative return code), else `exited with status 1`."""
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with status {code}"


def log_tail(log: Path, lines: int = TAIL_LINES, max_width: int = 400) -> str:
    """The last `lines` lines of a child's log, indented, under a heading naming the file."""
    try:
        with log.open("rb") as file:
            file.seek(max(0, log.stat().st_size - 64 * 1024))
            text = file.read().decode(errors="replace")
    except OSError as exc:
        return f"  (its log {log} cannot be read: {exc})"
    last = [line[:max_width] for line in text.splitlines() if line.strip()][-lines:]
    body = "\n".join(f"  | {line}" for line in last) or "  | (empty)"
    return f"last lines of {log}:\n{body}"
