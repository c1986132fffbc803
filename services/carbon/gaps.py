"""What killed runs left unmeasured, per job or engine: the gaps their successors published
(EmissionsUnmeasured) and, for a metered job, earlier attempts that ended before publishing any
interval. Each gap names its attempt(s) and its seconds, with a note a person can read; their
energy is in no total. Reads the carbon read model only.
"""

from __future__ import annotations

from typing import Any

from services.carbon.view import CarbonView

Gap = dict[str, Any]


def unmeasured(view: CarbonView, subject_type: str, subject_id: str, metered: bool) -> dict[str, Any]:
    """`unmeasured` (the gaps, oldest first), `lost_intervals` (how many) and `unmeasured_seconds` (known seconds)."""
    gaps = [
        _gap(row["attempt"], row["last_attempt"], row["after_sequence"], row["seconds"])
        for row in view.rows(
            "SELECT * FROM unmeasured WHERE subject_type=? AND subject_id=? ORDER BY after_sequence",
            (subject_type, subject_id),
        )
    ]
    if subject_type == "job" and metered:
        gaps += _silent_attempts(view, subject_id, gaps)
    gaps.sort(key=lambda g: (g["attempt"] or 0, g["after_sequence"] or 0))
    return {
        "unmeasured": gaps,
        "lost_intervals": len(gaps),
        "unmeasured_seconds": sum(g["seconds"] or 0.0 for g in gaps),
    }


def _silent_attempts(view: CarbonView, job_id: str, gaps: list[Gap]) -> list[Gap]:
    """Attempts before the latest that no gap covers: they were killed before their first interval."""
    attempts = [r["attempt"] for r in view.rows("SELECT attempt FROM attempts WHERE job_id=?", (job_id,))]
    covered = {a for g in gaps if g["attempt"] for a in range(g["attempt"], g["last_attempt"] + 1)}
    return [_gap(a, a, None, None) for a in sorted(attempts)[:-1] if a not in covered]


def _gap(attempt: int | None, last_attempt: int | None, after_sequence: int | None, seconds: float | None) -> Gap:
    several = attempt is not None and last_attempt is not None and last_attempt != attempt
    who = f"attempts {attempt}-{last_attempt}" if several else f"attempt {attempt}" if attempt else "a run"
    its = "their" if several else "its"
    if after_sequence is None:
        note = f"{who} ended before publishing any measurement; {its} energy is unmeasured (duration unknown)"
    else:
        note = (
            f"{who} ended without {its} final measurement; {seconds:.1f} s unmeasured after interval {after_sequence}"
        )
    return {
        "attempt": attempt,
        "last_attempt": last_attempt,
        "after_sequence": after_sequence,
        "seconds": seconds,
        "note": note,
    }
