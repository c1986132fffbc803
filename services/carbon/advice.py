"""A job's recommendations, from what the read model measured (the rules are in recommendations.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.carbon import recommendations as rules
from services.carbon.replies import Recommendation
from services.carbon.reports import CarbonReports


def job_recommendations(reports: CarbonReports, job_id: str) -> list[Recommendation]:
    job = reports.job(job_id)
    energy, grams = job["energy_kwh"], job["emissions_g"]
    intensity = grams / energy if energy else 0.0  # gCO2eq/kWh
    found = [
        rules.plateau(_losses(reports, job_id), job.get("max_steps") or 0, energy - _setup_kwh(reports, job), grams),
        rules.setup_share(_setup_kwh(reports, job), energy, grams),
        _cleaner_grid(reports, energy, intensity),
        _efficient_peer(reports, job, intensity),
        rules.unmeasured_grid(job["intensity_fallback"], intensity),
    ]
    return [Recommendation(**r.__dict__) for r in found if r is not None]


def _losses(reports: CarbonReports, job_id: str) -> list[tuple[int, float]]:
    rows = reports.view.rows("SELECT step, loss FROM progress WHERE job_id=? ORDER BY step", (job_id,))
    return [(r["step"], r["loss"]) for r in rows]


def _setup_kwh(reports: CarbonReports, job: dict[str, Any]) -> float:
    """Energy before the first training step: mean power x time from the meter's start to step 1."""
    if not job.get("first_step_at") or not job["duration_s"]:
        return 0.0
    first = reports.view.rows(
        "SELECT occurred_at, duration_s FROM intervals WHERE subject_type='job' AND subject_id=? "
        "ORDER BY sequence LIMIT 1",
        (job["job_id"],),
    )[0]
    started = datetime.fromisoformat(first["occurred_at"]).timestamp() - first["duration_s"]  # epoch seconds
    setup_seconds = min(max(job["first_step_at"] - started, 0.0), job["duration_s"])
    return float(job["energy_kwh"] * setup_seconds / job["duration_s"])


def _cleaner_grid(reports: CarbonReports, energy: float, intensity: float) -> rules.Recommendation | None:
    best = reports.view.rows(
        "SELECT intensity, intensity_source FROM intervals WHERE intensity_fallback=0 ORDER BY intensity LIMIT 1"
    )
    if not best:
        return None
    return rules.cleaner_grid(energy, intensity, best[0]["intensity"], f"the grid of {best[0]['intensity_source']}")


def _efficient_peer(reports: CarbonReports, job: dict[str, Any], intensity: float) -> rules.Recommendation | None:
    tokens, energy = job.get("tokens_trained"), job["energy_kwh"]
    if not tokens or not job.get("base_model"):
        return None
    peers = [
        j
        for j in reports.jobs()
        if j["job_id"] != job["job_id"]
        and j.get("base_model") == job["base_model"]
        and j.get("kwh_per_1k_trained_tokens")
    ]
    if not peers:
        return None
    peer = min(peers, key=lambda j: j["kwh_per_1k_trained_tokens"])
    return rules.efficient_peer(
        energy / tokens, tokens, peer["kwh_per_1k_trained_tokens"] / 1000, intensity, peer["job_id"]
    )
