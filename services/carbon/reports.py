"""Read-only reports over the carbon read model: per job (with how every figure was measured),
job comparison, per day, per API key, per model (training + serving), per engine (metered energy
against the per-request shares). Plain dicts; the handlers answer them as the reply models of
services/carbon/replies.py (JobReport, DayUsage, EngineReport...). Time that killed
runs left unmeasured is listed beside the totals (`unmeasured`), never guessed into them.
"""

from __future__ import annotations

from typing import Any

from services.carbon.domain import UnknownSubjectError
from services.carbon.gaps import unmeasured
from services.carbon.view import CarbonView

Row = dict[str, Any]
_TOTALS = (
    "COUNT(*) AS intervals, COALESCE(SUM(energy_kwh), 0) AS energy_kwh, COALESCE(SUM(emissions_g), 0) AS emissions_g, "
    "COALESCE(SUM(duration_s), 0) AS duration_s, COALESCE(SUM(cpu_kwh), 0) AS cpu_kwh, "
    "COALESCE(SUM(gpu_kwh), 0) AS gpu_kwh, COALESCE(SUM(ram_kwh), 0) AS ram_kwh, MAX(sequence) AS last_sequence, "
    "MAX(final) AS final_seen, MAX(intensity_fallback) AS intensity_fallback"
)
# Serving emissions: each request's energy x its engine's energy-weighted intensity (gCO2eq/kWh).
_SERVED = (
    "SELECT r.*, r.energy_kwh * i.g_per_kwh AS emissions_g, i.sources AS intensity_sources, i.fallback AS fallback "
    "FROM requests r LEFT JOIN (SELECT subject_id, SUM(emissions_g) / NULLIF(SUM(energy_kwh), 0) AS g_per_kwh, "
    "GROUP_CONCAT(DISTINCT intensity_source) AS sources, MAX(intensity_fallback) AS fallback FROM intervals "
    "WHERE subject_type='engine' GROUP BY subject_id) i ON i.subject_id = r.engine_id"
)


def per_1k(grams: float | None, tokens: int | None) -> float | None:
    return grams * 1000.0 / tokens if grams is not None and tokens else None


