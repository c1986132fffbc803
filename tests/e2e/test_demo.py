"""`greentune demo --model tiny` end to end (the fast path of the README's main job, whose default
fine-tunes SmolLM2): the embedded stack, a real fine-tune of the tiny model, answers before and
after, and the job's kWh and gCO2eq with how each was measured."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from services.trainer.demo_facts import demo_facts

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(1500)
def test_demo_fine_tunes_the_tiny_model_answers_the_questions_and_reports_energy_and_co2(tmp_path):
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "services.cli.main",
            "demo",
            "--model",
            "tiny",
            "--data-dir",
            str(tmp_path / "demo"),
            "--questions",
            "5",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=1400,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    out = run.stdout

    answers = re.findall(
        r'Q: What is the code word for (\w+)\?  \(right when it contains "(\w+)"\)\n'
        r"\s+base\s+(?:right|wrong)  (.*)\n\s+fine-tuned\s+(?:right|wrong)  (.*)\n",
        out,
    )
    facts = dict(demo_facts())
    assert len(answers) == 5
    assert all(facts[key] == expected for key, expected, _, _ in answers)
    tuned_right = sum(tuned == expected for _, expected, _, tuned in answers)
    base_right = sum(base == expected for _, expected, base, _ in answers)
    assert tuned_right >= 4 and base_right <= 1, out  # the fine-tune changed the answers, measurably

    energy = re.search(r"the job used ([0-9.e+-]+) kWh and emitted ([0-9.e+-]+) gCO2eq", out)
    assert energy and float(energy.group(1)) > 0 and float(energy.group(2)) > 0, out
    assert re.search(r"cpu: (cpu_load_estimate|rapl|tdp_estimate)", out), out
    assert re.search(r"ram: (constant_estimate|rapl)", out), out
    assert "carbon intensity" in out and "gCO2eq/kWh from" in out, out
    assert "JobCompleted" in out and "exported: lora" in out, out
    assert re.search(r"done in \d+ s: \d+% of the new facts answered right", out), out
