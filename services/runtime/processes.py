"""Child processes that do not outlive their parent (the embedded stack, local servers, tests)."""

from __future__ import annotations

import signal
import sys


def die_with_parent() -> None:
    """`preexec_fn` for subprocess.Popen: the child gets SIGTERM when the process that started it
    dies (Linux PR_SET_PDEATHSIG), so a killed stack or test run leaves no orphan behind."""
    if sys.platform == "linux":
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG
