"""What both e-invoice syntaxes share: amounts as decimals, line quantities, exemption reasons.

EN 16931 forbids a negative item price (BR-27); a credit or discount line is written as quantity -1
at a positive price, so the line amount is negative and the totals add up as they do on the document.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from evbill.domain import currency as currencies
from evbill.domain.invoicing.compose import DocumentLine, Totals
from evbill.domain.invoicing.documents import Document, DocumentKind
from evbill.domain.invoicing.tax import EXEMPTION_REASONS, VatCategory

EXEMPTION_CODES = {
    VatCategory.REVERSE_CHARGE: "VATEX-EU-AE",
    VatCategory.OUTSIDE_SCOPE: "VATEX-EU-O",
}


def money(minor: int, currency: str) -> Decimal:
    places = currencies.exponent(currency)
    return Decimal(minor).scaleb(-places).quantize(Decimal(1).scaleb(-places))


def quantity_and_price(line: DocumentLine, currency: str) -> tuple[Decimal, Decimal]:
    amount = money(line.net_minor, currency)
    return (Decimal("-1") if amount < 0 else Decimal("1")), abs(amount)


def percent(rate: Decimal) -> Decimal:
    return rate.quantize(Decimal("0.01"))


def exemption_reason(category: VatCategory) -> str | None:
    return EXEMPTION_REASONS.get(category)


def check_writable(document: Document) -> None:
    """EN 16931 allows no other category beside O (BR-O-11..14); and a document needs its number."""
    categories = {b.category for b in document.composed.breakdown}
    if VatCategory.OUTSIDE_SCOPE in categories and len(categories) > 1:
        raise ValueError(
            "an EN 16931 invoice cannot mix lines outside the scope of VAT (O) with taxed ones (BR-O-11)"
        )
    if document.number is None or document.issue_date is None:
        raise ValueError("only an issued document (with its number) is written as an e-invoice")


def shown_totals(document: Document) -> Totals:
    """The totals as the document is written now: what was paid on an invoice since it was issued (a
    card on file charged at issue, a transfer received) is shown as paid (BT-113) and only the rest as
    due (BT-115), so EN 16931's BR-CO-16 holds (due = total incl. VAT - paid) and nobody is asked to
    pay twice."""
    totals = document.composed.totals
    if document.kind is not DocumentKind.INVOICE or document.paid_minor <= 0:
        return totals
    prepaid = totals.prepaid_minor + min(document.paid_minor, totals.payable_minor)
    return replace(totals, prepaid_minor=prepaid, payable_minor=totals.incl_vat_minor - prepaid)
