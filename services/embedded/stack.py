"""Start and stop the embedded stack: nats-server from the wheel, a local artifact folder, and the
trainer intake, one trainer worker, the inference host, the registry and the carbon service (and,
for `greentune up`, the HTTP API), each in its own process (as deployed; Unsloth and vLLM also
patch and spawn), logging to <data>/logs/.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from nats.aio.client import Client

from services.runtime.nats_server import NatsServer
from services.runtime.processes import die_with_parent

# name -> `greentune ...` arguments, and an RPC subject that answers once the service is up.
SERVICES: dict[str, tuple[list[str], str]] = {
    "trainer": (["jobs", "serve"], "rpc.trainer.get_job"),
    "worker": (["jobs", "worker"], ""),
    "inference": (["inference", "serve"], "rpc.inference.models"),
    "registry": (["registry", "serve"], "rpc.registry.catalogue"),
    "carbon": (["carbon", "serve"], "rpc.carbon.jobs"),
}
API_SERVICE = (["api", "serve"], "")  # ready when GET /healthz answers (see wait_ready)
READY_TIMEOUT = 180.0  # seconds; the first start compiles bytecode and probes hardware


class StackError(Exception):
    """A service of the embedded stack did not start."""


@dataclass
class EmbeddedStack:
    data_dir: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    with_api: bool = False
    server: NatsServer | None = None
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    _logs: list[IO[bytes]] = field(default_factory=list)

    @property
    def url(self) -> str:
        assert self.server is not None, "start() first"
        return self.server.url

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.server = NatsServer(store_dir=self.data_dir / "nats").start()
        env = {
            **os.environ,
            **self.extra_env,
            "GREENTUNE_NATS_URL": self.url,
            "GREENTUNE_DATA_DIR": str(self.data_dir.resolve()),
        }
        (self.data_dir / "logs").mkdir(exist_ok=True)
        for name, (args, _) in self.services.items():
            log = open(self.data_dir / "logs" / f"{name}.log", "ab")  # noqa: SIM115  # kept for the child's life
            self._logs.append(log)
            self.processes[name] = subprocess.Popen(
                [sys.executable, "-m", "services.cli.main", *args],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=die_with_parent,
            )

    @property
    def services(self) -> dict[str, tuple[list[str], str]]:
        return {**SERVICES, "api": API_SERVICE} if self.with_api else SERVICES

    @property
    def api_url(self) -> str:
        from services.api.config import ApiSettings

        settings = ApiSettings()  # as the api process reads it: from this environment
        host = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host
        return f"http://{host}:{settings.port}"

    async def wait_ready(self, nc: Client, timeout: float = READY_TIMEOUT) -> None:
        """Return once every service answers its RPC subject (the API its /healthz); StackError
        naming the one that died."""
        pending = {name: subject for name, (_, subject) in self.services.items() if subject}
        async with asyncio.timeout(timeout):
            if self.with_api:
                await self._wait_http(f"{self.api_url}/healthz")
            while pending:
                self._check_alive()
                for name, subject in list(pending.items()):
                    try:
                        await nc.request(subject, b"{}", timeout=1.0)
                        del pending[name]
                    except Exception:  # no responders yet, or still starting
                        await asyncio.sleep(0.3)

    async def _wait_http(self, url: str) -> None:
        import httpx

        async with httpx.AsyncClient(timeout=1.0) as http:
            while True:
                self._check_alive()
                try:
                    if (await http.get(url)).status_code == 200:
                        return
                except httpx.HTTPError:  # not listening yet
                    pass
                await asyncio.sleep(0.3)

    def _check_alive(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                log = self.data_dir / "logs" / f"{name}.log"
                raise StackError(f"the {name} service exited with {process.returncode}; see {log}")

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for log in self._logs:
            log.close()
        if self.server is not None:
            self.server.stop()
