"""Column types that keep money, time and documents exact on SQLite and PostgreSQL alike.

Three values need care on the way in and out of a database:

* ``ExactDecimal(precision, scale)``: a ``Decimal`` that never passes through ``float``. PostgreSQL
  stores it as an unconstrained ``NUMERIC``, which keeps the digits it was given (``0.1`` stays
  ``0.1``, ``16.3299540000`` keeps its trailing zeros); SQLite stores the decimal's exact text (its
  own ``NUMERIC`` affinity would go through a double). Both dialects therefore give back the same
  ``Decimal``, digit for digit. The declared precision and scale are enforced here, before binding,
  on both dialects alike: a value with more decimal places than ``scale`` is refused (``ValueError``)
  rather than silently rounded, and a ``float`` is refused (``TypeError``).
* ``UtcDateTime``: an aware datetime, stored in UTC (``TIMESTAMP WITH TIME ZONE`` on PostgreSQL,
  fixed-width ISO-8601 text ``2026-05-04T09:30:00.000000Z`` on SQLite, which sorts as time does) and
  given back aware in UTC with its microseconds. A naive datetime is refused (``ValueError``).
* ``JsonDocument``: a JSON object as text, written with decimals as exact JSON numbers and read
  back with every non-integer number as a ``Decimal`` (``json.loads(..., parse_float=Decimal)``):

    >>> encode_document({"price": Decimal("0.10"), "step_size": 1})
    '{"price":0.10,"step_size":1}'
    >>> decode_document('{"price":0.10,"step_size":1}')
    {'price': Decimal('0.10'), 'step_size': 1}
"""

from __future__ import annotations

import contextlib
import decimal
import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import DateTime, Dialect, Numeric, String, Text
from sqlalchemy.types import TypeDecorator, TypeEngine

# Wide enough to quantize any value that passed the precision check, never the ambient context.
_CHECK_CONTEXT = decimal.Context(prec=200, rounding=decimal.ROUND_HALF_EVEN)
_SQLITE_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"  # e.g. 2026-11-22T01:17:06.123456Z: 27 characters, sortable
_SQLITE_TIME_LENGTH = 27


def _is_postgresql(dialect: Dialect) -> bool:
    return dialect.name == "postgresql"


class ExactDecimal(TypeDecorator[Decimal]):
    """A Decimal with at most ``precision`` digits, ``scale`` of them after the point; never a float."""

    impl = Text
    cache_ok = True

    def __init__(self, precision: int, scale: int) -> None:
        super().__init__()
        if not 0 <= scale <= precision:
            raise ValueError(f"scale {scale} must be between 0 and precision {precision}")
        self.precision = precision
        self.scale = scale
        self._quantum = Decimal(1).scaleb(-scale)

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if _is_postgresql(dialect):
            return dialect.type_descriptor(Numeric(asdecimal=True))
        return dialect.type_descriptor(Text())

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Decimal | str | None:
        if value is None:
            return None
        checked = self.checked(value)
        return checked if _is_postgresql(dialect) else format(checked, "f")

    def process_result_value(self, value: object, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if isinstance(value, Decimal):
            return value
        if isinstance(value, str):
            return Decimal(value)
        raise TypeError(f"expected a decimal from the database, got {type(value).__name__}")

    def checked(self, value: object) -> Decimal:
        """``value`` as a Decimal that fits this column; refuse floats, NaN and lost digits."""
        if isinstance(value, bool) or not isinstance(value, Decimal | int):
            raise TypeError(f"an exact Decimal is required, not {type(value).__name__} ({value!r})")
        number = Decimal(value)
        if not number.is_finite():
            raise ValueError(f"{number} cannot be stored: only finite decimals can")
        if int(number.as_tuple().exponent) < -self.scale:
            quantized = number.quantize(self._quantum, context=_CHECK_CONTEXT)
            if quantized != number:
                raise ValueError(f"{number:f} has more than {self.scale} decimal places")
            number = quantized  # only trailing zeros went
        integer_digits = max(number.adjusted() + 1, 0)
        if integer_digits > self.precision - self.scale:
            raise ValueError(
                f"{number:f} has more than {self.precision - self.scale} digits before the point"
            )
        return number


class UtcDateTime(TypeDecorator[datetime]):
    """An aware datetime in, the same instant aware in UTC out; naive datetimes are refused."""

    impl = DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if _is_postgresql(dialect):
            return dialect.type_descriptor(DateTime(timezone=True))
        return dialect.type_descriptor(String(27))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | str | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"a datetime is required, not {type(value).__name__}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} refused: times are stored as aware UTC")
        in_utc = value.astimezone(UTC)
        if _is_postgresql(dialect):
            return in_utc
        # isoformat is _SQLITE_TIME_FORMAT, several times faster than strftime (every sample row passes here)
        return f"{in_utc.replace(tzinfo=None).isoformat(timespec='microseconds')}Z"

    def process_result_value(self, value: object, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            return sqlite_time(value)
        if isinstance(value, datetime):
            if value.tzinfo is None:  # a naive value written by hand: it is UTC by convention
                return value.replace(tzinfo=UTC)
            return value.astimezone(UTC)
        raise TypeError(f"expected a timestamp from the database, got {type(value).__name__}")


def sqlite_time(value: str) -> datetime:
    """A stored SQLite time back: fromisoformat where the text has the one stored shape (fifty times
    faster than strptime, and each meter sample read passes here), strptime's exact check otherwise."""
    if len(value) == _SQLITE_TIME_LENGTH and value[10] == "T" and value[19] == "." and value[26] == "Z":
        with contextlib.suppress(ValueError):
            parsed = datetime.fromisoformat(value)  # "...Z" reads as UTC already (no astimezone to pay)
            return parsed if parsed.tzinfo is UTC else parsed.astimezone(UTC)
    return datetime.strptime(value, _SQLITE_TIME_FORMAT).replace(tzinfo=UTC)


def _encode_default(value: object) -> object:
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{value} is not a JSON number")
        return orjson.Fragment(format(value, "f"))
    raise TypeError(f"{type(value).__name__} cannot be stored in a JSON document")


def encode_document(document: object) -> str:
    """JSON text with every Decimal written as the exact number it is (no float on the way)."""
    try:
        return orjson.dumps(document, default=_encode_default).decode()
    except TypeError as error:  # orjson wraps what the default raised; a bad number is a ValueError
        if isinstance(error.__cause__, ValueError):
            raise error.__cause__ from None
        raise


_DECODER = json.JSONDecoder(parse_float=Decimal)  # one decoder: json.loads with options builds one per call


def decode_document(text: str) -> Any:
    """The document back: integers as ``int``, every other number as the exact ``Decimal`` written."""
    if text == "[]":  # most sessions' parts, and most documents' empty lists
        return []
    return _DECODER.decode(text)


class JsonDocument(TypeDecorator[Any]):
    """A JSON document kept as text on both dialects, decimals exact, key order as given."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else encode_document(value)

    def process_result_value(self, value: object, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, str):
            raise TypeError(f"expected JSON text from the database, got {type(value).__name__}")
        return decode_document(value)
