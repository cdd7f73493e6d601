"""``evbill ledger check``: prove every entry balances and the ledger agrees with the money records.

For each operator the check reads, from the database's own sums:

1. entries whose postings do not sum to zero per currency, or that have fewer than two postings;
2. the trial balance's total per currency (zero when every entry balances), and against that same
   trial balance the quarter-hour sums booked revenue reads (``ledger_period_sums``): per revenue or
   VAT account and currency, the rollup's total over all time equals the postings' (one GROUP BY of
   the small rollup; the postings' side is the trial balance already read, no second pass);
3. each reconciliation passed in: what the payments (captured minus fees, refunds and chargebacks)
   and the wallets (their balances) say, against the ledger's postings for the same record
   (``application.payments.reconciliation``). Invoices plug in the same way once they exist: a
   function (unit of work, operator id) -> findings over their receivables.

Every disagreement is a ``Finding`` naming the entry, payment or wallet; none means the ledger is sound.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from evbill.application.ports import UnitOfWork
from evbill.application.records import Services
from evbill.domain.ledger.balances import QUARTER_SUMMED_PREFIXES


@dataclass(frozen=True, slots=True)
class Finding:
    operator_id: str
    subject: str  # what does not agree: "entry 0190...", "payment 0190...", "trial balance EUR"
    message: str

    def __str__(self) -> str:
        return f"operator {self.operator_id}: {self.subject}: {self.message}"


@dataclass(frozen=True, slots=True)
class LedgerReport:
    operators: int
    entries_checked: int
    findings: Sequence[Finding] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return not self.findings


Reconciliation = Callable[[UnitOfWork, str], Iterable[Finding]]


def check_ledger(
    svc: Services,
    *,
    operator_ids: Sequence[str] | None = None,
    reconciliations: Sequence[Reconciliation] = (),
) -> LedgerReport:
    """Check the given operators' ledgers (every operator's by default); platform-wide, no actor."""
    findings: list[Finding] = []
    entries = 0
    with svc.uow(read_only=True) as uow:
        chosen = (
            list(operator_ids) if operator_ids else [operator.id for operator in uow.operators.list_all()]
        )
        for operator_id in chosen:
            findings.extend(_entry_findings(uow, operator_id))
            for reconcile in reconciliations:
                findings.extend(reconcile(uow, operator_id))
            entries += uow.ledger.count(operator_id)
    return LedgerReport(len(chosen), entries, tuple(findings))


def _entry_findings(uow: UnitOfWork, operator_id: str) -> Iterable[Finding]:
    for imbalance in uow.ledger.imbalances(operator_id):
        if imbalance.postings == 0:
            yield Finding(operator_id, f"entry {imbalance.entry_id}", "has no postings")
        elif imbalance.total != 0:
            yield Finding(
                operator_id,
                f"entry {imbalance.entry_id}",
                f"{imbalance.currency} postings sum to {imbalance.total}, not 0",
            )
        else:
            yield Finding(
                operator_id, f"entry {imbalance.entry_id}", f"only one {imbalance.currency} posting"
            )
    totals: dict[str, int] = {}
    summed: dict[tuple[str, str], int] = {}
    for balance in uow.ledger.balances(operator_id):
        totals[balance.currency] = totals.get(balance.currency, 0) + balance.balance
        if balance.account.startswith(QUARTER_SUMMED_PREFIXES):
            summed[(balance.account, balance.currency)] = balance.balance
    for currency, total in sorted(totals.items()):
        if total != 0:
            yield Finding(operator_id, f"trial balance {currency}", f"sums to {total}, not 0")
    yield from _rollup_findings(uow, operator_id, summed)


def _rollup_findings(
    uow: UnitOfWork, operator_id: str, posted: dict[tuple[str, str], int]
) -> Iterable[Finding]:
    """The quarter-hour sums (booked revenue's rollup) against the postings, per account and currency."""
    rolled_up = uow.ledger.period_sum_totals(operator_id)
    for account, currency in sorted(posted.keys() | rolled_up.keys()):
        by_postings, by_rollup = posted.get((account, currency), 0), rolled_up.get((account, currency), 0)
        if by_postings != by_rollup:
            yield Finding(
                operator_id,
                f"quarter-hour sums of {account} {currency}",
                f"sum to {by_rollup}, the account's postings to {by_postings}",
            )
