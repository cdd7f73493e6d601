"""Promotions: coupons, loyalty rules, free-kWh credits and first-session discounts.

A promotion is applied by billing (``billing.bill_cycle``) and shows up as its own discount line with
its reason. Stacking is explicit: promotions apply in ``priority`` order (lowest first), each to what
is left after the ones before it; if any *exclusive* promotion applies, it applies alone.

| kind             | what it does                                                                |
|------------------|-----------------------------------------------------------------------------|
| COUPON           | PERCENT or FIXED off the cycle's charging (not fees); ONCE, CYCLES or FOREVER |
| NTH_SESSION_FREE | every ``nth`` session of the customer is free, up to ``cap`` each           |
| VOLUME_PRICE     | energy beyond ``threshold_kwh`` in the cycle costs ``price_per_kwh`` at most |
| FREE_KWH         | ``free_kwh`` of energy once, used up across cycles                          |
| FIRST_SESSION    | PERCENT or FIXED off the customer's first session ever                      |

Limits: ``starts_at``/``expires_at`` (by session start for session-based kinds, by cycle start for
coupons), ``max_redemptions`` over all customers, ``per_customer_limit`` per customer. A redemption is
recorded once per (promotion, contract, cycle) so billing the same cycle twice counts it once.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal


class PromotionKind(enum.StrEnum):
    COUPON = "COUPON"
    NTH_SESSION_FREE = "NTH_SESSION_FREE"
    VOLUME_PRICE = "VOLUME_PRICE"
    FREE_KWH = "FREE_KWH"
    FIRST_SESSION = "FIRST_SESSION"


class DiscountKind(enum.StrEnum):
    PERCENT = "PERCENT"
    FIXED = "FIXED"


class Duration(enum.StrEnum):
    ONCE = "ONCE"  # one cycle
    CYCLES = "CYCLES"  # ``cycles`` cycles
    FOREVER = "FOREVER"


@dataclass(frozen=True, slots=True)
class Promotion:
    id: str
    operator_id: str
    name: str
    kind: PromotionKind
    code: str | None  # coupons are redeemed by code; the others apply to the customers they are given to
    discount_kind: DiscountKind | None = None  # COUPON, FIRST_SESSION
    value: Decimal | None = None  # percent (0-100) or amount excl. VAT
    duration: Duration = Duration.ONCE
    cycles: int | None = None  # for Duration.CYCLES
    nth: int | None = None  # NTH_SESSION_FREE
    cap: Decimal | None = None  # the most one application may discount
    threshold_kwh: Decimal | None = None  # VOLUME_PRICE
    price_per_kwh: Decimal | None = None  # VOLUME_PRICE
    free_kwh: Decimal | None = None  # FREE_KWH
    starts_at: datetime | None = None
    expires_at: datetime | None = None
    max_redemptions: int | None = None
    per_customer_limit: int | None = None
    priority: int = 100
    exclusive: bool = False
    created_at: datetime | None = None
    updated_at: datetime | None = None
    version: int = 1

    def active_at(self, moment: datetime) -> bool:
        if self.starts_at is not None and moment < self.starts_at:
            return False
        return self.expires_at is None or moment < self.expires_at


@dataclass(frozen=True, slots=True)
class PromotionState:
    """What billing needs to know of a promotion's past for one customer and contract."""

    promotion: Promotion
    cycles_used: int = 0  # cycles this contract has had it (coupons)
    customer_redemptions: int = 0  # redemptions by this customer
    total_redemptions: int = 0  # redemptions by everyone
    free_kwh_used: Decimal = Decimal(0)  # FREE_KWH already consumed

    def exhausted(self) -> str | None:
        """Why the promotion can no longer apply, or None."""
        p = self.promotion
        if p.max_redemptions is not None and self.total_redemptions >= p.max_redemptions:
            return f"all {p.max_redemptions} redemptions are used"
        if p.per_customer_limit is not None and self.customer_redemptions >= p.per_customer_limit:
            return f"this customer has used it {p.per_customer_limit} time(s), the limit"
        if p.kind is PromotionKind.COUPON:
            if p.duration is Duration.ONCE and self.cycles_used >= 1:
                return "a one-cycle coupon already used"
            if p.duration is Duration.CYCLES and p.cycles is not None and self.cycles_used >= p.cycles:
                return f"used for its {p.cycles} cycles"
        if p.kind is PromotionKind.FREE_KWH and p.free_kwh is not None and self.free_kwh_used >= p.free_kwh:
            return "all free kWh are used"
        return None


@dataclass(frozen=True, slots=True)
class Redemption:
    """One application of a promotion to one contract's cycle (unique per promotion, contract, cycle)."""

    id: str
    operator_id: str
    promotion_id: str
    customer_id: str
    contract_id: str
    cycle_start: datetime
    discount_excl_vat: Decimal
    free_kwh_used: Decimal
    created_at: datetime
