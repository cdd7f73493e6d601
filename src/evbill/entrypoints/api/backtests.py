"""POST /api/v1/backtests: what past sessions would have earned under a candidate OCPI tariff.

    POST /api/v1/backtests {"tariff": {...OCPI 2.2.1 tariff...}, "location_id": "...",
                            "started_from": "2026-03-01T00:00:00Z", "started_to": "...", "top": 10}

Answers billed vs candidate revenue, the difference per customer and location, the sessions most
affected and the assumption (same behaviour, no demand response). It reads only; nothing is stored.
"""

# No `from __future__ import annotations`: FastAPI resolves these signatures at runtime.

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool

from evbill.application.analytics.backtests import backtest_report
from evbill.application.records import Services
from evbill.domain.access.operators import Actor
from evbill.domain.analytics.facts import SessionFilter
from evbill.domain.errors import InvalidInput, Problem
from evbill.entrypoints.api.query_names import known_query_names
from evbill.entrypoints.api.responses import json_response, loads_exact
from evbill.entrypoints.api.security import actor, services
from evbill.entrypoints.api.sessions import EARLIEST, LATEST

router = APIRouter(tags=["analytics"], dependencies=[Depends(known_query_names)])
FILTERS = ("location_id", "station_id", "evse_id", "connector_class", "tariff_id", "customer_id")


def _query(body: dict[str, Any]) -> SessionFilter:
    from datetime import datetime

    problems, moments = [], {}
    for name in ("started_from", "started_to"):
        text = body.get(name)
        try:
            moment = None if text is None else datetime.fromisoformat(str(text))
        except ValueError:
            moment = None
            problems.append(Problem(f"$.{name}", "is not an RFC 3339 instant"))
        if moment is not None and moment.tzinfo is None:
            problems.append(Problem(f"$.{name}", "needs a UTC offset"))
        elif moment is not None and not EARLIEST <= moment <= LATEST:
            problems.append(Problem(f"$.{name}", "must be between 1970 and 9000"))
        moments[name] = moment
    start, end = moments["started_from"], moments["started_to"]
    if start is not None and end is not None and start.tzinfo and end.tzinfo and end <= start:
        problems.append(Problem("$.started_to", "must be after started_from"))
    if not isinstance(body.get("tariff"), dict):
        problems.append(Problem("$.tariff", "an OCPI 2.2.1 tariff object is required"))
    if problems:
        raise InvalidInput("the backtest request is invalid", tuple(problems))
    values = {name: body.get(name) for name in FILTERS}
    for name, value in values.items():
        if value is not None and (not isinstance(value, str) or len(value) > 36):
            raise InvalidInput("the backtest request is invalid", (Problem(f"$.{name}", "must be an id"),))
    return SessionFilter(moments["started_from"], moments["started_to"], **values)


@router.post("/backtests", summary="Re-rate past sessions under a candidate tariff and compare")
async def create_backtest(
    request: Request, who: Actor = Depends(actor), svc: Services = Depends(services)
) -> Response:
    try:
        body = loads_exact(await request.body())
    except ValueError:  # JSONDecodeError, or a body that is not UTF-8
        body = None
    if not isinstance(body, dict):
        raise InvalidInput("the backtest request is invalid", (Problem("$", "must be a JSON object"),))
    query = _query(body)
    top = body.get("top", 10)
    if isinstance(top, bool) or not isinstance(top, int) or not 0 <= top <= 1000:
        raise InvalidInput("the backtest request is invalid", (Problem("$.top", "must be 0..1000"),))
    result = await run_in_threadpool(
        backtest_report, svc, who, candidate=body["tariff"], query=query, top=top
    )
    return json_response(result)
