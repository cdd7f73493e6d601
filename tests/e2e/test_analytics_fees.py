"""Fees beyond energy in the margin, set and read through the CLI on a real database (SQLite, PostgreSQL).

The network of tests/unit/margin_data.py; only L1 gets a purchase price (fixed 0.25), so S1 alone is
priced (S6 has no periods and starts outside the window). With L1's grid fee 0.05 per kWh and demand
fee 0.50 per kW, and the operator's gateway fee 1.5 % + 0.25 (S1 was not paid on its own: 1.5 % of its
gross 5.30 alone):

    S1 net 5.30 - energy 10 x 0.25 = 2.50 - grid 10 x 0.05 = 0.50 - demand 10 kW x 0.50 = 5.00
       - gateway 5.30 x 1.5 % = 0.0795 = -2.7795, shown -2.78; fees 5.5795, shown 5.58
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from evbill.bootstrap import Container
from evbill.domain.payments.events import EventKind, PaymentEvent
from evbill.domain.payments.model import Payment, PaymentPurpose
from evbill.entrypoints.cli.main import build_app
from tests.e2e.test_analytics_margin import WINDOW, container, network  # noqa: F401 (fixtures)
from tests.support import CliRunner

MOMENT = datetime(2026, 3, 2, 10, 5, tzinfo=UTC)


def test_fees_set_through_the_cli_come_off_the_margin(
    container: Container,  # noqa: F811
    network: tuple[str, dict[str, str]],  # noqa: F811
) -> None:
    operator_id, ids = network
    runner, app = CliRunner(), build_app(container.settings)
    who = ["--operator", operator_id]
    for arguments in (
        ["prices", "set", *who, "--location", ids["L1"], "--fixed", "0.25", "--currency", "EUR"],
        ["fees", "location", *who, "--location", ids["L1"], "--currency", "EUR", "--grid", "0.05",
         "--demand", "0.50"],
        ["fees", "operator", *who, "--currency", "EUR", "--gateway-percent", "1.5", "--gateway-fixed", "0.25",
         "--roaming", "DE*ABC=10%+0.10"],
    ):  # fmt: skip
        shown = runner.invoke(app, ["analytics", *arguments])
        assert shown.exit_code == 0, shown.output
    answer = runner.invoke(app, ["analytics", "margin", *who, *WINDOW, "--json"])
    assert answer.exit_code == 0, answer.output
    body = json.loads(answer.stdout)
    (s1,) = body["sessions"]
    assert (s1["energy_cost"], s1["grid_fee"], s1["demand_fee"], s1["gateway_fee"], s1["roaming_fee"]) == (
        "2.50", "0.50", "5.00", "0.08", "0.00",
    )  # fmt: skip
    assert (s1["fees"], s1["margin"]) == ("5.58", "-2.78")
    assert body["demand_peaks"] == [
        {"location_id": ids["L1"], "month": "2026-03", "peak_kw": "10.000", "demand_fee": "5.00"}
    ]
    table = runner.invoke(app, ["analytics", "margin", *who, *WINDOW, "--by", "session"])
    assert "5.58" in table.output


def test_bad_fees_are_refused_naming_the_field(
    container: Container,  # noqa: F811
    network: tuple[str, dict[str, str]],  # noqa: F811
) -> None:
    operator_id, ids = network
    runner, app = CliRunner(), build_app(container.settings)
    who = ["--operator", operator_id]
    bad = runner.invoke(app, ["analytics", "fees", "operator", *who, "--currency", "EUR",
                              "--gateway-percent", "150"])  # fmt: skip
    assert bad.exit_code != 0
    assert "gateway_percent" in bad.output
    odd = runner.invoke(
        app, ["analytics", "fees", "operator", *who, "--currency", "EUR", "--roaming", "DE*ABC"]
    )
    assert odd.exit_code != 0
    assert "PREFIX=PERCENT%+FIXED" in odd.output
    elsewhere = runner.invoke(app, ["analytics", "fees", "location", *who, "--location", "nope",
                                    "--currency", "EUR", "--grid", "0.05"])  # fmt: skip
    assert elsewhere.exit_code != 0
    assert "not found" in elsewhere.output


def test_a_fee_the_gateway_recorded_for_the_sessions_own_payment_is_the_gateway_fee(
    container: Container,  # noqa: F811
    network: tuple[str, dict[str, str]],  # noqa: F811
) -> None:
    # Given S1 paid on its own: 5.30 captured, the gateway's fee 0.20 recorded (and a duplicate event)
    operator_id, ids = network
    payment = Payment("pay-s1", operator_id, None, PaymentPurpose.SESSION, f"session:{ids['S1']}", "sandbox",
                      "ref-s1", "EUR", 530, MOMENT)  # fmt: skip
    with container.services.uow() as uow:
        uow.payments.add(payment)
        for event in (PaymentEvent("ev-1", EventKind.CAPTURED, 530, MOMENT),
                      PaymentEvent("ev-2", EventKind.FEE, 20, MOMENT),
                      PaymentEvent("ev-2", EventKind.FEE, 20, MOMENT)):  # fmt: skip
            uow.payments.record_event(payment, event, idempotency_key=None, recorded_at=MOMENT)
        uow.commit()
    runner, app = CliRunner(), build_app(container.settings)
    who = ["--operator", operator_id]
    for arguments in (
        ["prices", "set", *who, "--location", ids["L1"], "--fixed", "0.25", "--currency", "EUR"],
        ["fees", "location", *who, "--location", ids["L1"], "--currency", "EUR", "--grid", "0.05",
         "--demand", "0.50"],
        ["fees", "operator", *who, "--currency", "EUR", "--gateway-percent", "1.5",
         "--gateway-fixed", "0.25"],
    ):  # fmt: skip
        assert runner.invoke(app, ["analytics", *arguments]).exit_code == 0
    answer = runner.invoke(app, ["analytics", "margin", *who, *WINDOW, "--json"])
    (s1,) = json.loads(answer.stdout)["sessions"]
    # Then the recorded 0.20, not 1.5 % + 0.25: 5.30 - 2.50 - 0.50 - 5.00 - 0.20 = -2.90
    assert (s1["gateway_fee"], s1["fees"], s1["margin"]) == ("0.20", "5.70", "-2.90")
