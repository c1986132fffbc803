"""Lineage of an export, assembled from the facts other services logged. Pure: no I/O.

The job's history (JobRequested: config; JobCompleted: final metrics; EmissionsMeasured: energy
and CO2), the dataset's DatasetRegistered (its hash) and the base model's BaseModelRegistered
(its manifest hash) become the optional fields of ModelRegistered.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from contracts import Envelope
from contracts.events.carbon import EmissionsMeasured, EmissionsUnmeasured
from contracts.events.datasets import DatasetRegistered
from contracts.events.jobs import JobCompleted, JobRequested
from contracts.events.models import (
    BaseModelRegistered,
    FinalMetrics,
    ModelExported,
    ModelRegistered,
    TrainingFootprint,
)
from contracts.training_config import TrainingConfig


@dataclass(frozen=True)
class Lineage:
    config: TrainingConfig | None
    metrics: FinalMetrics | None
    footprint: TrainingFootprint | None
    dataset_sha256: str | None
    base_model_sha256: str | None
    owner: str | None = None  # the job's owner (its JobRequested)


def footprint_of(history: Sequence[Envelope]) -> TrainingFootprint | None:
    """Totals over the job's measured intervals (each counted once, even if published twice), and the
    time its killed runs left unmeasured (each gap counted once, at its latest extent)."""
    intervals: dict[tuple[str, int], EmissionsMeasured] = {}
    gaps: dict[int, float] = {}
    for envelope in history:
        if isinstance(envelope.event, EmissionsMeasured):
            intervals[(envelope.producer, envelope.event.sequence)] = envelope.event
        elif isinstance(envelope.event, EmissionsUnmeasured):
            gap = envelope.event
            gaps[gap.after_sequence] = max(gaps.get(gap.after_sequence, 0.0), gap.unmeasured_seconds)
    if not intervals:
        return None
    samples = list(intervals.values())
    last = samples[-1]
    return TrainingFootprint(
        energy_kwh=sum(s.energy_kwh for s in samples),
        emissions_g=sum(s.emissions_g for s in samples),
        duration_seconds=sum(s.duration_seconds for s in samples),
        intervals=len(samples),
        complete=any(s.final for s in samples),
        unmeasured_seconds=sum(gaps.values()),
        carbon_intensity_g_per_kwh=last.carbon_intensity_g_per_kwh,
        country_iso_code=last.country_iso_code,
        methods=f"cpu: {last.cpu.method}; gpu: {last.gpu.method}; ram: {last.ram.method}; "
        f"intensity: {last.intensity_source}",
    )


def lineage_of(
    job_history: Sequence[Envelope],
    dataset_history: Sequence[Envelope],
    base_models: Sequence[BaseModelRegistered],
    base_model: str,
) -> Lineage:
    events = [e.event for e in job_history]
    requested = next((e for e in events if isinstance(e, JobRequested)), None)
    completed = [e for e in events if isinstance(e, JobCompleted)]
    metrics = FinalMetrics(**completed[-1].model_dump(include=set(FinalMetrics.model_fields))) if completed else None
    datasets = [e.event for e in dataset_history if isinstance(e.event, DatasetRegistered)]
    bases = [b for b in base_models if b.name == base_model]
    return Lineage(
        config=requested.config if requested else None,
        metrics=metrics,
        footprint=footprint_of(job_history),
        dataset_sha256=datasets[-1].sha256 if datasets else None,
        base_model_sha256=bases[-1].sha256 if bases else None,
        owner=requested.owner if requested else None,
    )


def registration(
    name: str, number: int, job_id: str, export: ModelExported, lineage: Lineage, card_uri: str | None
) -> ModelRegistered:
    return ModelRegistered(
        name=name,
        model_version=number,
        job_id=job_id,
        base_model=export.base_model,
        dataset_id=export.dataset_id,
        artifacts=export.artifacts,
        dataset_sha256=lineage.dataset_sha256,
        base_model_sha256=lineage.base_model_sha256,
        config=lineage.config,
        metrics=lineage.metrics,
        footprint=lineage.footprint,
        model_card_uri=card_uri,
        owner=lineage.owner,
    )
