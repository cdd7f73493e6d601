"""Errors as RFC 9457 ``application/problem+json``, mapped from the domain's codes in one place.

Every problem has ``type``, ``title``, ``status``, ``detail`` and evbill's stable ``code``; validation
problems add ``errors``: every field problem with its path (``$.charging_periods[0].volume``) and
message, not only the first.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from evbill.domain.errors import DomainError, Problem, RateLimited, RequestInProgress
from evbill.entrypoints.api.responses import json_response

PROBLEM_JSON = "application/problem+json"
logger = logging.getLogger("evbill.api")

_STATUS = {
    "invalid_input": 422,
    "currency_mismatch": 422,
    "unknown_currency": 422,
    "meter_data_error": 422,
    "not_found": 404,
    "conflict": 409,
    "request_in_progress": 409,
    "stale_version": 412,
    "precondition_required": 428,
    "forbidden": 403,
    "unauthenticated": 401,
    "rate_limited": 429,
    "payload_too_large": 413,
    "unbalanced_entry": 422,
    "payment_declined": 402,
    "payment_refused": 409,
    "gateway_unavailable": 502,
    "insufficient_balance": 409,
}
_TITLES = {
    400: "Bad request",
    401: "Not authenticated",
    402: "Payment required",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    412: "Precondition failed",
    413: "Payload too large",
    415: "Unsupported media type",
    422: "Invalid input",
    428: "Precondition required",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
}


def problem(
    status: int,
    code: str,
    detail: str,
    *,
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body: dict[str, Any] = {
        "type": f"https://evbill.dev/problems/{code}",
        "title": _TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "code": code,
    }
    if errors is not None:
        body["errors"] = errors
    return json_response(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _field_errors(problems: tuple[Problem, ...]) -> list[dict[str, str]]:
    return [{"path": p.path, "message": p.message, "severity": p.severity.value} for p in problems]


async def _domain_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, DomainError)
    status = _STATUS.get(error.code, 400)
    problems: tuple[Problem, ...] = getattr(error, "problems", ())
    headers = None
    if isinstance(error, RateLimited | RequestInProgress):
        headers = {"Retry-After": str(error.retry_after)}
    elif status == 401:
        headers = {"WWW-Authenticate": 'Bearer realm="evbill"'}
    return problem(
        status,
        error.code,
        error.message,
        errors=_field_errors(problems) if problems else None,
        headers=headers,
    )


def _location(loc: tuple[Any, ...]) -> str:
    """pydantic's ('body', 'periods', 0, 'volume') as '$.periods[0].volume'; query/path as 'query.x'."""
    head, *rest = loc if loc else ("body",)
    path = "$" if head == "body" else str(head)
    for part in rest:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


async def _validation_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)
    errors = [
        {
            "path": _location(tuple(item.get("loc", ()))),
            "message": str(item.get("msg", "invalid")),
            "severity": "error",
        }
        for item in error.errors()
    ]
    return problem(422, "invalid_input", "the request is invalid", errors=errors)


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, StarletteHTTPException)
    code = {404: "not_found", 405: "method_not_allowed", 401: "unauthenticated"}.get(
        error.status_code, "http_error"
    )
    return problem(error.status_code, code, str(error.detail), headers=getattr(error, "headers", None))


async def _unexpected(request: Request, error: Exception) -> Response:
    logger.exception("unexpected error on %s %s", request.method, request.url.path)
    return problem(500, "internal_error", "an unexpected error occurred; it has been logged")


def install(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
