"""Keeps third-party noise off the user's terminal: while a block runs, this process's standard error
(file descriptor 2, so also that of the subprocesses it starts) is appended to a log file. What a
user should read is printed on standard output; errors are reported after the block has ended.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def stderr_to(log: Path) -> Iterator[Path]:
    log.parent.mkdir(parents=True, exist_ok=True)
    sys.stderr.flush()
    saved = os.dup(2)
    with log.open("ab") as file:
        os.dup2(file.fileno(), 2)
        try:
            yield log
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
