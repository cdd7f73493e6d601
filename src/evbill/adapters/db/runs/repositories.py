"""Billing runs and rendered documents in the database.

Items are inserted with ``ON CONFLICT DO NOTHING`` (planning a run twice adds nothing) and their
outcome is written by (run, contract, cycle start); a run's counts and its issued totals per currency
are ``GROUP BY`` queries over its items.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, bindparam, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from evbill.adapters.db.repositories import ConnectionSource
from evbill.adapters.db.runs.tables import billing_run_items, billing_runs, document_files
from evbill.domain.invoicing.runs import BillingRun, ItemStatus, RunCounts, RunItem, RunStatus


def _insert(connection: Any) -> Any:
    return postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert


def _item(row: Any) -> RunItem:
    return RunItem(
        run_id=row["run_id"],
        operator_id=row["operator_id"],
        contract_id=row["contract_id"],
        cycle_start=row["cycle_start"],
        cycle_end=row["cycle_end"],
        status=ItemStatus(row["status"]),
        reason=row["reason"],
        bill_id=row["bill_id"],
        invoice_id=row["invoice_id"],
        currency=row["currency"],
        total_incl_vat_minor=row["total_incl_vat_minor"],
        updated_at=row["updated_at"],
        collected_at=row["collected_at"],
    )


# an item whose invoice the run hands to collection at issue
WITH_INVOICE = (ItemStatus.ISSUED.value, ItemStatus.ALREADY_ISSUED.value)


class SqlBillingRunRepository:
    def __init__(self, connection: ConnectionSource) -> None:
        self._connection = connection

    def add(self, run: BillingRun) -> None:
        self._connection().execute(
            billing_runs.insert().values(
                id=run.id,
                operator_id=run.operator_id,
                period=run.period,
                status=run.status.value,
                queued=run.queued,
                created_at=run.created_at,
                planned_at=run.planned_at,
                finished_at=run.finished_at,
                owner=run.owner,
                collects=run.collects,
            )
        )

    def get(self, operator_id: str, run_id: str) -> BillingRun | None:
        query = select(billing_runs).where(
            billing_runs.c.operator_id == operator_id, billing_runs.c.id == run_id
        )
        row = self._connection().execute(query).mappings().first()
        return None if row is None else self._run(row)

    def list(self, operator_id: str, *, after: str | None, limit: int) -> Sequence[BillingRun]:
        query = select(billing_runs).where(billing_runs.c.operator_id == operator_id)
        if after is not None:
            query = query.where(billing_runs.c.id < after)
        query = query.order_by(billing_runs.c.id.desc()).limit(limit)
        return [self._run(row) for row in self._connection().execute(query).mappings().all()]

    def _run(self, row: Any) -> BillingRun:
        return BillingRun(
            id=row["id"],
            operator_id=row["operator_id"],
            period=row["period"],
            status=RunStatus(row["status"]),
            queued=bool(row["queued"]),
            created_at=row["created_at"],
            planned_at=row["planned_at"],
            finished_at=row["finished_at"],
            counts=self.counts(row["id"], collects=bool(row["collects"])),
            owner=row["owner"],
            collects=bool(row["collects"]),
        )

    def running(self, operator_id: str | None = None, period: str | None = None) -> Sequence[BillingRun]:
        """The runs RUNNING (or QUEUED) now: of every operator (None), or of one, for a period."""
        query = select(billing_runs).where(
            billing_runs.c.status.in_([RunStatus.RUNNING.value, RunStatus.QUEUED.value])
        )
        if operator_id is not None:
            query = query.where(billing_runs.c.operator_id == operator_id)
        if period is not None:
            query = query.where(billing_runs.c.period == period)
        query = query.order_by(billing_runs.c.id)
        return [self._run(row) for row in self._connection().execute(query).mappings().all()]

    def last_progress(self, run_id: str) -> datetime | None:
        """When an item of the run last got its outcome or was collected (None: none yet)."""
        items = billing_run_items.c
        connection = self._connection()
        found = [
            connection.scalar(select(func.max(column)).where(items.run_id == run_id))
            for column in (items.updated_at, items.collected_at)
        ]
        return max((moment for moment in found if moment is not None), default=None)

    def counts(self, run_id: str, *, collects: bool = False) -> RunCounts:
        connection = self._connection()
        items = billing_run_items.c
        by_status = {
            ItemStatus(status): int(count)
            for status, count in connection.execute(
                select(items.status, func.count()).where(items.run_id == run_id).group_by(items.status)
            )
        }
        totals = {
            currency: int(total)
            for currency, total in connection.execute(
                select(items.currency, func.sum(items.total_incl_vat_minor))
                .where(items.run_id == run_id, items.status == ItemStatus.ISSUED.value)
                .group_by(items.currency)
            )
        }
        uncollected = (
            int(connection.scalar(select(func.count()).where(self._uncollected(run_id))) or 0)
            if collects
            else 0
        )
        return RunCounts(by_status, totals, uncollected)

    @staticmethod
    def _uncollected(run_id: str) -> Any:
        items = billing_run_items.c
        return and_(
            items.run_id == run_id,
            items.status.in_(WITH_INVOICE),
            items.invoice_id.is_not(None),
            items.collected_at.is_(None),
        )

    def has_uncollected(self, run_id: str) -> bool:
        query = select(billing_run_items.c.contract_id).where(self._uncollected(run_id)).limit(1)
        return self._connection().execute(query).first() is not None

    def uncollected(self, run_id: str) -> Sequence[RunItem]:
        query = select(billing_run_items).where(self._uncollected(run_id))
        query = query.order_by(billing_run_items.c.contract_id, billing_run_items.c.cycle_start)
        return [_item(row) for row in self._connection().execute(query).mappings()]

    def mark_collected(
        self,
        operator_id: str,
        invoice_ids: Sequence[str],
        contract_ids: Sequence[str] | None,
        *,
        at: datetime,
    ) -> list[str]:
        """Mark collected the items with these invoices in the operator's RUNNING runs that collect
        (each once: an item collected stays as it was); the ids of those runs that hold any of them."""
        if not invoice_ids:
            return []
        connection = self._connection()
        runs = billing_runs.c
        run_ids = list(
            connection.scalars(
                select(runs.id).where(
                    runs.operator_id == operator_id,
                    runs.status == RunStatus.RUNNING.value,
                    runs.collects.is_(True),
                )
            )
        )
        if not run_ids:
            return []
        items = billing_run_items.c
        touched: set[str] = set()
        for offset in range(0, len(invoice_ids), 500):  # bound the IN lists
            wanted = and_(items.run_id.in_(run_ids), items.invoice_id.in_(invoice_ids[offset : offset + 500]))
            if contract_ids is not None:  # the items' primary key (run, contract, ...): no scan of the run
                wanted = and_(wanted, items.contract_id.in_(sorted(set(contract_ids[offset : offset + 500]))))
            touched.update(connection.scalars(select(items.run_id).where(wanted).distinct()))
            connection.execute(
                update(billing_run_items).where(wanted, items.collected_at.is_(None)).values(collected_at=at)
            )
        return sorted(touched)

    def set_status(
        self, operator_id: str, run_id: str, status: RunStatus, *, at: datetime, planned: bool = False
    ) -> None:
        values: dict[str, Any] = {"status": status.value}
        if planned:
            values["planned_at"] = at
        if status in (RunStatus.DONE, RunStatus.INTERRUPTED):
            values["finished_at"] = at
        self._connection().execute(
            update(billing_runs)
            .where(billing_runs.c.operator_id == operator_id, billing_runs.c.id == run_id)
            .values(values)
        )

    def add_items(self, items: Sequence[RunItem]) -> None:
        if not items:
            return
        connection = self._connection()
        rows = [
            {
                "run_id": item.run_id,
                "operator_id": item.operator_id,
                "contract_id": item.contract_id,
                "cycle_start": item.cycle_start,
                "cycle_end": item.cycle_end,
                "status": item.status.value,
                "reason": None,
                "bill_id": None,
                "invoice_id": None,
                "currency": None,
                "total_incl_vat_minor": None,
                "updated_at": None,
            }
            for item in items
        ]
        connection.execute(_insert(connection)(billing_run_items).on_conflict_do_nothing(), rows)

    def items(self, run_id: str, *, status: ItemStatus | None = None) -> Sequence[RunItem]:
        query = select(billing_run_items).where(billing_run_items.c.run_id == run_id)
        if status is not None:
            query = query.where(billing_run_items.c.status == status.value)
        query = query.order_by(billing_run_items.c.contract_id, billing_run_items.c.cycle_start)
        return [_item(row) for row in self._connection().execute(query).mappings()]

    def item(self, run_id: str, contract_id: str, cycle_start: date) -> RunItem | None:
        items = billing_run_items.c
        query = select(billing_run_items).where(
            items.run_id == run_id, items.contract_id == contract_id, items.cycle_start == cycle_start
        )
        row = self._connection().execute(query).mappings().first()
        return None if row is None else _item(row)

    def items_of(self, run_id: str, keys: Sequence[tuple[str, date]]) -> Sequence[RunItem]:
        wanted = set(keys)
        contract_ids = sorted({contract_id for contract_id, _ in wanted})
        found: dict[tuple[str, date], RunItem] = {}
        for offset in range(0, len(contract_ids), 500):  # bound the IN list
            query = select(billing_run_items).where(
                billing_run_items.c.run_id == run_id,
                billing_run_items.c.contract_id.in_(contract_ids[offset : offset + 500]),
            )
            for row in self._connection().execute(query).mappings():
                item = _item(row)
                if (item.contract_id, item.cycle_start) in wanted:
                    found[item.contract_id, item.cycle_start] = item
        return [found[key] for key in dict.fromkeys(keys) if key in found]

    def has_pending(self, run_id: str) -> bool:
        items = billing_run_items.c
        query = select(items.contract_id).where(
            items.run_id == run_id, items.status == ItemStatus.PENDING.value
        )
        return self._connection().execute(query.limit(1)).first() is not None

    def finish_items(self, items: Sequence[RunItem]) -> None:
        if not items:
            return
        columns = billing_run_items.c
        statement = (
            update(billing_run_items)
            .where(
                columns.run_id == bindparam("key_run_id"),
                columns.contract_id == bindparam("key_contract_id"),
                columns.cycle_start == bindparam("key_cycle_start"),
                columns.status == ItemStatus.PENDING.value,  # a duplicate job's outcome: the first stands
            )
            .values(
                status=bindparam("new_status"),
                reason=bindparam("new_reason"),
                bill_id=bindparam("new_bill_id"),
                invoice_id=bindparam("new_invoice_id"),
                currency=bindparam("new_currency"),
                total_incl_vat_minor=bindparam("new_total"),
                updated_at=bindparam("new_updated_at"),
            )
        )
        rows = [
            {
                "key_run_id": item.run_id,
                "key_contract_id": item.contract_id,
                "key_cycle_start": item.cycle_start,
                "new_status": item.status.value,
                "new_reason": item.reason,
                "new_bill_id": item.bill_id,
                "new_invoice_id": item.invoice_id,
                "new_currency": item.currency,
                "new_total": item.total_incl_vat_minor,
                "new_updated_at": item.updated_at,
            }
            for item in items
        ]
        self._connection().execute(statement, rows)  # one executemany (pipelined on psycopg)

    def finish_item(self, item: RunItem) -> None:
        items = billing_run_items.c
        self._connection().execute(
            update(billing_run_items)
            .where(
                items.run_id == item.run_id,
                items.contract_id == item.contract_id,
                items.cycle_start == item.cycle_start,
                items.status == ItemStatus.PENDING.value,
            )
            .values(
                status=item.status.value,
                reason=item.reason,
                bill_id=item.bill_id,
                invoice_id=item.invoice_id,
                currency=item.currency,
                total_incl_vat_minor=item.total_incl_vat_minor,
                updated_at=item.updated_at,
            )
        )


class SqlDocumentFiles:
    def __init__(self, connection: ConnectionSource) -> None:
        self._connection = connection

    def get(self, operator_id: str, document_id: str, document_format: str) -> bytes | None:
        files = document_files.c
        content = self._connection().scalar(
            select(files.content).where(
                files.operator_id == operator_id,
                files.document_id == document_id,
                files.format == document_format,
            )
        )
        return None if content is None else bytes(content)

    def put(
        self, operator_id: str, document_id: str, document_format: str, content: bytes, at: datetime
    ) -> bool:
        """Keep the file; False (and nothing changed) if it was rendered before."""
        connection = self._connection()
        result = connection.execute(
            _insert(connection)(document_files)
            .values(
                operator_id=operator_id,
                document_id=document_id,
                format=document_format,
                content=content,
                rendered_at=at,
            )
            .on_conflict_do_nothing()
        )
        return bool(result.rowcount)


__all__ = ["SqlBillingRunRepository", "SqlDocumentFiles"]
