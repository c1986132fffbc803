"""Base classes for events and for the small value objects they carry.

Every event is a frozen pydantic model with `type` and `version`; every field is described
because the descriptions end up in the generated JSON Schemas.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field


class ValueObject(BaseModel):
    """An immutable part of an event (a config, a metric block, an artifact reference)."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class DomainEvent(ValueObject):
    """A fact that happened. Subclasses set `type` and `version` as Literal fields.

    `aggregate_type` names the kind of thing the event is about (`job`, `dataset`, `model`...);
    it becomes the third token of the event's subject.
    """

    aggregate_type: ClassVar[str]

    @classmethod
    def type_name(cls) -> str:
        return str(cls.model_fields["type"].default)

    @classmethod
    def schema_version(cls) -> int:
        return int(cls.model_fields["version"].default)


Role = Literal["viewer", "member", "admin"]
ROLES: tuple[Role, ...] = ("viewer", "member", "admin")  # each may do what the ones before it may


class Actor(ValueObject):
    """Who caused an event: the audit history answers who did what."""

    kind: Literal["api_key", "cli", "system"] = Field(
        description="`api_key`: a REST/OpenAI client identified by its key id; `cli`: the greentune CLI; "
        "`system`: a service acting on its own (a worker, a scheduler)."
    )
    id: str = Field(
        min_length=1,
        max_length=200,
        description="The API key id, the CLI user's name, or the name of the system component.",
    )
    tenant: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9_-]{1,64}$",
        description="An API key's tenant: what it creates is the tenant's, and it sees only the tenant's. "
        "None for the CLI and system components (operators), and for anonymous local use.",
    )
    role: Role | None = Field(
        None,
        description="An API key's role: `viewer` reads, `member` also creates and runs, `admin` does "
        "everything to every tenant's resources and manages keys. None for operators (they may do everything).",
    )
