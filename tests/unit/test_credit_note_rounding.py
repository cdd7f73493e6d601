"""Credit notes are capped by what the invoice SHOWS, after each note's own rounding (finding 2).

The invoice: 10.00 and 2.74685 at 21 %: base 12.74685 -> 12.75, shown 10.00 + 2.75 (largest
remainder), VAT 12.75 x 21 % = 2.6775 -> 2.68, 15.43 in all.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal as D

import pytest

from evbill.domain.errors import Conflict, InvalidInput
from evbill.domain.invoicing.documents import (
    DocumentStatus,
    credit_note,
    credited,
    credited_by,
    issue,
    pay,
    printed_notes,
    settled,
    void,
)
from tests.unit.test_invoice_documents import BERLIN, ISSUED_AT, invoice, line

AT = datetime(2026, 11, 2, tzinfo=UTC)


def _issued(note, n):
    return issue(note, number=f"CN-{n}", issued_at=AT, zone=BERLIN)


def _original():
    return issue(invoice(line("10.00", "21"), line("2.74685", "21")), number="A-1", issued_at=ISSUED_AT,
                 zone=BERLIN)  # fmt: skip


def test_560_half_cent_credits_never_credit_more_than_the_line_shows():
    original = _original()
    notes, refused = [], []
    assert [x.net_minor for x in original.composed.lines] == [1000, 275]
    assert original.composed.totals.incl_vat_minor == 1543

    for n in range(560):
        try:
            note = credit_note(original, new_id=f"cn-{n}", reason="half a cent", amounts={2: D("0.005")},
                               credited_before=credited_by(notes), created_at=AT)  # fmt: skip
        except InvalidInput as error:
            refused.append(error.problems[0].message)
            continue
        notes.append(_issued(note, n))

    taken = credited_by(notes)
    assert (len(notes), len(refused)) == (275, 285)  # 0.005 -> 0.01 each: 2.75 in all, not 5.49
    assert refused[0].startswith("line 2: 0.005 rounds to 0.01, more than the 0.00 left to credit")
    assert taken.lines == {2: 275}
    assert taken.incl_vat_minor == 275  # VAT on 0.01 at 21 % is 0.0021 -> 0.00 on each note
    # the full credit of the rest: line 1 and the VAT left (2.68), so the notes cancel the invoice
    rest = credit_note(original, new_id="cn-rest", reason="rest", credited_before=taken, created_at=AT)
    assert [x.net_minor for x in rest.composed.lines] == [1000]
    assert rest.composed.totals.vat_minor == 268
    assert taken.incl_vat_minor + rest.composed.totals.incl_vat_minor == 1543
    with pytest.raises(InvalidInput, match="nothing to credit"):
        credit_note(original, new_id="cn-x", reason="again",
                    credited_before=credited_by([*notes, _issued(rest, 999)]), created_at=AT)  # fmt: skip


def test_a_vat_rounding_that_would_credit_more_vat_than_the_invoice_is_refused():
    """0.03 at 21 % is 0.0063 -> 0.01 VAT on each note: after 2.68 of VAT (268 notes, 8.04 of the
    10.00 line) the next one would take more VAT than the invoice's 2.68."""
    original = _original()
    notes = []
    for n in range(268):
        notes.append(_issued(credit_note(original, new_id=f"cn-{n}", reason="r", amounts={1: D("0.03")},
                                         credited_before=credited_by(notes), created_at=AT), n))  # fmt: skip

    with pytest.raises(InvalidInput, match="VAT at 21 % would come to 2.69 over all credit notes"):
        credit_note(original, new_id="cn-x", reason="r", amounts={1: D("0.03")},
                    credited_before=credited_by(notes), created_at=AT)  # fmt: skip
    assert credited_by(notes).incl_vat_minor == 268 * 4


def test_the_status_follows_what_is_paid_and_credited():
    original = _original()  # 15.43, due 2026-11-15
    note = _issued(
        credit_note(original, new_id="cn-1", reason="fee", amounts={1: D("10.00")}, created_at=AT), 1
    )
    part = credited(original, note)  # 10.00 + 2.10 = 12.10 credited, 3.33 open
    full = credited(original, _issued(credit_note(original, new_id="cn-2", reason="all", created_at=AT), 2))

    assert (part.status, part.credited_minor, part.open_minor) == (DocumentStatus.ISSUED, 1210, 333)
    assert pay(part, 333).status is DocumentStatus.PAID  # the rest paid: nothing is owed
    assert (full.status, full.open_minor) == (DocumentStatus.CREDITED, 0)
    assert settled(pay(part, 100), date(2026, 11, 16)) is DocumentStatus.OVERDUE  # paid 1.00, 2.33 late
    assert settled(pay(part, 100), date(2026, 11, 15)) is DocumentStatus.PARTIALLY_PAID
    with pytest.raises(Conflict):
        pay(full, 1)  # nothing left to pay
    with pytest.raises(Conflict):
        void(note, "undo")  # a credit note is not voided
    with pytest.raises(Conflict):
        void(part, "wrong")  # credit notes took from it: credit the rest instead
    with pytest.raises(Conflict):
        credit_note(void(original, "wrong"), new_id="cn-3", reason="after void", created_at=AT)


def test_the_printed_notes_say_what_a_credit_note_corrects_and_the_rounding_difference():
    original = _original()  # precise 12.74685 x 1.21 = 15.4236885; shown 15.43
    note = _issued(
        credit_note(original, new_id="cn-1", reason="fee", amounts={1: D("10.00")}, created_at=AT), 1
    )

    assert printed_notes(original) == [
        "Amounts are rounded once for this document; the exact sum of its lines differs by 0.0063115 EUR."
    ]
    assert note.notes == ("Credit note for invoice A-1: fee",)  # the e-invoices' note
    assert printed_notes(note) == ["Corrects invoice A-1: fee"]  # said once, in the PDF's language


def test_a_credit_of_the_wrong_sign_names_the_range_the_line_allows():
    """Found by an outside tester: a discount line of -2.50 was said to take amounts "below 0 and at
    most -2.50", which reads as -2.50 or less; it takes -2.50 up to 0."""
    original = issue(invoice(line("10.00", "21"), line("-2.50", "21", "discount")), number="A-2",
                     issued_at=ISSUED_AT, zone=BERLIN)  # fmt: skip
    for number, amount, message in (
        (2, "1.00", "line 2: must be below 0 and at least -2.50"),
        (1, "-1.00", "line 1: must be above 0 and at most 10.00"),
    ):
        with pytest.raises(InvalidInput) as refused:
            credit_note(original, new_id="cn", reason="r", amounts={number: D(amount)}, created_at=AT)
        assert refused.value.problems[0].message.startswith(message), refused.value.problems[0].message
