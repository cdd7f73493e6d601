"""The ledger against the money records: every payment and every wallet, each checked by itself.

* A payment: what its gateway events say moved through the gateway clearing account (captured, less
  the fees, refunds and chargebacks) equals the sum of the clearing postings of its entries
  (reference ``payment:<id>``).
* A wallet: its balance (the sum of its transactions) equals what the ledger owes on ``wallet:<id>``
  (the negated balance of that liability account).

``check_books`` is ``evbill ledger check``: the ledger's own check plus these reconciliations.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from evbill.application.ledger.check import Finding, LedgerReport, check_ledger
from evbill.application.payments.postings import CLEARING_PREFIX, payment_reference
from evbill.application.ports import UnitOfWork
from evbill.application.records import Services
from evbill.domain.ledger import accounts
from evbill.domain.payments.events import derive_state


def reconcile_payments(uow: UnitOfWork, operator_id: str) -> Iterator[Finding]:
    # only the payments' own entries are compared: summing every other clearing entry (a million
    # of them in the ledger benchmark) would be work thrown away
    ledger = uow.ledger.sums_by_reference(
        operator_id, CLEARING_PREFIX, reference_prefix=payment_reference("")
    )
    for payment, events in uow.payments.of_operator(operator_id):
        state = derive_state(events)
        expected = state.captured - state.fees - state.refunded - state.charged_back
        posted = ledger.get((payment_reference(payment.id), payment.currency), 0)
        if posted != expected:
            yield Finding(
                operator_id,
                f"payment {payment.id}",
                f"gateway events net {expected} {payment.currency} through clearing, the ledger {posted}",
            )


def reconcile_wallets(uow: UnitOfWork, operator_id: str) -> Iterator[Finding]:
    owed = {
        (balance.account, balance.currency): -balance.balance
        for balance in uow.ledger.balances(operator_id)
        if balance.account.startswith("wallet:")
    }
    balances = uow.wallets.balances(operator_id)
    for wallet in uow.wallets.list(operator_id, after=None, limit=1_000_000):
        held = balances.get(wallet.id, 0)
        posted = owed.get((accounts.wallet(wallet.id).code, wallet.currency), 0)
        if held != posted:
            yield Finding(
                operator_id,
                f"wallet {wallet.id}",
                f"holds {held} {wallet.currency} by its transactions, the ledger owes {posted}",
            )


def check_books(svc: Services, *, operator_ids: Sequence[str] | None = None) -> LedgerReport:
    return check_ledger(
        svc, operator_ids=operator_ids, reconciliations=(reconcile_payments, reconcile_wallets)
    )
