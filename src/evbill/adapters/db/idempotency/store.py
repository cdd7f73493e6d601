"""Idempotency keys in the database (``application.ports.IdempotencyStore``).

``claim`` reads the key's row under a row lock (``FOR UPDATE`` on PostgreSQL; SQLite has one writer
at a time), lets ``decide`` say what to do, and reserves the key in the same transaction, so two
concurrent requests with one key never both run: the second sees the first's reservation.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError

from evbill.adapters.db.idempotency.tables import idempotency_keys as table
from evbill.adapters.db.records import IDEMPOTENCY_KEYS
from evbill.domain.access.idempotency import Decision, IdempotentRequest


class SqlIdempotencyStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def claim(
        self,
        reservation: IdempotentRequest,
        decide: Callable[[IdempotentRequest | None], Decision],
    ) -> tuple[Decision, IdempotentRequest | None]:
        """The decision for this request and the stored record it was made on; reserves on RESERVE."""
        where = (table.c.operator_id == reservation.operator_id, table.c.key == reservation.key)
        try:
            with self._engine.begin() as connection:
                row = connection.execute(select(table).where(*where).with_for_update()).mappings().first()
                stored = None if row is None else IDEMPOTENCY_KEYS.from_row(row)
                decision = decide(stored)
                if decision is Decision.RESERVE:
                    if stored is not None:
                        connection.execute(table.delete().where(*where))
                    connection.execute(table.insert(), IDEMPOTENCY_KEYS.to_row(reservation))
                return decision, stored
        except IntegrityError:  # another request reserved the key between our read and insert
            return Decision.IN_PROGRESS, None

    def complete(self, operator_id: str, key: str, status: int, headers: str, body: str) -> None:
        where = (table.c.operator_id == operator_id, table.c.key == key)
        with self._engine.begin() as connection:
            connection.execute(table.update().where(*where).values(status=status, headers=headers, body=body))

    def release(self, operator_id: str, key: str) -> None:
        with self._engine.begin() as connection:
            connection.execute(table.delete().where(table.c.operator_id == operator_id, table.c.key == key))
