"""Storage of payments (heads and gateway events) and wallets (heads and transactions).

``lock=True`` reads take the row with ``SELECT ... FOR UPDATE`` on PostgreSQL, so two captures of one
authorisation run one after the other and the second sees the first's event. On SQLite the unit of
work's ``BEGIN IMMEDIATE`` already serialises writers. A gateway event is inserted with ``ON CONFLICT
DO NOTHING`` on (gateway, event id): a duplicate never aborts the transaction, it just is not stored.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from evbill.adapters.db.payments.tables import (
    gateway_webhooks,
    payment_events,
    payments,
    payments_in_flight,
    wallet_transactions,
    wallets,
)
from evbill.adapters.db.repositories import ConnectionSource, check_limit
from evbill.application.ports import ReceivedWebhook
from evbill.domain.errors import Conflict
from evbill.domain.payments.events import EventKind, PaymentEvent
from evbill.domain.payments.model import (
    InFlight,
    Payment,
    PaymentPurpose,
    Wallet,
    WalletTransaction,
    WalletTransactionKind,
)


def _payment(row: Mapping[str, Any]) -> Payment:
    return Payment(**{**row, "purpose": PaymentPurpose(row["purpose"])})


def _event(row: Mapping[str, Any]) -> PaymentEvent:
    return PaymentEvent(
        row["event_id"], EventKind(row["kind"]), row["amount"], row["occurred_at"], row["detail"]
    )


class SqlPaymentRepository:
    def __init__(self, connection: ConnectionSource) -> None:
        self._connection = connection

    def add(self, payment: Payment) -> None:
        row = {field: getattr(payment, field) for field in Payment.__dataclass_fields__}
        self._connection().execute(insert(payments), [{**row, "purpose": payment.purpose.value}])

    def get(self, operator_id: str, payment_id: str, *, lock: bool = False) -> Payment | None:
        query = select(payments).where(payments.c.operator_id == operator_id, payments.c.id == payment_id)
        row = self._connection().execute(query.with_for_update() if lock else query).mappings().first()
        return None if row is None else _payment(row)

    def find_by_reference(self, gateway: str, reference: str, *, lock: bool = False) -> Payment | None:
        query = select(payments).where(
            payments.c.gateway == gateway, payments.c.gateway_reference == reference
        )
        row = self._connection().execute(query.with_for_update() if lock else query).mappings().first()
        return None if row is None else _payment(row)

    def list(self, operator_id: str, *, after: str | None, limit: int) -> Sequence[Payment]:
        check_limit(limit)
        query = select(payments).where(payments.c.operator_id == operator_id)
        if after is not None:
            query = query.where(payments.c.id > after)
        rows = self._connection().execute(query.order_by(payments.c.id).limit(limit)).mappings()
        return [_payment(row) for row in rows]

    def events(self, operator_id: str, payment_id: str) -> Sequence[PaymentEvent]:
        query = (
            select(payment_events)
            .where(payment_events.c.operator_id == operator_id, payment_events.c.payment_id == payment_id)
            .order_by(payment_events.c.occurred_at, payment_events.c.id)
        )
        return [_event(row) for row in self._connection().execute(query).mappings()]

    def record_event(
        self, payment: Payment, event: PaymentEvent, *, idempotency_key: str | None, recorded_at: datetime
    ) -> bool:
        connection = self._connection()
        dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
        statement = (
            dialect.insert(payment_events)
            .values(
                operator_id=payment.operator_id,
                payment_id=payment.id,
                gateway=payment.gateway,
                event_id=event.event_id,
                kind=event.kind.value,
                amount=event.amount,
                currency=payment.currency,
                occurred_at=event.occurred_at,
                recorded_at=recorded_at,
                idempotency_key=idempotency_key,
                detail=event.detail,
            )
            .on_conflict_do_nothing(index_elements=["gateway", "event_id"])
            .returning(payment_events.c.id)  # rowcount is -1 on psycopg for an INSERT with RETURNING
        )
        return connection.execute(statement).first() is not None

    def in_flight(self, operator_id: str, payment_id: str) -> InFlight | None:
        query = select(payments_in_flight).where(
            payments_in_flight.c.operator_id == operator_id, payments_in_flight.c.payment_id == payment_id
        )
        row = self._connection().execute(query).mappings().first()
        return None if row is None else InFlight(**row)

    def set_in_flight(self, move: InFlight) -> None:
        self.clear_in_flight(move.operator_id, move.payment_id)
        self._connection().execute(
            insert(payments_in_flight),
            [{field: getattr(move, field) for field in InFlight.__dataclass_fields__}],
        )

    def clear_in_flight(self, operator_id: str, payment_id: str) -> None:
        self._connection().execute(
            delete(payments_in_flight).where(
                payments_in_flight.c.operator_id == operator_id, payments_in_flight.c.payment_id == payment_id
            )
        )

    def set_invoice_applied(self, operator_id: str, payment_id: str, amount: int) -> None:
        self._connection().execute(
            update(payments)
            .where(payments.c.operator_id == operator_id, payments.c.id == payment_id)
            .values(invoice_applied=amount)
        )

    def find_by_idempotency_key(self, operator_id: str, key: str) -> str | None:
        query = select(payment_events.c.payment_id).where(
            payment_events.c.operator_id == operator_id, payment_events.c.idempotency_key == key
        )
        return self._connection().execute(query.limit(1)).scalar_one_or_none()

    def record_webhook(self, webhook: ReceivedWebhook) -> bool:
        connection = self._connection()
        dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
        statement = (
            dialect.insert(gateway_webhooks)
            .values(
                gateway=webhook.gateway,
                event_id=webhook.event_id,
                event_type=webhook.event_type,
                operator_id=webhook.operator_id,
                payment_id=webhook.payment_id,
                outcome=webhook.outcome,
                payload=webhook.payload,
                received_at=webhook.received_at,
            )
            .on_conflict_do_nothing(index_elements=["gateway", "event_id"])
            .returning(gateway_webhooks.c.id)
        )
        return connection.execute(statement).first() is not None

    def with_events(
        self, operator_id: str, payment_ids: Sequence[str]
    ) -> dict[str, tuple[Payment, Sequence[PaymentEvent]]]:
        connection = self._connection()
        wanted = list(dict.fromkeys(payment_ids))
        found: dict[str, tuple[Payment, Sequence[PaymentEvent]]] = {}
        for offset in range(0, len(wanted), 500):  # bound the IN list
            some = wanted[offset : offset + 500]
            heads = connection.execute(
                select(payments).where(payments.c.operator_id == operator_id, payments.c.id.in_(some))
            ).mappings()
            events: dict[str, list[PaymentEvent]] = defaultdict(list)
            rows = connection.execute(
                select(payment_events)
                .where(payment_events.c.operator_id == operator_id, payment_events.c.payment_id.in_(some))
                .order_by(payment_events.c.occurred_at, payment_events.c.id)
            ).mappings()
            for row in rows:
                events[row["payment_id"]].append(_event(row))
            for row in heads:
                payment = _payment(row)
                found[payment.id] = (payment, events[payment.id])
        return found

    def of_subject(
        self, operator_id: str, purpose: PaymentPurpose, subject: str
    ) -> Sequence[tuple[Payment, Sequence[PaymentEvent]]]:
        query = select(payments.c.id).where(
            payments.c.operator_id == operator_id,
            payments.c.purpose == purpose.value,
            payments.c.subject == subject,
        )
        found = self.with_events(operator_id, list(self._connection().execute(query).scalars()))
        return [found[payment_id] for payment_id in sorted(found)]

    def of_operator(self, operator_id: str) -> Sequence[tuple[Payment, Sequence[PaymentEvent]]]:
        connection = self._connection()
        heads = connection.execute(
            select(payments).where(payments.c.operator_id == operator_id).order_by(payments.c.id)
        ).mappings()
        found = [_payment(row) for row in heads]
        events: dict[str, list[PaymentEvent]] = defaultdict(list)
        rows = connection.execute(
            select(payment_events)
            .where(payment_events.c.operator_id == operator_id)
            .order_by(payment_events.c.occurred_at, payment_events.c.id)
        ).mappings()
        for row in rows:
            events[row["payment_id"]].append(_event(row))
        return [(payment, events[payment.id]) for payment in found]


def _wallet(row: Mapping[str, Any]) -> Wallet:
    return Wallet(**row)


def _transaction(row: Mapping[str, Any]) -> WalletTransaction:
    return WalletTransaction(**{**row, "kind": WalletTransactionKind(row["kind"])})


class SqlWalletRepository:
    def __init__(self, connection: ConnectionSource) -> None:
        self._connection = connection

    def add(self, wallet: Wallet) -> None:
        """Conflict when the customer has a wallet in its currency already (two created at once)."""
        row = {field: getattr(wallet, field) for field in Wallet.__dataclass_fields__}
        try:
            self._connection().execute(insert(wallets), [row])
        except IntegrityError as error:
            raise Conflict(
                f"customer {wallet.customer_id!r} has a {wallet.currency} wallet already"
            ) from error

    def get(self, operator_id: str, wallet_id: str, *, lock: bool = False) -> Wallet | None:
        query = select(wallets).where(wallets.c.operator_id == operator_id, wallets.c.id == wallet_id)
        row = self._connection().execute(query.with_for_update() if lock else query).mappings().first()
        return None if row is None else _wallet(row)

    def find(self, operator_id: str, customer_id: str, currency: str) -> Wallet | None:
        query = select(wallets).where(
            wallets.c.operator_id == operator_id,
            wallets.c.customer_id == customer_id,
            wallets.c.currency == currency,
        )
        row = self._connection().execute(query).mappings().first()
        return None if row is None else _wallet(row)

    def list(self, operator_id: str, *, after: str | None, limit: int) -> Sequence[Wallet]:
        check_limit(limit)
        query = select(wallets).where(wallets.c.operator_id == operator_id)
        if after is not None:
            query = query.where(wallets.c.id > after)
        rows = self._connection().execute(query.order_by(wallets.c.id).limit(limit)).mappings()
        return [_wallet(row) for row in rows]

    def balance(self, operator_id: str, wallet_id: str) -> int:
        query = select(func.coalesce(func.sum(wallet_transactions.c.amount), 0)).where(
            wallet_transactions.c.operator_id == operator_id, wallet_transactions.c.wallet_id == wallet_id
        )
        return int(self._connection().execute(query).scalar_one())

    def balances(self, operator_id: str) -> Mapping[str, int]:
        query = (
            select(wallets.c.id, func.coalesce(func.sum(wallet_transactions.c.amount), 0))
            .select_from(wallets)
            .outerjoin(
                wallet_transactions,
                (wallet_transactions.c.operator_id == wallets.c.operator_id)
                & (wallet_transactions.c.wallet_id == wallets.c.id),
            )
            .where(wallets.c.operator_id == operator_id)
            .group_by(wallets.c.id)
        )
        return {wallet_id: int(total) for wallet_id, total in self._connection().execute(query)}

    def transactions(self, operator_id: str, wallet_id: str) -> Sequence[WalletTransaction]:
        query = (
            select(wallet_transactions)
            .where(
                wallet_transactions.c.operator_id == operator_id, wallet_transactions.c.wallet_id == wallet_id
            )
            .order_by(wallet_transactions.c.created_at, wallet_transactions.c.id)
        )
        return [_transaction(row) for row in self._connection().execute(query).mappings()]

    def transactions_of(self, operator_id: str, references: Sequence[str]) -> Sequence[WalletTransaction]:
        if not references:
            return []
        query = (
            select(wallet_transactions)
            .where(
                wallet_transactions.c.operator_id == operator_id,
                wallet_transactions.c.reference.in_(references),
            )
            .order_by(wallet_transactions.c.created_at, wallet_transactions.c.id)
        )
        return [_transaction(row) for row in self._connection().execute(query).mappings()]

    def find_transaction(self, operator_id: str, idempotency_key: str) -> WalletTransaction | None:
        query = select(wallet_transactions).where(
            wallet_transactions.c.operator_id == operator_id,
            wallet_transactions.c.idempotency_key == idempotency_key,
        )
        row = self._connection().execute(query).mappings().first()
        return None if row is None else _transaction(row)

    def add_transaction(self, transaction: WalletTransaction) -> None:
        row = {field: getattr(transaction, field) for field in WalletTransaction.__dataclass_fields__}
        self._connection().execute(insert(wallet_transactions), [{**row, "kind": transaction.kind.value}])
