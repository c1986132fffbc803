"""Every event type greentune knows, in its current version, and the union used by the envelope."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from contracts.base import DomainEvent
from contracts.errors import UnknownEventTypeError
from contracts.events.carbon import (
    BudgetExhausted,
    BudgetSet,
    BudgetWarningIssued,
    EmissionsMeasured,
    EmissionsUnmeasured,
)
from contracts.events.datasets import DatasetRegistered, DatasetValidated
from contracts.events.inference import InferenceCompleted
from contracts.events.jobs import (
    CheckpointSaved,
    EpochCompleted,
    JobCancelled,
    JobCancelRequested,
    JobCompleted,
    JobFailed,
    JobQueued,
    JobRequested,
    JobStarted,
    TrainingProgressed,
)
from contracts.events.keys import ApiKeyCreated, ApiKeyRevoked
from contracts.events.models import (
    BaseModelRegistered,
    ModelAliasSet,
    ModelArtifactsPurged,
    ModelDeleted,
    ModelDeprecated,
    ModelExported,
    ModelFootprintRecorded,
    ModelLoaded,
    ModelRegistered,
    ModelUnloaded,
    ModelVerificationCompleted,
)

AnyEvent = Annotated[
    DatasetRegistered
    | DatasetValidated
    | JobRequested
    | JobQueued
    | JobStarted
    | TrainingProgressed
    | EpochCompleted
    | CheckpointSaved
    | JobCompleted
    | JobFailed
    | JobCancelRequested
    | JobCancelled
    | ModelExported
    | BaseModelRegistered
    | ModelRegistered
    | ModelAliasSet
    | ModelVerificationCompleted
    | ModelFootprintRecorded
    | ModelDeprecated
    | ModelDeleted
    | ModelArtifactsPurged
    | ModelLoaded
    | ModelUnloaded
    | InferenceCompleted
    | EmissionsMeasured
    | EmissionsUnmeasured
    | BudgetSet
    | BudgetWarningIssued
    | BudgetExhausted
    | ApiKeyCreated
    | ApiKeyRevoked,
    Field(discriminator="type", description="The event itself; its `type` selects the schema."),
]

EVENT_TYPES: dict[str, type[DomainEvent]] = {
    cls.type_name(): cls
    for cls in (
        DatasetRegistered,
        DatasetValidated,
        JobRequested,
        JobQueued,
        JobStarted,
        TrainingProgressed,
        EpochCompleted,
        CheckpointSaved,
        JobCompleted,
        JobFailed,
        JobCancelRequested,
        JobCancelled,
        ModelExported,
        BaseModelRegistered,
        ModelRegistered,
        ModelAliasSet,
        ModelVerificationCompleted,
        ModelFootprintRecorded,
        ModelDeprecated,
        ModelDeleted,
        ModelArtifactsPurged,
        ModelLoaded,
        ModelUnloaded,
        InferenceCompleted,
        EmissionsMeasured,
        EmissionsUnmeasured,
        BudgetSet,
        BudgetWarningIssued,
        BudgetExhausted,
        ApiKeyCreated,
        ApiKeyRevoked,
    )
}


def event_class(type_name: str) -> type[DomainEvent]:
    """The current model of an event type, or UnknownEventTypeError."""
    try:
        return EVENT_TYPES[type_name]
    except KeyError:
        raise UnknownEventTypeError(
            f"unknown event type {type_name!r}; known types: {', '.join(sorted(EVENT_TYPES))}"
        ) from None
