"""Who is calling: the API key behind `Authorization: Bearer ...`, as the actor of what it causes."""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from pydantic import SecretStr

from contracts import Actor

ANONYMOUS = Actor(kind="api_key", id="anonymous")


class AuthError(Exception):
    """The request carries no valid API key (HTTP 401)."""


def actor_for(secret: str | None, keys: Mapping[str, SecretStr]) -> Actor:
    """The actor of the bearer token `secret`; with no keys configured every caller is `anonymous`."""
    if not keys:
        return ANONYMOUS
    if not secret or not secret.strip():
        raise AuthError("missing API key: send `Authorization: Bearer <your key>`")
    for key_id, expected in keys.items():
        if hmac.compare_digest(secret.strip().encode(), expected.get_secret_value().encode()):
            return Actor(kind="api_key", id=key_id)
    raise AuthError("invalid API key: check the key, or ask the operator for one")
