"""Shared API pieces: pagination parameters and pages, ETags and If-Match, schema base classes.

List endpoints answer with ``page_response``: the page written straight to JSON bytes (orjson) in the
same form pydantic gives ``PageOut[...]`` (decimals as strings, UTC datetimes with ``Z``, enums by
value), without validating fifty response models per request. The route still names
``response_model=PageOut[...]`` for the OpenAPI document.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Annotated, Any, Generic, TypeVar

import orjson
from fastapi import Header, Query
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer
from starlette.responses import Response

from evbill.domain.errors import DomainError, InvalidInput, Problem, StaleVersion
from evbill.domain.offers.bounds import MAX_AMOUNT, MAX_COUNT, MAX_CREDIT_LIMIT_MINOR

T = TypeVar("T")

Limit = Annotated[int, Query(ge=1, le=200, description="Items per page (1-200).")]

# Field types shared by request and response models.
Id = Annotated[str, Field(min_length=1, max_length=36)]
# A decimal as people and JSON write it exactly: a string of the digits 0-9 ("12.09", "-3", ".5") or
# a whole JSON number. A JSON number with a fraction has been through a binary float by the time the
# body is parsed (12.0900000000000000001 arrives as 12.09), and Decimal() reads other scripts' digits
# ("١٢" is 12): both are refused, naming the field, rather than taken as something not sent.
_DECIMAL_TEXT = re.compile(r"-?(?:\d+(?:\.\d*)?|\.\d+)", re.ASCII)  # no sign but minus, no spaces


def _exact_decimal(value: object) -> object:
    if isinstance(value, bool):
        raise ValueError('a decimal number, e.g. "12.09"')
    if isinstance(value, float):
        raise ValueError(
            'send it as a string, e.g. "12.09": a JSON number with a fraction or an exponent is not exact'
        )
    if isinstance(value, str) and not _DECIMAL_TEXT.fullmatch(value):
        raise ValueError('a decimal number written with the digits 0-9 and a point, e.g. "12.09"')
    return value


ExactIn = BeforeValidator(_exact_decimal)
"""On a request's decimal field: only an exact decimal is read (see ``_exact_decimal``)."""
Amount = Annotated[Decimal, ExactIn, Field(ge=-MAX_AMOUNT, le=MAX_AMOUNT, max_digits=28, decimal_places=10)]
"""An amount a person enters; the use cases also refuse negatives where a discount or credit is meant."""
Price = Annotated[Decimal, ExactIn, Field(ge=0, le=MAX_AMOUNT, max_digits=28, decimal_places=10)]
"""A fee or price: never negative (money given back is a discount or a credit)."""
CreditLimit = Annotated[
    int, Field(ge=0, le=MAX_CREDIT_LIMIT_MINOR, description="In minor units (cents), at most 100,000,000.")
]
Count = Annotated[int, Field(ge=1, le=MAX_COUNT)]
Kwh = Annotated[Decimal, ExactIn, Field(ge=0, max_digits=20, decimal_places=6)]
VatRate = Annotated[
    Decimal, ExactIn, Field(ge=0, le=100, max_digits=7, decimal_places=4, description="Percent.")
]
Days = Annotated[int, Field(ge=0, le=365)]
Exact = Annotated[
    Decimal, PlainSerializer(lambda value: format(value, "f"), return_type=str, when_used="json")
]
"""A decimal written with every digit it has, as a string ("0.3300000000")."""
Cursor = Annotated[str | None, Query(max_length=200, description="The next_cursor of the previous page.")]


class Strict(BaseModel):
    """Request bodies: unknown fields are refused, strings trimmed."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class PageOut(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(
        description="Pass as ?cursor= to get the next page; null on the last page."
    )


def _as_pydantic_writes(value: object) -> object:
    if isinstance(value, Decimal):
        return str(value)  # what pydantic writes for a Decimal: its own digits, as a string
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def page_response(items: Sequence[Mapping[str, Any]], next_cursor: str | None) -> Response:
    """A ``PageOut`` as JSON, byte for byte what pydantic would write for the same values."""
    body = orjson.dumps(
        {"items": items, "next_cursor": next_cursor},
        default=_as_pydantic_writes,
        option=orjson.OPT_UTC_Z,
    )
    return Response(body, media_type="application/json")


class PreconditionRequired(DomainError):
    code = "precondition_required"


def etag(version: int) -> str:
    return f'"{version}"'


def expected_version(if_match: str | None) -> int:
    """The version a strong If-Match ETag names ('"3"'); changes without one are refused (428), and a
    weak ETag ('W/"3"') cannot match (RFC 9110: If-Match compares strongly), so it is refused (412)."""
    if if_match is None:
        raise PreconditionRequired(
            'send If-Match with the ETag you read (e.g. If-Match: "3"), '
            "so a stale update cannot overwrite a newer one"
        )
    if if_match.strip().startswith("W/"):
        raise StaleVersion(f'If-Match {if_match!r} is a weak ETag; If-Match needs the strong one ("3")')
    text = if_match.strip().strip('"')
    if not (text.isascii() and text.isdecimal()):  # "²".isdigit() is True: only ASCII 0-9 make a version
        raise PreconditionRequired(f"If-Match {if_match!r} is not an ETag this API gave out")
    return int(text)


IfMatch = Annotated[str | None, Header(description='The ETag of the version you are changing, e.g. "3".')]


def refuse_nulls(body: BaseModel, nullable: frozenset[str]) -> None:
    """A change sends only what changes; null clears a field, which only optional fields allow."""
    problems = tuple(
        Problem(f"$.{name}", "cannot be null (leave it out to keep it)")
        for name in sorted(body.model_fields_set)
        if getattr(body, name) is None and name not in nullable
    )
    if problems:
        raise InvalidInput("the change is invalid", problems)
