"""Shared OCPI 2.2.1 value formats: DateTime and number.

OCPI DateTimes are RFC 3339 in UTC; "the absence of the timezone designator implies a UTC timestamp".
Numbers are JSON numbers with (unless stated otherwise) 4 decimals.

    >>> parse_datetime("2015-06-29T21:39:09Z")
    datetime.datetime(2015, 6, 29, 21, 39, 9, tzinfo=datetime.timezone.utc)
    >>> format_datetime(parse_datetime("2015-06-29T23:39:09+02:00"))
    '2015-06-29T21:39:09Z'
    >>> ocpi_number(Decimal("1.97305555"))
    Decimal('1.9731')
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

from evbill.domain.errors import InvalidInput, Problem

NUMBER_QUANTUM = Decimal("0.0001")


def parse_datetime(value: object, path: str = "$") -> datetime:
    """An OCPI DateTime as an aware UTC datetime; raises InvalidInput naming ``path``."""
    if not isinstance(value, str):
        raise InvalidInput("invalid DateTime", (Problem(path, "must be an RFC 3339 date-time string"),))
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(
            "invalid DateTime", (Problem(path, f"{value!r} is not an RFC 3339 date-time"),)
        ) from None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def format_datetime(moment: datetime) -> str:
    text = moment.astimezone(UTC).isoformat()
    return text.removesuffix("+00:00") + "Z"


def ocpi_number(value: Decimal) -> Decimal:
    """A quantity as OCPI shows it: 4 decimals, half-up, trailing zeros kept out of the way."""
    return value.quantize(NUMBER_QUANTUM, rounding=ROUND_HALF_UP).normalize() if value else Decimal(0)
