"""/api/v1/health: is the service up, and can it reach its database at the expected schema?"""

# No `from __future__ import annotations`: FastAPI resolves these signatures at runtime.

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel
from starlette.responses import Response

from evbill import __version__
from evbill.entrypoints.api.responses import json_response

router = APIRouter(tags=["health"])


class HealthOut(BaseModel):
    status: str
    version: str
    database: str
    schema_current: bool | None


@router.get("/health", response_model=HealthOut, summary="Liveness and database check (no key needed)")
def health(request: Request) -> Response:
    container = request.app.state.container
    body: dict[str, Any] = {"status": "ok", "version": __version__, "database": "ok", "schema_current": None}
    try:
        body["schema_current"] = container.schema_is_current()
    except Exception as error:  # the database is down or unreachable: say so, with 503
        body.update(status="unavailable", database=f"unreachable: {type(error).__name__}")
        return json_response(body, status_code=503)
    if not body["schema_current"]:
        body["status"] = "degraded"
        return json_response(body, status_code=503)
    return json_response(body)
