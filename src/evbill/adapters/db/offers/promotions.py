"""Promotions, the promotions each customer holds, and their redemptions, per operator.

A promotion is a versioned record; a coupon's code is unique per operator (promotions without a code
are not limited). Giving a customer a promotion twice keeps the first: the insert is
``ON CONFLICT DO NOTHING RETURNING`` (SQLite 3.35+), so two requests racing to give the same coupon
both succeed, one of them reporting it as new, and neither aborts its transaction.

Redemptions are where limits must hold under concurrency: two billing runs may apply the same coupon
to different contracts at the same moment. ``record`` first locks the promotion's row, then checks and
inserts, so the check and the insert are one step for every other writer:

* PostgreSQL: ``SELECT ... FOR NO KEY UPDATE`` on the promotion. It serialises redemptions of that
  promotion exactly like ``FOR UPDATE`` (the lock conflicts with itself and with updates or deletes
  of the promotion) but, unlike it, does not block other transactions inserting rows that merely
  reference the promotion (a foreign key check takes ``FOR KEY SHARE``). Under READ COMMITTED each
  later statement sees what the previous holder of the lock committed.
* SQLite: every transaction starts with ``BEGIN IMMEDIATE`` (``engine``), so writers are already
  serialised for the whole unit of work; the ``FOR`` clause is not rendered there.

Then: the (promotion, contract, cycle start) already recorded -> False (billing a cycle twice counts
it once); a limit that the new redemption would pass -> Conflict, nothing written; else the row is
inserted -> True. The unique key on (promotion, contract, cycle start) backs the first rule even
without the lock.

List filters for promotions: kind, code (exact; the application stores codes upper-case).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Connection, case, distinct, exists, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from evbill.adapters.db.conflicts import conflict_on_write
from evbill.adapters.db.offers import tables as offer_tables
from evbill.adapters.db.records import CUSTOMER_PROMOTIONS, PROMOTIONS, REDEMPTIONS, CustomerPromotion
from evbill.adapters.db.repositories import (
    ConnectionSource,
    VersionedRepository,
    equals,
    equals_enum,
    insert_row,
)
from evbill.application.ports import RedemptionCounts
from evbill.domain.errors import Conflict
from evbill.domain.offers.promotions import Promotion, PromotionKind, Redemption


class SqlPromotionRepository(VersionedRepository[Promotion]):
    def __init__(self, connection: ConnectionSource) -> None:
        columns = offer_tables.promotions.c
        filters = {"kind": equals_enum(columns.kind, PromotionKind), "code": equals(columns.code)}
        super().__init__(connection, offer_tables.promotions, PROMOTIONS, filters)

    def find_by_code(self, operator_id: str, code: str) -> Promotion | None:
        columns = offer_tables.promotions.c
        query = select(offer_tables.promotions).where(
            columns.operator_id == operator_id, columns.code == code
        )
        row = self._connection().execute(query).mappings().first()
        return None if row is None else PROMOTIONS.from_row(row)


class SqlCustomerPromotionRepository:
    def __init__(self, connection: ConnectionSource) -> None:
        self._connection = connection

    def of_customer(self, operator_id: str, customer_id: str) -> Sequence[str]:
        columns = offer_tables.customer_promotions.c
        query = (
            select(columns.promotion_id)
            .where(columns.operator_id == operator_id, columns.customer_id == customer_id)
            .order_by(columns.given_at, columns.promotion_id)
        )
        return list(self._connection().scalars(query))

    def of_customers(self, operator_id: str, customer_ids: Sequence[str]) -> Mapping[str, Sequence[str]]:
        columns = offer_tables.customer_promotions.c
        wanted = list(dict.fromkeys(customer_ids))
        found: dict[str, list[str]] = {customer_id: [] for customer_id in wanted}
        for offset in range(0, len(wanted), 500):  # bound the IN list
            some = wanted[offset : offset + 500]
            query = (
                select(columns.customer_id, columns.promotion_id)
                .where(columns.operator_id == operator_id, columns.customer_id.in_(some))
                .order_by(columns.customer_id, columns.given_at, columns.promotion_id)
            )
            for row in self._connection().execute(query):
                found[row.customer_id].append(row.promotion_id)
        return found

    def add(self, operator_id: str, customer_id: str, promotion_id: str, at: datetime) -> bool:
        table, connection = offer_tables.customer_promotions, self._connection()
        row = CUSTOMER_PROMOTIONS.to_row(CustomerPromotion(operator_id, customer_id, promotion_id, at))
        insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
        # RETURNING, not rowcount: psycopg reports no row count for this statement through SQLAlchemy.
        statement = (
            insert(table)
            .values(row)
            .on_conflict_do_nothing(index_elements=["customer_id", "promotion_id"])
            .returning(table.c.promotion_id)
        )
        try:
            return connection.execute(statement).first() is not None
        except IntegrityError as error:  # not a duplicate: a customer or promotion that is not there
            raise conflict_on_write(error, connection, table, row) from error


class SqlRedemptionRepository:
    def __init__(self, connection: ConnectionSource) -> None:
        self._connection = connection

    def of_contract_cycle(
        self, operator_id: str, contract_id: str, cycle_start: datetime
    ) -> Sequence[Redemption]:
        columns = offer_tables.redemptions.c
        query = (
            select(offer_tables.redemptions)
            .where(
                columns.operator_id == operator_id,
                columns.contract_id == contract_id,
                columns.cycle_start == cycle_start,
            )
            .order_by(columns.id)
        )
        return [REDEMPTIONS.from_row(row) for row in self._connection().execute(query).mappings()]

    def counts(
        self, operator_id: str, promotion_id: str, customer_id: str, contract_id: str
    ) -> RedemptionCounts:
        columns, connection = offer_tables.redemptions.c, self._connection()
        of_promotion = (columns.operator_id == operator_id, columns.promotion_id == promotion_id)
        by_customer = columns.customer_id == customer_id
        totals = select(
            func.count(),
            func.coalesce(func.sum(case((by_customer, 1), else_=0)), 0),
            func.count(distinct(case((columns.contract_id == contract_id, columns.cycle_start)))),
        ).where(*of_promotion)
        total, customer, contract_cycles = connection.execute(totals).one()
        # Summed here, not in SQL: SQLite would add the stored decimal text as floats.
        used = connection.scalars(select(columns.free_kwh_used).where(*of_promotion, by_customer))
        return RedemptionCounts(
            total=int(total),
            customer=int(customer),
            contract_cycles=int(contract_cycles),
            free_kwh_used=sum(used, Decimal(0)),
        )

    def record(
        self, redemption: Redemption, *, max_redemptions: int | None, per_customer_limit: int | None
    ) -> bool:
        connection = self._connection()
        _lock_promotion(connection, redemption.operator_id, redemption.promotion_id)
        columns = offer_tables.redemptions.c
        of_promotion = (
            columns.operator_id == redemption.operator_id,
            columns.promotion_id == redemption.promotion_id,
        )
        same_cycle = exists().where(
            *of_promotion,
            columns.contract_id == redemption.contract_id,
            columns.cycle_start == redemption.cycle_start,
        )
        if connection.scalar(select(same_cycle)):
            return False
        promotion = redemption.promotion_id
        if max_redemptions is not None and _count(connection, *of_promotion) >= max_redemptions:
            raise Conflict(f"promotion {promotion!r} has reached its {max_redemptions} redemptions")
        by_customer = columns.customer_id == redemption.customer_id
        if (
            per_customer_limit is not None
            and _count(connection, *of_promotion, by_customer) >= per_customer_limit
        ):
            raise Conflict(
                f"promotion {promotion!r} has reached its {per_customer_limit} redemptions per customer "
                f"for customer {redemption.customer_id!r}"
            )
        insert_row(connection, offer_tables.redemptions, REDEMPTIONS.to_row(redemption))
        return True


def _lock_promotion(connection: Connection, operator_id: str, promotion_id: str) -> None:
    """Hold the promotion's row until the transaction ends (a no-op on SQLite, already serialised)."""
    columns = offer_tables.promotions.c
    query = (
        select(columns.id)
        .where(columns.operator_id == operator_id, columns.id == promotion_id)
        .with_for_update(key_share=True)
    )
    if connection.scalar(query) is None:
        raise Conflict(f"promotion_id {promotion_id!r} does not refer to a promotion of this operator")


def _count(connection: Connection, *where: object) -> int:
    query = select(func.count()).select_from(offer_tables.redemptions).where(*where)  # type: ignore[arg-type]
    return int(connection.scalar(query) or 0)
