"""Exports from the carbon read model: a job's emissions.csv (CodeCarbon's columns and meaning:
one row per sample, running totals, PUE included, plus greentune's method and intensity columns)
and the `co2_eq_emissions` block the registry writes into a model card (Hugging Face format).
"""

from __future__ import annotations

import csv
import io
from typing import Any

from services.carbon.replies import ModelCardCo2
from services.carbon.reports import CarbonReports

CSV_COLUMNS = (
    "timestamp",
    "project_name",
    "run_id",
    "experiment_id",
    "duration",
    "emissions",
    "emissions_rate",
    "cpu_power",
    "gpu_power",
    "ram_power",
    "cpu_energy",
    "gpu_energy",
    "ram_energy",
    "energy_consumed",
    "country_iso_code",
    "region",
    "pue",
    "sequence",
    "final",
    "interval_energy_kwh",
    "interval_emissions_g",
    "cpu_method",
    "gpu_method",
    "ram_method",
    "carbon_intensity_g_per_kwh",
    "intensity_source",
    "intensity_is_fallback",
)


def emissions_csv(reports: CarbonReports, subject_type: str, subject_id: str) -> str:
    """CodeCarbon-style emissions.csv of a job or engine; the last row holds the totals."""
    rows = reports.view.rows(
        "SELECT * FROM intervals WHERE subject_type=? AND subject_id=? ORDER BY sequence, stream_seq",
        (subject_type, subject_id),
    )
    out = io.StringIO()
    writer = csv.DictWriter(out, CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    totals = {"duration": 0.0, "emissions": 0.0, "cpu": 0.0, "gpu": 0.0, "ram": 0.0}
    for row in rows:
        totals["duration"] += row["duration_s"]
        totals["emissions"] += row["emissions_g"] / 1000.0  # kg, as CodeCarbon writes it
        for part in ("cpu", "gpu", "ram"):
            totals[part] += row[f"{part}_kwh"] * row["pue"]
        writer.writerow(_csv_row(row, subject_type, subject_id, totals))
    return out.getvalue()


def _csv_row(row: dict[str, Any], subject_type: str, subject_id: str, totals: dict[str, float]) -> dict[str, Any]:
    energy = totals["cpu"] + totals["gpu"] + totals["ram"]
    return {
        "timestamp": row["occurred_at"],
        "project_name": "greentune",
        "run_id": subject_id,
        "experiment_id": subject_type,
        "duration": totals["duration"],
        "emissions": totals["emissions"],
        "emissions_rate": totals["emissions"] / totals["duration"] if totals["duration"] else 0.0,
        **{f"{p}_power": row[f"{p}_w"] * row["pue"] for p in ("cpu", "gpu", "ram")},
        **{f"{p}_energy": totals[p] for p in ("cpu", "gpu", "ram")},
        "energy_consumed": energy,
        "country_iso_code": row["country"] or "",
        "region": row["region"] or "",
        "pue": row["pue"],
        "sequence": row["sequence"],
        "final": bool(row["final"]),
        "interval_energy_kwh": row["energy_kwh"],
        "interval_emissions_g": row["emissions_g"],
        **{f"{p}_method": row[f"{p}_method"] for p in ("cpu", "gpu", "ram")},
        "carbon_intensity_g_per_kwh": row["intensity"],
        "intensity_source": row["intensity_source"],
        "intensity_is_fallback": bool(row["intensity_fallback"]),
    }


def model_card_co2(reports: CarbonReports, job_id: str) -> ModelCardCo2:
    """The model card's `co2_eq_emissions` (emissions in grams) for the job that trained the model."""
    job = reports.job(job_id)
    how = job["how_measured"]
    locations = sorted({i["country_iso_code"] or "world average (no country configured)" for i in how["intensity"]})
    return ModelCardCo2(
        emissions=job["emissions_g"],
        source="greentune carbon meter (CodeCarbon); intensity: "
        + "; ".join(sorted({i["source"] for i in how["intensity"]})),
        training_type="fine-tuning",
        geographical_location=", ".join(locations),
        hardware_used="; ".join(f"{part.upper()} {', '.join(how[part])}" for part in ("cpu", "gpu", "ram")),
        energy_kwh=job["energy_kwh"],
        intensity_is_fallback=job["intensity_fallback"],
    )
