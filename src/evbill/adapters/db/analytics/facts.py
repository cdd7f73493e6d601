"""Reading finished sessions as analytics facts: one query, joined with place, customer and plan.

    SELECT s.*, l.time_zone, c.kind, first.first_started, (plan in force at the start)
    FROM charging_sessions s JOIN locations l LEFT JOIN customers c LEFT JOIN (first session per customer)
    WHERE s.operator_id = :operator AND s.status = 'COMPLETED' AND s.ended_at IS NOT NULL [AND filters]

The plan and the payment method are those of the contract's terms in force when the session started
(the terms with the latest ``effective_from`` not after it); a session without contract terms was paid
ad hoc if a session payment names it (subject ``<id>`` or ``session:<id>``, or ``adhoc:<start>`` of an
ad hoc start that names the session), else it is unpaid.
Refunds and disputes are the sums of those session payments' events. A filter on started_at reads the index
``(operator_id, started_at, id)``; a place filter its own ``(operator_id, <place>, started_at, id)``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, and_, func, literal, select

from evbill.adapters.db.charging.tables import charging_sessions
from evbill.adapters.db.offers.tables import contract_terms, customers
from evbill.adapters.db.payments.tables import payment_events, payments
from evbill.adapters.db.records import CHARGE_PARTS
from evbill.adapters.db.repositories import ConnectionSource
from evbill.adapters.db.session_payments.tables import adhoc_starts
from evbill.adapters.db.sites.tables import locations
from evbill.adapters.db.types import UtcDateTime
from evbill.domain.analytics.facts import SessionFact, SessionFilter, payment_method_of
from evbill.domain.charging.sessions import SessionStatus
from evbill.domain.payments.events import EventKind
from evbill.domain.payments.model import PaymentPurpose

_SESSION_PREFIX = "session:"
_PAYMENT_SUMS = {
    EventKind.REFUNDED.value: "refunded_minor",
    EventKind.DISPUTE_OPENED.value: "disputed_minor",
    EventKind.DISPUTE_LOST.value: "charged_back_minor",
}

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


def _terms(column: Any) -> Any:
    s, terms = charging_sessions.c, contract_terms.c
    return (
        select(column)
        .where(terms.contract_id == s.contract_id, terms.effective_from <= s.started_at)
        .order_by(terms.effective_from.desc(), terms.number.desc())
        .limit(1)
        .scalar_subquery()
    )


def _facts_statement(
    operator_id: str, query: SessionFilter, session_ids: Sequence[str] | None = None
) -> Select[Any]:
    """All the filter's facts; or, given ``session_ids``, those sessions' (each customer's first
    session then read by index, one customer at a time)."""
    s = charging_sessions.c
    plan = _terms(contract_terms.c.plan_id)
    method = _terms(contract_terms.c.payment_method)
    where = session_conditions(operator_id, query)
    if session_ids is None:
        first = (
            select(s.customer_id, func.min(s.started_at, type_=UtcDateTime()).label("first_started"))
            .where(s.operator_id == operator_id, s.customer_id.is_not(None))
            .group_by(s.customer_id)
            .subquery()
        )
        first_started: Any = first.c.first_started
        joined = (
            charging_sessions.join(locations, locations.c.id == s.location_id)
            .outerjoin(customers, customers.c.id == s.customer_id)
            .outerjoin(first, first.c.customer_id == s.customer_id)
        )
    else:
        earlier = charging_sessions.alias("earlier")
        first_started = (
            select(func.min(earlier.c.started_at, type_=UtcDateTime()))
            .where(earlier.c.operator_id == s.operator_id, earlier.c.customer_id == s.customer_id)
            .scalar_subquery()
        )
        joined = charging_sessions.join(locations, locations.c.id == s.location_id).outerjoin(
            customers, customers.c.id == s.customer_id
        )
        where.append(s.id.in_(session_ids))
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
            s.total_excl_vat_minor,
            s.total_incl_vat_minor,
            s.parts,
            s.connector_class,
            s.tariff_id,
            plan.label("plan_id"),
            s.customer_id,
            customers.c.kind,
            first_started.label("first_started"),
            method.label("payment_method"),
        )  # fmt: skip
        .select_from(joined)
        .where(*where)
        .order_by(s.started_at, s.id)
    )


def session_payments(
    connection: Connection, operator_id: str, session_ids: Sequence[str] | None
) -> dict[str, dict[str, int]]:
    """Per session id with a session payment: refunded, disputed and charged-back sums (maybe zero)."""
    p, e = payments.c, payment_events.c
    subject = p.subject
    where = [p.operator_id == operator_id, p.purpose == PaymentPurpose.SESSION.value]
    if session_ids is not None:
        names = [*session_ids, *(_SESSION_PREFIX + session_id for session_id in session_ids)]
        where.append(subject.in_(names))
    statement = (
        select(subject, e.kind, func.coalesce(func.sum(e.amount), literal(0)))
        # operator_id in the join lets PostgreSQL read the events by their index, not all of them
        .select_from(
            payments.outerjoin(payment_events, and_(e.operator_id == p.operator_id, e.payment_id == p.id))
        )
        .where(*where)
        .group_by(subject, e.kind)
    )
    a = adhoc_starts.c
    # an ad hoc driver's payment names its start (``adhoc:<start>``); the start names the session
    adhoc = (
        select(a.session_id, e.kind, func.coalesce(func.sum(e.amount), literal(0)))
        .select_from(
            adhoc_starts.join(payments, and_(p.operator_id == a.operator_id, p.id == a.payment_id)).outerjoin(
                payment_events, and_(e.operator_id == p.operator_id, e.payment_id == p.id)
            )
        )
        .where(
            a.operator_id == operator_id,
            a.session_id.in_(session_ids) if session_ids is not None else a.session_id.is_not(None),
        )
        .group_by(a.session_id, e.kind)
    )
    found: dict[str, dict[str, int]] = {}
    rows = [*connection.execute(statement), *connection.execute(adhoc)]
    for name, kind, amount in rows:
        session_id = name.removeprefix(_SESSION_PREFIX)
        sums = found.setdefault(session_id, dict.fromkeys(_PAYMENT_SUMS.values(), 0))
        column = _PAYMENT_SUMS.get(kind)
        if column is not None:
            sums[column] += int(amount)
    return found


def read_facts(
    connection: Connection, operator_id: str, query: SessionFilter, session_ids: Sequence[str] | None = None
) -> Iterator[SessionFact]:
    paid = session_payments(connection, operator_id, session_ids)
    to_parts = CHARGE_PARTS.from_document
    for row in connection.execute(_facts_statement(operator_id, query, session_ids)):
        sums = paid.get(row.id)
        yield SessionFact(
            row.id, row.location_id, row.station_id, row.evse_id, row.time_zone, row.started_at,
            row.ended_at, row.currency, row.energy_wh, row.charging_s, row.total_excl_vat,
            row.total_incl_vat, to_parts(row.parts or []), row.connector_class, row.tariff_id,
            row.plan_id, row.customer_id, row.kind, row.first_started,
            payment_method_of(row.payment_method, paid_ad_hoc=sums is not None),
            **(sums or {}), billed_excl_minor=row.total_excl_vat_minor or 0,
            billed_incl_minor=row.total_incl_vat_minor or 0,
        )  # fmt: skip


class SqlSessionFacts:
    def __init__(self, connection: ConnectionSource) -> None:
        self._connection = connection

    def session_facts(self, operator_id: str, query: SessionFilter) -> Iterator[SessionFact]:
        return read_facts(self._connection(), operator_id, query)
