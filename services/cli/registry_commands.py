"""`greentune registry ...`: the model catalogue, versions, lineage, aliases, verification.

Every command but `serve` asks the running registry over NATS request/reply (rpc.registry.*) and
prints its JSON answer; a refusal is printed as `TypeOfError: what to do` with exit code 1.
"""

from __future__ import annotations

import asyncio
import getpass
import json
from typing import Any

import click
from pydantic_core import to_jsonable_python

from contracts import Actor
from services.registry.client import RegistryClient, RegistryRefusedError
from services.registry.config import RegistrySettings
from services.registry.domain import RegistryError
from services.runtime.errors import BusUnavailableError
from services.runtime.jetstream import connect
from services.runtime.settings import KernelSettings


async def _ask(method: str, params: dict[str, Any], timeout: float) -> Any:
    nc = await connect(KernelSettings().nats_url, "greentune-cli")
    try:
        actor = Actor(kind="cli", id=getpass.getuser() or "cli")
        return await RegistryClient(nc, actor, timeout).ask(method, **params)
    finally:
        await nc.close()


def answer(method: str, timeout: float | None = None, **params: Any) -> Any:
    """The registry's answer (a refusal or no answer: a ClickException saying so)."""
    wait = timeout or RegistrySettings().rpc_timeout_seconds
    try:
        return asyncio.run(_ask(method, params, wait))
    except BusUnavailableError as exc:
        raise click.ClickException(f"the registry did not answer within {wait:.0f} s: is it running?") from exc
    except RegistryRefusedError as exc:
        raise click.ClickException(str(exc)) from exc
    except RegistryError as exc:
        raise click.ClickException(f"{type(exc).__name__}: {exc}") from exc


def call(method: str, timeout: float | None = None, **params: Any) -> None:
    """Ask the registry and print the result as JSON."""
    echo_json(answer(method, timeout, **params))


def echo_json(result: Any) -> None:
    click.echo(json.dumps(to_jsonable_python(result), indent=2))


@click.group()
def registry() -> None:
    """Models: versions with lineage and CO2, aliases with history, verified artifacts."""


@registry.command()
def serve() -> None:
    """Run the registry service in the foreground until Ctrl-C."""
    from services.registry.app import serve as run

    asyncio.run(run())


@registry.command()
def models() -> None:
    """The catalogue: every model, its latest version and aliases."""
    call("catalogue")


@registry.command("base-models")
def base_models() -> None:
    """Base models registered for fine-tuning."""
    call("base_models")


@registry.command()
@click.argument("name")
def versions(name: str) -> None:
    """The versions of NAME (deleted ones hidden)."""
    call("versions", name=name)


@registry.command()
@click.argument("name")
@click.argument("ref", default="latest")
def show(name: str, ref: str) -> None:
    """One version with its full lineage, footprint and verification (REF: number, alias or latest)."""
    call("show", name=name, ref=ref)


@registry.command()
@click.argument("name")
@click.argument("ref", default="production")
def resolve(name: str, ref: str) -> None:
    """What to serve for NAME@REF: refused when deleted or failed verification."""
    call("resolve", name=name, ref=ref)


@registry.command()
@click.argument("name")
@click.option("--alias", default=None, help="Only this alias.")
def aliases(name: str, alias: str | None) -> None:
    """Every move of NAME's aliases, oldest first, with who moved them."""
    call("aliases", name=name, alias=alias)


@registry.command("alias")
@click.argument("name")
@click.argument("alias")
@click.argument("version", type=int)
def set_alias(name: str, alias: str, version: int) -> None:
    """Point ALIAS (production, staging...) of NAME at VERSION."""
    call("set_alias", name=name, alias=alias, version=version)


@registry.command()
@click.argument("name")
@click.argument("version", type=int)
@click.option("--reason", required=True, help="Why, for the people who use it.")
def deprecate(name: str, version: int, reason: str) -> None:
    """Mark NAME VERSION as deprecated."""
    call("deprecate", name=name, version=version, reason=reason)


@registry.command()
@click.argument("name")
@click.argument("version", type=int)
@click.option("--reason", required=True, help="Why it is deleted.")
def delete(name: str, version: int, reason: str) -> None:
    """Delete NAME VERSION (soft: its artifacts stay until the retention rule purges them)."""
    call("delete", name=name, version=version, reason=reason)


@registry.command()
@click.argument("name")
@click.argument("version", type=int)
def verify(name: str, version: int) -> None:
    """Verify NAME VERSION again now (downloads, hash checks, golden prompts in each runtime)."""
    call("verify", timeout=RegistrySettings().verify_timeout_seconds + 30, name=name, version=version)


@registry.command()
@click.option("--older-than-days", type=float, default=None, help="Default: GREENTUNE_REGISTRY_RETENTION_DAYS.")
def purge(older_than_days: float | None) -> None:
    """Remove the artifacts of versions deleted longer ago than the retention period."""
    call("purge", older_than_days=older_than_days)
