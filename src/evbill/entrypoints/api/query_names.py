"""Unknown query parameters refused: ``?from=...&to=...`` on a report that reads ``started_from`` and
``started_to`` is a 422 naming ``query.from``, not every session silently reported.

    router = APIRouter(prefix="/analytics", dependencies=[Depends(known_query_names)])

The names a route knows are those its signature and its dependencies declare (as FastAPI reads them),
gathered once per route.
"""

# No `from __future__ import annotations`: FastAPI resolves these signatures at runtime.

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from evbill.domain.errors import InvalidInput, Problem

_KNOWN: dict[int, frozenset[str]] = {}


def _query_names(dependant: Dependant) -> set[str]:
    names = {param.alias for param in dependant.query_params}
    for dependency in dependant.dependencies:
        names |= _query_names(dependency)
    return names


def _names(route: APIRoute) -> frozenset[str]:
    known = _KNOWN.get(id(route))
    if known is None:
        known = _KNOWN[id(route)] = frozenset(_query_names(route.dependant))
    return known


def known_query_names(request: Request) -> None:
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    known = _names(route)
    unknown = sorted({name for name in request.query_params if name not in known})
    if unknown:
        expected = ", ".join(sorted(known)) or "none"
        raise InvalidInput(
            "the request is invalid",
            tuple(Problem(f"query.{name}", f"unknown parameter; known: {expected}") for name in unknown),
        )
