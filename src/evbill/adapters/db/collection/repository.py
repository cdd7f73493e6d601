"""Getting paid in the database: one repository for bank transactions, mandates, direct debits, cards
on file, charge attempts, reminders, suspensions and policies (``uow.collection``).

Inserting a bank transaction whose (operator, bank reference) is stored already does nothing and
says so (``ON CONFLICT DO NOTHING``): that is how a statement imported twice changes nothing, even when
two imports of it run at once.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Table, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from evbill.adapters.db.collection.tables import (
    PolicyRow,
    bank_transactions,
    card_setups,
    charge_attempts,
    collection_policies,
    direct_debits,
    payment_reminders,
    sepa_mandates,
    suspensions,
)
from evbill.adapters.db.payments.tables import cards_on_file
from evbill.adapters.db.records import (
    BANK_TRANSACTIONS,
    CARD_SETUPS,
    CARDS_ON_FILE,
    CHARGE_ATTEMPTS,
    DIRECT_DEBITS,
    MANDATES,
    REMINDERS,
    SUSPENSIONS,
)
from evbill.adapters.db.repositories import ConnectionSource, insert_row
from evbill.domain.collection.dunning import (
    CardOnFile,
    CardSetup,
    ChargeAttempt,
    DirectDebit,
    Reminder,
    Suspension,
)
from evbill.domain.collection.mandates import Mandate
from evbill.domain.collection.policy import CollectionPolicy
from evbill.domain.collection.statements import BankTransaction


class SqlCollectionRepository:
    def __init__(self, connection: ConnectionSource) -> None:
        self._connection = connection

    def _insert(self, table: Table) -> Any:
        dialect = self._connection().dialect.name
        return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)

    # bank transactions
    def add_bank_transactions(self, transactions: Sequence[BankTransaction]) -> set[str]:
        if not transactions:
            return set()
        # one statement, compiled once, sent as batched multi-row INSERTs ("insertmanyvalues"); the
        # RETURNING rows are the new ones (psycopg's rowcount is -1 for ON CONFLICT DO NOTHING)
        statement = (
            self._insert(bank_transactions)
            .on_conflict_do_nothing(index_elements=["operator_id", "entry_key"])
            .returning(bank_transactions.c.entry_key)
        )
        rows = [BANK_TRANSACTIONS.to_row(transaction) for transaction in transactions]
        return set(self._connection().execute(statement, rows).scalars())

    def bank_transaction_keys(self, operator_id: str, keys: Sequence[str]) -> set[str]:
        query = select(bank_transactions.c.entry_key).where(
            bank_transactions.c.operator_id == operator_id, bank_transactions.c.entry_key.in_(list(keys))
        )
        return set(self._connection().scalars(query))

    def bank_transactions(self, operator_id: str) -> Sequence[BankTransaction]:
        query = (
            select(bank_transactions)
            .where(bank_transactions.c.operator_id == operator_id)
            .order_by(bank_transactions.c.id)
        )
        return [BANK_TRANSACTIONS.from_row(row) for row in self._connection().execute(query).mappings()]

    # mandates and direct debits
    def add_mandate(self, mandate: Mandate) -> None:
        insert_row(self._connection(), sepa_mandates, MANDATES.to_row(mandate))

    def mandates(self, operator_id: str, customer_id: str | None = None) -> Sequence[Mandate]:
        query = select(sepa_mandates).where(sepa_mandates.c.operator_id == operator_id)
        if customer_id is not None:
            query = query.where(sepa_mandates.c.customer_id == customer_id)
        rows = self._connection().execute(query.order_by(sepa_mandates.c.id)).mappings()
        return [MANDATES.from_row(row) for row in rows]

    def revoke_mandate(self, operator_id: str, mandate_id: str, at: datetime) -> None:
        self._connection().execute(
            update(sepa_mandates)
            .where(
                sepa_mandates.c.operator_id == operator_id,
                sepa_mandates.c.id == mandate_id,
                sepa_mandates.c.revoked_at.is_(None),
            )
            .values(revoked_at=at)
        )

    def mark_first_collected(self, operator_id: str, mandate_id: str, on: date) -> None:
        self._connection().execute(
            update(sepa_mandates)
            .where(
                sepa_mandates.c.operator_id == operator_id,
                sepa_mandates.c.id == mandate_id,
                sepa_mandates.c.first_collected_on.is_(None),
            )
            .values(first_collected_on=on)
        )

    def add_direct_debit(self, debit: DirectDebit) -> None:
        insert_row(self._connection(), direct_debits, DIRECT_DEBITS.to_row(debit))

    def debited_invoices(self, operator_id: str) -> set[str]:
        query = select(direct_debits.c.invoice_id).where(direct_debits.c.operator_id == operator_id)
        return set(self._connection().scalars(query))

    # cards on file
    def save_card(self, card: CardOnFile) -> None:
        row = CARDS_ON_FILE.to_row(card)
        statement = self._insert(cards_on_file).values(row)
        self._connection().execute(
            statement.on_conflict_do_update(
                index_elements=["operator_id", "customer_id"],
                set_={name: statement.excluded[name] for name in ("gateway", "payment_method", "saved_at")},
            )
        )

    def cards(self, operator_id: str, *, after: str | None, limit: int) -> Sequence[CardOnFile]:
        query = select(cards_on_file).where(cards_on_file.c.operator_id == operator_id)
        if after is not None:
            query = query.where(cards_on_file.c.customer_id > after)
        query = query.order_by(cards_on_file.c.customer_id).limit(limit)
        return [CARDS_ON_FILE.from_row(row) for row in self._connection().execute(query).mappings()]

    def set_charge_sessions(
        self, operator_id: str, customer_id: str, charge_sessions: bool, *, expected: CardOnFile | None = None
    ) -> bool:
        statement = update(cards_on_file).where(
            cards_on_file.c.operator_id == operator_id, cards_on_file.c.customer_id == customer_id
        )
        if expected is not None:  # compare and set: a concurrent change makes this update nothing
            statement = statement.where(
                cards_on_file.c.payment_method == expected.payment_method,
                cards_on_file.c.gateway == expected.gateway,
                cards_on_file.c.charge_sessions == expected.charge_sessions,
            )
        result = self._connection().execute(statement.values(charge_sessions=charge_sessions))
        return bool(result.rowcount)

    def remove_card(self, operator_id: str, customer_id: str) -> bool:
        result = self._connection().execute(
            delete(cards_on_file).where(
                cards_on_file.c.operator_id == operator_id, cards_on_file.c.customer_id == customer_id
            )
        )
        return bool(result.rowcount)

    def card_of(self, operator_id: str, customer_id: str) -> CardOnFile | None:
        query = select(cards_on_file).where(
            cards_on_file.c.operator_id == operator_id, cards_on_file.c.customer_id == customer_id
        )
        row = self._connection().execute(query).mappings().first()
        return None if row is None else CARDS_ON_FILE.from_row(row)

    # cards being set up at the gateway
    def add_card_setup(self, setup: CardSetup) -> bool:
        statement = self._insert(card_setups).values(CARD_SETUPS.to_row(setup))
        inserted = self._connection().execute(
            statement.on_conflict_do_nothing(index_elements=["gateway", "reference"]).returning(
                card_setups.c.reference
            )
        )
        return inserted.first() is not None

    def card_setup(self, gateway: str, reference: str, *, lock: bool = False) -> CardSetup | None:
        query = select(card_setups).where(
            card_setups.c.gateway == gateway, card_setups.c.reference == reference
        )
        row = self._connection().execute(query.with_for_update() if lock else query).mappings().first()
        return None if row is None else CARD_SETUPS.from_row(row)

    def mark_card_setup_saved(self, gateway: str, reference: str, at: datetime) -> None:
        self._connection().execute(
            update(card_setups)
            .where(card_setups.c.gateway == gateway, card_setups.c.reference == reference)
            .values(saved_at=at)
        )

    # charge attempts and reminders
    def add_attempt(self, attempt: ChargeAttempt) -> None:
        insert_row(self._connection(), charge_attempts, CHARGE_ATTEMPTS.to_row(attempt))

    def attempts(self, operator_id: str, invoice_id: str) -> Sequence[ChargeAttempt]:
        query = (
            select(charge_attempts)
            .where(charge_attempts.c.operator_id == operator_id, charge_attempts.c.invoice_id == invoice_id)
            .order_by(charge_attempts.c.number)
        )
        return [CHARGE_ATTEMPTS.from_row(row) for row in self._connection().execute(query).mappings()]

    def first_attempts(self, operator_id: str, invoice_ids: Sequence[str]) -> dict[str, ChargeAttempt]:
        found: dict[str, ChargeAttempt] = {}
        wanted = list(dict.fromkeys(invoice_ids))
        for offset in range(0, len(wanted), 500):  # bound the IN list
            query = select(charge_attempts).where(
                charge_attempts.c.operator_id == operator_id,
                charge_attempts.c.invoice_id.in_(wanted[offset : offset + 500]),
                charge_attempts.c.number == 1,
            )
            for row in self._connection().execute(query).mappings():
                attempt = CHARGE_ATTEMPTS.from_row(row)
                found[attempt.invoice_id] = attempt
        return found

    def add_reminder(self, reminder: Reminder) -> None:
        insert_row(self._connection(), payment_reminders, REMINDERS.to_row(reminder))

    def reminders(self, operator_id: str, invoice_id: str) -> Sequence[Reminder]:
        query = (
            select(payment_reminders)
            .where(
                payment_reminders.c.operator_id == operator_id, payment_reminders.c.invoice_id == invoice_id
            )
            .order_by(payment_reminders.c.number)
        )
        return [REMINDERS.from_row(row) for row in self._connection().execute(query).mappings()]

    # suspensions
    def add_suspension(self, suspension: Suspension) -> None:
        insert_row(self._connection(), suspensions, SUSPENSIONS.to_row(suspension))

    def active_suspensions(self, operator_id: str, customer_id: str | None = None) -> Sequence[Suspension]:
        query = select(suspensions).where(
            suspensions.c.operator_id == operator_id, suspensions.c.lifted_at.is_(None)
        )
        if customer_id is not None:
            query = query.where(suspensions.c.customer_id == customer_id)
        rows = self._connection().execute(query.order_by(suspensions.c.id)).mappings()
        return [SUSPENSIONS.from_row(row) for row in rows]

    def lift_suspension(self, operator_id: str, suspension_id: str, at: datetime) -> None:
        self._connection().execute(
            update(suspensions)
            .where(suspensions.c.operator_id == operator_id, suspensions.c.id == suspension_id)
            .values(lifted_at=at)
        )

    # the operator's policy
    def policy(self, operator_id: str) -> CollectionPolicy | None:
        query = select(collection_policies.c.document).where(collection_policies.c.operator_id == operator_id)
        data = self._connection().scalar(query)
        if data is None:
            return None
        return CollectionPolicy(
            operator_id=operator_id,
            retry_days=tuple(data["retry_days"]),
            reminder_days=tuple(data["reminder_days"]),
            suspend_after_days=data["suspend_after_days"],
        )

    def save_policy(self, policy: CollectionPolicy, at: datetime) -> None:
        document = {
            "retry_days": list(policy.retry_days),
            "reminder_days": list(policy.reminder_days),
            "suspend_after_days": policy.suspend_after_days,
        }
        row = dataclasses.asdict(PolicyRow(policy.operator_id, document, at))
        statement = self._insert(collection_policies).values(row)
        self._connection().execute(
            statement.on_conflict_do_update(
                index_elements=["operator_id"],
                set_={"document": statement.excluded.document, "updated_at": statement.excluded.updated_at},
            )
        )
