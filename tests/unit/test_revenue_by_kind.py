"""A document's revenue by kind: its lines' components, rounded once, summing to its net total.

Given a document composed from precise lines (each session line carrying its price parts), when the
ledger splits its net total by revenue kind, then every kind is its precise sum rounded with the
document's mode, the rounding difference goes to the largest kind, and the kinds add up to the net
total exactly (never a cent lost or invented).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from evbill.application.invoicing.postings import revenue_of
from evbill.domain.invoicing.compose import Composed, DraftLine, compose
from evbill.domain.invoicing.documents import credit_note, issue
from evbill.domain.ledger.accounts import RevenueKind
from evbill.domain.money import RoundingMode
from tests.unit.test_invoice_documents import invoice

D = Decimal
BERLIN = ZoneInfo("Europe/Berlin")
ENERGY, TIME, IDLE, FEES, SUBSCRIPTIONS = (
    RevenueKind.ENERGY,
    RevenueKind.TIME,
    RevenueKind.IDLE,
    RevenueKind.FEES,
    RevenueKind.SUBSCRIPTIONS,
)


def document(*lines: DraftLine) -> Composed:
    return compose(lines, currency="EUR", mode=RoundingMode.HALF_UP, reverse_charge=False)


def session(net: str, **parts: str) -> DraftLine:
    return DraftLine(
        "Charging", D(net), D("21"), components=tuple((name, D(amount)) for name, amount in parts.items())
    )


def test_a_receipt_of_energy_and_a_start_fee_posts_each_to_its_own_kind() -> None:
    # the tester's RCP-3: 1.95 energy + 0.35 start fee, one session line of 2.30
    composed = document(session("2.30", ENERGY="1.95", FLAT="0.35"))

    assert revenue_of(composed, RoundingMode.HALF_UP) == {ENERGY: 195, FEES: 35}


def test_time_and_the_idle_fee_are_their_own_kinds_and_a_plan_fee_is_subscriptions() -> None:
    composed = document(
        session("6.90", ENERGY="3.90", TIME="1.00", PARKING_TIME="2.00"),
        DraftLine("Commuter fee", D("9.99"), D("21"), kind="PLAN_FEE"),
        DraftLine("Service fee", D("1.50"), D("21"), kind="SERVICE_FEE"),
    )

    assert revenue_of(composed, RoundingMode.HALF_UP) == {
        ENERGY: 390, TIME: 100, IDLE: 200, SUBSCRIPTIONS: 999, FEES: 150,
    }  # fmt: skip
    assert composed.totals.excl_vat_minor == 390 + 100 + 200 + 999 + 150


def test_the_rounding_difference_goes_to_the_largest_kind() -> None:
    # Given one line of 2.010 (shown 2.01) of 1.004 energy, 1.004 idle and 0.002 start fee: rounded on
    # their own the kinds make 1.00 + 1.00 + 0.00 = 2.00, a cent short of the document
    composed = document(session("2.010", ENERGY="1.004", PARKING_TIME="1.004", FLAT="0.002"))
    assert composed.totals.excl_vat_minor == 201

    # Then the missing cent goes to the largest kind (energy and idle tie: energy, first in order)
    assert revenue_of(composed, RoundingMode.HALF_UP) == {ENERGY: 101, IDLE: 100, FEES: 0}


def test_the_difference_over_several_lines_goes_to_the_largest_kind_and_may_be_taken_back() -> None:
    # three sessions of 0.335 energy + 0.005 start fee each: the document rounds 1.02 once, energy alone
    # 1.005 -> 1.01 and fees 0.015 -> 0.02 would make 1.03: the energy gives the cent back
    line = session("0.340", ENERGY="0.335", FLAT="0.005")
    composed = document(line, line, line)
    assert composed.totals.excl_vat_minor == 102

    assert revenue_of(composed, RoundingMode.HALF_UP) == {ENERGY: 100, FEES: 2}


def test_a_partial_credit_of_a_line_is_split_in_the_proportions_of_the_original() -> None:
    # Given a credit of 1.15 of a line of 2.30 (energy 1.95, fees 0.35), which keeps the original's split
    credit = DraftLine(
        "Charging", D("1.15"), D("21"), components=(("ENERGY", D("1.95")), ("FLAT", D("0.35")))
    )

    # Then half of each: 0.975 -> 0.98 energy, 0.175 -> 0.18 fees = 1.16, a cent over: energy gives it
    assert revenue_of(document(credit), RoundingMode.HALF_UP) == {ENERGY: 97, FEES: 18}


def test_a_line_without_components_posts_by_its_kind_as_before() -> None:
    composed = document(
        DraftLine("Charging", D("4.25"), D("21")), DraftLine("Coupon", D("-1.00"), D("21"), kind="DISCOUNT")
    )

    assert revenue_of(composed, RoundingMode.HALF_UP) == {ENERGY: 325}


def test_a_discount_taken_off_a_session_reduces_the_kinds_it_was_taken_from() -> None:
    composed = document(
        session("4.25", ENERGY="3.90", FLAT="0.35"),
        DraftLine(
            "10 % off", D("-0.425"), D("21"), kind="DISCOUNT",
            components=(("ENERGY", D("-0.39")), ("FLAT", D("-0.035"))),
        ),
    )  # fmt: skip

    # 3.825 -> 3.83 shown (half up); energy 3.51, fees 0.315 -> 0.32 = 3.83
    assert revenue_of(composed, RoundingMode.HALF_UP) == {ENERGY: 351, FEES: 32}


cents = st.integers(min_value=-5_000, max_value=50_000).map(lambda n: D(n).scaleb(-3))


@given(st.lists(st.tuples(cents, cents, cents, cents), min_size=1, max_size=8))
def test_the_kinds_always_add_up_to_the_document_net_total(parts: list[tuple[D, D, D, D]]) -> None:
    lines = [
        session(str(sum(p, D(0))), ENERGY=str(p[0]), TIME=str(p[1]), PARKING_TIME=str(p[2]), FLAT=str(p[3]))
        for p in parts
    ]
    composed = document(*lines)
    revenue = revenue_of(composed, RoundingMode.HALF_UP)
    assert sum(revenue.values()) == composed.totals.excl_vat_minor
    # each kind within a cent (per line at most) of its precise sum
    for index, kind in enumerate((ENERGY, TIME, IDLE, FEES)):
        precise = sum((p[index] for p in parts), D(0)) * 100
        assert abs(revenue.get(kind, 0) - precise) <= len(parts) + 1


def test_a_credit_note_of_a_session_line_carries_its_split_and_credits_each_kind_in_proportion() -> None:
    # Given an issued invoice of one session: 6.00 energy, 2.00 idle fee (8.00)
    original = issue(
        invoice(session("8.00", ENERGY="6.00", PARKING_TIME="2.00")),
        number="AMS-2026-000001", issued_at=datetime(2026, 11, 1, 9, tzinfo=UTC), zone=BERLIN,
    )  # fmt: skip
    assert revenue_of(original.composed, RoundingMode.HALF_UP) == {ENERGY: 600, IDLE: 200}

    # When 2.00 of the line is credited (a partial credit note), and the whole of it
    part = credit_note(
        original, new_id="cn1", reason="idle time disputed", amounts={1: D("2.00")}, created_at=None
    )
    whole = credit_note(original, new_id="cn2", reason="charged twice", created_at=None)

    # Then the credit carries the line's split: a quarter of each kind, or all of it
    assert part.composed.lines[0].components == (("ENERGY", D("6.00")), ("PARKING_TIME", D("2.00")))
    assert revenue_of(part.composed, RoundingMode.HALF_UP) == {ENERGY: 150, IDLE: 50}
    assert revenue_of(whole.composed, RoundingMode.HALF_UP) == {ENERGY: 600, IDLE: 200}
