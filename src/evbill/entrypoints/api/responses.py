"""JSON responses that keep decimals exact.

Our own API objects carry amounts and coordinates as decimal strings (pydantic does that); OCPI
documents (tariffs, CDRs) must carry JSON numbers, written here from the decimal's own digits
(``0.25`` stays ``0.25``, never ``0.25000000000000001``).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import orjson
from starlette.responses import Response


def _default(value: object) -> object:
    if isinstance(value, Decimal):
        return orjson.Fragment(format(value, "f"))
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def dumps(value: Any) -> bytes:
    return orjson.dumps(value, default=_default)


def json_response(
    body: Any,
    *,
    status_code: int = 200,
    media_type: str = "application/json",
    headers: dict[str, str] | None = None,
) -> Response:
    return Response(dumps(body), status_code=status_code, media_type=media_type, headers=headers)


def loads_exact(data: bytes) -> Any:
    """Decode a request body keeping numbers exact (floats become Decimal via their text)."""
    return json.loads(data, parse_float=Decimal)