class CarbonReports:
    def __init__(self, view: CarbonView) -> None:
        self.view = view

    def subject_totals(self, subject_type: str, subject_id: str) -> Row:
        """Sums of a job's or engine's intervals, with the methods and intensity sources behind them."""
        totals = self.view.rows(
            f"SELECT {_TOTALS} FROM intervals WHERE subject_type=? AND subject_id=?", (subject_type, subject_id)
        )[0]
        totals["intensity_fallback"] = bool(totals["intensity_fallback"])
        totals["final_seen"] = bool(totals["final_seen"])
        totals["how_measured"] = self._methods(subject_type, subject_id)
        sequences = self.view.rows(
            "SELECT sequence FROM intervals WHERE subject_type=? AND subject_id=? ORDER BY sequence",
            (subject_type, subject_id),
        )
        seen = {row["sequence"] for row in sequences}
        totals["missing_sequences"] = sorted(set(range(1, max(seen, default=0) + 1)) - seen)
        totals.update(unmeasured(self.view, subject_type, subject_id, metered=bool(seen)))
        return totals

    def _methods(self, subject_type: str, subject_id: str) -> Row:
        rows = self.view.rows(
            "SELECT DISTINCT cpu_method, cpu_detail, gpu_method, gpu_detail, ram_method, ram_detail, "
            "intensity, intensity_source, intensity_fallback, country, region, pue FROM intervals "
            "WHERE subject_type=? AND subject_id=?",
            (subject_type, subject_id),
        )
        out: Row = {
            part: sorted({f"{r[part + '_method']}: {r[part + '_detail']}" for r in rows})
            for part in ("cpu", "gpu", "ram")
        }
        out["intensity"] = [
            {
                "g_per_kwh": r["intensity"],
                "source": r["intensity_source"],
                "is_fallback": bool(r["intensity_fallback"]),
                "country_iso_code": r["country"],
                "region": r["region"],
                "pue": r["pue"],
            }
            for r in {
                (r["intensity"], r["intensity_source"], r["intensity_fallback"], r["country"], r["region"], r["pue"]): r
                for r in rows
            }.values()
        ]
        return out

    def job(self, job_id: str) -> Row:
        jobs = self.view.rows("SELECT * FROM jobs WHERE job_id=?", (job_id,))
        totals = self.subject_totals("job", job_id)
        if not jobs and not totals["intervals"]:
            raise UnknownSubjectError(f"no job {job_id} in the carbon read model (no JobRequested, no emissions)")
        job: Row = jobs[0] if jobs else {"job_id": job_id}
        job.pop("config_json", None)
        tokens = job.get("tokens_trained") or job.get("tokens_seen")
        return {
            **job,
            **totals,
            "g_per_1k_trained_tokens": per_1k(totals["emissions_g"], tokens),
            "kwh_per_1k_trained_tokens": per_1k(totals["energy_kwh"], tokens),
        }

    def jobs(self) -> list[Row]:
        """Every job, most energy first, with its intensity per 1k trained tokens for comparison."""
        ids = self.view.rows(
            "SELECT job_id FROM jobs UNION SELECT DISTINCT subject_id FROM intervals WHERE subject_type='job'"
        )
        return sorted((self.job(r["job_id"]) for r in ids), key=lambda j: -j["energy_kwh"])

    def per_day(self) -> list[Row]:
        return self._grouped("day", "day", "day")

    def per_api_key(self) -> list[Row]:
        """Training counted for the job's requester (the JobRequested actor), serving for the request's."""
        return self._grouped("api_key", "j.actor_id", "actor_id", "j.actor_kind='api_key'", "actor_kind='api_key'")

    def per_model(self) -> list[Row]:
        return self._grouped("model", "COALESCE(j.model_name, j.base_model)", "model")

    def _grouped(
        self, name: str, train_key: str, serve_key: str, train_if: str = "1", serve_if: str = "1"
    ) -> list[Row]:
        trained = self.view.rows(
            f"SELECT {train_key} AS k, SUM(i.energy_kwh) AS e, SUM(i.emissions_g) AS g FROM intervals i "
            f"LEFT JOIN jobs j ON j.job_id = i.subject_id WHERE i.subject_type='job' AND {train_if} GROUP BY k"
        )
        served = self.view.rows(
            f"SELECT {serve_key} AS k, SUM(energy_kwh) AS e, SUM(emissions_g) AS g, SUM(completion_tokens) AS t, "
            f"COUNT(*) AS n FROM ({_SERVED}) WHERE {serve_if} GROUP BY k"
        )
        out: dict[Any, Row] = {}
        for row in trained:
            out[row["k"]] = {name: row["k"], "training_kwh": row["e"], "training_g": row["g"]}
        for row in served:
            entry = out.setdefault(row["k"], {name: row["k"], "training_kwh": 0.0, "training_g": 0.0})
            entry.update(
                serving_kwh=row["e"],
                serving_g=row["g"],
                requests=row["n"],
                generated_tokens=row["t"],
                serving_g_per_1k_generated_tokens=per_1k(row["g"], row["t"]),
            )
        for entry in out.values():
            entry.setdefault("serving_kwh", 0.0)
            entry.setdefault("serving_g", 0.0)
            entry["total_kwh"] = entry["training_kwh"] + (entry["serving_kwh"] or 0.0)
            entry["total_g"] = entry["training_g"] + (entry["serving_g"] or 0.0)
        return sorted(out.values(), key=lambda e: str(e[name]))

    def engine(self, engine_id: str) -> Row:
        """An engine's metered energy against the sum of its requests' shares."""
        totals = self.subject_totals("engine", engine_id)
        shares = self.view.rows(
            "SELECT COUNT(*) AS requests, SUM(energy_kwh) AS attributed_kwh, SUM(completion_tokens) AS generated, "
            "SUM(prompt_tokens) AS prompt FROM requests WHERE engine_id=?",
            (engine_id,),
        )[0]
        if not totals["intervals"] and not shares["requests"]:
            raise UnknownSubjectError(f"no engine {engine_id} in the carbon read model")
        return {
            "engine_id": engine_id,
            **totals,
            **shares,
            "g_per_1k_generated_tokens": per_1k(totals["emissions_g"], shares["generated"]),
        }
