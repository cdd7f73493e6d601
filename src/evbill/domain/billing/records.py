"""A recorded bill: one contract's cycle, billed once, with an id and a state.

Recording is what makes a cycle's bill final for invoicing: the lines are kept exactly as billed
(precise amounts), one per (contract, cycle start), so the same days and fees are never billed twice.
The state moves RECORDED -> INVOICED when the invoice made from it is issued.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime

from evbill.domain.billing.cycle import Bill


class BillState(enum.StrEnum):
    RECORDED = "RECORDED"  # billed, not yet on an issued invoice
    INVOICED = "INVOICED"  # an invoice was issued from it


@dataclass(frozen=True, slots=True)
class RecordedBill:
    id: str
    operator_id: str
    contract_id: str
    customer_id: str
    cycle_start: date
    cycle_end: date  # exclusive
    state: BillState
    bill: Bill
    recorded_at: datetime
    invoice_id: str | None = None

    def overlaps(self, start: date, end: date) -> bool:
        return self.cycle_start < end and start < self.cycle_end
