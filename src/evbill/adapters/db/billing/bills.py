"""Recorded bills in the database: the bill kept as a JSON document with exact decimals.

``add`` inserts once per (contract, cycle start); a second insert of the same cycle is a Conflict
(the unique key; the transaction is then done), which the use case answers by reading, in a new unit
of work, the bill recorded first.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import IntegrityError

from evbill.adapters.db.billing.tables import BillRow, bills
from evbill.adapters.db.repositories import ConnectionSource
from evbill.domain.billing.cycle import AppliedPromotion, Bill, BillLine, LineKind, TaxCategory
from evbill.domain.billing.records import BillState, RecordedBill
from evbill.domain.errors import Conflict
from evbill.domain.tariffs.model import TariffDimension


def _optional(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def bill_document(bill: Bill) -> dict[str, Any]:
    return {
        "lines": [
            {"kind": line.kind.value, "description": line.description, "excl_vat": line.excl_vat,
             "vat": line.vat, "session_id": line.session_id, "promotion_id": line.promotion_id,
             "components": [[dimension.value, amount] for dimension, amount in line.components]}
            for line in bill.lines
        ],
        "categories": [{"vat": c.vat, "base": c.base, "tax": c.tax} for c in bill.categories],
        "applied": [
            {"promotion_id": a.promotion_id, "discount_excl_vat": a.discount_excl_vat,
             "free_kwh_used": a.free_kwh_used}
            for a in bill.applied
        ],
        "notes": list(bill.notes),
    }  # fmt: skip


def bill_of(row: Mapping[str, Any]) -> Bill:
    document = row["document"]
    return Bill(
        contract_id=row["contract_id"],
        cycle_start=row["cycle_start"],
        cycle_end=row["cycle_end"],
        currency=row["currency"],
        lines=tuple(
            BillLine(LineKind(line["kind"]), line["description"], Decimal(str(line["excl_vat"])),
                     _optional(line["vat"]), line["session_id"], line["promotion_id"],
                     tuple((TariffDimension(dimension), Decimal(str(amount)))
                           for dimension, amount in line.get("components", ())))
            for line in document["lines"]
        ),
        categories=tuple(
            TaxCategory(_optional(c["vat"]), Decimal(str(c["base"])), Decimal(str(c["tax"])))
            for c in document["categories"]
        ),
        applied=tuple(
            AppliedPromotion(a["promotion_id"], Decimal(str(a["discount_excl_vat"])),
                             Decimal(str(a["free_kwh_used"])))
            for a in document["applied"]
        ),
        notes=tuple(document["notes"]),
    )  # fmt: skip


def _recorded(row: Mapping[str, Any]) -> RecordedBill:
    return RecordedBill(
        id=row["id"],
        operator_id=row["operator_id"],
        contract_id=row["contract_id"],
        customer_id=row["customer_id"],
        cycle_start=row["cycle_start"],
        cycle_end=row["cycle_end"],
        state=BillState(row["state"]),
        bill=bill_of(row),
        recorded_at=row["recorded_at"],
        invoice_id=row["invoice_id"],
    )


def _shallow(row: BillRow) -> dict[str, Any]:
    """The row's fields, the document as it is (``dataclasses.asdict`` would deep-copy it)."""
    return {field.name: getattr(row, field.name) for field in dataclasses.fields(row)}


class SqlBillRepository:
    def __init__(self, connection: ConnectionSource) -> None:
        self._connection = connection

    def get(self, operator_id: str, bill_id: str) -> RecordedBill | None:
        query = select(bills).where(bills.c.operator_id == operator_id, bills.c.id == bill_id)
        row = self._connection().execute(query).mappings().first()
        return None if row is None else _recorded(row)

    def of_contract(self, operator_id: str, contract_id: str) -> Sequence[RecordedBill]:
        query = (
            select(bills)
            .where(bills.c.operator_id == operator_id, bills.c.contract_id == contract_id)
            .order_by(bills.c.cycle_start)
        )
        return [_recorded(row) for row in self._connection().execute(query).mappings()]

    def of_contracts(self, operator_id: str, contract_ids: Sequence[str]) -> dict[str, list[RecordedBill]]:
        found: dict[str, list[RecordedBill]] = {contract_id: [] for contract_id in contract_ids}
        ids = list(found)
        for offset in range(0, len(ids), 500):  # bound the IN list
            query = (
                select(bills)
                .where(
                    bills.c.operator_id == operator_id, bills.c.contract_id.in_(ids[offset : offset + 500])
                )
                .order_by(bills.c.contract_id, bills.c.cycle_start)
            )
            for row in self._connection().execute(query).mappings():
                recorded = _recorded(row)
                found[recorded.contract_id].append(recorded)
        return found

    def add(self, recorded: RecordedBill) -> None:
        row = _shallow(
            BillRow(
                id=recorded.id,
                operator_id=recorded.operator_id,
                contract_id=recorded.contract_id,
                customer_id=recorded.customer_id,
                cycle_start=recorded.cycle_start,
                cycle_end=recorded.cycle_end,
                state=recorded.state.value,
                currency=recorded.bill.currency,
                document=bill_document(recorded.bill),
                invoice_id=recorded.invoice_id,
                recorded_at=recorded.recorded_at,
            )
        )
        connection = self._connection()
        try:
            connection.execute(bills.insert(), row)  # as parameters: one compiled statement
        except IntegrityError:
            raise Conflict(
                f"the cycle from {recorded.cycle_start} of contract {recorded.contract_id!r} "
                "is already billed"
            ) from None

    def mark_invoiced(self, operator_id: str, bill_id: str, invoice_id: str) -> None:
        self._connection().execute(
            _MARK_INVOICED, {"b_operator": operator_id, "b_id": bill_id, "b_invoice": invoice_id}
        )


# One statement for every bill a run invoices (built once, its values bound per bill).
_MARK_INVOICED = (
    update(bills)
    .where(bills.c.operator_id == bindparam("b_operator"), bills.c.id == bindparam("b_id"))
    .values(state=BillState.INVOICED.value, invoice_id=bindparam("b_invoice"))
)
