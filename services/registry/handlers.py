"""The registry's use cases, one short method each: load the Model, decide, save.

Reactions (ModelExported, a job's final EmissionsMeasured, our own ModelRegistered) come from the
event log and are idempotent; commands (alias, deprecate, delete, verify, purge) come over RPC or
the CLI with the actor who asked. Blocking: run from worker threads.
"""

from __future__ import annotations

import contextlib
import json
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TypeVar

from tenacity import Retrying, retry_if_exception_type, stop_after_attempt

from contracts import Actor, Envelope
from contracts.events.carbon import EmissionsMeasured
from contracts.events.keys import ApiKeyCreated
from contracts.events.models import ModelExported, ModelRegistered, ModelVerificationCompleted, TrainingFootprint
from services.registry.domain import (
    PRODUCER,
    Model,
    VerificationDisabledError,
    VersionDeletedError,
    model_id_for,
    model_name_for,
)
from services.registry.event_store import RegistryEventStore
from services.registry.keys import ApiKey, KeyIdTakenError, UnknownKeyError, key_aggregate_id
from services.registry.lineage import footprint_of, lineage_of, registration
from services.registry.model_card import render_model_card
from services.registry.ports import EventHistory
from services.registry.replies import ServableVersion
from services.registry.verification import verified
from services.registry.verifier import Verifier
from services.runtime import access
from services.runtime.aggregate import Causation
from services.runtime.artifacts import ArtifactStore, layout
from services.runtime.event_store import AggregateNotFoundError, StaleAggregateError

T = TypeVar("T")
SYSTEM = Causation.system(PRODUCER)


def _retrying(decide: Callable[[], T]) -> T:
    """Run load-decide-save again if another writer saved the Model in between."""
    for attempt in Retrying(
        retry=retry_if_exception_type(StaleAggregateError), stop=stop_after_attempt(5), reraise=True
    ):
        with attempt:
            return decide()
    raise AssertionError("unreachable")  # pragma: no cover


