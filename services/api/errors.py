"""Every failure as OpenAI's error body, `{"error": {"message", "type", "param", "code"}}`, with the
HTTP status an OpenAI client expects (400 bad request, 401 key, 404 model, 503 try again)."""

from __future__ import annotations

from typing import Any

import nats.errors
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from services.api.auth import AuthError
from services.carbon.domain import CarbonError, UnknownSubjectError
from services.inference.domain import (
    AdapterBaseMismatchError,
    CapacityError,
    EngineFailedError,
    InferenceError,
    InvalidRequestError,
    PromptTooLongError,
    UnknownAdapterError,
    UnknownModelError,
)
from services.registry import domain as registry
from services.runtime.errors import BusUnavailableError

INFERENCE_STATUS: list[tuple[type[InferenceError], int, str]] = [  # first match wins
    (UnknownModelError, 404, "invalid_request_error"),
    (UnknownAdapterError, 404, "invalid_request_error"),
    (InvalidRequestError, 400, "invalid_request_error"),
    (PromptTooLongError, 400, "invalid_request_error"),
    (AdapterBaseMismatchError, 400, "invalid_request_error"),
    (CapacityError, 503, "server_error"),
    (EngineFailedError, 503, "server_error"),
]


REGISTRY_STATUS: list[tuple[type[registry.RegistryError], int]] = [  # first match wins; else 400
    (registry.UnknownModelError, 404),
    (registry.UnknownVersionError, 404),
    (registry.VersionDeletedError, 409),
    (registry.VersionFailedVerificationError, 409),
    (registry.VersionStillAliasedError, 409),
]


TRAINER_STATUS = {  # a trainer refusal's category -> HTTP status
    "ValidationError": 400,
    "ResourceError": 422,
    "BudgetError": 403,
    "NotFound": 404,
    "Conflict": 409,
    "Unavailable": 503,
}


def error_body(message: str, kind: str, code: str | None, param: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def response_for(exc: Exception) -> JSONResponse:
    """The HTTP answer for an error raised while serving a request."""
    if isinstance(exc, InferenceError):
        status, kind = next(((s, k) for cls, s, k in INFERENCE_STATUS if isinstance(exc, cls)), (500, "server_error"))
        return JSONResponse(error_body(str(exc), kind, exc.code), status_code=status)
    if isinstance(exc, CarbonError):
        status = 404 if isinstance(exc, UnknownSubjectError) else 400
        return JSONResponse(error_body(str(exc), "invalid_request_error", type(exc).__name__), status_code=status)
    if isinstance(exc, registry.RegistryError):
        status = next((s for cls, s in REGISTRY_STATUS if isinstance(exc, cls)), 400)
        return JSONResponse(error_body(str(exc), "invalid_request_error", type(exc).__name__), status_code=status)
    if isinstance(exc, AuthError):
        return JSONResponse(error_body(str(exc), "invalid_request_error", "invalid_api_key"), status_code=401)
    if isinstance(exc, (nats.errors.NoRespondersError, BusUnavailableError)):
        message = f"a service behind the API is not running ({exc}): start it, or everything with `greentune up`"
        return JSONResponse(error_body(message, "server_error", "service_unavailable"), status_code=503)
    if isinstance(exc, (nats.errors.TimeoutError, TimeoutError)):
        message = "the inference service did not answer in time; it may be starting an engine: try again"
        return JSONResponse(error_body(message, "server_error", "timeout"), status_code=503)
    raise exc


def _invalid_body(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = []
    for error in exc.errors():
        field = ".".join(str(part) for part in error["loc"] if part != "body")
        problems.append(f"{field}: {error['msg']}" if field else error["msg"])
    first = ".".join(str(p) for p in exc.errors()[0]["loc"] if p != "body") if exc.errors() else None
    return JSONResponse(
        error_body("invalid request body: " + "; ".join(problems), "invalid_request_error", "invalid_request", first),
        status_code=400,
    )


def _known(_: Request, exc: Exception) -> JSONResponse:
    return response_for(exc)


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _invalid_body)
    refusals = (InferenceError, CarbonError, registry.RegistryError, AuthError)
    unavailable = (BusUnavailableError, nats.errors.NoRespondersError, nats.errors.TimeoutError, TimeoutError)
    for error in (*refusals, *unavailable):
        app.add_exception_handler(error, _known)
