"""Purchase prices as operators hand them over: a CSV series and a time-of-use schedule.

A price series CSV has a header and one row per quarter hour (e.g. day-ahead spot prices)::

    start,price
    2026-03-03T12:00:00Z,0.20
    2026-03-03T13:15:00+01:00,0.40

``start`` is an RFC 3339 instant with its offset; ``price`` a decimal with a point, per kWh, or per MWh
with ``unit=mwh`` (divided by 1000 exactly). Every bad row is reported with its line number.
"""

from __future__ import annotations

import csv
import enum
import io
from datetime import UTC, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from evbill.domain.analytics.costs import (
    ALL_DAYS,
    EnergyPurchase,
    PriceKind,
    PricePoint,
    TimeOfUseWindow,
    check_points,
)
from evbill.domain.errors import InvalidInput, Problem


class PriceUnit(enum.StrEnum):
    KWH = "kwh"
    MWH = "mwh"


def read_price_csv(text: str, unit: PriceUnit = PriceUnit.KWH) -> tuple[PricePoint, ...]:
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None or not {"start", "price"} <= set(reader.fieldnames):
        raise InvalidInput("a price series CSV needs the columns start,price")
    points: list[PricePoint] = []
    problems: list[Problem] = []
    for line, row in enumerate(reader, start=2):
        moment = _instant(row.get("start") or "")
        price = _decimal(row.get("price") or "")
        if moment is None:
            problems.append(Problem(f"line {line}", f"start {row.get('start')!r} is not an RFC 3339 instant"))
        if price is None:
            problems.append(Problem(f"line {line}", f"price {row.get('price')!r} is not a decimal number"))
        if moment is not None and price is not None:
            points.append(PricePoint(moment, price.scaleb(-3) if unit is PriceUnit.MWH else price))
    if problems:
        raise InvalidInput("the price series CSV has errors", tuple(problems))
    if not points:
        raise InvalidInput("the price series CSV has no prices")
    return check_points(points)


def purchase_from(location_id: str, document: dict[str, Any]) -> EnergyPurchase:
    """A fixed price or schedule from JSON: ``{"currency": "EUR", "kind": "fixed", "fixed_price": "0.25"}``
    or ``{"currency": "EUR", "kind": "time_of_use", "windows": [{"start": "23:00", "end": "07:00",
    "price": "0.12", "weekdays": [0, 1, 2, 3, 4, 5, 6]}, ...]}`` (prices as decimal strings)."""
    problems: list[Problem] = []
    try:
        kind = PriceKind(str(document.get("kind")))
    except ValueError:
        raise InvalidInput("kind is fixed, time_of_use or series") from None
    currency = document.get("currency")
    if not isinstance(currency, str) or len(currency) != 3:
        problems.append(Problem("currency", "an ISO 4217 code such as EUR"))
    fixed = document.get("fixed_price")
    price = None if fixed is None else _decimal(str(fixed)) if isinstance(fixed, str) else None
    if fixed is not None and price is None:
        problems.append(Problem("fixed_price", 'a decimal string such as "0.25"'))
    windows: list[TimeOfUseWindow] = []
    for index, item in enumerate(document.get("windows") or []):
        window = _window(item)
        if window is None:
            problems.append(Problem(f"windows[{index}]", "start and end HH:MM, price a decimal string"))
        else:
            windows.append(window)
    if problems:
        raise InvalidInput("the energy purchase price is not usable", tuple(problems))
    return EnergyPurchase(location_id, str(currency).upper(), kind, price, tuple(windows))


def _window(item: object) -> TimeOfUseWindow | None:
    if not isinstance(item, dict) or not isinstance(item.get("price"), str):
        return None
    try:
        start, end = time.fromisoformat(str(item["start"])), time.fromisoformat(str(item["end"]))
    except (KeyError, ValueError):
        return None
    price = _decimal(item["price"])
    days = item.get("weekdays", list(ALL_DAYS))
    if price is None or not isinstance(days, list) or not all(isinstance(d, int) for d in days):
        return None
    return TimeOfUseWindow(start, end, price, tuple(days))


def _instant(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return None if moment.tzinfo is None else moment.astimezone(UTC)


def _decimal(text: str) -> Decimal | None:
    try:
        number = Decimal(text.strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() else None
