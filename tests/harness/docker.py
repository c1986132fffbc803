"""Whether a Docker engine answers (testcontainers is used only then)."""

from __future__ import annotations

import functools
import os


@functools.cache
def docker_available() -> bool:
    if os.environ.get("TESTS_NO_DOCKER"):
        return False
    try:
        import docker

        docker.from_env(timeout=2).ping()
        return True
    except Exception:  # no socket, no daemon, no permission: all mean "no Docker here"
        return False
