"""API keys as events: created (only the hash of the secret is recorded) and revoked. Every API
process follows them, so a revocation takes effect everywhere as soon as it is on the stream."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from contracts.base import DomainEvent, Role


class _ApiKeyEvent(DomainEvent):
    aggregate_type: ClassVar[str] = "api_key"


class ApiKeyCreated(_ApiKeyEvent):
    """An API key was issued; its secret was shown once to whoever asked and is kept nowhere."""

    type: Literal["ApiKeyCreated"] = Field("ApiKeyCreated", description="Event type.")
    version: Literal[1] = Field(1, description="Schema version of this event type.")
    key_id: str = Field(
        pattern=r"^[A-Za-z0-9_-]{1,64}$",
        description="What requests made with the key are recorded under (their actor id).",
    )
    name: str = Field(min_length=1, max_length=200, description="Human name of the key (who or what uses it).")
    role: Role = Field(description="viewer (reads), member (creates and runs its own), admin (everything).")
    tenant: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="Whose resources the key sees and creates.")
    secret_sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the secret, hex (never the secret).")
    hint: str = Field(max_length=16, description="The secret's first characters, to tell keys apart in lists.")


class ApiKeyRevoked(_ApiKeyEvent):
    """The key no longer authenticates anyone."""

    type: Literal["ApiKeyRevoked"] = Field("ApiKeyRevoked", description="Event type.")
    version: Literal[1] = Field(1, description="Schema version of this event type.")
    reason: str | None = Field(None, max_length=1000, description="Why, for the audit history.")
