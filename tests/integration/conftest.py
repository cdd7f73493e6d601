"""Fixtures of the integration tests (the database ones are in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from evbill.adapters.payments.sandbox import SandboxGateway
from evbill.application.access.keys import create_operator, platform_actor
from evbill.application.offers.customers import create_customer
from evbill.bootstrap import bootstrap
from evbill.config import Settings
from tests.integration.payments_support import Shop
from tests.support import store_session


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
    store_session(services, operator.id, "s-1", customer_id=customer.id)  # what Shop.authorise pays
    yield Shop(services, SandboxGateway(services.clock.now), who, customer.id)
    container.dispose()


# getting paid: an operator with an IBAN, a customer, a clock the test moves (collection_support.py)
from tests.integration.collection_support import books  # noqa: E402, F401
