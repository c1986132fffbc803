"""Who may see and do what (pure, no I/O), applied by each service to the data it owns.

An API key acts for its tenant with its role: a viewer reads the tenant's datasets, jobs and model
versions; a member also creates and runs them; an admin does everything to every tenant's, and
manages keys. Operators (the CLI and system components, on their own NATS identities) may do
everything. A resource records its owner (the tenant of the key that created it; None when an
operator did); another tenant's resource is answered as if it did not exist.
"""

from __future__ import annotations

from contracts import Actor
from contracts.base import ROLES, Role
from services.runtime.problems import ServiceError


class ForbiddenError(ServiceError):
    """The caller's role does not allow this (HTTP 403)."""

    status = 403
    code = "forbidden"


def sees_all(actor: Actor) -> bool:
    """Operators and admin keys see every tenant's resources."""
    return actor.kind != "api_key" or actor.role == "admin"


def owner_of(actor: Actor) -> str | None:
    """The owner of what `actor` creates: its tenant (None for an operator)."""
    return actor.tenant if actor.kind == "api_key" else None


def sees(actor: Actor, owner: str | None) -> bool:
    """Whether `actor` may see a resource owned by `owner`."""
    return sees_all(actor) or (owner is not None and owner == actor.tenant)


def require(actor: Actor, role: Role, action: str) -> None:
    """Refuse `action` unless `actor` has at least `role` (operators always do)."""
    if actor.kind != "api_key":
        return
    held = actor.role or "viewer"
    if ROLES.index(held) < ROLES.index(role):
        raise ForbiddenError(f"{action} needs an API key with role {role} or admin; key {actor.id} is a {held}")
