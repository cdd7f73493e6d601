"""Use case: the invoice a contract's current cycle would give if it ended now, as a draft.

``preview_invoice`` finds the cycle that contains today (in the local calendar the billing run uses,
anchored to the contract), bills it as a preview (``billing.cycle.bill_contract``: nothing recorded,
no promotion counted), and makes the invoice the run would make from it: same lines, tax and
rounding, but no number, marked DRAFT, and nothing stored.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from zoneinfo import ZoneInfo

from evbill.application.billing.cycle import bill_contract
from evbill.application.charging.pricing import most_common_zone
from evbill.application.invoicing.documents import draft_of_bill, operator_profile
from evbill.application.invoicing.statements import view_of
from evbill.application.records import Services, get_or_404, require
from evbill.domain.access.operators import Actor, Permission
from evbill.domain.billing.anchoring import cycle_of, first_cycle_start
from evbill.domain.billing.records import BillState, RecordedBill
from evbill.domain.errors import Conflict
from evbill.domain.invoicing.statement import DocumentView


def current_cycle_start(
    services: Services, actor: Actor, contract_id: str, today: date | None = None
) -> date:
    """The first day of the contract's cycle that contains ``today`` (default: today, local)."""
    with services.uow(read_only=True) as uow:
        contract = get_or_404(uow.contracts, actor.operator_id, contract_id, "contract")
        terms = uow.contract_terms.of_contract(actor.operator_id, contract_id)
        locations = uow.locations.list(actor.operator_id, filters={}, after=None, limit=200)
    if not terms:
        raise Conflict("the contract has no terms to bill by")
    zone = ZoneInfo(most_common_zone([location.time_zone for location in locations]))
    day = today or services.clock.now().astimezone(zone).date()
    in_force = max(
        (t for t in terms if t.effective_from.astimezone(zone).date() <= day),
        key=lambda t: t.effective_from,
        default=min(terms, key=lambda t: t.effective_from),
    )
    anchor = contract.start.astimezone(zone).date()
    first = first_cycle_start(anchor, in_force.billing_cycle)
    return cycle_of(anchor, in_force.billing_cycle, max(day, first))[0]


def preview_invoice(
    services: Services, actor: Actor, contract_id: str, *, today: date | None = None
) -> DocumentView:
    """The current cycle's invoice as a draft: no number, marked DRAFT, nothing stored."""
    require(actor, Permission.READ)
    start = current_cycle_start(services, actor, contract_id, today)
    bill = bill_contract(services, actor, contract_id, start)
    with services.uow(read_only=True) as uow:
        contract = get_or_404(uow.contracts, actor.operator_id, contract_id, "contract")
        recorded = RecordedBill(
            id="", operator_id=actor.operator_id, contract_id=contract_id, customer_id=contract.customer_id,
            cycle_start=bill.cycle_start, cycle_end=bill.cycle_end, state=BillState.RECORDED, bill=bill,
            recorded_at=services.clock.now(),
        )  # fmt: skip
        draft = draft_of_bill(services, uow, actor, recorded)
        draft = replace(draft, bill_id=None)
        return view_of(uow, draft, operator_profile(uow, actor.operator_id), draft=True)
