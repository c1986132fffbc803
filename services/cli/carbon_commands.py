"""`greentune carbon ...`: run the carbon service, and ask it (rpc.carbon.*) for reports,
forecasts, estimates, recommendations, emissions.csv and budgets.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path
from typing import Any

import click
from pydantic_core import to_jsonable_python

from services.carbon.config import CarbonSettings
from services.carbon.replies import BudgetVerdict, JobFootprint
from services.runtime.settings import KernelSettings


def _ask(name: str, request: dict[str, Any]) -> Any:
    from services.carbon.client import CarbonClient
    from services.carbon.domain import CarbonError
    from services.runtime.jetstream import connect

    async def ask() -> Any:
        nc = await connect(KernelSettings().nats_url, "greentune-cli")
        try:
            return await CarbonClient(nc).ask(name, request)
        finally:
            await nc.close()

    try:
        return asyncio.run(ask())
    except CarbonError as exc:
        raise click.ClickException(str(exc)) from None


def _show(result: Any) -> None:
    click.echo(result if isinstance(result, str) else json.dumps(to_jsonable_python(result), indent=2))


@click.group()
def carbon() -> None:
    """Energy and CO2: measured, labelled, reconciled and forecast."""


@carbon.command()
def serve() -> None:
    """Run the carbon service (read model rebuilt from the log + rpc.carbon.*) until Ctrl-C."""
    asyncio.run(_serve(KernelSettings(), CarbonSettings()))


async def _serve(kernel: KernelSettings, settings: CarbonSettings) -> None:
    from services.carbon.app import CarbonService
    from services.runtime.artifacts import ArtifactSettings, open_artifact_store
    from services.runtime.jetstream import connect

    nc = await connect(kernel.nats_url, "carbon", identity="carbon")
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    store = open_artifact_store(ArtifactSettings(), kernel.data_dir)
    try:
        async with CarbonService.open(nc, settings, kernel, store) as service:
            click.echo(f"carbon service ready on {kernel.nats_url} (rpc.carbon.*)")
            await service.run(stop)
    finally:
        await nc.close()


@carbon.command()
@click.argument("job_id")
@click.option("--json", "as_json", is_flag=True, help="The whole report as JSON.")
def report(job_id: str, as_json: bool) -> None:
    """A job's kWh and gCO2eq, and how each figure was measured."""
    result: JobFootprint = _ask("job", {"job_id": job_id})
    if as_json:
        return _show(result)
    how = result.how_measured
    click.echo(
        f"job {job_id}: {result.energy_kwh:.6g} kWh, {result.emissions_g:.6g} gCO2eq "
        f"over {result.duration_s:.1f} s ({result.intervals} intervals)"
    )
    for gap in result.unmeasured:  # killed runs: their last energy is in no figure here
        click.echo(f"  UNMEASURED: {gap.note}")
    for part, kwh, methods in (
        ("cpu", result.cpu_kwh, how.cpu),
        ("gpu", result.gpu_kwh, how.gpu),
        ("ram", result.ram_kwh, how.ram),
    ):
        click.echo(f"  {part.upper()}: {kwh:.6g} kWh ({'; '.join(methods)})")
    for grid in how.intensity:
        flag = " [FALLBACK]" if grid.is_fallback else ""
        click.echo(f"  intensity: {grid.g_per_kwh:.4g} gCO2eq/kWh{flag} ({grid.source}), PUE {grid.pue}")
    if result.g_per_1k_trained_tokens is not None:
        click.echo(f"  {result.g_per_1k_trained_tokens:.4g} gCO2eq per 1k trained tokens")


@carbon.command(name="list")
@click.argument("what", type=click.Choice(["jobs", "days", "api_keys", "models", "budgets"]))
def list_(what: str) -> None:
    """Totals per job (comparison), per day, per API key, per model (training + serving), or budgets."""
    _show(_ask(what, {}))


@carbon.command()
@click.argument("job_id")
def forecast(job_id: str) -> None:
    """The job's forecast total (made at 10% of its steps, and live), against its actual totals."""
    _show(_ask("forecast", {"job_id": job_id}))


@carbon.command()
@click.argument("config_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def estimate(config_file: Path) -> None:
    """Pre-flight estimate of a job's energy and CO2 from its TrainingConfig (a JSON file)."""
    try:
        config = json.loads(config_file.read_text())
    except json.JSONDecodeError as exc:
        raise click.ClickException(f"{config_file}: line {exc.lineno}: not JSON ({exc.msg})") from exc
    _show(_ask("estimate", {"config": config}))


@carbon.command()
@click.argument("job_id")
def recommend(job_id: str) -> None:
    """Recommendations for a job, with their estimated savings."""
    _show(_ask("recommendations", {"job_id": job_id}))


@carbon.command()
@click.argument("job_id")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to a file.")
def csv(job_id: str, output: Path | None) -> None:
    """The job's emissions.csv (CodeCarbon columns + how each figure was measured)."""
    text = _ask("csv", {"subject_type": "job", "subject_id": job_id})
    if output:
        output.write_text(text)
    else:
        sys.stdout.write(text)


@carbon.group()
def budget() -> None:
    """Energy or CO2 budgets per API key."""


@budget.command(name="set")
@click.argument("api_key")
@click.option("--kwh", type=float, help="Energy budget, kWh.")
@click.option("--gco2", type=float, help="CO2 budget, grams CO2eq.")
@click.option("--warn-at", type=float, default=0.8, show_default=True, help="Warning fraction of the limit.")
def set_(api_key: str, kwh: float | None, gco2: float | None, warn_at: float) -> None:
    """Give API_KEY a budget (replacing its current one)."""
    if (kwh is None) == (gco2 is None):
        raise click.UsageError("give exactly one of --kwh or --gco2")
    metric, limit = ("energy_kwh", kwh) if kwh is not None else ("emissions_g", gco2)
    _show(_ask("budget.set", {"api_key": api_key, "metric": metric, "limit": limit, "warning_fraction": warn_at}))


@budget.command()
@click.argument("api_key")
def check(api_key: str) -> None:
    """May API_KEY start a new job? Exit status 1 when its budget is spent."""
    result: BudgetVerdict = _ask("budget.check", {"api_key": api_key})
    click.echo(result.message)
    if not result.allowed:
        sys.exit(1)
