"""Given-blocks for payment tests: services on a migrated database, an operator, the sandbox gateway
(the ``shop`` fixture is in conftest.py)."""

from __future__ import annotations

from dataclasses import dataclass

from evbill.adapters.payments.sandbox import SandboxGateway
from evbill.application.payments.payments import PaymentView, authorise_payment
from evbill.application.records import Services
from evbill.domain.access.operators import Actor
from evbill.domain.money import SettledMoney
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
