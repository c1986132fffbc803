"""API keys for the gateway tests, issued as an operator would: through the registry when one
serves this NATS (a second writer under `events.registry.>` would be refused by its relay), else
published as the registry records them (no registry on that server: nothing else writes there).
The key's id is its name, so what a test's requests cause is recorded under that name."""

from __future__ import annotations

from nats.aio.client import Client

from contracts import Actor, Envelope
from contracts.base import Role
from contracts.events.keys import ApiKeyCreated
from services.registry.client import RegistryClient, RegistryRefusedError
from services.registry.keys import key_aggregate_id, secret_sha256
from services.runtime.errors import BusUnavailableError
from services.runtime.publisher import EventPublisher

OPERATOR = Actor(kind="cli", id="tests")


async def publish_key(nc: Client, secret: str, name: str, role: Role = "admin", tenant: str | None = None) -> str:
    """The key `secret` with id `name`, issued (once: again with the same id changes nothing); answers its id."""
    created = ApiKeyCreated(
        key_id=name, name=name, role=role, tenant=tenant or name, secret_sha256=secret_sha256(secret), hint=secret[:8]
    )
    registry = RegistryClient(nc, OPERATOR)
    try:
        await registry.ask("create_key", timeout=5.0, key=created.model_dump(mode="json"))
        return name
    except BusUnavailableError:  # no registry here
        pass
    except RegistryRefusedError as exc:
        if exc.kind != "KeyIdTakenError":
            raise
        return name
    envelope = Envelope.new(
        created, producer="registry", aggregate_id=str(key_aggregate_id(name)), actor=OPERATOR, aggregate_version=1
    )
    await EventPublisher(nc).publish(envelope)
    return name
