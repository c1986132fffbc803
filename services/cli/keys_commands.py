"""`greentune keys ...`: API keys, kept by the registry as events. `create` makes the secret here,
prints it once and sends only its hash; every API process refuses a revoked key within a second."""

from __future__ import annotations

import click
from pydantic import ValidationError

from contracts.base import ROLES
from services.cli.registry_commands import answer, call, echo_json
from services.registry.keys import issue


@click.group()
def keys() -> None:
    """API keys: create (shown once), list, revoke."""


@keys.command()
@click.option("--role", type=click.Choice(ROLES), required=True, help="viewer reads; member creates and runs its own.")
@click.option("--name", required=True, help="Who or what will use the key.")
@click.option("--tenant", default=None, help="Whose resources it sees and creates (default: its name).")
@click.option("--id", "key_id", default=None, help="Its id in the audit history and reports (default: random).")
def create(role: str, name: str, tenant: str | None, key_id: str | None) -> None:
    """Issue a key and print it (with its id) once: it is stored only as a hash."""
    try:
        secret, key = issue(name, role, tenant, key_id)  # type: ignore[arg-type]  # click checked the role
    except ValidationError as exc:
        raise click.BadParameter("; ".join(f"{e['loc'][0]}: {e['msg']}" for e in exc.errors())) from exc
    created = answer("create_key", key=key.model_dump(mode="json"))
    echo_json({"key_id": created.key_id, **key.model_dump(include={"name", "role", "tenant"}), "secret": secret})
    click.echo("Keep the secret now: it is not shown again. Send it as `Authorization: Bearer <secret>`.", err=True)


@keys.command("list")
def list_keys() -> None:
    """Every key, revoked ones included (never a secret)."""
    call("api_keys")


@keys.command()
@click.argument("key_id")
@click.option("--reason", default=None, help="Why, for the audit history.")
def revoke(key_id: str, reason: str | None) -> None:
    """Revoke a key: requests with it get 401 from then on."""
    call("revoke_key", key_id=key_id, reason=reason)
