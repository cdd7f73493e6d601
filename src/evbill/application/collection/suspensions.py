"""Suspension of an overdue customer's tokens, and their reinstatement once nothing is that overdue.

A customer with an invoice more than the policy's ``suspend_after_days`` overdue is suspended: the
active tokens of the customer and of their fleet's drivers are blocked (the charger is then told
Blocked by the usual authorisation path), and the suspension keeps which tokens it blocked. It is
lifted in the transaction of whatever leaves nothing that overdue (a bank transfer, a card charge, a
write-off) or by the next collection run, and gives back exactly those tokens: a token blocked by
hand stays blocked.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

from evbill.application.ports import UnitOfWork
from evbill.application.records import Services
from evbill.domain.collection.dunning import Suspension
from evbill.domain.collection.policy import CollectionPolicy
from evbill.domain.invoicing.documents import Document
from evbill.domain.offers.customers import TokenStatus


def policy_of(uow: UnitOfWork, operator_id: str) -> CollectionPolicy:
    return uow.collection.policy(operator_id) or CollectionPolicy(operator_id=operator_id)


def today_of(uow: UnitOfWork, operator_id: str, now: datetime) -> date:
    profile = uow.invoices.profile(operator_id)
    return now.astimezone(ZoneInfo(profile.time_zone if profile else "UTC")).date()


def too_late(document: Document, policy: CollectionPolicy, today: date) -> bool:
    if policy.suspend_after_days is None or document.due_date is None or document.open_minor <= 0:
        return False
    return (today - document.due_date).days > policy.suspend_after_days


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
            blocked = _set_tokens(services, uow, operator_id, customer_id, None, TokenStatus.BLOCKED)
            uow.collection.add_suspension(
                Suspension(services.ids.new_id(), operator_id, customer_id, document.id, blocked,
                           services.clock.now(), None)
            )  # fmt: skip
            suspended.add(customer_id)
            count += 1
        uow.commit()
    return count


def _set_tokens(
    services: Services,
    uow: UnitOfWork,
    operator_id: str,
    customer_id: str,
    only: tuple[str, ...] | None,
    status: TokenStatus,
) -> tuple[str, ...]:
    """Move the tokens of the customer and of their fleet's drivers (or ``only`` these) to ``status``;
    the ids of those that moved."""
    changed = []
    now = services.clock.now()
    drivers = uow.customers.list(operator_id, filters={"parent_id": customer_id}, after=None, limit=10_000)
    tokens = [
        token
        for holder in (customer_id, *(driver.id for driver in drivers))
        for token in uow.tokens.list(operator_id, filters={"customer_id": holder}, after=None, limit=10_000)
    ]
    for token in tokens:
        if token.status is status or (only is not None and token.id not in only):
            continue
        uow.tokens.update(
            replace(token, status=status, updated_at=now, version=token.version + 1),
            expected_version=token.version,
        )
        changed.append(token.id)
    return tuple(changed)


def reinstate_if_settled(services: Services, uow: UnitOfWork, operator_id: str, customer_id: str) -> int:
    """Lift the customer's suspensions if nothing of theirs is overdue beyond the policy any more."""
    suspensions = uow.collection.active_suspensions(operator_id, customer_id)
    if not suspensions:
        return 0
    policy = policy_of(uow, operator_id)
    today = today_of(uow, operator_id, services.clock.now())
    still_late = [
        d
        for d in uow.invoices.open_documents(operator_id)
        if d.customer_id == customer_id and too_late(d, policy, today)
    ]
    if still_late:
        return 0
    for suspension in suspensions:
        _set_tokens(services, uow, operator_id, customer_id, suspension.token_ids, TokenStatus.ACTIVE)
        uow.collection.lift_suspension(operator_id, suspension.id, services.clock.now())
    return len(suspensions)


def lift_settled(services: Services, operator_id: str) -> int:
    """Lift the suspensions whose customer has nothing too long overdue any more; how many."""
    lifted = 0
    with services.uow() as uow:
        customers = {s.customer_id for s in uow.collection.active_suspensions(operator_id)}
        for customer_id in sorted(customers):
            lifted += reinstate_if_settled(services, uow, operator_id, customer_id)
        uow.commit()
    return lifted
