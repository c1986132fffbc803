"""Registry settings (env prefix GREENTUNE_REGISTRY_), validated when built; bad values are reported together."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

GOLDEN_PROMPTS = Path(__file__).parent / "golden_prompts.jsonl"


class RegistrySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GREENTUNE_REGISTRY_", extra="ignore")

    verify: bool = Field(True, description="Verify every registered version in its serving runtime.")
    golden_prompts: Path = Field(GOLDEN_PROMPTS, description='JSONL of {"messages": [...]} prompts to verify with.')
    match_threshold: float = Field(0.9, gt=0, le=1, description="Fraction of greedy answers that must match.")
    max_new_tokens: int = Field(32, ge=1, le=4096, description="Token limit per golden answer.")
    verify_timeout_seconds: float = Field(1800.0, gt=0, description="Limit for one version's verification run.")
    runtime_kv_cache_mib: int = Field(
        512, ge=16, description="KV cache the verifying vLLM engine reserves, MiB (golden prompts are short)."
    )
    work_dir: Path | None = Field(None, description="Scratch space for downloads (default <data dir>/registry-work).")
    retention_days: float = Field(30.0, ge=0, description="Deleted versions keep their artifacts this long.")
    rpc_timeout_seconds: float = Field(10.0, gt=0, description="CLI wait for a reply from the registry.")
