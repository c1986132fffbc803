"""How a registry version is loaded into the inference service, and the `/v1` model id to chat with
it (pure, no I/O). Whether it may be served at all is the registry's answer (`rpc.registry.resolve`)."""

from __future__ import annotations

from dataclasses import dataclass

from services.registry.replies import ServableVersion


@dataclass(frozen=True)
class ServingPlan:
    model: str
    source: dict[str, str]  # {uri, sha256}
    adapter: str | None = None
    adapter_source: dict[str, str] | None = None

    @property
    def chat_model_id(self) -> str:
        return f"{self.model}:{self.adapter}" if self.adapter else self.model


class NotServableError(Exception):
    """The version has no artifact vLLM can load (HTTP 409)."""


def serving_plan(version: ServableVersion, base: tuple[str, str] | None) -> ServingPlan:
    """`version` as the registry resolves it (name, version, base_model, artifacts). A LoRA version is
    served as an adapter on its base model (`base`: its uri and sha256, if registered), so versions of
    one base share an engine; otherwise its merged 16-bit weights are served as a model of their own."""
    name, number, base_model = version.name, version.version, version.base_model
    kinds = {artifact.kind: artifact for artifact in version.artifacts}
    location = {kind: {"uri": a.uri, "sha256": a.sha256} for kind, a in kinds.items()}
    if "lora" in kinds and base is not None:
        source = {"uri": base[0], "sha256": base[1]}
        return ServingPlan(base_model, source, f"{name}-v{number}", location["lora"])
    if "merged_16bit" in kinds:
        return ServingPlan(f"{name}-v{number}", location["merged_16bit"])
    raise NotServableError(
        f"{name} version {number} has no artifact vLLM can serve here: it needs a merged_16bit export, "
        f"or a lora export with its base model {base_model!r} registered ({', '.join(kinds)} found)"
    )
