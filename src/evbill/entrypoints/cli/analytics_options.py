"""What every ``evbill analytics`` command shares: the operator, the window and the place filters."""

from __future__ import annotations

from datetime import UTC, date, datetime, tzinfo
from typing import Annotated

import typer

from evbill.application.access.keys import get_operator, platform_actor
from evbill.application.analytics.reports import calendar_zone
from evbill.bootstrap import Container
from evbill.domain.access.operators import Actor
from evbill.domain.errors import DomainError
from evbill.entrypoints.cli.output import fail, fail_domain

OperatorId = Annotated[str, typer.Option("--operator", help="The operator's id.")]
Json = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
From = Annotated[
    str | None,
    typer.Option("--from", help="Started at or after: DATE (the operator's local midnight) or RFC 3339."),
]
To = Annotated[
    str | None, typer.Option("--to", help="Started before: DATE (the operator's local midnight) or RFC 3339.")
]
# booked revenue's window: local days of the operator's invoicing time zone
DayFrom = Annotated[
    str | None, typer.Option("--from", help="From this DATE (local; default: the first entry).")
]
DayTo = Annotated[
    str | None, typer.Option("--to", help="Until this DATE, excluded (default: after the last entry).")
]
Place = Annotated[str | None, typer.Option("--location", help="Only this location.")]
Station = Annotated[str | None, typer.Option("--station", help="Only this station.")]
Evse = Annotated[str | None, typer.Option("--evse", help="Only this EVSE.")]


def instant(text: str | None, option: str, zone: tzinfo) -> datetime | None:
    """``text`` as a UTC instant: a DATE is midnight in ``zone`` (the operator's calendar, see
    ``zone_of``), an RFC 3339 instant must carry its offset."""
    if text is None:
        return None
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), datetime.min.time(), zone).astimezone(UTC)
        moment = datetime.fromisoformat(text)
    except ValueError:
        fail(f"{option} {text!r} is not a date (2026-03-01) or an RFC 3339 instant")
    if moment.tzinfo is None:
        fail(f"{option} {text!r} needs a UTC offset, e.g. 2026-03-01T00:00:00+01:00")
    return moment.astimezone(UTC)


def window(
    container: Container, who: Actor, start: str | None, end: str | None
) -> tuple[datetime | None, datetime | None]:
    """``--from`` and ``--to`` as instants; their dates are the operator's local days (its calendar
    zone: that of most of its locations)."""
    if start is None and end is None:
        return None, None
    zone = calendar_zone(container.services, who)
    since, until = instant(start, "--from", zone), instant(end, "--to", zone)
    _not_empty(since, until, start, end)
    return since, until


def _not_empty(since: date | None, until: date | None, start: str | None, end: str | None) -> None:
    if since is not None and until is not None and until <= since:
        fail(f"--to {end} must be after --from {start}: the window [from, to) would be empty")


def acting(container: Container, operator_id: str) -> Actor:
    try:
        current = container.schema_is_current()
    except Exception as error:  # an unreachable database: a plain message, not a traceback
        fail(f"cannot reach the database at {container.settings.database_url}: {error}")
    if not current:
        fail("the database schema is not current; run `evbill db upgrade` first")
    who = platform_actor(operator_id)
    try:
        get_operator(container.services, who)
    except DomainError as error:
        fail_domain(error, f"operator {operator_id!r}")
    return who


def local_days(start: str | None, end: str | None) -> tuple[date | None, date | None]:
    """``--from`` / ``--to`` as local days (YYYY-MM-DD), ``--to`` after ``--from``, or a plain error
    naming the option."""
    first, until = _local_day(start, "--from"), _local_day(end, "--to")
    _not_empty(first, until, start, end)
    return first, until


def _local_day(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        fail(f"{option} {text!r} is not a date (2026-11-01)")
