"""Recommendations for a job, each with the energy and CO2 it would have saved, from measured data
only (no saving is claimed where nothing was measured to support it). Pure.
"""

from __future__ import annotations

from dataclasses import dataclass

PLATEAU_TOLERANCE = 0.05  # loss within 5% of the final loss counts as "no longer improving"
MIN_SAVING_SHARE = 0.05  # recommendations saving less than 5% of the job are not worth a line


@dataclass(frozen=True)
class Recommendation:
    title: str
    detail: str
    saving_kwh: float
    saving_g: float


def plateau(
    losses: list[tuple[int, float]], max_steps: int, energy_kwh: float, emissions_g: float
) -> Recommendation | None:
    """Stopping where the loss stopped improving saves the energy of the remaining steps."""
    if len(losses) < 10 or max_steps <= 0:
        return None
    final = min(loss for _, loss in losses[-5:])
    reached = next(step for step, loss in losses if loss <= final * (1 + PLATEAU_TOLERANCE))
    share = (max_steps - reached) / max_steps
    if share < MIN_SAVING_SHARE:
        return None
    return Recommendation(
        "Train for fewer steps",
        f"the loss was within {PLATEAU_TOLERANCE:.0%} of its final value at step {reached} of {max_steps}; "
        f"stopping there (or early stopping on eval loss) skips {share:.0%} of the steps",
        energy_kwh * share,
        emissions_g * share,
    )


def setup_share(setup_kwh: float, energy_kwh: float, emissions_g: float) -> Recommendation | None:
    """Energy spent before the first training step (loading, tokenising) that a warm worker avoids."""
    if energy_kwh <= 0 or setup_kwh / energy_kwh < MIN_SAVING_SHARE:
        return None
    share = setup_kwh / energy_kwh
    return Recommendation(
        "Keep models and datasets warm",
        f"{share:.0%} of the job's energy went before its first training step (model loading, dataset "
        "preparation); a worker that keeps the base model and tokenised dataset cached skips most of it",
        setup_kwh,
        emissions_g * share,
    )


def cleaner_grid(energy_kwh: float, intensity: float, best_intensity: float, best_label: str) -> Recommendation | None:
    """Running where the grid is cleaner, at the same energy."""
    if intensity <= 0 or (intensity - best_intensity) / intensity < MIN_SAVING_SHARE:
        return None
    return Recommendation(
        "Run on a cleaner grid",
        f"this job ran at {intensity:.0f} gCO2eq/kWh; {best_label} runs at {best_intensity:.0f} gCO2eq/kWh",
        0.0,
        energy_kwh * (intensity - best_intensity),
    )


def efficient_peer(
    kwh_per_token: float, tokens: int, peer_kwh_per_token: float, intensity: float, peer: str
) -> Recommendation | None:
    """Another job on the same base model trained each token for less energy."""
    if kwh_per_token <= 0 or (kwh_per_token - peer_kwh_per_token) / kwh_per_token < MIN_SAVING_SHARE:
        return None
    saving = (kwh_per_token - peer_kwh_per_token) * tokens
    return Recommendation(
        "Reuse a more efficient configuration",
        f"job {peer} trained the same base model at {peer_kwh_per_token * 1000:.3g} kWh per 1k tokens against "
        f"{kwh_per_token * 1000:.3g} here; its batch size and method would have saved this much",
        saving,
        saving * intensity,
    )


def unmeasured_grid(is_fallback: bool, intensity: float) -> Recommendation | None:
    if not is_fallback:
        return None
    return Recommendation(
        "Configure the grid's country",
        f"CO2 figures use the world average ({intensity:.0f} gCO2eq/kWh); set GREENTUNE_CARBON_COUNTRY_ISO_CODE "
        "(and GREENTUNE_CARBON_REGION) so they reflect the local grid",
        0.0,
        0.0,
    )
