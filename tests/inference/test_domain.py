"""The inference service's pure parts: request validation, context checks, residency, energy split."""

from __future__ import annotations

import asyncio
import json

import pytest
from pydantic import ValidationError

from services.inference import protocol as wire
from services.inference.adapters.rpc import RPC
from services.inference.adapters.vllm_engine import VllmEngine, engine_args, max_lora_rank_for, oom_kills
from services.inference.config import InferenceSettings
from services.inference.domain import (
    AdapterHandle,
    InvalidRequestError,
    InvalidSamplingError,
    PromptTooLongError,
    SamplingSettings,
    UnknownAdapterError,
    UnknownModelError,
    check_context,
    error_for_code,
)
from services.inference.energy_split import EnergyLedger
from services.inference.residency import CapacityError, Resident, eviction_candidate, idle_expired


def test_invalid_sampling_names_every_bad_field_and_what_was_sent():
    with pytest.raises(InvalidSamplingError) as caught:
        SamplingSettings.parse({"temperature": -0.5, "top_k": -3, "presence_penalty": 9})
    message = str(caught.value)
    assert "sampling.temperature: Input should be greater than or equal to 0 (got -0.5)" in message
    assert "sampling.top_k" in message and "sampling.presence_penalty" in message


def test_min_tokens_above_max_tokens_is_refused():
    with pytest.raises(InvalidSamplingError, match=r"min_tokens \(8\) must not exceed max_tokens \(4\)"):
        SamplingSettings.parse({"min_tokens": 8, "max_tokens": 4})


def test_unknown_sampling_fields_are_refused_rather_than_ignored():
    with pytest.raises(InvalidSamplingError, match=r"sampling\.temprature: Extra inputs are not permitted"):
        SamplingSettings.parse({"temprature": 0.2})


def _refusal(method: str, body: bytes) -> InvalidRequestError:
    """What the service answers a body that does not fit `rpc.inference.<method>`'s request model."""
    route = RPC.route(method)
    with pytest.raises(ValidationError) as caught:
        route.request.model_validate_json(body)
    return wire.invalid(route, caught.value.errors())


def test_a_request_body_error_says_which_field_and_the_sampling_ones_get_their_own_code():
    sampling = _refusal("generate", b'{"model": "m", "prompt": "hi", "sampling": {"max_tokens": 0}}')
    missing = _refusal("generate", b'{"prompt": "hi"}')

    assert type(sampling) is InvalidSamplingError and "sampling.max_tokens" in str(sampling)
    assert type(missing) is InvalidRequestError and "model: Field required" in str(missing)
    assert (missing.code, missing.status) == ("invalid_request", 400)
    assert "Invalid JSON" in str(_refusal("batch", b"{not json"))


def test_the_context_check_says_what_to_change():
    check_context("m", 200, 56, 256)
    with pytest.raises(PromptTooLongError, match="lower max_tokens to at most 56"):
        check_context("m", 200, 57, 256)
    with pytest.raises(PromptTooLongError, match="the prompt has 256 tokens"):
        check_context("m", 256, None, 256)


def test_error_codes_travel_back_to_the_same_error_class():
    assert type(error_for_code("unknown_model", "x")) is UnknownModelError
    assert type(error_for_code("engine_out_of_memory", "x")).__name__ == "EngineOutOfMemoryError"
    assert error_for_code("something-new", "x") is None  # the client raises the problem as RpcFailed


def test_the_least_recently_used_idle_model_makes_room():
    residents = [Resident("a", 10.0, 0), Resident("b", 5.0, 1), Resident("c", 7.0, 0)]
    assert eviction_candidate(residents, max_loaded=4) is None
    assert eviction_candidate(residents, max_loaded=3) == "c"  # b is older but serving
    with pytest.raises(CapacityError, match="all 2 loaded models are serving"):
        eviction_candidate([Resident("a", 1.0, 2), Resident("b", 2.0, 1)], max_loaded=2)


def test_only_models_idle_long_enough_and_serving_nothing_are_unloaded():
    residents = [Resident("old", 0.0, 0), Resident("busy", 0.0, 3), Resident("fresh", 95.0, 0)]
    assert idle_expired(residents, now=100.0, idle_seconds=10.0) == ["old"]


