"""Schemathesis checks of tenancy, loaded into its runs by tests/api/test_openapi_properties.py
(SCHEMATHESIS_HOOKS): with another tenant's key no answer is a 2xx about the owner's resources
(asked by id, or shown in a list), and with an invalid key nothing behind authentication is a 2xx.
What they compare against comes in GREENTUNE_TEST_FOREIGN_IDS (comma-separated) and
GREENTUNE_TEST_KEY_IS_INVALID."""

from __future__ import annotations

import os
from typing import Any

import schemathesis

OPEN_PATHS = ("/healthz", "/health/", "/asyncapi", "/openapi.json", "/docs")  # no key asked


def _foreign_ids() -> list[str]:
    return [i for i in os.environ.get("GREENTUNE_TEST_FOREIGN_IDS", "").split(",") if i]


@schemathesis.check
def no_2xx_on_another_tenants_resource(ctx: Any, response: Any, case: Any) -> None:
    if not 200 <= response.status_code < 300:
        return
    asked = f"{case.formatted_path} {case.query} {case.body}"
    for foreign in _foreign_ids():
        assert foreign not in asked, f"{response.status_code} for another tenant's {foreign} ({case.formatted_path})"
        assert foreign not in response.text, f"another tenant's {foreign} shown by {case.formatted_path}"


@schemathesis.check
def no_2xx_with_an_invalid_key(ctx: Any, response: Any, case: Any) -> None:
    if os.environ.get("GREENTUNE_TEST_KEY_IS_INVALID") != "1" or case.formatted_path.startswith(OPEN_PATHS):
        return
    assert not 200 <= response.status_code < 300, f"{response.status_code} with an invalid key: {case.formatted_path}"
