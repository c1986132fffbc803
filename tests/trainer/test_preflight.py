"""The pre-flight estimate reads the model's shape from its files and sizes a job's memory."""

from __future__ import annotations

import pytest

from contracts.training_config import LoraSettings, TrainingConfig
from services.trainer.errors import InsufficientMemoryError, InvalidBaseModelError
from services.trainer.model_files import read_model_shape
from services.trainer.preflight import GIB, check_fits, estimate_memory

CONFIG = TrainingConfig(
    base_model="tiny", dataset_id="d", lora=LoraSettings(rank=64, alpha=128), batch_size=16, max_seq_length=64
)


def test_the_tiny_model_s_weights_and_adapter_size_are_counted_exactly_from_its_files(tiny_model_dir):
    shape = read_model_shape(tiny_model_dir)

    assert (shape.architecture, shape.parameters, shape.num_layers) == ("LlamaForCausalLM", 426_624, 2)
    # r=64 on q,k,v,o,gate,up,down of 2 layers: 64 x 2 x (256+192+192+256+384+384+384) (research/mlstack.md section 3)
    assert shape.lora_parameters(64, CONFIG.lora.target_modules) == 262_144


def test_the_estimate_matches_the_measured_peak_of_the_demo_job_within_a_factor_of_two(tiny_model_dir):
    estimate = estimate_memory(read_model_shape(tiny_model_dir), CONFIG, on_gpu=False)

    measured_peak_rss = 0.58 * GIB  # 0.55-0.62 GB over runs (research/mlstack.md section 3 and 6c)
    assert measured_peak_rss / 2 < estimate.total < measured_peak_rss * 2
    assert estimate.trainable_parameters == 262_144


def test_a_job_too_big_for_the_worker_is_refused_with_the_breakdown_and_what_to_change(tiny_model_dir):
    huge = CONFIG.model_copy(update={"batch_size": 4096, "max_seq_length": 4096})
    estimate = estimate_memory(read_model_shape(tiny_model_dir), huge, on_gpu=False)

    with pytest.raises(InsufficientMemoryError, match=r"needs about .* GiB \(weights .*activations.*lower batch_size"):
        check_fits(estimate, 16 * GIB, "a 16 GiB worker")


def test_a_folder_without_weights_or_tokenizer_is_not_a_base_model(tmp_path):
    (tmp_path / "config.json").write_text('{"architectures": ["LlamaForCausalLM"]}')

    with pytest.raises(InvalidBaseModelError) as refused:
        read_model_shape(tmp_path)

    assert [p.message.split(" (")[0] for p in refused.value.problems] == [
        "no tokenizer file",
        "no *.safetensors weights",
    ]
