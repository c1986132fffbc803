"""API keys for the gateway tests: an ApiKeyCreated published as the registry would record it (the
gateway tests run without a registry of their own; tests/e2e/test_api_tenancy.py issues keys
through the real one)."""

from __future__ import annotations

from nats.aio.client import Client

from contracts import Actor, Envelope
from contracts.base import Role
from contracts.events.keys import ApiKeyCreated
from services.registry.keys import secret_sha256
from services.runtime.publisher import EventPublisher


async def publish_key(nc: Client, secret: str, name: str, role: Role = "admin", tenant: str | None = None) -> str:
    """Publish the key `secret` with id `name` (what requests with it are recorded under); answers its id."""
    key_id = name
    created = ApiKeyCreated(
        name=name, role=role, tenant=tenant or name, secret_sha256=secret_sha256(secret), hint=secret[:8]
    )
    envelope = Envelope.new(
        created, producer="registry", aggregate_id=key_id, actor=Actor(kind="cli", id="tests"), aggregate_version=1
    )
    await EventPublisher(nc).publish(envelope)
    return key_id
