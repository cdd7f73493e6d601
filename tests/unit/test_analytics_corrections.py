"""Corrections (credit notes, voids) added to a report's rows and totals, in their own period."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from evbill.domain.analytics.corrections import (
    CorrectedSession,
    Correction,
    CorrectionKind,
    split_document,
    with_corrections,
)
from evbill.domain.analytics.facts import GroupBy
from evbill.domain.analytics.reports import summarise
from tests.unit.analytics_data import FACTS, WINDOW_START

AT_L1 = CorrectedSession("Europe/Amsterdam", {GroupBy.LOCATION: "L1", GroupBy.CUSTOMER: "C2"})
# a credit note of 4.00 + 0.84 for session B, issued 31 May 22:30 UTC: 1 June in Amsterdam
NOTE = Correction("B", CorrectionKind.CREDITED, datetime(2026, 5, 31, 22, 30, tzinfo=UTC), "EUR", 400, 84)


def test_a_credit_note_in_a_month_without_sessions_makes_its_own_row() -> None:
    report = summarise(FACTS, GroupBy.MONTH, window_start=WINDOW_START)

    corrected = with_corrections(report, [(NOTE, AT_L1)])

    assert [(r.key, r.sessions, r.billed_net_minor, r.credited_net_minor, r.corrected_net_minor)
            for r in corrected.rows] == [
        ("2026-03", 2, 1770, 0, 1770), ("2026-04", 2, 398, 0, 398), ("2026-06", 0, 0, 400, -400),
    ]  # fmt: skip
    (total,) = corrected.totals
    assert (total.billed_net_minor, total.credited_tax_minor, total.corrected_gross_minor) == (2168, 84, 2128)


def test_a_report_of_its_top_rows_adds_no_row_but_counts_the_correction_in_its_totals() -> None:
    report = replace(summarise(FACTS, GroupBy.MONTH, window_start=WINDOW_START), left_out=3)

    corrected = with_corrections(report, [(NOTE, AT_L1)])

    assert [row.key for row in corrected.rows] == ["2026-03", "2026-04"]
    assert corrected.totals[0].credited_net_minor == 400


def test_a_void_lands_in_the_corrected_sessions_row() -> None:
    void = replace(NOTE, kind=CorrectionKind.VOIDED)
    report = summarise(FACTS, GroupBy.LOCATION, window_start=WINDOW_START)

    corrected = with_corrections(report, [(void, AT_L1)])

    rows = [(r.key, r.voided_net_minor, r.voided_tax_minor, r.corrected_net_minor) for r in corrected.rows]
    assert rows == [("L1", 400, 84, 1370), ("L2", 0, 0, 398)]


def test_a_documents_vat_is_shared_over_its_lines_at_each_rate_exactly() -> None:
    at = datetime(2026, 11, 2, tzinfo=UTC)
    lines = [("s1", 333, "21"), ("s2", 333, "21"), ("s3", 334, "21"), ("s4", 1000, "9"), (None, 500, "9")]

    split = split_document(lines, {"21": 210, "9": 135}, kind=CorrectionKind.CREDITED, at=at, currency="EUR")

    assert [(c.session_id, c.net_minor, c.tax_minor) for c in split] == [
        ("s1", 333, 70),
        ("s2", 333, 70),
        ("s3", 334, 70),
        ("s4", 1000, 90),
    ]
