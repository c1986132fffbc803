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
import uuid

from contracts import DomainEvent
from contracts.base import Role
from contracts.events.keys import ApiKeyCreated, ApiKeyRevoked
from services.registry.domain import PRODUCER, RegistryError
from services.runtime.aggregate import Causation, EventSourcedAggregate

SECRET_PREFIX = "sk-gt-"
_NAMESPACE = uuid.UUID("5b0f8a3e-8f7e-4c51-9c3e-2a6f1d7b4e90")  # greentune API key ids (uuid5)


class UnknownKeyError(RegistryError):
    """No API key has that id."""

    status = 404


class KeyIdTakenError(RegistryError):
    """Another API key has that id already."""

    status = 409


def key_aggregate_id(key_id: str) -> uuid.UUID:
    return uuid.uuid5(_NAMESPACE, f"api_key:{key_id}")


def secret_sha256(secret: str) -> str:
    return hashlib.sha256(secret.strip().encode()).hexdigest()


def default_tenant(name: str) -> str:
    """A key's own tenant when none is given: its name, slugged."""
    return re.sub(r"[^A-Za-z0-9_-]+", "-", name)[:64].strip("-") or "tenant"


def issue(name: str, role: Role, tenant: str | None = None, key_id: str | None = None) -> tuple[str, ApiKeyCreated]:
    """A new secret (to show once) and the event that records the key (its tenant: `tenant` or its
    name; its id: `key_id` or a random one)."""
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    created = ApiKeyCreated(
        key_id=key_id or f"key-{secrets.token_hex(6)}",
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
