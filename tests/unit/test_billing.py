"""Billing a cycle: each plan type over a month, proration, service fees, VAT categories.

November 2026 in Amsterdam: 30 days, cycle 2026-11-01 to 2026-12-01. Sessions are written the way
the rating engine prices them (parts per dimension and VAT rate); amounts are exact.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from evbill.domain.billing.cycle import LineKind, SessionCharge, bill_cycle
from evbill.domain.charging.sessions import ChargePart
from evbill.domain.offers.contracts import (
    Contract,
    ContractStatus,
    ContractTerms,
    FeeRecurrence,
    PaymentMethodKind,
    ServiceFee,
    ServiceKind,
)
from evbill.domain.offers.plans import BillingCycle, ConnectorClass, Plan, PlanKind, PlanVersion
from evbill.domain.tariffs.model import TariffDimension

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
NOVEMBER = (date(2026, 11, 1), date(2026, 12, 1))
ENERGY, TIME, PARKING, FLAT = (
    TariffDimension.ENERGY,
    TariffDimension.TIME,
    TariffDimension.PARKING_TIME,
    TariffDimension.FLAT,
)
D = Decimal


def at(day: int, hour: int = 12, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=AMSTERDAM)


def session(
    n: int,
    day: int,
    kwh: str,
    *,
    energy_price: str = "0.39",
    flat: str | None = None,
    parking: str | None = None,
    minutes: int = 60,
    vat: str = "21",
    ordinal: int | None = None,
) -> SessionCharge:
    parts = [ChargePart(ENERGY, D(vat), D(kwh) * D(energy_price))]
    if flat:
        parts.append(ChargePart(FLAT, D(vat), D(flat)))
    if parking:
        parts.append(ChargePart(PARKING, D(vat), D(parking)))
    return SessionCharge(
        f"s{n}", at(day), ConnectorClass.AC, D(kwh) * 1000, D(minutes * 60), "T", "the location's tariff",
        tuple(parts), ordinal or n,
    )  # fmt: skip


def plan(name: str, kind: PlanKind, *versions: tuple[datetime, dict]) -> tuple[Plan, list[PlanVersion]]:
    record = Plan(f"p-{name}", "op", name, kind, "EUR", len(versions), at(1), at(1))
    made = [
        PlanVersion(
            id=f"pv-{name}-{n}",
            operator_id="op",
            plan_id=record.id,
            number=n,
            effective_from=start,
            fee=D(fields.pop("fee", "0")),
            fee_vat=D(fields.pop("fee_vat", "21")),
            fee_cycle=BillingCycle.MONTHLY,
            **fields,
        )  # fmt: skip
        for n, (start, fields) in enumerate(versions, start=1)
    ]
    return record, made


def terms(n: int, plan_id: str, effective: datetime, **fields) -> ContractTerms:
    return ContractTerms(
        id=f"t{n}",
        operator_id="op",
        contract_id="c1",
        number=n,
        effective_from=effective,
        plan_id=plan_id,
        billing_cycle=BillingCycle.MONTHLY,
        payment_method=PaymentMethodKind.CARD_ON_FILE,
        payment_due_days=14,
        grace_days=7,
        credit_limit_minor=None,
        **fields,
    )


def contract(start: datetime, end: datetime | None = None) -> Contract:
    return Contract("c1", "op", "cust", ContractStatus.ACTIVE, start, end, 1, start, start)


def bill(the_contract, plans_and_versions, the_terms, sessions=(), **kwargs):
    return bill_cycle(
        contract=the_contract, cycle_start=NOVEMBER[0], cycle_end=NOVEMBER[1], zone=AMSTERDAM, currency="EUR",
        terms=the_terms, plans={p.id: p for p, _ in plans_and_versions},
        plan_versions={p.id: v for p, v in plans_and_versions}, sessions=sessions, **kwargs,
    )  # fmt: skip


def amounts(result, kind):
    return [line.excl_vat for line in result.lines if line.kind is kind]


def test_pay_per_use_bills_each_session_at_its_price_and_nothing_else():
    payg = plan("Pay as you go", PlanKind.PAY_PER_USE, (at(1, 0), {}))
    sessions = [
        session(1, 3, "10", flat="0.35"),
        session(2, 12, "22.5", flat="0.35"),
        session(3, 28, "7.25", flat="0.35"),
    ]

    result = bill(contract(at(1, 0)), [payg], [terms(1, payg[0].id, at(1, 0))], sessions)

    assert amounts(result, LineKind.SESSION) == [D("4.25"), D("9.125"), D("3.1775")]
    assert amounts(result, LineKind.PLAN_FEE) == []
    [category] = result.categories
    assert (category.vat, category.base, category.tax) == (D("21"), D("16.5525"), D("3.4760250000"))


def test_subscription_included_kwh_are_used_up_in_session_order():
    """9.99 a month with 100 kWh included, member energy at 0.29: 60 + 50 kWh -> 10 kWh to pay."""
    sub = plan("Plus", PlanKind.SUBSCRIPTION, (at(1, 0), {"fee": "9.99", "included_kwh": D(100)}))
    sessions = [session(1, 5, "60", energy_price="0.29"), session(2, 20, "50", energy_price="0.29")]

    result = bill(contract(at(1, 0)), [sub], [terms(1, sub[0].id, at(1, 0))], sessions)

    assert amounts(result, LineKind.PLAN_FEE) == [D("9.99")]
    assert amounts(result, LineKind.SESSION) == [D("17.40"), D("14.50")]
    assert amounts(result, LineKind.ALLOWANCE) == [D("-17.40"), D("-11.6000000000")]
    assert [line.description for line in result.lines if line.kind is LineKind.ALLOWANCE] == [
        "60 kWh included kWh of Plus",
        "40 kWh included kWh of Plus",
    ]
    assert result.total_excl_vat == D("12.89")


def test_subscription_joined_on_the_17th_pays_and_gets_14_of_30_days():
    sub = plan("Plus", PlanKind.SUBSCRIPTION, (at(1, 0), {"fee": "9.99", "included_kwh": D(100)}))
    sessions = [session(1, 20, "50", energy_price="0.29")]

    result = bill(contract(at(17, 15)), [sub], [terms(1, sub[0].id, at(17, 15))], sessions)

    assert amounts(result, LineKind.PLAN_FEE) == [D("4.6620000000")]  # 9.99 x 14 / 30
    # 100 kWh x 14/30 = 46.666666 kWh (held to the Wh below): 14.50 x 46666.666 / 50000
    assert amounts(result, LineKind.ALLOWANCE) == [D("-13.5333331400")]
    assert result.total_excl_vat == D("5.6286668600")


def test_a_plan_change_on_the_17th_bills_each_plan_for_its_days():
    basic = plan("Basic", PlanKind.SUBSCRIPTION, (at(1, 0), {"fee": "9.99"}))
    plus = plan("Plus", PlanKind.SUBSCRIPTION, (at(1, 0), {"fee": "19.99"}))
    history = [terms(1, basic[0].id, at(1, 0)), terms(2, plus[0].id, at(17, 9))]

    result = bill(contract(at(1, 0)), [basic, plus], history)

    assert [(line.description, line.excl_vat) for line in result.lines] == [
        ("Basic fee, 16 of 30 days (2026-11-01 to 2026-11-16)", D("5.3280000000")),
        ("Plus fee, 14 of 30 days (2026-11-17 to 2026-11-30)", D("9.3286666667")),
    ]


def test_a_contract_ended_on_the_20th_pays_for_20_days():
    sub = plan("Plus", PlanKind.SUBSCRIPTION, (at(1, 0), {"fee": "9.99"}))

    result = bill(contract(at(1, 0), end=at(20, 10)), [sub], [terms(1, sub[0].id, at(1, 0))])

    assert amounts(result, LineKind.PLAN_FEE) == [D("6.6600000000")]


def test_a_new_plan_version_during_the_cycle_applies_from_its_day():
    sub = plan("Plus", PlanKind.SUBSCRIPTION, (at(1, 0), {"fee": "9.00"}), (at(11, 0), {"fee": "12.00"}))

    result = bill(contract(at(1, 0)), [sub], [terms(1, sub[0].id, at(1, 0))])

    assert amounts(result, LineKind.PLAN_FEE) == [D("3.0000000000"), D("8.0000000000")]  # 10 and 20 days


def test_flat_rate_covers_sessions_up_to_fair_use_then_the_public_price_applies_idle_fees_never_covered():
    """49.00 a month, fair use 300 kWh; public 0.39/kWh + 0.35 start; 200 kWh (+2.00 idle), then 150 kWh."""
    flat_rate = plan("Unlimited", PlanKind.FLAT_RATE, (at(1, 0), {"fee": "49.00", "fair_use_kwh": D(300)}))
    sessions = [session(1, 4, "200", flat="0.35", parking="2.00"), session(2, 25, "150", flat="0.35")]

    result = bill(contract(at(1, 0)), [flat_rate], [terms(1, flat_rate[0].id, at(1, 0))], sessions)

    assert amounts(result, LineKind.SESSION) == [D("80.35"), D("58.85")]
    # session 1: energy 78.00 + start 0.35 covered in full; session 2: 100 of 150 kWh -> 2/3 of 58.85
    assert amounts(result, LineKind.FLAT_RATE) == [D("-78.35"), D("-39.2333333333")]
    assert result.total_excl_vat == D("49.00") + D("2.00") + D("19.6166666667")


def test_membership_and_per_minute_plans_bill_sessions_at_the_plan_tariffs_price_with_an_optional_fee():
    member = plan("Member", PlanKind.MEMBERSHIP, (at(1, 0), {"fee": "2.50"}))
    thirty_minutes = (ChargePart(TIME, D("21"), D("9.00")),)
    minutes = [
        SessionCharge(
            "m1",
            at(9),
            ConnectorClass.DC,
            D(30000),
            D(1800),
            "PER-MIN",
            "the plan's DC tariff",
            thirty_minutes,
            1,
        )
    ]

    result = bill(contract(at(1, 0)), [member], [terms(1, member[0].id, at(1, 0))], minutes)

    assert [(line.kind, line.excl_vat) for line in result.lines] == [
        (LineKind.PLAN_FEE, D("2.50")),
        (LineKind.SESSION, D("9.00")),
    ]


def test_service_fees_once_per_cycle_and_reimbursements():
    payg = plan("Pay as you go", PlanKind.PAY_PER_USE, (at(1, 0), {}))
    services = (
        ServiceFee(ServiceKind.RFID_CARD, "RFID card", D("5.00"), D("21"), FeeRecurrence.ONCE),
        ServiceFee(ServiceKind.RESERVED_BAY, "Reserved bay", D("30.00"), D("21"), FeeRecurrence.PER_CYCLE),
        ServiceFee(
            ServiceKind.HOME_CHARGER_REIMBURSEMENT, "Home charging reimbursement", D("-42.17"), None,
            FeeRecurrence.PER_CYCLE,
        ),
    )  # fmt: skip

    result = bill(contract(at(11, 8)), [payg], [terms(1, payg[0].id, at(11, 8), services=services)])

    assert [(line.description, line.excl_vat) for line in result.lines] == [
        ("RFID card (once)", D("5.00")),
        ("Reserved bay, 20 of 30 days (2026-11-11 to 2026-11-30)", D("20.0000000000")),
        ("Home charging reimbursement, 20 of 30 days (2026-11-11 to 2026-11-30)", D("-28.1133333333")),
    ]
    assert [(c.vat, c.base, c.tax) for c in result.categories] == [
        (D("21"), D("25.0000000000"), D("5.2500000000")),
        (None, D("-28.1133333333"), D("0")),
    ]


def test_vat_is_computed_per_category_on_the_net_base_not_per_line():
    """Three 0.0333 lines at 21 %: per-line rounding would give 3 x 0.01; the net base gives 0.02."""
    payg = plan("Pay as you go", PlanKind.PAY_PER_USE, (at(1, 0), {}))
    tiny = [session(n, 2 + n, "0.1", energy_price="0.333") for n in (1, 2, 3)]

    result = bill(contract(at(1, 0)), [payg], [terms(1, payg[0].id, at(1, 0))], tiny)

    [category] = result.categories
    assert category.base == D("0.0999")
    assert category.tax == D("0.0209790000")


def test_a_session_before_the_contract_started_is_not_billed_and_is_noted():
    payg = plan("Pay as you go", PlanKind.PAY_PER_USE, (at(1, 0), {}))

    result = bill(contract(at(10, 0)), [payg], [terms(1, payg[0].id, at(10, 0))], [session(1, 3, "10")])

    assert amounts(result, LineKind.SESSION) == []
    assert result.notes == ("session s1 started outside the contract's days and is not billed here",)


@pytest.mark.parametrize(("start_day", "days"), [(1, 30), (2, 29), (17, 14), (30, 1)])
def test_proration_is_by_local_days(start_day, days):
    sub = plan("Plus", PlanKind.SUBSCRIPTION, (at(1, 0), {"fee": "30.00"}))

    result = bill(contract(at(start_day, 23)), [sub], [terms(1, sub[0].id, at(start_day, 23))])

    assert amounts(result, LineKind.PLAN_FEE) == [D(days)]
