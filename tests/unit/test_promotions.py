"""Promotions in billing: each kind, stacking order, exclusivity, limits; every discount a visible line.

The customer has had 8 sessions before November; November's sessions are #9 (10 kWh), #10 (20 kWh)
and #11 (5 kWh), all at 0.39/kWh with 21 % VAT: 3.90 + 7.80 + 1.95 = 13.65 excl. VAT.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from evbill.domain.billing.cycle import LineKind
from evbill.domain.offers.plans import PlanKind
from evbill.domain.offers.promotions import DiscountKind, Duration, Promotion, PromotionKind, PromotionState
from tests.unit.test_billing import AMSTERDAM, at, bill, contract, plan, session, terms

D = Decimal
PAYG = plan("Pay as you go", PlanKind.PAY_PER_USE, (at(1, 0), {}))
NOVEMBER_SESSIONS = [
    session(1, 3, "10", ordinal=9),
    session(2, 12, "20", ordinal=10),
    session(3, 25, "5", ordinal=11),
]


def promotion(pid: str, kind: PromotionKind, **fields) -> Promotion:
    return Promotion(pid, "op", fields.pop("name", pid), kind, fields.pop("code", None), **fields)


def coupon(pid: str, discount: DiscountKind, value: str, **fields) -> Promotion:
    return promotion(
        pid, PromotionKind.COUPON, code=pid.upper(), discount_kind=discount, value=D(value), **fields
    )


def bill_with(*states: PromotionState, sessions=NOVEMBER_SESSIONS, before: int = 8):
    return bill(
        contract(at(1, 0)), [PAYG], [terms(1, PAYG[0].id, at(1, 0))], sessions,
        promotions=list(states), customer_sessions_before=before,
    )  # fmt: skip


def discounts(result):
    return [(line.session_id, line.excl_vat) for line in result.lines if line.kind is LineKind.DISCOUNT]


def total_discount(result):
    return -sum((line.excl_vat for line in result.lines if line.kind is LineKind.DISCOUNT), D(0))


def test_a_percentage_coupon_is_spread_over_the_sessions_it_discounts():
    result = bill_with(PromotionState(coupon("ten", DiscountKind.PERCENT, "10", duration=Duration.FOREVER)))

    assert discounts(result) == [("s1", D("-0.39")), ("s2", D("-0.78")), ("s3", D("-0.195"))]
    assert [(a.promotion_id, a.discount_excl_vat) for a in result.applied] == [("ten", D("1.365"))]
    assert result.total_excl_vat == D("12.285")


def test_stacking_order_is_explicit_fixed_before_percent_differs_from_percent_before_fixed():
    fixed_first = bill_with(
        PromotionState(coupon("five", DiscountKind.FIXED, "5.00", priority=10)),
        PromotionState(coupon("ten", DiscountKind.PERCENT, "10", priority=20)),
    )
    percent_first = bill_with(
        PromotionState(coupon("five", DiscountKind.FIXED, "5.00", priority=20)),
        PromotionState(coupon("ten", DiscountKind.PERCENT, "10", priority=10)),
    )

    assert [(a.promotion_id, a.discount_excl_vat) for a in fixed_first.applied] == [
        ("five", D("5.00")),
        ("ten", D("0.8650000000")),  # 10 % of 13.65 - 5.00
    ]
    assert [(a.promotion_id, a.discount_excl_vat) for a in percent_first.applied] == [
        ("ten", D("1.365")),
        ("five", D("5.00")),
    ]


def test_an_exclusive_promotion_that_applies_applies_alone():
    result = bill_with(
        PromotionState(coupon("five", DiscountKind.FIXED, "5.00", priority=10)),
        PromotionState(coupon("vip", DiscountKind.PERCENT, "20", priority=50, exclusive=True)),
    )

    assert [(a.promotion_id, a.discount_excl_vat) for a in result.applied] == [("vip", D("2.73"))]


def test_every_tenth_session_is_free_up_to_its_cap():
    result = bill_with(
        PromotionState(promotion("loyal", PromotionKind.NTH_SESSION_FREE, nth=10, cap=D("5.00")))
    )

    assert discounts(result) == [("s2", D("-5.00"))]


def test_the_first_session_discount_needs_a_first_session():
    first_timer = [session(1, 3, "10", ordinal=1), session(2, 12, "20", ordinal=2)]
    welcome = promotion(
        "welcome", PromotionKind.FIRST_SESSION, discount_kind=DiscountKind.PERCENT, value=D(50)
    )

    new_customer = bill_with(PromotionState(welcome), sessions=first_timer, before=0)
    old_customer = bill_with(PromotionState(welcome))

    assert discounts(new_customer) == [("s1", D("-1.95"))]
    assert discounts(old_customer) == []
    assert old_customer.applied == ()


def test_a_lower_price_after_25_kwh_in_the_cycle():
    """s2 crosses 25 kWh with 5 kWh over (1.95 at 0.39 -> 1.00 at 0.20); all of s3 is over."""
    result = bill_with(
        PromotionState(
            promotion("bulk", PromotionKind.VOLUME_PRICE, threshold_kwh=D(25), price_per_kwh=D("0.20"))
        )
    )

    assert discounts(result) == [("s2", D("-0.95")), ("s3", D("-0.95"))]


def test_free_kwh_are_used_up_across_cycles():
    gift = promotion("gift", PromotionKind.FREE_KWH, free_kwh=D(12))

    result = bill_with(PromotionState(gift, free_kwh_used=D(2)))  # 10 kWh left

    assert discounts(result) == [("s1", D("-3.90"))]
    assert [(a.promotion_id, a.free_kwh_used) for a in result.applied] == [("gift", D(10))]


def test_limits_stop_a_promotion():
    once = coupon("once", DiscountKind.FIXED, "1.00", duration=Duration.ONCE)
    three_cycles = coupon("three", DiscountKind.FIXED, "1.00", duration=Duration.CYCLES, cycles=3)
    capped = coupon("hundred", DiscountKind.FIXED, "1.00", duration=Duration.FOREVER, max_redemptions=100)
    per_customer = coupon(
        "twice", DiscountKind.FIXED, "1.00", duration=Duration.FOREVER, per_customer_limit=2
    )
    expired = coupon(
        "old",
        DiscountKind.FIXED,
        "1.00",
        duration=Duration.FOREVER,
        expires_at=datetime(2026, 10, 1, tzinfo=AMSTERDAM),
    )

    result = bill_with(
        PromotionState(once, cycles_used=1),
        PromotionState(three_cycles, cycles_used=3),
        PromotionState(capped, total_redemptions=100),
        PromotionState(per_customer, customer_redemptions=2),
        PromotionState(expired),
    )

    assert result.applied == ()
    assert PromotionState(three_cycles, cycles_used=2).exhausted() is None
    assert PromotionState(capped, total_redemptions=100).exhausted() == "all 100 redemptions are used"


def test_a_coupon_discounts_what_is_left_after_the_plan_allowance_never_below_zero():
    sub = plan("Plus", PlanKind.SUBSCRIPTION, (at(1, 0), {"fee": "9.99", "included_kwh": D(30)}))
    result = bill(
        contract(at(1, 0)), [sub], [terms(1, sub[0].id, at(1, 0))], NOVEMBER_SESSIONS,
        promotions=[PromotionState(coupon("big", DiscountKind.FIXED, "100.00"))],
    )  # fmt: skip

    # 30 kWh included cover s1 and s2; only s3's 1.95 is left for the coupon, and fees are not discounted
    assert total_discount(result) == D("1.95")
    assert result.total_excl_vat == D("9.99")


def test_a_coupon_on_a_cycle_with_only_fees_says_on_the_bill_that_it_does_not_apply():
    # given a 10 % coupon and a cycle without any charging session
    result = bill_with(PromotionState(coupon("ten", DiscountKind.PERCENT, "10")), sessions=[])

    # then nothing is discounted, and the bill says why
    assert result.applied == ()
    assert discounts(result) == []
    assert result.notes == (
        "coupon TEN (ten) does not apply to this bill: coupons discount charging, not plan or service "
        "fees, and this cycle has no charging to discount",
    )


def test_a_coupon_set_aside_by_an_exclusive_promotion_says_so_on_the_bill():
    result = bill_with(
        PromotionState(coupon("five", DiscountKind.FIXED, "5.00", priority=10)),
        PromotionState(coupon("vip", DiscountKind.PERCENT, "20", priority=50, exclusive=True)),
    )

    assert result.notes == (
        "coupon FIVE (five) does not apply to this bill: another promotion applied alone (exclusive)",
    )
