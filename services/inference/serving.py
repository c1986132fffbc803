"""Running requests on the engine host: prepare each prompt, generate, account, publish.

A request (one prompt, a stream, or a batch of prompts) is rendered with the model's own chat
template, checked against the context, generated, given its share of the metered energy and
recorded as exactly one InferenceCompleted event, whatever way it ended (done, aborted, failed).
A failed engine is unloaded, so the next request starts a fresh one.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Coroutine, Sequence
from typing import Any, Literal

from contracts.events.inference import InferenceCompleted
from services.inference.accounting import EnergyAccounts
from services.inference.domain import AdapterHandle, EngineFailedError, InferenceError, check_context
from services.inference.generation import Generation, OnDelta
from services.inference.host import EngineHost, LoadedModel
from services.inference.protocol import Completion, PromptInput, Target
from services.runtime.energy import EnergyMeter

Mode = Literal["generate", "stream", "batch"]


class RequestRunner:
    def __init__(self, host: EngineHost, meter: EnergyMeter | None = None, pue: float = 1.0) -> None:
        self.host = host
        self.accounts = EnergyAccounts(meter, pue)
        self._ids = itertools.count(1)

    async def generate(
        self,
        target: Target,
        prompt: PromptInput,
        received_at: float,
        mode: Mode = "generate",
        on_delta: OnDelta | None = None,
    ) -> Completion:
        request_id = target.request_id or self._new_id()
        loaded, adapter = await self._serving(target)
        generation = self._prepare(loaded, adapter, target, prompt, request_id, received_at)
        await self._run([generation], loaded, target, request_id, mode, received_at, on_delta)
        return generation.completion()

    async def batch(self, target: Target, prompts: Sequence[PromptInput], received_at: float) -> list[Completion]:
        request_id = target.request_id or self._new_id()
        loaded, adapter = await self._serving(target)
        generations = []
        for i, prompt in enumerate(prompts):
            try:
                generations.append(self._prepare(loaded, adapter, target, prompt, f"{request_id}-{i}", received_at))
            except InferenceError as exc:
                raise type(exc)(f"inputs[{i}]: {exc}") from None
        await self._run(generations, loaded, target, request_id, "batch", received_at, None)
        return [g.completion() for g in generations]

    def _new_id(self) -> str:
        return f"{self.host.settings.engine_id}-{next(self._ids)}"

    async def _serving(self, target: Target) -> tuple[LoadedModel, AdapterHandle | None]:
        loaded = await self.host.resident(target.model)
        return loaded, (await self.host.adapter(loaded, target.adapter) if target.adapter else None)

    def _prepare(
        self,
        loaded: LoadedModel,
        adapter: AdapterHandle | None,
        target: Target,
        prompt: PromptInput,
        request_id: str,
        received_at: float,
    ) -> Generation:
        engine = loaded.engine
        if prompt.messages is not None:
            text = engine.render_chat([m.model_dump() for m in prompt.messages])
            ids = engine.encode(text, add_special_tokens=False)  # the template already has its special tokens
        else:
            ids = engine.encode(prompt.prompt or "", add_special_tokens=True)
        check_context(target.model, len(ids), target.sampling.max_tokens, engine.max_model_len)
        return Generation(request_id, engine, adapter, ids, target.sampling, received_at, self.accounts)

    async def _run(
        self,
        generations: list[Generation],
        loaded: LoadedModel,
        target: Target,
        request_id: str,
        mode: Mode,
        received_at: float,
        on_delta: OnDelta | None,
    ) -> None:
        loaded.in_flight += 1
        failed = False
        try:
            await _all_or_none([g.run(on_delta) for g in generations])
        except EngineFailedError:
            failed = True
            await self.host.engine_failed(loaded)
            raise
        finally:
            loaded.in_flight -= 1
            loaded.last_used = time.monotonic()
            await self._record(generations, target, request_id, mode, received_at, failed)

    async def _record(
        self, generations: list[Generation], target: Target, request_id: str, mode: Mode, started: float, failed: bool
    ) -> None:
        await self.accounts.settle()
        shares = [self.accounts.finish(g.request_id) for g in generations]
        for generation, share in zip(generations, shares, strict=True):
            generation.energy_kwh = share  # answered with the completion, as recorded in the event
        firsts = [g.first_token_at for g in generations if g.first_token_at is not None]
        event = InferenceCompleted(
            request_id=request_id,
            model=target.model,
            adapter=target.adapter,
            mode=mode,
            prompt_tokens=sum(len(g.prompt_ids) for g in generations),
            completion_tokens=sum(len(g.token_ids) for g in generations),
            latency_ms=max(0.0, (time.monotonic() - started) * 1000.0),
            time_to_first_token_ms=(min(firsts) - started) * 1000.0 if firsts else None,
            finish_reason="error" if failed else _overall_reason({g.finish_reason for g in generations}),
            energy_kwh=None if not self.accounts.metered else sum(s or 0.0 for s in shares),
        )
        await self.host.emit(event, target.actor, target.correlation_id or request_id)


async def _all_or_none(runs: list[Coroutine[Any, Any, None]]) -> None:
    """Run them together; if one fails, the others are aborted before the error goes on."""
    tasks = [asyncio.ensure_future(run) for run in runs]
    try:
        await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


def _overall_reason(reasons: set[str]) -> Literal["stop", "length", "aborted"]:
    """One finish reason for a batch: aborted if any was, else length if any hit it, else stop."""
    if "aborted" in reasons:
        return "aborted"
    return "length" if "length" in reasons else "stop"
