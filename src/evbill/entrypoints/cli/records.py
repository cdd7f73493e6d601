"""What the record commands share: acting for an operator, option types, parsing, and output.

Every record command acts as the platform for one operator (``--operator ID``), parses its options
with a plain ``error:`` naming the option on bad input, and prints ids one per line, or JSON with
``--json``.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable, Iterator, Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import partial
from typing import Annotated, Any, TypeVar

import typer

from evbill.application import records
from evbill.application.access.keys import get_operator, platform_actor
from evbill.application.offers import imports as imports
from evbill.application.records import RecordKind, Services
from evbill.bootstrap import Container
from evbill.domain.access.operators import Actor
from evbill.domain.errors import DomainError
from evbill.domain.offers.plans import ConnectorClass
from evbill.entrypoints.cli.output import fail, fail_domain, write_json

T = TypeVar("T")
OperatorId = Annotated[
    str, typer.Option("--operator", help="The operator's id (act as the platform for it).")
]
Json = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
Text = Annotated[str | None, typer.Option()]
Number = Annotated[str | None, typer.Option(help="A decimal number, e.g. 9.99.")]
Moment = Annotated[str | None, typer.Option(help="RFC 3339, e.g. 2026-11-01T00:00:00+01:00.")]
Tariffs = Annotated[list[str] | None, typer.Option(help="CLASS=TARIFF_ID, e.g. AC=0190...; repeatable.")]


def acting(container: Container, operator_id: str) -> Actor:
    """The platform acting for an existing operator on a migrated database (else a plain error)."""
    try:
        current = container.schema_is_current()
    except Exception as error:  # an unreachable database: a plain message, not a traceback
        fail(f"cannot reach the database at {container.settings.database_url}: {error}")
    if not current:
        fail("the database schema is not current; run `evbill db upgrade` first")
    who = platform_actor(operator_id)
    call(lambda: get_operator(container.services, who), f"operator {operator_id!r}")
    return who


def call(action: Callable[[], T], context: str = "") -> T:
    try:
        return action()
    except DomainError as error:
        fail_domain(error, context)


def parse_decimal(text: str | None, option: str) -> Decimal | None:
    if text is None:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        fail(f"{option} {text!r} is not a decimal number")
    if not value.is_finite():
        fail(f"{option} must be a finite number")
    return value


def parse_moment(text: str, option: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        value = None
    if value is None or value.tzinfo is None:
        fail(f"{option} {text!r} is not an RFC 3339 date-time with an offset, e.g. 2026-11-01T00:00:00Z")
    return value


def parse_optional_moment(text: str | None, option: str) -> datetime | None:
    return None if text is None else parse_moment(text, option)


def parse_day(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        fail(f"{option} {text!r} is not a date like 2026-11-01")


def parse_tariffs(pairs: list[str] | None, option: str) -> dict[ConnectorClass, str]:
    result = {}
    for pair in pairs or []:
        name, _, tariff_id = pair.partition("=")
        if name.strip().upper() not in ConnectorClass.__members__ or not tariff_id.strip():
            fail(f"{option} {pair!r} is not CLASS=TARIFF_ID with CLASS one of AC, DC, HPC")
        result[ConnectorClass(name.strip().upper())] = tariff_id.strip()
    return result


def plain(value: Any) -> Any:
    """A record as JSON-able data; decimals stay exact numbers (``output.write_json``)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {field.name: plain(getattr(value, field.name)) for field in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(plain(key)): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return value


def all_records(
    services: Services, who: Actor, kind: RecordKind, filters: Mapping[str, object]
) -> Iterator[Any]:
    """Every record of a kind that matches, page by page."""
    cursor = None
    while True:
        page = call(
            partial(records.list_records, services, who, kind, filters=filters, cursor=cursor, limit=200)
        )
        yield from page.items
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


def show_created(record: Any, json: bool) -> None:
    if json:
        write_json(plain(record))
    else:
        typer.echo(record.id)


def show_list(items: Iterator[Any], json: bool, line: Callable[[Any], str]) -> None:
    if json:
        write_json([plain(item) for item in items])
        return
    for item in items:
        typer.echo(line(item))


def present(values: Mapping[str, object]) -> dict[str, object]:
    return {key: value for key, value in values.items() if value is not None}
