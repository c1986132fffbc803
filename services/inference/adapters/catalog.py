"""A model catalogue in memory, filled by load requests that name an artifact location.

The registry's catalogue can replace it behind the same port (ports.ModelCatalog).
"""

from __future__ import annotations

from services.inference.domain import AdapterSource, ModelSource


class MemoryCatalog:
    def __init__(self) -> None:
        self._models: dict[str, ModelSource] = {}
        self._adapters: dict[str, AdapterSource] = {}

    async def model(self, name: str) -> ModelSource | None:
        return self._models.get(name)

    async def adapter(self, name: str) -> AdapterSource | None:
        return self._adapters.get(name)

    async def adapters_of(self, base_model: str) -> list[AdapterSource]:
        return [a for a in self._adapters.values() if a.base_model == base_model]

    async def add_model(self, source: ModelSource) -> None:
        self._models[source.name] = source

    async def add_adapter(self, source: AdapterSource) -> None:
        self._adapters[source.name] = source
