"""While the trainer imports Unsloth, vLLM cannot be found; a process that already used vLLM gets
the very same modules back afterwards (tests and benchmarks train and serve in one process)."""

from __future__ import annotations

import importlib.util
import sys

import pytest

from services.trainer.adapters.unsloth_import import vllm_hidden


def vllm_modules() -> dict[str, object]:
    return {name: module for name, module in sys.modules.items() if name == "vllm" or name.startswith("vllm.")}


def test_vllm_is_hidden_inside_the_block_and_its_loaded_modules_are_back_after_it() -> None:
    import vllm.sampling_params  # a process that serves with vLLM

    held = vllm_modules()
    with vllm_hidden():
        assert importlib.util.find_spec("vllm") is None  # what Unsloth's probe asks first
        with pytest.raises(ImportError):
            importlib.import_module("vllm")
        assert list(vllm_modules()) == ["vllm"]  # only the marker that blocks the import
    assert vllm_modules() == held  # the same module objects, none added
    assert sys.modules["vllm.sampling_params"] is vllm.sampling_params


def test_the_modules_are_back_when_the_import_inside_fails() -> None:
    import vllm

    with pytest.raises(RuntimeError), vllm_hidden():
        raise RuntimeError("Unsloth's import failed")
    assert sys.modules["vllm"] is vllm
    assert importlib.util.find_spec("vllm") is not None
