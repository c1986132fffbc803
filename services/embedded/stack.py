"""Start, supervise and stop the embedded stack: nats-server from the wheel, a local artifact folder,
and the trainer intake, one trainer worker, the inference host, the registry and the carbon service
(and, for `greentune up`, the HTTP API), each in its own process (as deployed; Unsloth and vLLM also
patch and spawn), logging to <data>/logs/. Which exits are restarted is the Supervisor's policy.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import click
from nats.aio.client import Client

from services.embedded.supervisor import (
    NEVER_RESTART,
    ChildSpec,
    RestartPolicy,
    StackError,
    Supervisor,
    log_tail,
)
from services.runtime.jetstream import NatsAccess, connect, ensure_stream
from services.runtime.nats_identities import identities_path, load_or_create, server_authorization
from services.runtime.nats_server import NatsServer
from services.runtime.settings import KernelSettings

__all__ = ["EmbeddedStack", "StackError"]

# name -> `greentune ...` arguments, and an RPC subject that answers once the service is up.
SERVICES: dict[str, tuple[list[str], str]] = {
    "trainer": (["jobs", "serve"], "rpc.trainer.get_job"),
    "worker": (["jobs", "worker"], ""),
    "inference": (["inference", "serve"], "rpc.inference.models"),
    "registry": (["registry", "serve"], "rpc.registry.catalogue"),
    "carbon": (["carbon", "serve"], "rpc.carbon.jobs"),
}
API_SERVICE = (["api", "serve"], "")  # ready when GET /healthz answers (see _answers)
READY_TIMEOUT = 180.0  # seconds; the first start compiles bytecode and probes hardware
WORKER_READY_AFTER_S = 10.0  # the worker answers no RPC: alive this long counts as started
# One machine: a killed worker's job goes to its restarted successor after this long without a
# heartbeat (the trainer's default, 30 s, suits workers on other hosts).
QUEUE_ACK_WAIT_S = "10"
# seconds after SIGTERM: an idle stack stops in 2-4 s, a loaded 2-core machine's vLLM engine or
# idle worker may take ~10 s; a worker mid-job (it would finish the job first) is then killed.
STOP_GRACE_S = 15.0
CHECK_INTERVAL_S = 0.25
T = TypeVar("T")


def _stderr(message: str) -> None:
    click.echo(message, err=True)


@dataclass
class EmbeddedStack:
    data_dir: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    with_api: bool = False
    policy: RestartPolicy = NEVER_RESTART
    say: Callable[[str], None] = _stderr  # where exits and restarts are reported
    server: NatsServer | None = None
    supervisor: Supervisor | None = None
    access: NatsAccess = field(default_factory=NatsAccess)  # how this process connects to the stack's server

    @property
    def url(self) -> str:
        assert self.server is not None, "start() first"
        return self.server.url

    @property
    def processes(self) -> dict[str, subprocess.Popen[bytes]]:
        return dict(self.supervisor.processes) if self.supervisor else {}

    @property
    def services(self) -> dict[str, tuple[list[str], str]]:
        return {**SERVICES, "api": API_SERVICE} if self.with_api else SERVICES

    @property
    def api_url(self) -> str:
        from services.api.config import ApiSettings

        settings = ApiSettings()  # as the api process reads it: from this environment
        host = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host
        return f"http://{host}:{settings.port}"

    async def start(self) -> None:
        """Start nats-server with the stack's identities (an anonymous client cannot connect),
        create the streams as `bootstrap`, then start every service as its own identity."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        identities = identities_path(self.data_dir)
        authorization = server_authorization(load_or_create(identities))
        self.access = NatsAccess(credentials=identities)
        self.server = NatsServer(store_dir=self.data_dir / "nats", extra_config=authorization).start()
        nc = await connect(self.url, "greentune-bootstrap", identity="bootstrap", access=self.access)
        try:
            await ensure_stream(nc.jetstream(), KernelSettings().stream_replicas)
        finally:
            await nc.close()
        env = {
            "GREENTUNE_TRAINER_QUEUE_ACK_WAIT_SECONDS": QUEUE_ACK_WAIT_S,
            "PYTHONUNBUFFERED": "1",  # a crashed child's last output reaches its log, for the report
            **os.environ,
            **self.extra_env,
            "GREENTUNE_NATS_URL": self.url,
            "GREENTUNE_NATS_CREDENTIALS": str(identities),
            "GREENTUNE_DATA_DIR": str(self.data_dir.resolve()),
        }
        (self.data_dir / "logs").mkdir(exist_ok=True)
        specs = [
            ChildSpec(
                name,
                [sys.executable, "-m", "services.cli.main", *args],
                env,
                self.data_dir / "logs" / f"{name}.log",
                ready_after_s=None if subject or name == "api" else WORKER_READY_AFTER_S,
            )
            for name, (args, subject) in self.services.items()
        ]
        self.supervisor = Supervisor(specs, self.policy, self.say)
        self.supervisor.start()

    async def wait_ready(self, nc: Client, timeout: float = READY_TIMEOUT) -> None:
        """Return once every service answers (its RPC subject, the API its /healthz); StackError
        naming the one that died (without restarts) or was given up on."""
        deadline = asyncio.get_running_loop().time() + timeout
        while waiting := await self._check(nc):
            if asyncio.get_running_loop().time() > deadline:
                tails = "\n".join(log_tail(self.data_dir / "logs" / f"{name}.log") for name in waiting)
                raise StackError(f"not ready after {timeout:.0f} s: {', '.join(waiting)}\n{tails}")
            await asyncio.sleep(CHECK_INTERVAL_S)

    async def watch(self, nc: Client, stop: asyncio.Event | None = None) -> None:
        """Supervise until `stop` is set (for ever without one); StackError once a service is given up on."""
        while stop is None or not stop.is_set():
            await self._check(nc)
            await asyncio.sleep(CHECK_INTERVAL_S)

    async def guard(self, nc: Client, work: Awaitable[T], *watchers: Awaitable[None]) -> T:
        """`work`'s result; StackError as soon as a service is given up on, or the error of one of
        `watchers` (e.g. a stall watch) that fails first; `work` is then cancelled."""
        task = asyncio.ensure_future(work)
        watching = [asyncio.create_task(self.watch(nc)), *(asyncio.ensure_future(w) for w in watchers)]
        try:
            await asyncio.wait({task, *watching}, return_when=asyncio.FIRST_COMPLETED)
            for watcher in watching:
                if watcher.done():
                    watcher.result()  # raises what stopped it
            return task.result()
        finally:
            for pending in (task, *watching):
                pending.cancel()
            await asyncio.gather(task, *watching, return_exceptions=True)

    async def _check(self, nc: Client) -> list[str]:
        """One supervision round, then probe the services not ready yet; those that still do not
        answer (the worker, which answers nothing, is left to the supervisor's clock)."""
        assert self.supervisor is not None, "start() first"
        self.supervisor.check()
        probed = [name for name in self.supervisor.unready() if self.services[name][1] or name == "api"]
        for name in probed:
            if await self._answers(nc, name, self.services[name][1]):
                self.supervisor.mark_ready(name)
        return [name for name in probed if name in self.supervisor.unready()]

    async def _answers(self, nc: Client, name: str, subject: str) -> bool:
        if name == "api":
            import httpx

            try:
                async with httpx.AsyncClient(timeout=1.0) as http:
                    return (await http.get(f"{self.api_url}/healthz")).status_code == 200
            except httpx.HTTPError:  # not listening yet
                return False
        try:
            await nc.request(subject, b"{}", timeout=1.0)
            return True
        except Exception:  # no responders yet, or still starting
            return False

    def stop(self, grace_s: float = STOP_GRACE_S) -> None:
        if self.supervisor is not None:
            for name in self.supervisor.stop(grace_s):
                resumes = " (a job it ran resumes from its newest checkpoint next time)" if name == "worker" else ""
                self.say(f"the {name} service did not stop within {grace_s:.0f} s of SIGTERM; killed{resumes}")
        if self.server is not None:
            self.server.stop()
