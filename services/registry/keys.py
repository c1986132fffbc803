"""API keys: the ApiKey aggregate (created, revoked) and how a secret is made and hashed. Pure but
for the randomness of a new secret.

The secret is made where it is shown (the CLI, or the API's admin route) and only its SHA-256
travels and is recorded: a secret has 256 random bits, so a fast hash is as safe as a slow one and
lets every API process check a key with one dictionary lookup.
"""

from __future__ import annotations

import hashlib
import re
import secrets

from contracts import DomainEvent
from contracts.base import Role
from contracts.events.keys import ApiKeyCreated, ApiKeyRevoked
from services.registry.domain import PRODUCER, RegistryError
from services.runtime.aggregate import Causation, EventSourcedAggregate

SECRET_PREFIX = "sk-gt-"


class UnknownKeyError(RegistryError):
    """No API key has that id."""

    status = 404


def secret_sha256(secret: str) -> str:
    return hashlib.sha256(secret.strip().encode()).hexdigest()


def default_tenant(name: str) -> str:
    """A key's own tenant when none is given: its name, slugged."""
    return re.sub(r"[^A-Za-z0-9_-]+", "-", name)[:64].strip("-") or "tenant"


def issue(name: str, role: Role, tenant: str | None = None) -> tuple[str, ApiKeyCreated]:
    """A new secret (to show once) and the event that records the key (its tenant: `tenant` or its name)."""
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    created = ApiKeyCreated(
        name=name,
        role=role,
        tenant=tenant or default_tenant(name),
        secret_sha256=secret_sha256(secret),
        hint=secret[: len(SECRET_PREFIX) + 4],
    )
    return secret, created


class ApiKey(EventSourcedAggregate):
    producer = PRODUCER

    def when(self, event: DomainEvent) -> None:
        match event:
            case ApiKeyCreated() as created:
                self.created, self.revoked = created, False
            case ApiKeyRevoked():
                self.revoked = True

    def revoke(self, reason: str | None, causation: Causation) -> bool:
        """Revoke the key; False when it was revoked already (nothing recorded)."""
        if self.revoked:
            return False
        self.record(ApiKeyRevoked(reason=reason), causation)
        return True
