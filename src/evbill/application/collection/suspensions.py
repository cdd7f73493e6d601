"""Suspension of an overdue customer's tokens, and their reinstatement once nothing is that overdue.

A customer with an invoice more than the policy's ``suspend_after_days`` overdue is suspended: the
active tokens of the customer and of their fleet's drivers are blocked (the charger is then told
Blocked by the usual authorisation path), and the suspension keeps which tokens it blocked. It is
lifted in the transaction of whatever leaves nothing that overdue (a bank transfer, a card charge, a
write-off: ``receivables.reinstate_if_settled``) or by the next collection run, and gives back
exactly those tokens: a token blocked by hand stays blocked.
"""

from __future__ import annotations

from datetime import date

from evbill.application.receivables import reinstate_if_settled, set_tokens, too_late
from evbill.application.records import Services
from evbill.domain.collection.dunning import Suspension
from evbill.domain.collection.policy import CollectionPolicy
from evbill.domain.offers.customers import TokenStatus


def suspend_overdue(services: Services, policy: CollectionPolicy, operator_id: str, today: date) -> int:
    """Suspend each customer with an invoice too long overdue (once); how many were suspended."""
    count = 0
    with services.uow() as uow:
        late = [d for d in uow.invoices.open_documents(operator_id) if too_late(d, policy, today)]
        suspended = {s.customer_id for s in uow.collection.active_suspensions(operator_id)}
        for document in late:
            customer_id = document.customer_id
            if customer_id is None or customer_id in suspended:
                continue
            blocked = set_tokens(services, uow, operator_id, customer_id, None, TokenStatus.BLOCKED)
            uow.collection.add_suspension(
                Suspension(services.ids.new_id(), operator_id, customer_id, document.id, blocked,
                           services.clock.now(), None)
            )  # fmt: skip
            suspended.add(customer_id)
            count += 1
        uow.commit()
    return count


def lift_settled(services: Services, operator_id: str) -> int:
    """Lift the suspensions whose customer has nothing too long overdue any more; how many."""
    lifted = 0
    with services.uow() as uow:
        customers = {s.customer_id for s in uow.collection.active_suspensions(operator_id)}
        for customer_id in sorted(customers):
            lifted += reinstate_if_settled(services, uow, operator_id, customer_id)
        uow.commit()
    return lifted
