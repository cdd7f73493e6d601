"""Payment methods in the reports, as an operator reaches them: the API's JSON and `evbill analytics`.

The hand-computed network (tests/unit/analytics_data.py) in March-April: C1's sessions A and C are on
contract K1, whose terms pay by bank transfer; B (C2, no contract) is unpaid; D (no customer) is paid
ad hoc at the charger, 2.27 captured, then 1.00 refunded, and 0.50 disputed and lost.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from evbill.application.access.keys import create_api_key
from evbill.bootstrap import Container, bootstrap
from evbill.config import Settings
from evbill.domain.access.operators import Role
from evbill.domain.payments.adhoc import AdhocStart, AdhocStatus
from evbill.domain.payments.events import EventKind, PaymentEvent
from evbill.domain.payments.model import Payment, PaymentPurpose
from evbill.entrypoints.api.app import create_app
from evbill.entrypoints.cli.main import build_app
from tests.integration.analytics_network import Network, given_network
from tests.integration.db_records import new_id
from tests.support import CliRunner

WINDOW = {"started_from": "2026-03-01T00:00:00Z", "started_to": "2026-05-01T00:00:00Z"}
PAID = datetime(2026, 4, 2, 11, tzinfo=UTC)


@pytest.fixture
def container(database_url: str) -> Iterator[Container]:
    container = bootstrap(Settings(database_url=database_url))
    yield container
    container.dispose()


@pytest.fixture(params=["session", "adhoc"])
def network(container: Container, request: pytest.FixtureRequest) -> Network:
    """D's payment as a card-on-file charge names it (``session:<id>``), or as the pay-at-the-charger
    flow does: ``adhoc:<start>``, the start naming the session (found by an outside tester: such
    sessions were reported unpaid)."""
    network = given_network(container.services.uow)
    with container.services.uow() as uow:
        subject, payment_id = f"session:{network.ids['D']}", new_id()
        if request.param == "adhoc":
            session = uow.sessions.get(network.operator_id, network.ids["D"])
            assert session is not None
            start = AdhocStart(
                new_id(), network.operator_id, session.evse_id, session.station_id, new_id(), "AH1",
                AdhocStatus.FINISHED, 2500, "EUR", PAID, PAID, payment_id, session.id, captured=227,
            )  # fmt: skip
            subject = f"adhoc:{start.id}"
        payment = Payment(
            payment_id, network.operator_id, None, PaymentPurpose.SESSION, subject,
            "sandbox", new_id(), "EUR", 2500, PAID,
        )  # fmt: skip
        uow.payments.add(payment)
        if request.param == "adhoc":
            uow.session_payments.add_start(start)
        for kind, amount in (
            (EventKind.AUTHORISED, 2500),
            (EventKind.CAPTURED, 227),
            (EventKind.REFUNDED, 100),
            (EventKind.DISPUTE_OPENED, 50),
            (EventKind.DISPUTE_LOST, 50),
        ):
            event = PaymentEvent(new_id(), kind, amount, PAID)
            uow.payments.record_event(payment, event, idempotency_key=None, recorded_at=PAID)
        uow.commit()
    return network


def test_the_api_groups_by_payment_method_with_share_refunds_and_disputes(
    container: Container, network: Network
) -> None:
    _, key = create_api_key(
        container.services, operator_id=network.operator_id, role=Role.READ_ONLY, name="t"
    )
    client = TestClient(create_app(container.settings, container=container))
    answer = client.get(
        "/api/v1/analytics/report",
        params={"group_by": "payment_method", **WINDOW},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert answer.status_code == 200, answer.text
    rows = {row["key"]: row for row in answer.json()["rows"]}
    shown = {
        key: (
            row["sessions"],
            row["share"],
            row["gross"],
            row["refunded"],
            row["disputed"],
            row["charged_back"],
        )
        for key, row in rows.items()
    }
    assert shown == {
        "ad_hoc": ("1", "0.2500", "2.27", "1.00", "0.50", "0.50"),  # D: 2.26875 gross; 1 of 4 sessions
        "bank_transfer": ("2", "0.5000", "8.85", "0.00", "0.00", "0.00"),  # A + C: 6.308 + 2.541 = 8.849
        "none": ("1", "0.2500", "15.00", "0.00", "0.00", "0.00"),  # B: 15.004
    }
    (total,) = answer.json()["totals"]
    assert (total["sessions"], total["share"], total["refunded"]) == ("4", "1.0000", "1.00")


def test_the_cli_reports_by_payment_method(container: Container, network: Network) -> None:
    runner = CliRunner()
    app = build_app(container.settings)
    base = [
        "analytics",
        "report",
        "--operator",
        network.operator_id,
        "--from",
        "2026-03-01",
        "--to",
        "2026-05-01",
    ]
    as_json = runner.invoke(app, [*base, "--by", "payment_method", "--json"])
    assert as_json.exit_code == 0, as_json.output
    keyed = {row["key"]: (row["sessions"], row["share"]) for row in json.loads(as_json.stdout)["rows"]}
    assert keyed == {"ad_hoc": ("1", "0.2500"), "bank_transfer": ("2", "0.5000"), "none": ("1", "0.2500")}
    table = runner.invoke(app, [*base, "--by", "payment_method"])
    assert table.exit_code == 0, table.output
    assert "bank_transfer" in table.output
