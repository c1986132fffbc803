"""Where the tests' PostgreSQL comes from: $POSTGRES_DSN, else testcontainers, else a throwaway
cluster made with the machine's initdb/pg_ctl (Debian's postgresql package), run as the
`postgres` user when the tests run as root (initdb refuses root)."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from services.runtime.nats_server import free_port
from tests.harness.docker import docker_available


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def _as_postgres_user(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


@contextmanager
def postgres_backend() -> Iterator[str | None]:
    """Yields a DSN, or None when no PostgreSQL can be had here (the caller skips, saying why)."""
    if dsn := os.environ.get("POSTGRES_DSN"):
        yield dsn
        return
    if docker_available():
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("postgres:16-alpine", driver=None) as container:
            yield container.get_connection_url()
        return
    pg_bin = _pg_bin()
    if pg_bin is None:
        yield None
        return
    root = Path(tempfile.mkdtemp(prefix="greentune-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
    port = free_port()
    data = root / "data"
    run = _as_postgres_user
    subprocess.run(
        run([str(pg_bin / "initdb"), "-D", str(data), "-A", "trust", "-U", "greentune"]),
        check=True,
        capture_output=True,
    )
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=on"
    subprocess.run(
        run([str(pg_bin / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(root / "log"), "-w", "start"]),
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql://greentune@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(run([str(pg_bin / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]), capture_output=True)
        shutil.rmtree(root, ignore_errors=True)
