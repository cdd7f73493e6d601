"""The chart of accounts: what an account code means, and which side of the balance sheet it is on.

An account is named by a code of one or two parts: a fixed family, and for families kept per
counterparty or per rate, a qualifier after a colon. A posting's amount is signed in the
account's currency: debit positive, credit negative (so an entry balances when its amounts sum
to zero per currency, and an asset's balance is positive, a liability's negative).

    >>> receivable("cus-1").code, vat_payable(Decimal("21")).code, revenue(RevenueKind.ENERGY).code
    ('receivable:cus-1', 'vat_payable:21', 'revenue:energy')
    >>> parse_account("wallet:w-7").family
    <AccountFamily.WALLET: 'wallet'>
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

from evbill.domain.errors import InvalidInput, Problem


class AccountKind(enum.StrEnum):
    ASSET = "asset"
    LIABILITY = "liability"
    REVENUE = "revenue"
    EXPENSE = "expense"


class RevenueKind(enum.StrEnum):
    """Revenue by what was sold (an invoice line's kind maps to one of these)."""

    ENERGY = "energy"
    TIME = "time"
    IDLE = "idle"
    FEES = "fees"
    SUBSCRIPTIONS = "subscriptions"


class AccountFamily(enum.StrEnum):
    RECEIVABLE = "receivable"  # per customer
    REVENUE = "revenue"  # per RevenueKind
    DEFERRED_REVENUE = "deferred_revenue"  # prepaid subscriptions not yet earned
    VAT_PAYABLE = "vat_payable"  # per VAT rate in percent
    GATEWAY_CLEARING = "gateway_clearing"  # per gateway: captured, not yet paid out
    BANK = "bank"
    WALLET = "wallet"  # per prepaid wallet: the operator owes the driver its balance
    REFUNDS = "refunds"  # contra-revenue
    CHARGEBACK_LOSSES = "chargeback_losses"
    GATEWAY_FEES = "gateway_fees"
    WRITE_OFFS = "write_offs"
    SUSPENSE = "suspense"  # money in the bank not yet known to be whose (unmatched statement lines)


FAMILY_KIND: dict[AccountFamily, AccountKind] = {
    AccountFamily.RECEIVABLE: AccountKind.ASSET,
    AccountFamily.REVENUE: AccountKind.REVENUE,
    AccountFamily.DEFERRED_REVENUE: AccountKind.LIABILITY,
    AccountFamily.VAT_PAYABLE: AccountKind.LIABILITY,
    AccountFamily.GATEWAY_CLEARING: AccountKind.ASSET,
    AccountFamily.BANK: AccountKind.ASSET,
    AccountFamily.WALLET: AccountKind.LIABILITY,
    AccountFamily.REFUNDS: AccountKind.EXPENSE,
    AccountFamily.CHARGEBACK_LOSSES: AccountKind.EXPENSE,
    AccountFamily.GATEWAY_FEES: AccountKind.EXPENSE,
    AccountFamily.WRITE_OFFS: AccountKind.EXPENSE,
    AccountFamily.SUSPENSE: AccountKind.LIABILITY,
}
QUALIFIED = frozenset(
    {
        AccountFamily.RECEIVABLE,
        AccountFamily.REVENUE,
        AccountFamily.VAT_PAYABLE,
        AccountFamily.GATEWAY_CLEARING,
        AccountFamily.WALLET,
    }
)
MAX_CODE_LENGTH = 100


@dataclass(frozen=True, slots=True)
class Account:
    family: AccountFamily
    qualifier: str | None = None

    @property
    def code(self) -> str:
        # The family is a StrEnum, so it is its own text: ``+`` reads it without the enum's
        # ``.value`` descriptor (a third of this property's time; every posting asks for a code).
        family: str = self.family
        return family + "" if self.qualifier is None else family + ":" + self.qualifier

    @property
    def kind(self) -> AccountKind:
        return FAMILY_KIND[self.family]


def receivable(customer_id: str) -> Account:
    return Account(AccountFamily.RECEIVABLE, customer_id)


def revenue(kind: RevenueKind) -> Account:
    return Account(AccountFamily.REVENUE, kind.value)


def vat_payable(rate_percent: Decimal) -> Account:
    """VAT payable at one rate; the rate is written without trailing zeros (21, 5.5)."""
    normalized = rate_percent.normalize()
    return Account(AccountFamily.VAT_PAYABLE, f"{normalized:f}")


def gateway_clearing(gateway: str) -> Account:
    return Account(AccountFamily.GATEWAY_CLEARING, gateway)


def wallet(wallet_id: str) -> Account:
    return Account(AccountFamily.WALLET, wallet_id)


BANK = Account(AccountFamily.BANK)
DEFERRED_REVENUE = Account(AccountFamily.DEFERRED_REVENUE)
REFUNDS = Account(AccountFamily.REFUNDS)
CHARGEBACK_LOSSES = Account(AccountFamily.CHARGEBACK_LOSSES)
GATEWAY_FEES = Account(AccountFamily.GATEWAY_FEES)
WRITE_OFFS = Account(AccountFamily.WRITE_OFFS)
SUSPENSE = Account(AccountFamily.SUSPENSE)


def parse_account(code: str, *, path: str = "$.account") -> Account:
    """The account a code names; InvalidInput for an unknown family or a missing/extra qualifier."""
    return _parse_account(code, path)


@lru_cache(maxsize=65_536)  # a ledger names the same accounts over and over; refusals are not cached
def _parse_account(code: str, path: str) -> Account:
    family_text, colon, qualifier = code.partition(":")
    try:
        family = AccountFamily(family_text)
    except ValueError:
        raise InvalidInput("unknown account", (Problem(path, f"{code!r} is not in the chart"),)) from None
    if family in QUALIFIED and not (colon and qualifier):
        raise InvalidInput(
            "bad account", (Problem(path, f"{family.value} needs a qualifier, e.g. {family}:x"),)
        )
    if family not in QUALIFIED and colon:
        raise InvalidInput("bad account", (Problem(path, f"{family.value} takes no qualifier"),))
    if family is AccountFamily.REVENUE and qualifier not in {kind.value for kind in RevenueKind}:
        raise InvalidInput("bad account", (Problem(path, f"unknown revenue kind {qualifier!r}"),))
    if len(code) > MAX_CODE_LENGTH:
        raise InvalidInput("bad account", (Problem(path, f"longer than {MAX_CODE_LENGTH} characters"),))
    return Account(family, qualifier or None)
