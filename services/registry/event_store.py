"""The registry's write side: Model aggregates in an eventsourcing store, published by the outbox relay."""

from __future__ import annotations

from services.registry.domain import PRODUCER, Model, UnknownModelError, model_id_for
from services.runtime.event_store import AggregateNotFoundError, ServiceApplication


class RegistryEventStore(ServiceApplication):
    producer = PRODUCER

    def find(self, name: str) -> Model | None:
        try:
            return self.load(model_id_for(name), Model)
        except AggregateNotFoundError:
            return None

    def get(self, name: str) -> Model:
        model = self.find(name)
        if model is None:
            raise UnknownModelError(f"no model named {name!r} is registered")
        return model
