"""The model card of a version: a Hugging Face README.md with YAML metadata. Pure: no I/O.

The metadata carries the Hub's `co2_eq_emissions` block (grams CO2eq, source, training type,
location) so the card reads correctly on the Hub; the body says where the model came from, what
it cost, which files it has (with their sha256) and how verification went.
"""

from __future__ import annotations

import json
from typing import Any

import yaml  # type: ignore[import-untyped]

from contracts.events.models import ModelRegistered, ModelVerificationCompleted, TrainingFootprint


def _metadata(registered: ModelRegistered, footprint: TrainingFootprint | None) -> dict[str, Any]:
    kinds = {a.kind for a in registered.artifacts}
    meta: dict[str, Any] = {
        "base_model": registered.base_model,
        "library_name": "peft" if kinds == {"lora"} else "transformers",
        "datasets": [registered.dataset_id],
        "tags": sorted({"greentune", "fine-tuned", *(k.split("_")[0] for k in kinds)}),
    }
    if footprint is not None:
        meta["co2_eq_emissions"] = {
            "emissions": round(footprint.emissions_g, 6),  # grams CO2eq, as the Hub expects
            "source": f"CodeCarbon via greentune ({footprint.methods})",
            "training_type": "fine-tuning",
            "geographical_location": footprint.country_iso_code or "unknown",
            "hardware_used": footprint.methods.split("; intensity")[0],
        }
    return meta


def _training(registered: ModelRegistered) -> list[str]:
    lines = ["## Training", ""]
    lines += [
        f"- job: `{registered.job_id}`",
        f"- base model: `{registered.base_model}`"
        + (f" (sha256 `{registered.base_model_sha256}`)" if registered.base_model_sha256 else ""),
        f"- dataset: `{registered.dataset_id}`"
        + (f" (sha256 `{registered.dataset_sha256}`)" if registered.dataset_sha256 else " (hash not recorded)"),
    ]
    if registered.metrics is not None:
        m = registered.metrics
        lines.append(f"- {m.steps} steps, final loss {m.final_loss}, eval loss {m.eval_loss}, ")
        lines[-1] += f"{m.tokens_trained} tokens in {m.train_seconds:.1f} s"
    if registered.config is not None:
        config = json.dumps(registered.config.model_dump(mode="json"), indent=2)
        lines += ["", "Configuration:", "", "```json", config, "```"]
    return lines


def _energy(footprint: TrainingFootprint | None) -> list[str]:
    if footprint is None:
        return ["## Energy and CO2", "", "Not measured: the log holds no EmissionsMeasured for this job."]
    state = "complete" if footprint.complete else "partial (the job's final interval was not seen yet)"
    return [
        "## Energy and CO2",
        "",
        f"- energy: {footprint.energy_kwh:.6g} kWh; emissions: {footprint.emissions_g:.6g} g CO2eq",
        f"- measured over {footprint.duration_seconds:.1f} s in {footprint.intervals} intervals, {state}",
        f"- grid: {footprint.country_iso_code or 'unknown'}, {footprint.carbon_intensity_g_per_kwh} gCO2eq/kWh",
        f"- methods: {footprint.methods}",
    ]


def _files(registered: ModelRegistered) -> list[str]:
    lines = ["## Files", "", "| kind | uri | bytes | sha256 |", "|---|---|---|---|"]
    lines += [f"| {a.kind} | `{a.uri}` | {a.size_bytes} | `{a.sha256}` |" for a in registered.artifacts]
    return lines


def _verification(report: ModelVerificationCompleted | None) -> list[str]:
    if report is None:
        return ["## Verification", "", "Pending."]
    verdict = "verified" if report.verified else "NOT verified"
    lines = ["## Verification", "", f"**{verdict}** (match threshold {report.match_threshold:.0%}).", ""]
    lines += [
        "| kind | runtime | reference | status | ended with stop | matched | reason |",
        "|---|---|---|---|---|---|---|",
    ]
    for c in report.checks:
        stop, match = f"{c.ended_with_stop}/{c.prompts}", f"{c.matched}/{c.prompts}"
        lines.append(f"| {c.kind} | {c.runtime} | {c.reference} | {c.status} | {stop} | {match} | {c.reason or ''} |")
    return lines


def render_model_card(
    registered: ModelRegistered,
    footprint: TrainingFootprint | None,
    verification: ModelVerificationCompleted | None,
) -> str:
    front = yaml.safe_dump(_metadata(registered, footprint), sort_keys=False).strip()
    title = f"# {registered.name} v{registered.model_version}"
    sections = [_training(registered), _energy(footprint), _files(registered), _verification(verification)]
    body = "\n\n".join("\n".join(s) for s in sections)
    return f"---\n{front}\n---\n\n{title}\n\nFine-tuned with greentune.\n\n{body}\n"
