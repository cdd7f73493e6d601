"""Fees beyond energy: each location's grid and demand fees, the operator's gateway and roaming fees,
and what the margin needs of payments and tokens (a session's own payment and its recorded fees, the
contract id of its token).

    payments:  payments WHERE purpose = 'session' AND subject IN ('session:<id>', ...)
               captured = SUM(captured events), fees = SUM(fee events) per payment
    tokens:    charging_sessions JOIN tokens ON uid = token_uid  -> the token's contract (eMA) id
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from sqlalchemy import and_, delete, func, insert, select

from evbill.adapters.db.analytics.tables import location_fees, operator_fees
from evbill.adapters.db.charging.tables import charging_sessions
from evbill.adapters.db.offers.tables import tokens
from evbill.adapters.db.payments.tables import payment_events, payments
from evbill.adapters.db.repositories import ConnectionSource
from evbill.adapters.db.session_payments.tables import adhoc_starts
from evbill.domain import currency as currencies
from evbill.domain.analytics.fees import FeeBook, LocationFees, OperatorFees, RoamingRule, SessionPayment

_CHUNK = 500
SESSION_SUBJECT = "session:"


class SqlFees:
    def __init__(self, connection: ConnectionSource) -> None:
        self._connection = connection

    def set_location_fees(self, operator_id: str, fees: LocationFees, now: datetime) -> None:
        connection, table = self._connection(), location_fees
        connection.execute(
            delete(table).where(table.c.operator_id == operator_id, table.c.location_id == fees.location_id)
        )
        connection.execute(
            insert(table),
            {"location_id": fees.location_id, "operator_id": operator_id, "currency": fees.currency,
             "grid_per_kwh": fees.grid_per_kwh, "demand_per_kw": fees.demand_per_kw, "updated_at": now},
        )  # fmt: skip

    def set_operator_fees(self, operator_id: str, fees: OperatorFees, now: datetime) -> None:
        connection, table = self._connection(), operator_fees
        connection.execute(delete(table).where(table.c.operator_id == operator_id))
        roaming = json.dumps(
            [[rule.prefix, format(rule.percent, "f"), format(rule.fixed, "f")] for rule in fees.roaming],
            separators=(",", ":"),
        )
        connection.execute(
            insert(table),
            {"operator_id": operator_id, "currency": fees.currency, "gateway_percent": fees.gateway_percent,
             "gateway_fixed": fees.gateway_fixed, "roaming": roaming, "updated_at": now},
        )  # fmt: skip

    def fee_book(self, operator_id: str, session_ids: Sequence[str]) -> FeeBook:
        connection = self._connection()
        rows = connection.execute(select(location_fees).where(location_fees.c.operator_id == operator_id))
        locations = {
            row.location_id: LocationFees(row.location_id, row.currency, row.grid_per_kwh, row.demand_per_kw)
            for row in rows
        }
        found = connection.execute(
            select(operator_fees).where(operator_fees.c.operator_id == operator_id)
        ).first()
        operator = None
        if found is not None:
            rules = tuple(
                RoamingRule(prefix, Decimal(percent), Decimal(fixed))
                for prefix, percent, fixed in json.loads(found.roaming)
            )
            operator = OperatorFees(found.currency, found.gateway_percent, found.gateway_fixed, rules)
        paid: dict[str, SessionPayment] = {}
        contracts: dict[str, str] = {}
        for first in range(0, len(session_ids), _CHUNK):
            chunk = list(session_ids[first : first + _CHUNK])
            paid.update(self._session_payments(operator_id, chunk))
            contracts.update(self._contract_ids(operator_id, chunk))
        return FeeBook(locations, operator, paid, contracts)

    def _session_payments(self, operator_id: str, session_ids: list[str]) -> dict[str, SessionPayment]:
        p, e = payments.c, payment_events.c
        captured = func.sum(e.amount).filter(e.kind == "captured")
        fees = func.sum(e.amount).filter(e.kind == "fee")
        statement = (
            select(p.subject, p.currency, p.amount, captured.label("captured"), fees.label("fees"))
            .select_from(payments.outerjoin(payment_events, e.payment_id == p.id))
            .where(
                p.operator_id == operator_id,
                p.purpose == "session",
                p.subject.in_([SESSION_SUBJECT + session_id for session_id in session_ids]),
            )
            .group_by(p.id, p.subject, p.currency, p.amount)
        )
        a = adhoc_starts.c
        adhoc = (  # an ad hoc driver's payment: its start names the session
            select(
                a.session_id.label("subject"),
                p.currency,
                p.amount,
                captured.label("captured"),
                fees.label("fees"),
            )
            .select_from(
                adhoc_starts.join(
                    payments, and_(p.operator_id == a.operator_id, p.id == a.payment_id)
                ).outerjoin(payment_events, e.payment_id == p.id)
            )
            .where(a.operator_id == operator_id, a.session_id.in_(session_ids))
            .group_by(p.id, a.session_id, p.currency, p.amount)
        )
        result: dict[str, SessionPayment] = {}
        connection = self._connection()
        for row in [*connection.execute(statement), *connection.execute(adhoc)]:
            places = currencies.exponent(row.currency)
            amount = Decimal(row.captured if row.captured is not None else row.amount).scaleb(-places)
            fee = None if row.fees is None else Decimal(row.fees).scaleb(-places)
            session_id = row.subject.removeprefix(SESSION_SUBJECT)
            before = result.get(session_id)
            if before is not None:  # two payments for one session: their sums
                fee = fee if before.recorded_fee is None else (before.recorded_fee + (fee or 0))
                amount += before.paid
            result[session_id] = SessionPayment(amount, fee)
        return result

    def _contract_ids(self, operator_id: str, session_ids: list[str]) -> dict[str, str]:
        s, t = charging_sessions.c, tokens.c
        statement = (
            select(s.id, t.contract_id)
            .select_from(
                charging_sessions.join(tokens, (t.uid == s.token_uid) & (t.operator_id == s.operator_id))
            )
            .where(s.operator_id == operator_id, s.id.in_(session_ids))
        )
        return {row.id: row.contract_id for row in self._connection().execute(statement)}
