"""The Model aggregate (one per model name, its versions and aliases) and the registry's errors.

Pure: no I/O. Fine-tuned versions of one base model share a name (`<base>-ft`), so a second job
on the same base becomes version 2. Every decision here either records an event or raises a
RegistryError saying what to do; asking for what already holds records nothing (idempotent).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from contracts import DomainEvent
from contracts.events.models import (
    ModelAliasSet,
    ModelArtifactsPurged,
    ModelDeleted,
    ModelDeprecated,
    ModelFootprintRecorded,
    ModelRegistered,
    ModelVerificationCompleted,
    TrainingFootprint,
)
from services.runtime.aggregate import Causation, EventSourcedAggregate
from services.runtime.problems import ServiceError

PRODUCER = "registry"
_NAMESPACE = uuid.UUID("8f7e2a52-52a1-4bd4-9d3c-0c6f3f0b9e21")  # greentune registry ids (uuid5)
VersionStatus = Literal["active", "deprecated", "deleted"]


class RegistryError(ServiceError):
    """Base of the registry's errors."""


class UnknownModelError(RegistryError):
    """No model of that name is registered."""

    status = 404


class UnknownVersionError(RegistryError):
    """The model has no such version (or alias)."""

    status = 404


class VersionDeletedError(RegistryError):
    """The version was deleted; it cannot be aliased, verified or served."""

    status = 409


class VersionFailedVerificationError(RegistryError):
    """The version's exports failed verification; it must not be served."""

    status = 409


class VersionStillAliasedError(RegistryError):
    """An alias still points at the version; move the alias first."""

    status = 409


class VersionNotDeletedError(RegistryError):
    """Only deleted versions have their artifacts purged."""

    status = 409


class VerificationDisabledError(RegistryError):
    """Verification is switched off in this registry's settings."""

    status = 409


def model_name_for(base_model: str) -> str:
    """`<base>-ft`: the base's last path segment (a catalogue name, a folder or a URI), slugged."""
    tail = base_model.rstrip("/").rsplit("/", 1)[-1]
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", tail).strip("-.") or "model"
    return f"{slug[:90]}-ft"


def model_id_for(name: str) -> uuid.UUID:
    return uuid.uuid5(_NAMESPACE, f"model:{name}")


@dataclass
class Version:
    registered: ModelRegistered
    footprint: TrainingFootprint | None
    status: VersionStatus = "active"
    verification: ModelVerificationCompleted | None = None
    purged: bool = False
    aliases: set[str] = field(default_factory=set)

    @property
    def number(self) -> int:
        return self.registered.model_version

    @property
    def verified(self) -> bool | None:
        return None if self.verification is None else self.verification.verified

    @property
    def owner(self) -> str | None:
        return self.registered.owner


