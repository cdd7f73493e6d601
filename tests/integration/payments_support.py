"""Given-blocks for payment tests: services on a migrated database, an operator, the sandbox gateway."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from evbill.adapters.payments.sandbox import SandboxGateway
from evbill.application.access.keys import create_operator, platform_actor
from evbill.application.offers.customers import create_customer
from evbill.application.payments.payments import PaymentView, authorise_payment
from evbill.application.records import Services
from evbill.bootstrap import bootstrap
from evbill.config import Settings
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


@pytest.fixture
def shop(database_url: str) -> Iterator[Shop]:
    container = bootstrap(Settings(database_url=database_url))
    services = container.services
    operator = create_operator(
        services, name="Pay", legal_name="Pay B.V.", country="NL", default_currency="EUR"
    )
    who = platform_actor(operator.id)
    customer = create_customer(
        services,
        who,
        {"kind": "INDIVIDUAL", "name": "Anna", "language": "nl", "currency": "EUR", "country": "NL"},
    )
    yield Shop(services, SandboxGateway(services.clock.now), who, customer.id)
    container.dispose()
