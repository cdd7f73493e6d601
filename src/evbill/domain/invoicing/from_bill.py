"""A recorded bill's lines as a document's precise lines, each taxed at the rate of its date.

Session lines carry the VAT rate rating gave them from the tariff. Where the operator's country has a
rate schedule, a taxed line is charged at the standard rate of its own date instead: a session on
2020-06-30 in Germany at 19 %, one on 2020-07-01 at 16 %, on the same invoice. Fees are supplied over
the cycle and take the rate of its last day. Lines without VAT stay outside its scope.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta

from evbill.domain.billing.cycle import Bill, BillLine, LineKind
from evbill.domain.invoicing.compose import DraftLine
from evbill.domain.invoicing.tax import RateSchedule

FEE_KINDS = (LineKind.PLAN_FEE, LineKind.SERVICE_FEE)


def supply_date(line: BillLine, bill: Bill, session_dates: Mapping[str, date]) -> date:
    if line.session_id is not None and line.session_id in session_dates:
        return session_dates[line.session_id]
    return bill.cycle_end - timedelta(days=1)


def draft_lines(
    bill: Bill, *, session_dates: Mapping[str, date], schedule: RateSchedule | None = None
) -> list[DraftLine]:
    drafts = []
    for line in bill.lines:
        day = supply_date(line, bill, session_dates)
        rate = line.vat
        if schedule is not None and rate is not None and rate > 0:
            rate = schedule.rate_on(day)
        drafts.append(
            DraftLine(
                description=line.description,
                net=line.excl_vat,
                rate=rate,
                supply_date=day,
                session_id=line.session_id,
                kind=line.kind.value,
                components=tuple((dimension.value, amount) for dimension, amount in line.components),
            )
        )
    return drafts
