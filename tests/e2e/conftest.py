"""The stack of the end-to-end tests: one `greentune up` (a real nats-server under the stack's
identities, every service, the HTTP API) shared by the tests of this folder, with an admin API key
made by `greentune keys create` as an operator would."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil
import pytest

from services.runtime.jetstream import NatsAccess
from tests.api.conftest import free_port

REPO = Path(__file__).resolve().parents[2]
UP_READY_S = 240.0  # seconds: six processes importing on 2 cores


@dataclass
class Running:
    """A `greentune` subprocess whose stdout and stderr are collected as they come."""

    process: subprocess.Popen[str]
    out: list[str] = field(default_factory=list)
    err: list[str] = field(default_factory=list)

    @classmethod
    def start(cls, args: list[str], env: dict[str, str]) -> Running:
        process = subprocess.Popen(
            [sys.executable, "-m", "services.cli.main", *args],
            cwd=REPO,
            env={**os.environ, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        running = cls(process)
        for stream, lines in ((process.stdout, running.out), (process.stderr, running.err)):
            threading.Thread(target=lambda s=stream, ls=lines: ls.extend(iter(s.readline, "")), daemon=True).start()
        return running

    def text(self) -> str:
        return "".join(self.out) + "".join(self.err)

    def wait_for(self, pattern: str, timeout: float) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if found := re.search(pattern, self.text()):
                return found
            assert self.process.poll() is None, f"exited with {self.process.returncode}:\n{self.text()[-4000:]}"
            time.sleep(0.2)
        raise AssertionError(f"no {pattern!r} within {timeout} s:\n{self.text()[-4000:]}")

    def child(self, *args: str) -> psutil.Process:
        """The running child started as `greentune <args>`."""
        for proc in psutil.Process(self.process.pid).children():
            if proc.cmdline()[-len(args) :] == list(args):
                return proc
        raise AssertionError(f"no child `{' '.join(args)}` of the stack")


@dataclass
class Up:
    running: Running
    nats_url: str
    api_url: str
    access: NatsAccess  # the stack's identities: an anonymous client cannot connect
    env: dict[str, str]  # what a CLI on the host needs to reach the stack
    admin_secret: str = ""

    def cli(self, *args: str) -> str:
        """`greentune <args>` against the stack, as an operator on its host; answers its stdout."""
        done = subprocess.run(
            [sys.executable, "-m", "services.cli.main", *args],
            cwd=REPO, env={**os.environ, **self.env}, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    def create_key(self, role: str, name: str, tenant: str | None = None) -> dict[str, str]:
        """A new key's id and secret (`greentune keys create`)."""
        created: dict[str, str] = json.loads(
            self.cli("keys", "create", "--role", role, "--name", name, *(["--tenant", tenant] if tenant else []))
        )
        return created

    @property
    def admin(self) -> dict[str, str]:
        """Headers with the admin key made when the stack came up."""
        return {"Authorization": f"Bearer {self.admin_secret}"}


@pytest.fixture(scope="package")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Up]:
    port = free_port()
    running = Running.start(["up", "--data-dir", str(tmp_path_factory.mktemp("up"))], {"GREENTUNE_API_PORT": str(port)})
    try:
        ready = running.wait_for(r"GREENTUNE_NATS_URL=(\S+); GREENTUNE_NATS_CREDENTIALS=(\S+);", UP_READY_S)
        access = NatsAccess(credentials=Path(ready.group(2)))
        env = {"GREENTUNE_NATS_URL": ready.group(1), "GREENTUNE_NATS_CREDENTIALS": ready.group(2)}
        stack = Up(running, ready.group(1), f"http://127.0.0.1:{port}", access, env)
        stack.admin_secret = stack.create_key("admin", "ops")["secret"]
        deadline = time.monotonic() + 10  # the API knows the key once its event has reached it
        while httpx.get(f"{stack.api_url}/api/v1/keys", headers=stack.admin, timeout=10).status_code != 200:
            assert time.monotonic() < deadline, "the API never accepted the admin key"
            time.sleep(0.05)
        yield stack
    finally:
        if running.process.poll() is None:
            running.process.kill()
            running.process.wait()
