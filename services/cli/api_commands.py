"""`greentune api ...`: run the HTTP gateway (OpenAI-compatible /v1, REST /api/v1; settings: GREENTUNE_API_*)."""

from __future__ import annotations

import click


@click.group()
def api() -> None:
    """The HTTP API: OpenAI-compatible /v1 and REST /api/v1 in front of the services."""


@api.command()
def serve() -> None:
    """Run the API gateway in the foreground until Ctrl-C (GREENTUNE_API_HOST/PORT, default 127.0.0.1:8000)."""
    from services.api.app import main

    main()
