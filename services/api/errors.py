"""Every failure in one of two shapes, chosen by the route's prefix: on `/api/v1` RFC 9457 problem
details (`application/problem+json`: type, title, status, detail, plus `code` and the `problems`
list naming file, line and field); on `/v1` OpenAI's error body, `{"error": {"message", "type",
"param", "code"}}`, which OpenAI clients read. The statuses are the same for both: 400 bad input,
401 key, 404 unknown, 409 conflict, 413 too large, 503 try again.

Routes raise `ApiProblem` (or let a service's error through); the handlers here render it.
"""

from __future__ import annotations

from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

import nats.errors
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException

from services.api.auth import AuthError
from services.runtime.errors import BusUnavailableError
from services.runtime.logging import get_logger
from services.runtime.problems import ProblemDetails, ProblemItem, ServiceError

PROBLEM_JSON = "application/problem+json"
log = get_logger("api.errors")


class OpenAIErrorDetail(BaseModel):
    message: str
    type: str = Field(description="`invalid_request_error` (4xx) or `server_error` (5xx).")
    param: str | None = None
    code: str | None = None


class OpenAIError(BaseModel):
    """An error answer of `/v1`, as OpenAI sends it."""

    error: OpenAIErrorDetail


def _error_responses(model: type[BaseModel]) -> dict[int | str, dict[str, Any]]:
    return {
        "4XX": {"model": model, "description": "Refused: the request is invalid, unauthorised or names nothing known."},
        "5XX": {"model": model, "description": "A service behind the API is unavailable or failed."},
    }


PROBLEM_RESPONSES = _error_responses(ProblemDetails)  # each /api/v1 router's documented errors
OPENAI_RESPONSES = _error_responses(OpenAIError)  # the /v1 router's


class ApiProblem(HTTPException):
    """A request the API answers with an error status (an HTTPException, so FastAPI lets it through
    even when it is raised while a body is read)."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        problems: Sequence[ProblemItem] = (),
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(status, detail, headers)
        self.code, self.param, self.problems = code, param, list(problems)

    def problem(self) -> ProblemDetails:
        return ProblemDetails.of(self.status_code, self.code, self.detail, self.problems)


def problem_for(exc: Exception) -> ApiProblem:
    """The error answer for an exception raised while serving a request."""
    match exc:
        case ApiProblem():
            return exc
        case ServiceError():  # a service's refusal: its class or its answer says status and code
            problem = exc.problem()
            return ApiProblem(problem.status, problem.code, problem.detail, problem.problems)
        case AuthError():
            return ApiProblem(401, "invalid_api_key", str(exc), headers={"WWW-Authenticate": "Bearer"})
        case nats.errors.NoRespondersError() | BusUnavailableError():
            detail = f"a service behind the API is not running ({exc}): start it, or everything with `greentune up`"
            return ApiProblem(503, "service_unavailable", detail)
        case nats.errors.TimeoutError() | TimeoutError():
            detail = "a service behind the API did not answer in time (an engine may be starting): try again"
            return ApiProblem(503, "timeout", detail, headers={"Retry-After": "5"})
        case RequestValidationError():
            return _invalid_request(exc)
        case HTTPException():
            code = HTTPStatus(exc.status_code).phrase.lower().replace(" ", "_")
            return ApiProblem(exc.status_code, code, str(exc.detail), headers=dict(exc.headers or {}))
    log.exception("unexpected error serving a request", exc_info=exc)
    return ApiProblem(500, "internal_error", f"internal error ({type(exc).__name__}); see the API's log")


def _invalid_request(exc: RequestValidationError) -> ApiProblem:
    problems = []
    for error in exc.errors():
        where = [str(part) for part in error["loc"]]
        field = ".".join(where[1:] if where[:1] in (["body"], ["query"], ["path"], ["header"]) else where)
        problems.append(ProblemItem(message=error["msg"], field=field or None))
    detail = "invalid request: " + "; ".join(f"{p.field}: {p.message}" if p.field else p.message for p in problems)
    return ApiProblem(400, "validation_error", detail, problems, param=problems[0].field if problems else None)


def openai_error(message: str, status: int, code: str | None, param: str | None = None) -> dict[str, Any]:
    """OpenAI's error body (also sent inside a stream that fails after its 200)."""
    kind = "invalid_request_error" if status < 500 else "server_error"
    return OpenAIError(error=OpenAIErrorDetail(message=message, type=kind, param=param, code=code)).model_dump()


def render(request: Request, problem: ApiProblem) -> JSONResponse:
    if request.url.path.startswith("/v1/"):
        body = openai_error(problem.detail, problem.status_code, problem.code, problem.param)
        return JSONResponse(body, status_code=problem.status_code, headers=problem.headers)
    return JSONResponse(
        problem.problem().model_dump(mode="json"),
        status_code=problem.status_code,
        headers=problem.headers,
        media_type=PROBLEM_JSON,
    )


def _handle(request: Request, exc: Exception) -> JSONResponse:
    return render(request, problem_for(exc))


def _document_problems(schema: dict[str, Any]) -> dict[str, Any]:
    """FastAPI documents an error model under the route's media type: but /v1 it is problem+json."""
    problem = {"schema": {"$ref": "#/components/schemas/ProblemDetails"}}
    for path, operations in schema.get("paths", {}).items():
        if not path.startswith("/v1/"):  # /v1 answers errors in OpenAI's JSON shape
            for operation in operations.values():
                for status in ("4XX", "5XX"):
                    if status in operation.get("responses", {}):
                        operation["responses"][status]["content"] = {PROBLEM_JSON: problem}
    return schema


def install(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        return _document_problems(FastAPI.openapi(app))  # FastAPI builds it once; this is idempotent

    app.openapi = openapi  # type: ignore[method-assign]
    app.add_exception_handler(Exception, _handle)  # what nothing else caught: a 500 in the same shape
    handled = (ApiProblem, ServiceError, AuthError, RequestValidationError)
    unavailable = (BusUnavailableError, nats.errors.NoRespondersError, nats.errors.TimeoutError, TimeoutError)
    for error in (*handled, *unavailable, HTTPException):
        app.add_exception_handler(error, _handle)
