"""The one error shape of greentune: RFC 9457 problem details (type, title, status, detail) with
greentune's `code` and the `problems` list naming file, line and field. Every `rpc.*` refusal is
one, and the API answers `/api/v1` errors with the same model (as `application/problem+json`).

`ServiceError` is the base a service's refusals derive from: its class says the HTTP-like status
and the code, so the service, its clients and the API agree on both without a table each.
"""

from __future__ import annotations

from collections.abc import Sequence
from http import HTTPStatus
from typing import ClassVar

from pydantic import BaseModel, Field

PROBLEM_TYPE = "urn:greentune:problem:"  # + code: the problem's `type`


class ProblemItem(BaseModel):
    """One thing wrong with the request: where (file, line, field) and what to do."""

    message: str
    file: str | None = None
    line: int | None = None
    field: str | None = None


class ProblemDetails(BaseModel):
    """An error answer of `/api/v1` and of every `rpc.*` subject (RFC 9457), with greentune's `code`
    and `problems`."""

    type: str = Field(description=f"`{PROBLEM_TYPE}<code>`: names the kind of problem.")
    title: str = Field(description="The HTTP status's phrase.")
    status: int = Field(description="The HTTP status code.")
    detail: str = Field(description="What went wrong and what to do about it.")
    code: str = Field(description="Machine-readable kind: `validation_error`, `not_servable`, an error class name...")
    problems: list[ProblemItem] = Field(default_factory=list, description="Each input at fault, when known.")

    @classmethod
    def of(cls, status: int, code: str, detail: str, problems: Sequence[ProblemItem] = ()) -> ProblemDetails:
        return cls(
            type=PROBLEM_TYPE + code,
            title=HTTPStatus(status).phrase,
            status=status,
            detail=detail,
            code=code,
            problems=list(problems),
        )


class ServiceError(Exception):
    """A refusal a service answers with (not a failure of the service): bad input, unknown names,
    conflicts. `status` is the HTTP status that fits; `code` is the class name unless a class sets
    its own; `problems` (objects with message, file, line, field) name each input at fault."""

    status: ClassVar[int] = 400
    code: ClassVar[str] = ""
    problems: Sequence[object] = ()

    def error_code(self) -> str:
        return self.code or type(self).__name__

    def problem(self) -> ProblemDetails:
        items = [ProblemItem.model_validate(p, from_attributes=True) for p in self.problems]
        return ProblemDetails.of(self.status, self.error_code(), str(self), items)