class Model(EventSourcedAggregate):
    producer = PRODUCER

    def when(self, event: DomainEvent) -> None:
        match event:
            case ModelRegistered() as registered:
                if registered.model_version == 1:
                    self.name, self.versions, self.aliases = registered.name, {}, {}
                self.versions[registered.model_version] = Version(registered, registered.footprint)
            case ModelAliasSet(alias=alias, model_version=number, previous_version=previous):
                if previous is not None:
                    self.versions[previous].aliases.discard(alias)
                self.aliases[alias] = number
                self.versions[number].aliases.add(alias)
            case ModelVerificationCompleted(model_version=number) as verification:
                self.versions[number].verification = verification
            case ModelFootprintRecorded(model_version=number, footprint=footprint):
                self.versions[number].footprint = footprint
            case ModelDeprecated(model_version=number):
                self.versions[number].status = "deprecated"
            case ModelDeleted(model_version=number):
                self.versions[number].status = "deleted"
            case ModelArtifactsPurged(model_version=number):
                self.versions[number].purged = True

    @property
    def latest_version(self) -> int:
        return max(self.versions)

    def version_of_job(self, job_id: str) -> int | None:
        return next((n for n, v in self.versions.items() if v.registered.job_id == job_id), None)

    def get_version(self, number: int) -> Version:
        if number not in self.versions:
            raise UnknownVersionError(f"{self.name} has no version {number}")
        return self.versions[number]

    def resolve(self, ref: str, sees: Callable[[str | None], bool] = lambda owner: True) -> Version:
        """A version by number, alias or `latest`, among those whose owner the caller `sees`
        (another tenant's version is answered as unknown)."""
        if ref == "latest":
            seen = [n for n, v in self.versions.items() if sees(v.owner)]
            if not seen:
                raise UnknownVersionError(f"{self.name} has no version you can see")
            return self.versions[max(seen)]
        if ref.isdigit():
            version = self.get_version(int(ref))
        elif ref in self.aliases:
            version = self.versions[self.aliases[ref]]
        else:
            raise UnknownVersionError(f"{self.name} has no alias {ref!r}")
        if not sees(version.owner):
            raise UnknownVersionError(f"{self.name} has no version {ref}")
        return version

    def servable(self, ref: str, sees: Callable[[str | None], bool] = lambda owner: True) -> Version:
        """The version to serve for `ref`: never a deleted one, never one that failed verification."""
        version = self.resolve(ref, sees)
        self._not_failed(self._live(version.number), "it is not served")
        return version

    def register(self, registered: ModelRegistered, causation: Causation) -> None:
        self.record(registered, causation)

    def set_alias(self, alias: str, number: int, causation: Causation) -> bool:
        self._not_failed(self._live(number), f"point {alias!r} at a verified version")
        previous = self.aliases.get(alias)
        if previous == number:
            return False
        self.record(ModelAliasSet(alias=alias, model_version=number, previous_version=previous), causation)
        return True

    def deprecate(self, number: int, reason: str, causation: Causation) -> bool:
        if self._live(number).status == "deprecated":
            return False
        self.record(ModelDeprecated(model_version=number, reason=reason), causation)
        return True

    def delete(self, number: int, reason: str, causation: Causation) -> bool:
        version = self.get_version(number)
        if version.status == "deleted":
            return False
        if version.aliases:
            names = ", ".join(sorted(version.aliases))
            raise VersionStillAliasedError(f"{self.name} v{number} is still aliased as {names}; move them first")
        self.record(ModelDeleted(model_version=number, reason=reason), causation)
        return True

    def record_verification(self, report: ModelVerificationCompleted, causation: Causation) -> None:
        self._live(report.model_version)
        self.record(report, causation)

    def record_footprint(self, number: int, footprint: TrainingFootprint, causation: Causation) -> bool:
        if self.get_version(number).footprint == footprint:
            return False
        self.record(ModelFootprintRecorded(model_version=number, footprint=footprint), causation)
        return True

    def purgeable(self, number: int) -> Version | None:
        """The deleted version whose artifacts may go; None when they are gone already."""
        version = self.get_version(number)
        if version.status != "deleted":
            raise VersionNotDeletedError(f"{self.name} v{number} is {version.status}; delete it before purging")
        return None if version.purged else version

    def mark_purged(self, number: int, removed: int, rule: str, causation: Causation) -> None:
        self.purgeable(number)
        self.record(ModelArtifactsPurged(model_version=number, objects_removed=removed, rule=rule), causation)

    def _not_failed(self, version: Version, advice: str) -> None:
        if version.verification is not None and not version.verification.verified:
            reasons = "; ".join(f"{c.kind}: {c.reason}" for c in version.verification.checks if c.reason)
            raise VersionFailedVerificationError(
                f"{self.name} v{version.number} failed verification ({reasons}); {advice}"
            )

    def _live(self, number: int) -> Version:
        version = self.get_version(number)
        if version.status == "deleted":
            raise VersionDeletedError(f"{self.name} v{number} was deleted; it is neither aliased, verified nor served")
        return version
