"""The PDF a customer reads, in English and German, and Factur-X: the PDF with its CII XML inside."""

from __future__ import annotations

import io
from dataclasses import replace
from decimal import Decimal

import facturx
import pytest
from babel.numbers import format_currency
from pypdf import PdfReader

from evbill.adapters.documents.cii import write_cii
from evbill.adapters.documents.pdf import babel_locale, money_text, render_facturx, render_pdf
from tests.einvoices import cii_problems
from tests.unit.test_einvoices import CREDIT_PARTIAL, MIXED, REVERSE


def text_of(pdf: bytes) -> str:
    return " ".join(" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(pdf)).pages)


def test_the_english_pdf_puts_what_to_pay_first_then_tax_then_every_line():
    text = text_of(render_pdf(MIXED))

    assert "Invoice AMS-2026-000001" in text
    assert "Amount due by 15 Nov 2026 €24.91" in text
    assert text.index("Total incl. VAT €24.91") < text.index("Charging 2026-10-03")
    assert "VAT 21 % · €18.49 €3.88" in text
    assert "Coupon WELCOME 21 % -€1.50" in text
    assert "Pay to: NL91ABNA0417164300" in text
    # precise: 18.494 x 1.21 + 2.333 x 1.09 = 22.37774 + 2.54297 = 24.92071; the document says 24.91
    assert "differs by -0.01071 EUR" in text


def test_the_german_pdf_speaks_german_with_german_dates_and_amounts_and_says_reverse_charge():
    text = text_of(render_pdf(replace(REVERSE, language="de")))

    assert "Rechnung AMS-2026-000001" in text
    assert "Zu zahlen bis 15.11.2026 102,50 €" in text
    assert "Zeitraum 01.10.2026 – 31.10.2026" in text  # the period's last day, not the next cycle's first
    assert "Reverse charge: VAT to be accounted for by the recipient" in text
    assert "Steuerschuldnerschaft des Leistungsempfängers" in text


def test_a_credit_note_pdf_names_the_invoice_it_corrects_and_why():
    text = text_of(render_pdf(CREDIT_PARTIAL))

    assert "Credit note CN-0002" in text
    assert "Corrects invoice AMS-2026-000001: fee waived" in text


def test_the_facturx_pdf_carries_the_cii_xml_that_passes_the_en16931_schematron():
    name, xml = facturx.get_facturx_xml_from_pdf(render_facturx(MIXED))

    assert name == "factur-x.xml"
    assert xml == write_cii(MIXED)
    assert cii_problems(xml) == []


@pytest.mark.parametrize("locale", ["en_GB", "de_DE", "fr_FR", "de_CH", "ja_JP", "ar_EG", "hi_IN", "nl_NL"])
@pytest.mark.parametrize("currency", ["EUR", "USD", "GBP", "CHF", "JPY", "BHD", "SEK"])
def test_amounts_read_exactly_as_babel_writes_them(locale, currency):
    values = [Decimal(text) for text in ("0", "-0.01", "12.079", "-1234.5", "1234567.891234", "0.000001",
                                         "100", "-99999.999999", "7.5E+3")]  # fmt: skip
    parsed = babel_locale(locale)

    for value in values:
        for quantize in (True, False):
            expected = format_currency(value, currency, locale=parsed, decimal_quantization=quantize)
            assert money_text(value, currency, parsed, quantize=quantize) == expected


def test_an_invoice_charged_to_the_card_on_file_says_paid_by_card_and_asks_for_nothing():
    from evbill.domain.invoicing.statement import DocumentView

    paid = replace(MIXED, paid_minor=2491)  # the whole 24.91 charged at issue
    text = text_of(render_pdf(paid, DocumentView(paid, paid_by_card=True)))
    embedded = facturx.get_xml_from_pdf(
        render_facturx(paid, DocumentView(paid, paid_by_card=True)), check_xsd=False
    )[1]

    assert "Paid by card €24.91" in text
    assert "Amount due €0.00" in text
    assert "Amount due by" not in text
    assert "Pay to" not in text  # no IBAN inviting a second payment
    assert "Total incl. VAT €24.91" in text
    assert cii_problems(embedded) == []
    assert b"<ram:DuePayableAmount>0.00</ram:DuePayableAmount>" in embedded


def test_an_invoice_paid_in_part_shows_the_payment_and_what_is_still_due():
    text = text_of(render_pdf(replace(MIXED, paid_minor=1000)))

    assert "Paid €10.00" in text
    assert "Amount due by 15 Nov 2026 €14.91" in text
    assert "Pay to: NL91ABNA0417164300" in text
