"""Given-blocks for payment tests: services on a migrated database, an operator, the sandbox gateway
(the ``shop`` fixture is in conftest.py)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from evbill.adapters.payments.sandbox import SandboxGateway
from evbill.application.payments.payments import PaymentView, authorise_payment
from evbill.application.records import Services
from evbill.domain.access.operators import Actor
from evbill.domain.money import SettledMoney
from evbill.domain.payments.adhoc import AdhocStart
from evbill.domain.payments.model import PaymentPurpose


@dataclass
class Shop:
    services: Services
    gateway: SandboxGateway
    who: Actor
    customer_id: str

    def authorise(self, minor_units: int, method: str = "tok_visa", key: str = "auth-1") -> PaymentView:
        return authorise_payment(
            self.services,
            self.gateway,
            self.who,
            customer_id=self.customer_id,
            purpose=PaymentPurpose.SESSION,
            subject="session:s-1",
            amount=SettledMoney(minor_units, "EUR"),
            payment_method=method,
            idempotency_key=key,
        )


def paid_at(services: Services, start: AdhocStart, moment: datetime) -> None:
    """The driver's request as if made just before ``moment``: these tests report a session that began
    an hour ago, and a session cannot begin before its payment was requested."""
    with services.uow() as uow:
        moved = replace(start, created_at=moment - timedelta(seconds=1))
        assert uow.session_payments.update_start(moved, expected=frozenset({start.status}))
        uow.commit()