@dataclass
class Registry:
    store: RegistryEventStore
    artifacts: ArtifactStore
    history: EventHistory
    verifier: Verifier | None  # None: verification is switched off
    match_threshold: float

    def on_event(self, envelope: Envelope) -> None:
        """Reaction to other services' events."""
        match envelope.event:
            case ModelExported():
                _retrying(lambda: self.register_export(envelope))
            case EmissionsMeasured(final=True):
                _retrying(lambda: self.update_footprint(envelope.aggregate_id, SYSTEM.following(envelope)))

    def on_registered(self, envelope: Envelope) -> None:
        """Reaction to our own ModelRegistered: verify the new version."""
        if not isinstance(envelope.event, ModelRegistered) or self.verifier is None:
            return
        with contextlib.suppress(VersionDeletedError):  # deleted before its turn: nothing will serve it
            self.verify(envelope.event.name, envelope.event.model_version, SYSTEM.following(envelope))

    def register_export(self, envelope: Envelope) -> int:
        export, job_id = envelope.event, envelope.aggregate_id
        assert isinstance(export, ModelExported)
        name = model_name_for(export.base_model)
        model = self.store.find(name)
        if model is not None and (known := model.version_of_job(job_id)) is not None:
            return known  # redelivered: registered already
        lineage = lineage_of(
            self.history.aggregate_events("job", job_id),
            self.history.aggregate_events("dataset", export.dataset_id),
            self.history.base_models(),
            export.base_model,
        )
        number = model.latest_version + 1 if model is not None else 1
        card = self.artifacts.uri(layout.model_card(job_id))
        registered = registration(name, number, job_id, export, lineage, card)
        self._publish_card(registered, registered.footprint, None)
        cause = SYSTEM.following(envelope)
        if model is None:
            model = Model.start(model_id_for(name), registered, cause)
        else:
            model.register(registered, cause)
        self.store.save_aggregates(model)
        return number

    def update_footprint(self, job_id: str, cause: Causation) -> None:
        history = self.history.aggregate_events("job", job_id)
        exports = [e.event for e in history if isinstance(e.event, ModelExported)]
        footprint = footprint_of(history)
        model = self.store.find(model_name_for(exports[-1].base_model)) if exports else None
        number = model.version_of_job(job_id) if model is not None else None
        if model is None or number is None or footprint is None:
            return  # not registered yet: the registration will carry this footprint
        if model.record_footprint(number, footprint, cause):
            self.store.save_aggregates(model)
            version = model.get_version(number)
            self._publish_card(version.registered, footprint, version.verification)

    def verify(self, name: str, number: int, cause: Causation, force: bool = False) -> ModelVerificationCompleted:
        if self.verifier is None:
            raise VerificationDisabledError("verification is switched off here: set GREENTUNE_REGISTRY_VERIFY=1")
        version = self.store.get(name).resolve(str(number), partial(access.sees, cause.actor))
        if version.status == "deleted":
            raise VersionDeletedError(f"{name} v{number} was deleted; there is nothing to verify")
        if version.verification is not None and not force:
            return version.verification
        outcome = self.verifier.run(version.registered)
        report_key = layout.verification_report(version.registered.job_id)
        self._put_text(report_key, json.dumps(outcome.transcript, indent=1))
        report = ModelVerificationCompleted(
            model_version=number,
            verified=verified(outcome.checks),
            match_threshold=self.match_threshold,
            checks=tuple(outcome.checks),
            report_uri=self.artifacts.uri(report_key),
        )
        return _retrying(lambda: self._record_verification(name, report, cause))

    def _record_verification(
        self, name: str, report: ModelVerificationCompleted, cause: Causation
    ) -> ModelVerificationCompleted:
        model = self.store.get(name)
        model.record_verification(report, cause)
        self.store.save_aggregates(model)
        version = model.get_version(report.model_version)
        self._publish_card(version.registered, version.footprint, report)
        return report

    def servable(self, name: str, ref: str, actor: Actor) -> ServableVersion:
        """What an inference engine needs to serve `name@ref` (refused when deleted or failed verification)."""
        version = self.store.get(name).servable(ref, partial(access.sees, actor))
        registered = version.registered
        return ServableVersion(
            name=name,
            version=version.number,
            status=version.status,
            verified=version.verified,
            base_model=registered.base_model,
            artifacts=list(registered.artifacts),
            model_card_uri=registered.model_card_uri,
            owner=version.owner,
        )

    def set_alias(self, name: str, alias: str, number: int, cause: Causation) -> bool:
        return self._decide(name, number, cause, lambda model: model.set_alias(alias, number, cause))

    def deprecate(self, name: str, number: int, reason: str, cause: Causation) -> bool:
        return self._decide(name, number, cause, lambda model: model.deprecate(number, reason, cause))

    def delete(self, name: str, number: int, reason: str, cause: Causation) -> bool:
        return self._decide(name, number, cause, lambda model: model.delete(number, reason, cause))

    def create_key(self, created: ApiKeyCreated, cause: Causation) -> str:
        """Record a new API key (only its secret's hash); answers its id."""
        access.require(cause.actor, "admin", "creating an API key")
        try:
            self.store.load(key_aggregate_id(created.key_id), ApiKey)
            raise KeyIdTakenError(f"an API key with id {created.key_id!r} exists: choose another id")
        except AggregateNotFoundError:
            pass
        self.store.save_aggregates(ApiKey.start(key_aggregate_id(created.key_id), created, cause))
        return created.key_id

    def revoke_key(self, key_id: str, reason: str | None, cause: Causation) -> bool:
        access.require(cause.actor, "admin", "revoking an API key")
        try:
            key = self.store.load(key_aggregate_id(key_id), ApiKey)
        except AggregateNotFoundError:
            raise UnknownKeyError(f"no API key {key_id!r}: `greentune keys list` shows them") from None
        changed = key.revoke(reason, cause)
        if changed:
            self.store.save_aggregates(key)
        return changed

    def purge(self, expired: Sequence[tuple[str, int]], rule: str, cause: Causation) -> int:
        """Remove the artifacts of deleted versions the retention rule selected; returns versions purged."""
        purged = 0
        for name, number in expired:
            purged += _retrying(partial(self._purge_one, name, number, rule, cause))
        return purged

    def _purge_one(self, name: str, number: int, rule: str, cause: Causation) -> bool:
        model = self.store.get(name)
        version = model.purgeable(number)
        if version is None:
            return False
        job = version.registered.job_id
        keys = [self.artifacts.key_of(a.uri) for a in version.registered.artifacts]
        keys += [layout.model_card(job), layout.verification_report(job)]
        removed = sum(self.artifacts.delete_prefix(key) for key in keys)
        model.mark_purged(number, removed, rule, cause)
        self.store.save_aggregates(model)
        return True

    def _decide(self, name: str, number: int, cause: Causation, decision: Callable[[Model], bool]) -> bool:
        """Change version `number` of `name`, if the caller may (a member of its owner, or an operator)."""
        access.require(cause.actor, "member", f"changing {name} v{number}")

        def attempt() -> bool:
            model = self.store.get(name)
            model.resolve(str(number), partial(access.sees, cause.actor))
            changed = decision(model)
            if changed:
                self.store.save_aggregates(model)
            return changed

        return _retrying(attempt)

    def _publish_card(
        self,
        registered: ModelRegistered,
        footprint: TrainingFootprint | None,
        report: ModelVerificationCompleted | None,
    ) -> None:
        card = render_model_card(registered, footprint, report)
        self._put_text(layout.model_card(registered.job_id), card)

    def _put_text(self, key: str, text: str) -> None:
        with tempfile.NamedTemporaryFile("w", suffix=Path(key).suffix, delete=False) as handle:
            handle.write(text)
        try:
            self.artifacts.put_file(key, Path(handle.name))
        finally:
            Path(handle.name).unlink(missing_ok=True)