def test_energy_is_split_by_tokens_processed_in_each_interval_and_none_is_lost():
    ledger = EnergyLedger()
    ledger.close_interval(0.5)  # nothing ran: idle
    ledger.open("a")
    ledger.open("b")
    ledger.add_tokens("a", 30)
    ledger.add_tokens("b", 10)
    ledger.close_interval(4.0)  # a: 3/4, b: 1/4
    ledger.add_tokens("b", 20)
    ledger.close_interval(1.0)  # only b processed tokens
    assert ledger.finish("a") == pytest.approx(3.0)
    assert ledger.finish("b") == pytest.approx(2.0)
    assert ledger.idle_kwh == pytest.approx(0.5)
    assert ledger.open_requests == 0


def test_energy_of_open_requests_that_processed_no_token_yet_goes_to_the_next_split_not_to_idle():
    ledger = EnergyLedger()
    ledger.open("a")
    ledger.close_interval(2.0)  # "a" is queued: no token yet
    ledger.add_tokens("a", 5)
    ledger.close_interval(1.0)
    assert ledger.finish("a") == pytest.approx(3.0)
    assert ledger.idle_kwh == 0.0


def test_oom_kills_are_read_from_cgroup_v2_or_v1_counters(tmp_path):
    assert oom_kills(tmp_path) == 0
    (tmp_path / "memory").mkdir()
    (tmp_path / "memory" / "memory.oom_control").write_text("oom_kill_disable 0\nunder_oom 0\noom_kill 3\n")
    assert oom_kills(tmp_path) == 3
    (tmp_path / "memory.events").write_text("low 0\nhigh 0\nmax 4\noom 2\noom_kill 2\n")
    assert oom_kills(tmp_path) == 2


def test_the_device_setting_switches_between_the_cpu_and_gpu_engine_arguments(tmp_path):
    cpu = engine_args(InferenceSettings(device="cpu", dtype=None), tmp_path)
    assert (cpu["dtype"], cpu["enforce_eager"], cpu["kv_cache_memory_bytes"]) == ("float32", True, 64 * 2**20)
    assert "gpu_memory_utilization" not in cpu
    gpu = engine_args(InferenceSettings(device="cuda", dtype=None, max_loaded_models=2), tmp_path)
    assert (gpu["dtype"], gpu["enforce_eager"], gpu["gpu_memory_utilization"]) == ("auto", False, 0.425)
    assert "kv_cache_memory_bytes" not in gpu
    assert gpu["enable_lora"] and gpu["max_lora_rank"] == 16, "no adapter known yet: the trainer's default rank"


def test_an_engine_is_sized_to_its_adapters_ranks_not_to_the_largest_rank_vllm_takes(tmp_path):
    folders = []
    for rank in (8, 24):
        folder = tmp_path / f"adapter-r{rank}"
        folder.mkdir()
        (folder / "adapter_config.json").write_text(json.dumps({"r": rank, "peft_type": "LORA"}))
        folders.append(folder)
    assert engine_args(InferenceSettings(), tmp_path, folders[:1])["max_lora_rank"] == 8
    assert engine_args(InferenceSettings(), tmp_path, folders)["max_lora_rank"] == 32, "the next rank vLLM takes"
    assert engine_args(InferenceSettings(max_lora_rank=128), tmp_path, folders)["max_lora_rank"] == 128, "an operator's"
    with pytest.raises(ValueError, match="above the 512"):
        max_lora_rank_for([1024])


def test_an_adapter_above_the_engines_rank_is_refused_saying_how_to_make_room(tmp_path):
    folder = tmp_path / "adapter-r64"
    folder.mkdir()
    (folder / "adapter_config.json").write_text(json.dumps({"r": 64, "peft_type": "LORA"}))

    class NoTokenizer:  # the refusal comes before vLLM is asked anything
        def get_tokenizer(self) -> None:
            return None

    engine = VllmEngine(NoTokenizer(), "vllm-cpu", 256, "tiny", max_lora_rank=16)
    with pytest.raises(UnknownAdapterError, match="rank 64, above the rank 16") as refused:
        asyncio.run(engine.add_adapter(AdapterHandle("facts", 1, folder)))
    assert "unload 'tiny'" in str(refused.value) and "GREENTUNE_INFERENCE_MAX_LORA_RANK" in str(refused.value)
