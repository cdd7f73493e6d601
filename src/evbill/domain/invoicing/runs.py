"""A billing run: every contract cycle that ended in a month, billed and invoiced once, with progress.

A run belongs to one operator and one period (a calendar month, ``2026-10``). It is planned once: the
cycles due in the period become its items, each PENDING. Each item then ends in one outcome:

* ISSUED: this run issued the cycle's invoice;
* ALREADY_ISSUED: the cycle was invoiced before (an earlier run, a concurrent one, a retry);
* SKIPPED: nothing to invoice (no line in the cycle), with the reason;
* FAILED: the bill or the document could not be made, with the reason; the next run tries again.

A run that ``collects`` (the card on file charged, a direct debit marked, once the chunk that issued
the invoice has committed) is done only when every item with an invoice has also been collected
(``collected_at``): until then its figures (charged, declined) are still moving.

A cycle is due in a period when it ends in it: its (exclusive) end is after the period's first day
and at the latest the first day of the next month, and that end has passed. So October's run bills a
calendar-month contract's 1 to 31 October cycle and a contract anchored on the 17th its 17 September
to 17 October cycle:

    >>> period_bounds("2026-10")
    (datetime.date(2026, 10, 1), datetime.date(2026, 11, 1))
    >>> ends_in_period(date(2026, 11, 1), period_bounds("2026-10"))
    True
    >>> ends_in_period(date(2026, 10, 1), period_bounds("2026-10"))
    False
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from evbill.domain.errors import InvalidInput, Problem

PERIOD_PATTERN = re.compile(r"(\d{4})-(0[1-9]|1[0-2])")
FIRST_YEAR, LAST_YEAR = 1970, 9000  # as the cycles' own bounds (application.billing.cycle)


class RunStatus(enum.StrEnum):
    QUEUED = "queued"  # recorded, waiting for a worker to plan it
    RUNNING = "running"  # planned: its items are being worked through
    DONE = "done"  # every item has its outcome (and, a run that collects, its invoice was collected)
    INTERRUPTED = "interrupted"  # its process died part way (kill -9); a new run finishes the work


class ItemStatus(enum.StrEnum):
    PENDING = "pending"
    ISSUED = "issued"
    ALREADY_ISSUED = "already_issued"
    SKIPPED = "skipped"
    FAILED = "failed"


FINISHED = frozenset(status for status in ItemStatus if status is not ItemStatus.PENDING)


def period_bounds(period: str, path: str = "$.period") -> tuple[date, date]:
    """The first day of the month and the first day of the next; InvalidInput naming ``path``."""
    match = PERIOD_PATTERN.fullmatch(period)
    if match is None:
        raise InvalidInput("invalid period", (Problem(path, f"{period!r} is not a month like 2026-10"),))
    year, month = int(match.group(1)), int(match.group(2))
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise InvalidInput(
            "invalid period", (Problem(path, f"the year must be {FIRST_YEAR} to {LAST_YEAR}"),)
        )
    return date(year, month, 1), date(year + month // 12, month % 12 + 1, 1)


def ends_in_period(cycle_end: date, bounds: tuple[date, date]) -> bool:
    first, after = bounds
    return first < cycle_end <= after


@dataclass(frozen=True, slots=True)
class DueCycle:
    """A contract's cycle the run bills: [cycle_start, cycle_end)."""

    contract_id: str
    customer_id: str
    cycle_start: date
    cycle_end: date


@dataclass(frozen=True, slots=True)
class RunItem:
    run_id: str
    operator_id: str
    contract_id: str
    cycle_start: date
    cycle_end: date
    status: ItemStatus = ItemStatus.PENDING
    reason: str | None = None
    bill_id: str | None = None
    invoice_id: str | None = None
    currency: str | None = None
    total_incl_vat_minor: int | None = None
    updated_at: datetime | None = None
    collected_at: datetime | None = None  # its invoice went through collection at issue (a run that collects)


@dataclass(frozen=True, slots=True)
class RunCounts:
    """How many items are in each state, and the issued totals incl. VAT per currency (minor units)."""

    by_status: Mapping[ItemStatus, int] = field(default_factory=dict)
    issued_totals: Mapping[str, int] = field(default_factory=dict)
    uncollected: int = 0  # items with an invoice whose collection at issue has not run yet (collects)

    @property
    def total(self) -> int:
        return sum(self.by_status.values())

    @property
    def finished(self) -> int:
        return sum(count for status, count in self.by_status.items() if status in FINISHED)

    def of(self, status: ItemStatus) -> int:
        return self.by_status.get(status, 0)


@dataclass(frozen=True, slots=True)
class BillingRun:
    id: str
    operator_id: str
    period: str
    status: RunStatus
    queued: bool  # worked through by `evbill worker` (True) or by the command that started it
    created_at: datetime
    planned_at: datetime | None = None
    finished_at: datetime | None = None
    counts: RunCounts = RunCounts()
    owner: str | None = None  # "host:pid" of the command working it in place (None: queued)
    collects: bool = False  # collects its invoices at issue: DONE only once each item's is collected

    @property
    def progress(self) -> float:
        """Share of items finished, 0 to 1 (0 while not yet planned; 1 for a done run of no items)."""
        total = self.counts.total
        if not total:
            return 1.0 if self.status is RunStatus.DONE else 0.0
        return self.counts.finished / total
