"""The largest amounts a person may enter, and which amounts may be negative.

An operator types fees, prices, discounts and credit limits; a slip of the finger (1e15, -99,999)
must be refused, not billed every cycle. Every amount entered is at most ``MAX_AMOUNT`` in the
currency's major unit, a credit limit at most ``MAX_CREDIT_LIMIT_MINOR`` minor units, and a count
(redemptions) at most ``MAX_COUNT``. No fee or price is negative: money given back is a discount
(a promotion) or a credit; the one negative fee is a reimbursement, whose kind says so:

    >>> [problem.path for problem in fee_problems("$.services[0]", "OTHER", Decimal("-5"))]
    ['$.services[0].amount']
    >>> fee_problems("$.services[0]", "HOME_CHARGER_REIMBURSEMENT", Decimal("-5"))
    []
"""

from __future__ import annotations

from decimal import Decimal

from evbill.domain.errors import Problem

MAX_AMOUNT = Decimal(1_000_000)
MAX_CREDIT_LIMIT_MINOR = 100_000_000
MAX_COUNT = 1_000_000
REIMBURSEMENT = "HOME_CHARGER_REIMBURSEMENT"


def amount_problems(path: str, value: Decimal | None) -> list[Problem]:
    """A fee, price, discount or cap: from 0 to ``MAX_AMOUNT``."""
    if value is None:
        return []
    if value < 0:
        return [Problem(path, "must not be negative: give money back with a promotion or a credit")]
    if value > MAX_AMOUNT:
        return [Problem(path, f"must be at most {MAX_AMOUNT}")]
    return []


def fee_problems(path: str, kind: str, amount: Decimal) -> list[Problem]:
    """A contract's service fee: positive, except a reimbursement, which is negative (a credit)."""
    at = f"{path}.amount"
    if abs(amount) > MAX_AMOUNT:
        return [Problem(at, f"must be between -{MAX_AMOUNT} and {MAX_AMOUNT}")]
    if kind == REIMBURSEMENT:
        return [Problem(at, "a reimbursement is a credit: its amount is negative")] if amount > 0 else []
    if amount < 0:
        return [Problem(at, f"must not be negative: give money back with a promotion or a {REIMBURSEMENT}")]
    return []


def credit_limit_problems(path: str, limit: int | None) -> list[Problem]:
    if limit is not None and not 0 <= limit <= MAX_CREDIT_LIMIT_MINOR:
        return [Problem(path, f"must be between 0 and {MAX_CREDIT_LIMIT_MINOR} minor units")]
    return []


def count_problems(path: str, count: int | None) -> list[Problem]:
    if count is not None and not 1 <= count <= MAX_COUNT:
        return [Problem(path, f"must be between 1 and {MAX_COUNT}")]
    return []
