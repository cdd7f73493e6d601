"""Invoice documents: VAT per category on its net base, one rounding step, totals as EN 16931 adds them.

Every expected amount is worked by hand in the test's docstring; amounts are minor units (cents).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evbill.domain.billing.cycle import Bill, BillLine, LineKind
from evbill.domain.errors import Conflict, InvalidInput
from evbill.domain.invoicing.compose import DraftLine, compose
from evbill.domain.invoicing.documents import (
    Credited,
    Document,
    DocumentKind,
    DocumentStatus,
    Party,
    credit_note,
    issue,
    overdue,
    pay,
    take_back,
    void,
)
from evbill.domain.invoicing.from_bill import draft_lines
from evbill.domain.invoicing.tax import GERMANY, TaxMode, VatCategory, is_reverse_charge
from evbill.domain.money import RoundingMode

D = Decimal
BERLIN = ZoneInfo("Europe/Berlin")
HALF_UP = RoundingMode.HALF_UP
S, Z, AE, OUT = (VatCategory.STANDARD, VatCategory.ZERO, VatCategory.REVERSE_CHARGE,
                  VatCategory.OUTSIDE_SCOPE)  # fmt: skip


def line(net: str, rate: str | None, text: str = "line", **fields) -> DraftLine:
    return DraftLine(text, D(net), None if rate is None else D(rate), **fields)


def breakdown(composed):
    return [(b.category, b.rate, b.base_minor, b.tax_minor) for b in composed.breakdown]


def test_mixed_vat_is_taxed_per_category_on_the_rounded_net_base_and_the_totals_add_up():
    """S 21 %: 10.004 + 9.99 = 19.994 -> 19.99; VAT 19.99 x 21 % = 4.1979 -> 4.20
    S 9 %:  2.333 -> 2.33; VAT 0.2097 -> 0.21
    O:      5.00, no VAT
    lines 10.00 + 9.99 + 2.33 + 5.00 = 27.32; VAT 4.41; incl. 31.73
    precise incl. 24.19274 + 2.54297 + 5 = 31.73571: the document is 0.00571 lower, and says so."""
    composed = compose(
        [line("10.004", "21"), line("9.99", "21"), line("2.333", "9"), line("5.00", None)],
        currency="EUR", mode=HALF_UP, reverse_charge=False,
    )  # fmt: skip

    assert [item.net_minor for item in composed.lines] == [1000, 999, 233, 500]
    assert breakdown(composed) == [(OUT, D(0), 500, 0), (S, D(21), 1999, 420), (S, D(9), 233, 21)]
    totals = composed.totals
    assert (totals.lines_minor, totals.excl_vat_minor, totals.vat_minor, totals.incl_vat_minor) == (
        2732, 2732, 441, 3173,
    )  # fmt: skip
    assert totals.payable_minor == 3173
    assert composed.rounding_difference == D("-0.00571")


def test_tax_is_not_the_sum_of_rounded_line_taxes():
    """Three lines of 0.10 at 21 %: line taxes 0.021 each round to 0.02 (sum 0.06), but the category's
    tax is 0.30 x 21 % = 0.063 -> 0.06; with 0.105 each, base 0.315 -> 0.32, VAT 0.0672 -> 0.07
    (summed rounded line taxes would say 0.02 x 3 = 0.06)."""
    composed = compose([line("0.105", "21")] * 3, currency="EUR", mode=HALF_UP, reverse_charge=False)

    assert breakdown(composed) == [(S, D(21), 32, 7)]
    assert [item.net_minor for item in composed.lines] == [11, 11, 10]


def test_the_operators_rounding_mode_rounds_the_document_once():
    """0.125 is 0.13 half up, 0.12 half even."""
    up = compose([line("0.125", "0")], currency="EUR", mode=RoundingMode.HALF_UP, reverse_charge=False)
    even = compose([line("0.125", "0")], currency="EUR", mode=RoundingMode.HALF_EVEN, reverse_charge=False)

    assert (up.totals.incl_vat_minor, even.totals.incl_vat_minor) == (13, 12)
    assert breakdown(up) == [(Z, D(0), 13, 0)]


def test_cross_border_b2b_with_a_vat_id_is_reverse_charged_no_vat_is_charged():
    """A Dutch operator charges a German business with a VAT id: 100.00 + 2.50, category AE, VAT 0."""
    reverse = is_reverse_charge(seller_country="NL", buyer_country="DE", buyer_vat_id="DE136695976")
    composed = compose([line("100.00", "21"), line("2.50", "21")], currency="EUR", mode=HALF_UP,
                       reverse_charge=reverse)  # fmt: skip

    assert reverse is True
    assert breakdown(composed) == [(AE, D(0), 10250, 0)]
    assert composed.totals.incl_vat_minor == 10250
    assert not is_reverse_charge(seller_country="NL", buyer_country="NL", buyer_vat_id="NL123456789B01")
    assert not is_reverse_charge(seller_country="NL", buyer_country="DE", buyer_vat_id=None)


def test_sales_tax_is_added_to_the_net_price_and_shown_separately():
    """New York City 8.875 %: 10.00 + 5.55 = 15.55; tax 1.3800625 -> 1.38; total 16.93."""
    composed = compose([line("10.00", "8.875"), line("5.55", "8.875")], currency="USD", mode=HALF_UP,
                       reverse_charge=True, tax_mode=TaxMode.SALES_TAX)  # fmt: skip

    assert composed.tax_mode is TaxMode.SALES_TAX
    assert breakdown(composed) == [(S, D("8.875"), 1555, 138)]  # never reverse charged
    assert composed.totals.incl_vat_minor == 1693


def test_a_vat_rate_change_mid_cycle_taxes_each_session_at_the_rate_of_its_date():
    """Germany, July 2020: 19 % until June 30, 16 % from July 1. A cycle from June 15 to July 15:
    session on June 30 10.00 -> 1.90; session on July 1 10.00 -> 1.60; fee 5.00 at the cycle's
    last day (July 14) -> 16 %: base 15.00, VAT 2.40."""
    bill = Bill(
        "c1", date(2020, 6, 15), date(2020, 7, 15), "EUR",
        (BillLine(LineKind.SESSION, "June 30", D("10.00"), D("19"), "s1"),
         BillLine(LineKind.SESSION, "July 1", D("10.00"), D("19"), "s2"),
         BillLine(LineKind.PLAN_FEE, "fee", D("5.00"), D("19"))),
        (), (),
    )  # fmt: skip
    drafts = draft_lines(
        bill, session_dates={"s1": date(2020, 6, 30), "s2": date(2020, 7, 1)}, schedule=GERMANY
    )

    composed = compose(drafts, currency="EUR", mode=HALF_UP, reverse_charge=False)

    assert breakdown(composed) == [(S, D(19), 1000, 190), (S, D(16), 1500, 240)]
    assert composed.totals.incl_vat_minor == 2930


SELLER = Party("Amsterdam Charging B.V.", "NL", vat_id="NL123456789B01", iban="NL91ABNA0417164300")
BUYER = Party("Acme GmbH", "DE", vat_id="DE136695976")


def invoice(*lines: DraftLine, reverse_charge: bool = False) -> Document:
    composed = compose(lines, currency="EUR", mode=HALF_UP, reverse_charge=reverse_charge)
    return Document(
        id="inv-1", operator_id="op", kind=DocumentKind.INVOICE, status=DocumentStatus.DRAFT, series="AMS",
        number=None, contract_id="c1", customer_id="cu1", bill_id="b1", seller=SELLER, buyer=BUYER,
        language="en", composed=composed, rounding_mode=HALF_UP, period_start=date(2026, 10, 1),
        period_end=date(2026, 11, 1), payment_due_days=14,
    )  # fmt: skip


ISSUED_AT = datetime(2026, 10, 31, 23, 30, tzinfo=UTC)  # already November 1 in Berlin


def test_issue_numbers_the_draft_and_counts_the_due_date_in_the_operators_time_zone():
    issued = issue(invoice(line("10.00", "21")), number="AMS-2026-000001", issued_at=ISSUED_AT, zone=BERLIN)

    assert (issued.status, issued.number) == (DocumentStatus.ISSUED, "AMS-2026-000001")
    assert (issued.issue_date, issued.due_date) == (date(2026, 11, 1), date(2026, 11, 15))
    with pytest.raises(Conflict):
        issue(issued, number="AMS-2026-000002", issued_at=ISSUED_AT, zone=BERLIN)  # issued is immutable


def test_payments_move_an_issued_invoice_to_partially_paid_and_paid_and_overdue_past_its_due_date():
    issued = issue(invoice(line("10.00", "21")), number="A-1", issued_at=ISSUED_AT, zone=BERLIN)  # 12.10

    late = overdue(issued, date(2026, 11, 16))
    part = pay(late, 600)
    full = pay(part, 610)

    assert overdue(issued, date(2026, 11, 15)).status is DocumentStatus.ISSUED
    assert [late.status, part.status, full.status] == [
        DocumentStatus.OVERDUE, DocumentStatus.OVERDUE, DocumentStatus.PAID,
    ]  # fmt: skip  # a part payment does not hide that the rest is late
    assert (part.paid_minor, part.open_minor) == (600, 610)
    with pytest.raises(InvalidInput):
        pay(part, 611)  # more than is open
    with pytest.raises(Conflict):
        void(part, "wrong customer")  # something is paid: a credit note corrects it instead
    assert void(issued, "wrong customer").status is DocumentStatus.VOID


def test_a_refund_takes_back_what_was_paid_and_the_status_follows_the_due_date():
    issued = issue(invoice(line("10.00", "21")), number="A-1", issued_at=ISSUED_AT, zone=BERLIN)  # 12.10
    paid = pay(issued, 1210)  # due 2026-11-15

    before_due = take_back(paid, 500, date(2026, 11, 10))
    on_due_day = take_back(paid, 1210, date(2026, 11, 15))
    after_due = take_back(paid, 500, date(2026, 11, 16))

    assert (before_due.status, before_due.paid_minor, before_due.open_minor) == (
        DocumentStatus.PARTIALLY_PAID, 710, 500,
    )  # fmt: skip
    assert (on_due_day.status, on_due_day.paid_minor) == (DocumentStatus.ISSUED, 0)
    assert (after_due.status, after_due.open_minor) == (DocumentStatus.OVERDUE, 500)
    assert before_due.version == paid.version + 1
    with pytest.raises(InvalidInput):
        take_back(before_due, 711, date(2026, 11, 10))  # more than it shows paid
    with pytest.raises(Conflict):
        take_back(void(issued, "wrong customer"), 1, date(2026, 11, 10))


def test_a_full_credit_note_references_the_invoice_and_has_its_totals():
    original = issue(
        invoice(line("10.004", "21"), line("5.00", None)), number="A-7", issued_at=ISSUED_AT, zone=BERLIN
    )

    note = credit_note(original, new_id="cn-1", reason="charged twice", created_at=ISSUED_AT)

    assert (note.kind, note.status, note.number) == (DocumentKind.CREDIT_NOTE, DocumentStatus.DRAFT, None)
    assert (note.original_id, note.original_number, note.reason) == ("inv-1", "A-7", "charged twice")
    assert note.kind.type_code == "381"
    assert note.composed.totals == original.composed.totals  # 10.00 + 2.10 + 5.00 = 17.10
    assert note.composed.totals.incl_vat_minor == 1710


def test_a_partial_credit_note_credits_part_of_a_line_and_never_more_than_is_left():
    """Line 1 is 20.00 at 21 %; credit 5.00 -> VAT 1.05, 6.05 in all. 12.00 more was credited
    before, so at most 8.00 is left: 9.00 is refused."""
    original = issue(invoice(line("20.00", "21"), line("3.00", None)), number="A-8", issued_at=ISSUED_AT,
                     zone=BERLIN)  # fmt: skip

    note = credit_note(original, new_id="cn-2", reason="idle fee waived",
                       amounts={1: D("5.00")}, created_at=ISSUED_AT)  # fmt: skip

    assert breakdown(note.composed) == [(S, D(21), 500, 105)]
    assert note.composed.totals.incl_vat_minor == 605
    before = Credited({1: 1200}, {(S, D(21)): 252}, 1452)
    with pytest.raises(InvalidInput, match="more than the 8.00 left to credit"):
        credit_note(original, new_id="cn-3", reason="again", credited_before=before,
                    amounts={1: D("9.00")}, created_at=ISSUED_AT)  # fmt: skip


def test_a_credit_note_of_a_reverse_charged_invoice_is_reverse_charged_too():
    original = issue(invoice(line("100.00", "21"), reverse_charge=True), number="A-9", issued_at=ISSUED_AT,
                     zone=BERLIN)  # fmt: skip

    note = credit_note(original, new_id="cn-4", reason="r", created_at=ISSUED_AT)

    assert breakdown(note.composed) == [(AE, D(0), 10000, 0)]


amounts = st.decimals(min_value=D("-50"), max_value=D("500"), places=6, allow_nan=False, allow_infinity=False)
rates = st.sampled_from([None, "0", "7", "9", "19", "21", "8.875"])


@given(st.lists(st.tuples(amounts, rates), min_size=1, max_size=12), st.sampled_from(list(RoundingMode)))
def test_totals_always_add_up_as_en16931_checks_them(items, mode):
    composed = compose([line(str(net), rate) for net, rate in items], currency="EUR", mode=mode,
                       reverse_charge=False)  # fmt: skip
    totals = composed.totals

    for item in composed.breakdown:  # BR-CO-17 on the rounded base, and the lines add up to each base
        members = [x.net_minor for x in composed.lines if (x.category, x.rate) == (item.category, item.rate)]
        assert sum(members) == item.base_minor
        assert abs(item.tax_minor - item.base_minor * item.rate / 100) <= 1
    for shown in composed.lines:  # each shown line within one cent of its precise amount
        assert abs(D(shown.net_minor) / 100 - shown.net_precise) < 1
    assert totals.lines_minor == sum(x.net_minor for x in composed.lines)  # BR-CO-10
    assert totals.excl_vat_minor == totals.lines_minor  # BR-CO-13
    assert totals.vat_minor == sum(b.tax_minor for b in composed.breakdown)  # BR-CO-14
    assert totals.incl_vat_minor == totals.excl_vat_minor + totals.vat_minor  # BR-CO-15
    assert totals.payable_minor == totals.incl_vat_minor - totals.prepaid_minor  # BR-CO-16


def test_an_exempt_line_is_category_e_apart_from_zero_rated_and_outside_scope_lines():
    composed = compose(
        [line("4.00", "0", exempt=True), line("3.00", "0"), line("2.00", None)],
        currency="EUR", mode=HALF_UP, reverse_charge=False,
    )  # fmt: skip

    assert breakdown(composed) == [
        (VatCategory.EXEMPT, D(0), 400, 0), (OUT, D(0), 200, 0), (Z, D(0), 300, 0),
    ]  # fmt: skip


def test_a_full_credit_note_mirrors_discount_lines_and_credits_only_what_is_left():
    """20.00 and a -2.00 discount at 21 %: 18.00 + 3.78 = 21.78. After 5.00 of line 1 was credited,
    the rest is 15.00 - 2.00 = 13.00 + 2.73 = 15.73."""
    original = issue(invoice(line("20.00", "21"), line("-2.00", "21")), number="A-10", issued_at=ISSUED_AT,
                     zone=BERLIN)  # fmt: skip

    full = credit_note(original, new_id="cn-5", reason="r", created_at=ISSUED_AT)
    rest = credit_note(
        original,
        new_id="cn-6",
        reason="r",
        credited_before=Credited({1: 500}, {(S, D(21)): 105}, 605),
        created_at=ISSUED_AT,
    )

    assert [x.net_minor for x in full.composed.lines] == [2000, -200]
    assert full.composed.totals.incl_vat_minor == 2178
    assert rest.composed.totals.incl_vat_minor == 1573


def _plain_by_reflection(value):
    """The document encoder as it was before it cached field names: the reference it must equal."""
    import dataclasses
    import enum

    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain_by_reflection(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_plain_by_reflection(item) for item in value]
    return value


def test_a_document_is_stored_as_the_same_json_data_and_read_back_equal():
    from evbill.adapters.db.invoicing.codec import document_of, plain

    issued = issue(
        invoice(line("10.00", "21", supply_date=date(2026, 10, 3)), line("5.50", None)),
        number="AMS-1", issued_at=ISSUED_AT, zone=BERLIN,
    )  # fmt: skip
    stored = plain(issued)
    assert stored == _plain_by_reflection(issued)
    assert stored["status"] == "issued"  # enums as their values
    assert stored["kind"] == "invoice"
    assert stored["issue_date"] == "2026-11-01"  # dates as ISO text
    assert stored["composed"]["lines"][0]["net_precise"] == D("10.00")  # decimals exact
    assert isinstance(stored["composed"]["lines"], list)  # tuples as lists
    assert document_of(stored) == issued
