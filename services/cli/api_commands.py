"""`greentune api ...`: the HTTP gateway (dashboard at /, OpenAI-compatible /v1, REST /api/v1; GREENTUNE_API_*)."""

from __future__ import annotations

import click


@click.group()
def api() -> None:
    """The HTTP API and the dashboard: OpenAI-compatible /v1, REST /api/v1 and the web dashboard at /."""


@api.command()
def serve() -> None:
    """Run the API gateway in the foreground until Ctrl-C (GREENTUNE_API_HOST/PORT, default 127.0.0.1:8000)."""
    from services.api.app import main

    main()
