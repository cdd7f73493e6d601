"""Credit notes and voids in the revenue reports: revenue net of corrections, in the ledger's periods.

A session's revenue is counted when it was supplied (its start, as every session measure); what its
documents charged for it is its *billed* amount (``ReportRow.billed_net_minor``). A correction of a
document takes from revenue in the period of the correction, not of the original supply: the ledger
posts a credit note when it is issued and a void when it is voided (the reversal of the issue entry),
the VAT return corrects the output tax in the period of the credit note (EU VAT Directive art. 90,
185), and a closed period is never reopened. So a credit note of 10.00 issued on 2 November for an
October session reduces November's net revenue by 10.00 (and its VAT by the VAT the note credits),
not October's. Every row a correction lands in is the credited session's (its place, customer,
tariff ...); only the period rows (day, week, month) take the correction's own local date, in the
zone of the session's location.

Each correction is split per credited session line: its net as the document shows it, and the
document's VAT per category and rate shared over that rate's lines in proportion to their net
(largest remainder, so the shares add up to the document's VAT exactly):

    >>> from datetime import UTC
    >>> [c.tax_minor for c in split_document(
    ...     [("s1", 1000, "S21"), ("s2", 501, "S21"), (None, 99, "S21")], {"S21": 336},
    ...     kind=CorrectionKind.CREDITED, at=datetime(2026, 11, 2, tzinfo=UTC), currency="EUR")]
    [210, 105]

Lines without a session (a plan fee, a discount) are not session revenue and are left out here
(they are in the ledger's revenue accounts, not in session reports).
"""

from __future__ import annotations

import enum
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from evbill.domain.analytics.facts import ZERO, GroupBy
from evbill.domain.analytics.reports import TOTAL_KEY, UNKNOWN, Report, ReportRow, Revenue, zone_of


class CorrectionKind(enum.StrEnum):
    CREDITED = "credited"  # a credit note, in the period it was issued
    VOIDED = "voided"  # a voided invoice or receipt, reversed whole in the period it was voided


@dataclass(frozen=True, slots=True)
class Correction:
    """What one correction takes from one session's revenue (positive minor units)."""

    session_id: str
    kind: CorrectionKind
    at: datetime  # when the ledger posted it (aware UTC)
    currency: str
    net_minor: int
    tax_minor: int


def split_document(
    lines: Sequence[tuple[str | None, int, Hashable]],
    tax_by_rate: Mapping[Hashable, int],
    *,
    kind: CorrectionKind,
    at: datetime,
    currency: str,
) -> list[Correction]:
    """One correction per session line of a document: ``lines`` are (session id or None, net minor
    units as shown, the line's VAT category and rate); ``tax_by_rate`` the document's VAT per
    category and rate. Amounts are as the document shows them (positive for a credit note, as for
    the invoice it corrects)."""
    shares = [0] * len(lines)
    for rate, tax in tax_by_rate.items():
        members = [index for index, line in enumerate(lines) if line[2] == rate]
        if not members or not tax:
            continue
        for index, share in zip(members, _shares(tax, [lines[i][1] for i in members]), strict=True):
            shares[index] = share
    return [
        Correction(session_id, kind, at, currency, net, shares[index])
        for index, (session_id, net, _) in enumerate(lines)
        if session_id is not None
    ]


def _shares(total: int, weights: Sequence[int]) -> list[int]:
    """``total`` split in proportion to ``weights`` by the largest remainder (exact sum)."""
    whole = sum(weights)
    if not whole:
        return [total] + [0] * (len(weights) - 1)
    floors = [total * weight // whole for weight in weights]
    remainders = sorted(range(len(weights)), key=lambda i: (-(total * weights[i] - floors[i] * whole), i))
    for index in remainders[: total - sum(floors)]:
        floors[index] += 1
    return floors


@dataclass(frozen=True, slots=True)
class CorrectedSession:
    """The keys of a corrected session, as its report fact row has them (None: not known)."""

    zone: str
    keys: Mapping[GroupBy, str | None]  # LOCATION ... PAYMENT_METHOD


_PERIODS = {GroupBy.DAY: "%Y-%m-%d", GroupBy.WEEK: "%G-W%V", GroupBy.MONTH: "%Y-%m"}


def key_of(correction: Correction, session: CorrectedSession, group_by: GroupBy) -> str:
    """The row a correction lands in: the period of the correction itself (local date in the
    session's zone), else the corrected session's own key."""
    if group_by is GroupBy.TOTAL:
        return TOTAL_KEY
    pattern = _PERIODS.get(group_by)
    if pattern is not None:
        return correction.at.astimezone(zone_of(session.zone)).strftime(pattern)
    return session.keys.get(group_by) or UNKNOWN


def with_corrections(report: Report, corrections: Iterable[tuple[Correction, CorrectedSession]]) -> Report:
    """``report`` with the corrections added to its rows and totals. A row the corrections alone
    make (a month with a credit note and no session) is added, with no sessions, unless the report
    shows only its top rows and left some out: the totals still count every correction."""
    rows = {(row.key, row.currency): row for row in report.rows}
    totals = {row.currency: row for row in report.totals}
    for correction, session in corrections:
        key = (key_of(correction, session, report.group_by), correction.currency)
        if key in rows or not report.left_out:
            rows[key] = _add(rows.get(key) or _empty(*key), correction)
        totals[correction.currency] = _add(
            totals.get(correction.currency) or _empty(TOTAL_KEY, correction.currency), correction
        )
    shown = tuple(rows.values())
    if not report.left_out and len(shown) != len(report.rows):
        shown = tuple(sorted(shown, key=lambda row: (row.key, row.currency)))
    return replace(report, rows=shown, totals=tuple(totals[c] for c in sorted(totals)))


def _add(row: ReportRow, correction: Correction) -> ReportRow:
    if correction.kind is CorrectionKind.CREDITED:
        return replace(
            row,
            credited_net_minor=row.credited_net_minor + correction.net_minor,
            credited_tax_minor=row.credited_tax_minor + correction.tax_minor,
        )
    return replace(
        row,
        voided_net_minor=row.voided_net_minor + correction.net_minor,
        voided_tax_minor=row.voided_tax_minor + correction.tax_minor,
    )


def _empty(key: str, currency: str) -> ReportRow:
    return ReportRow(key, currency, 0, ZERO, ZERO, ZERO, ZERO, Revenue(), {}, 0, 0, 0)
