"""Stored periods and the sessions a backtest re-rates.

A session's periods are one JSON text (see ``tables.session_usage``); decoding builds the same
``SessionUsage`` the session was rated on, digit for digit.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select

from evbill.adapters.db.analytics.facts import session_conditions
from evbill.adapters.db.analytics.tables import session_usage
from evbill.adapters.db.charging.tables import charging_sessions
from evbill.adapters.db.repositories import ConnectionSource
from evbill.adapters.db.sites.tables import locations
from evbill.domain.analytics.backtest import StoredSession
from evbill.domain.analytics.facts import SessionFilter
from evbill.domain.metering.usage import ChargingPeriod, SessionUsage

_NUMBERS = slice(2, 10)


def encode_periods(usage: SessionUsage) -> str:
    def text(value: Decimal | None) -> str | None:
        return None if value is None else format(value, "f")

    return json.dumps(
        [[p.start.isoformat(), p.end.isoformat(), *(text(v) for v in p[_NUMBERS])] for p in usage.periods],
        separators=(",", ":"),
    )


def decode_usage(text: str, start: datetime, end: datetime, currency: str, session_id: str) -> SessionUsage:
    periods = tuple(
        ChargingPeriod(
            datetime.fromisoformat(row[0]),
            datetime.fromisoformat(row[1]),
            *(None if value is None else Decimal(value) for value in row[2:10]),
        )
        for row in json.loads(text)
    )
    return SessionUsage(start, end, currency, periods, session_id)


class SqlSessionUsage:
    def __init__(self, connection: ConnectionSource) -> None:
        self._connection = connection

    def add_usage(self, operator_id: str, session_id: str, usage: SessionUsage) -> None:
        row = {"session_id": session_id, "operator_id": operator_id, "periods": encode_periods(usage)}
        self._connection().execute(session_usage.insert(), row)

    def stored_sessions(self, operator_id: str, query: SessionFilter) -> Iterator[StoredSession]:
        s = charging_sessions.c
        statement = (
            select(
                s.id,
                s.location_id,
                s.customer_id,
                locations.c.time_zone,
                s.currency,
                s.tariff_version_id,
                s.total_excl_vat_minor,
                s.total_incl_vat_minor,
                s.started_at,
                s.ended_at,
                session_usage.c.periods,
            )  # fmt: skip
            .select_from(
                charging_sessions.join(locations, locations.c.id == s.location_id).outerjoin(
                    session_usage, session_usage.c.session_id == s.id
                )
            )
            .where(*session_conditions(operator_id, query), s.total_incl_vat_minor.is_not(None))
            .order_by(s.started_at, s.id)
        )
        for row in self._connection().execute(statement):
            usage = (
                None
                if row.periods is None
                else decode_usage(row.periods, row.started_at, row.ended_at, row.currency, row.id)
            )
            yield StoredSession(
                row.id, row.location_id, row.customer_id, row.time_zone, row.currency, row.tariff_version_id,
                row.total_excl_vat_minor, row.total_incl_vat_minor, usage,
            )  # fmt: skip
