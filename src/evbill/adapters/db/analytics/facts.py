"""Reading finished sessions as analytics facts: one query, joined with place, customer and plan.

    SELECT s.*, l.time_zone, c.kind, first.first_started, (plan in force at the start)
    FROM charging_sessions s JOIN locations l LEFT JOIN customers c LEFT JOIN (first session per customer)
    WHERE s.operator_id = :operator AND s.status = 'COMPLETED' AND s.ended_at IS NOT NULL [AND filters]

The plan is the one of the contract's terms in force when the session started (the terms with the
latest ``effective_from`` not after it). A filter on started_at reads the index
``(operator_id, started_at, id)``; a place filter its own ``(operator_id, <place>, started_at, id)``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select

from evbill.adapters.db.charging.tables import charging_sessions
from evbill.adapters.db.offers.tables import contract_terms, customers
from evbill.adapters.db.records import CHARGE_PARTS
from evbill.adapters.db.repositories import ConnectionSource
from evbill.adapters.db.sites.tables import locations
from evbill.adapters.db.types import UtcDateTime
from evbill.domain.analytics.facts import SessionFact, SessionFilter
from evbill.domain.charging.sessions import SessionStatus

_FILTERED = ("location_id", "station_id", "evse_id", "connector_class", "tariff_id", "customer_id")


def session_conditions(operator_id: str, query: SessionFilter) -> list[ColumnElement[bool]]:
    s = charging_sessions.c
    where = [
        s.operator_id == operator_id,
        s.status == SessionStatus.COMPLETED.value,
        s.ended_at.is_not(None),
    ]
    if query.start is not None:
        where.append(s.started_at >= query.start)
    if query.end is not None:
        where.append(s.started_at < query.end)
    for name in _FILTERED:
        value = getattr(query, name)
        if value is not None:
            where.append(s[name] == value)
    return where


def _facts_statement(operator_id: str, query: SessionFilter) -> Select[Any]:
    s, terms = charging_sessions.c, contract_terms.c
    first = (
        select(s.customer_id, func.min(s.started_at, type_=UtcDateTime()).label("first_started"))
        .where(s.operator_id == operator_id, s.customer_id.is_not(None))
        .group_by(s.customer_id)
        .subquery()
    )
    plan = (
        select(terms.plan_id)
        .where(terms.contract_id == s.contract_id, terms.effective_from <= s.started_at)
        .order_by(terms.effective_from.desc(), terms.number.desc())
        .limit(1)
        .scalar_subquery()
    )
    return (
        select(
            s.id,
            s.location_id,
            s.station_id,
            s.evse_id,
            locations.c.time_zone,
            s.started_at,
            s.ended_at,
            s.currency,
            s.energy_wh,
            s.charging_s,
            s.total_excl_vat,
            s.total_incl_vat,
            s.parts,
            s.connector_class,
            s.tariff_id,
            plan.label("plan_id"),
            s.customer_id,
            customers.c.kind,
            first.c.first_started,
        )  # fmt: skip
        .select_from(
            charging_sessions.join(locations, locations.c.id == s.location_id)
            .outerjoin(customers, customers.c.id == s.customer_id)
            .outerjoin(first, first.c.customer_id == s.customer_id)
        )
        .where(*session_conditions(operator_id, query))
        .order_by(s.started_at, s.id)
    )


class SqlSessionFacts:
    def __init__(self, connection: ConnectionSource) -> None:
        self._connection = connection

    def session_facts(self, operator_id: str, query: SessionFilter) -> Iterator[SessionFact]:
        rows = self._connection().execute(_facts_statement(operator_id, query))
        to_parts = CHARGE_PARTS.from_document
        for row in rows:
            yield SessionFact(
                row.id, row.location_id, row.station_id, row.evse_id, row.time_zone, row.started_at,
                row.ended_at, row.currency, row.energy_wh, row.charging_s, row.total_excl_vat,
                row.total_incl_vat, to_parts(row.parts or []), row.connector_class, row.tariff_id,
                row.plan_id, row.customer_id, row.kind, row.first_started,
            )  # fmt: skip
