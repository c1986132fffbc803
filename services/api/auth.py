"""Who is calling: the API key behind `Authorization: Bearer ...`, as the actor of what it causes.

Keys are events (`greentune keys create`, POST /api/v1/keys): the overview read model follows them
and keeps the keys that are not revoked by their secret's hash, so a revocation applies here as soon
as its event arrives. Until the first key is created every caller is `anonymous`, an admin: what
a loopback-only API serves its one local user (a network bind without keys refuses to start).
"""

from __future__ import annotations

from contracts import Actor
from services.api.overview import OverviewView
from services.registry.keys import secret_sha256

ANONYMOUS = Actor(kind="api_key", id="anonymous", role="admin")
KEY_RECIPE = "create one with `greentune keys create --role admin --name <who>` (it prints the key once)"


class AuthError(Exception):
    """The request carries no valid API key (HTTP 401)."""


def actor_for(secret: str | None, overview: OverviewView) -> Actor:
    """The actor of the bearer token `secret` (401 for none, an unknown or a revoked key)."""
    if not overview.has_keys():
        return ANONYMOUS
    if not secret or not secret.strip():
        raise AuthError("missing API key: send `Authorization: Bearer <your key>`")
    actor = overview.key_for(secret_sha256(secret))
    if actor is None:
        raise AuthError("invalid or revoked API key: check the key, or ask an admin for one")
    return actor
