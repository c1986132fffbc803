"""Budgets per API key: a warning event at 80%, exhaustion at 100% (each published once), and the
job-intake check refuses new jobs with a message saying what to do; over RPC and the CLI."""

from __future__ import annotations

import asyncio

import pytest
from click.testing import CliRunner

from contracts import Actor, decode_envelope
from contracts.training_config import TrainingConfig
from services.carbon.app import CarbonService
from services.carbon.budgets import Budget, Usage, check_budget, crossings
from services.carbon.client import BudgetGate, CarbonClient
from services.carbon.domain import CarbonError
from services.cli.main import cli
from services.runtime.event_feed import read_events
from tests.carbon.conftest import ALICE
from tests.carbon.test_read_model import BOB, run_metered_job


async def budget_events(nc, api_key: str) -> list[str]:  # type: ignore[no-untyped-def]
    stored = [e async for e in read_events(nc, f"events.*.budget.{api_key}.*", idle_s=1.0) if e is not None]
    return [decode_envelope(e.data).event.type_name() for e in stored]


async def test_warning_at_80_percent_then_refusal_at_100_each_published_once(nc, meter, carbon: CarbonService):
    first = await run_metered_job(nc, meter, ALICE, 0.6, 1000)
    await carbon.catch_up()
    used = carbon.handlers.reports.job(first)["energy_kwh"]
    await CarbonClient(nc).ask("budget.set", {"api_key": ALICE.id, "metric": "energy_kwh", "limit": used / 0.85})
    await carbon.catch_up()
    await carbon.catch_up()  # a second pass must not warn again

    assert await budget_events(nc, ALICE.id) == ["BudgetSet", "BudgetWarningIssued"]
    allowed = await CarbonClient(nc).ask("budget.check", {"api_key": ALICE.id})
    assert allowed.allowed is True and 0.8 <= allowed.fraction_used < 1

    await run_metered_job(nc, meter, ALICE, 0.6, 1000)
    await carbon.catch_up()
    await carbon.catch_up()

    assert await budget_events(nc, ALICE.id) == ["BudgetSet", "BudgetWarningIssued", "BudgetExhausted"]
    refused = await CarbonClient(nc).ask("budget.check", {"api_key": ALICE.id})
    assert refused.allowed is False
    assert f"API key {ALICE.id} has used" in refused.message
    assert "new jobs are refused" in refused.message
    assert "greentune carbon budget set key-alice --kwh" in refused.message
    other = await CarbonClient(nc).ask("budget.check", {"api_key": BOB.id})
    assert other.allowed is True and "no carbon budget" in other.message


async def test_raising_the_budget_rearms_its_warnings(nc, meter, carbon: CarbonService):
    await run_metered_job(nc, meter, ALICE, 0.4, 1000)
    await carbon.catch_up()
    await CarbonClient(nc).ask("budget.set", {"api_key": ALICE.id, "metric": "emissions_g", "limit": 1e-9})
    await carbon.catch_up()
    await CarbonClient(nc).ask("budget.set", {"api_key": ALICE.id, "metric": "emissions_g", "limit": 1e6})
    await carbon.catch_up()

    assert await budget_events(nc, ALICE.id) == ["BudgetSet", "BudgetWarningIssued", "BudgetExhausted", "BudgetSet"]
    assert (await CarbonClient(nc).ask("budget.check", {"api_key": ALICE.id})).allowed is True


async def test_the_cli_sets_and_checks_budgets_and_bad_requests_get_clear_answers(nc, nats_server, carbon):
    env = {"GREENTUNE_NATS_URL": nats_server.url}
    runner = CliRunner()
    set_result = await asyncio.to_thread(
        runner.invoke, cli, ["carbon", "budget", "set", "key-cli", "--kwh", "1e-12"], env=env
    )
    assert set_result.exit_code == 0, set_result.output
    await carbon.catch_up()
    both = await asyncio.to_thread(
        runner.invoke, cli, ["carbon", "budget", "set", "k", "--kwh", "1", "--gco2", "1"], env=env
    )
    assert both.exit_code == 2 and "exactly one of --kwh or --gco2" in both.output

    checked = await asyncio.to_thread(runner.invoke, cli, ["carbon", "budget", "check", "key-cli"], env=env)
    assert checked.exit_code == 0 and "0 of its 1e-12 kWh budget" in checked.output

    with pytest.raises(CarbonError) as bad:
        await CarbonClient(nc).ask("budget.set", {"api_key": "key with spaces", "metric": "energy_kwh", "limit": -1})
    assert str(bad.value).startswith("InvalidRequest: malformed SetBudget")
    assert "api_key" in str(bad.value) and "limit" in str(bad.value)


def test_crossing_rules_and_the_refusal_message():
    budget = Budget("k", "energy_kwh", 10.0, 0.8, warned=False, exhausted=False)
    assert crossings(budget, Usage(7.9, 0)) == []
    assert [e.type_name() for e in crossings(budget, Usage(8.0, 0))] == ["BudgetWarningIssued"]
    assert [e.type_name() for e in crossings(budget, Usage(12, 0))] == ["BudgetWarningIssued", "BudgetExhausted"]
    done = Budget("k", "energy_kwh", 10.0, 0.8, warned=True, exhausted=True)
    assert crossings(done, Usage(50, 0)) == []
    decision = check_budget("k", done, Usage(12.0, 0))
    assert not decision.allowed
    assert decision.message.startswith("API key k has used 12 of its 10 kWh budget (120%)")


async def test_the_job_intake_gate_refuses_a_spent_key_with_the_callers_own_error(nc, meter, carbon):
    class TrainerBudgetError(Exception):
        pass

    await run_metered_job(nc, meter, ALICE, 0.3, 1000)
    await CarbonClient(nc).ask("budget.set", {"api_key": ALICE.id, "metric": "energy_kwh", "limit": 1e-12})
    await carbon.catch_up()
    gate = BudgetGate(CarbonClient(nc), error=TrainerBudgetError)
    config = TrainingConfig(base_model="tiny", dataset_id="demo")

    with pytest.raises(TrainerBudgetError, match=r"API key key-alice has used .* new jobs are refused"):
        await gate.check(ALICE, config)
    await gate.check(BOB, config)  # no budget
    await gate.check(Actor(kind="cli", id="ana"), config)  # budgets are per API key
