"""The PDF a customer reads (fpdf2, PDF/A-3B), and Factur-X: the same PDF with its CII XML inside.

Totals come first (what to pay, by when, to which account), then the tax per category, the notes
(reverse charge, coupons, rounding), then every line: sessions and their priced parts, fees,
allowances and discounts. Dates, numbers and money are written in the customer's language with
Babel (English and German; other languages fall back to English labels with their own formats).
DejaVu Sans (Debian's fonts-dejavu-core) covers every script the labels and names use.

    >>> label("total_incl", "de"), label("total_incl", "fr")
    ('Gesamtbetrag inkl. USt.', 'Total incl. VAT')
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import facturx
from babel.dates import format_date
from babel.numbers import format_currency, format_decimal
from fpdf import FPDF

from evbill.adapters.documents.amounts import money
from evbill.adapters.documents.cii import write_cii
from evbill.domain.invoicing.documents import Document, DocumentKind
from evbill.domain.invoicing.tax import REVERSE_CHARGE_NOTE, TaxMode, VatCategory

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
ACCENT = (0, 92, 130)
LABELS: dict[str, dict[str, str]] = {
    "en": {
        "invoice": "Invoice", "receipt": "Receipt", "credit_note": "Credit note", "number": "Number",
        "issued": "Issued", "due": "Due", "period": "Period", "to": "Bill to",
        "total_excl": "Total excl. VAT",
        "vat": "VAT", "sales_tax": "Sales tax", "total_incl": "Total incl. VAT", "pay": "Amount due",
        "by": "by", "account": "Pay to", "lines": "Charging sessions, fees and discounts",
        "description": "Description", "rate": "Rate", "amount": "Amount (excl. VAT)", "notes": "Notes",
        "rounding": (
            "Amounts are rounded once for this document; the exact sum of the sessions differs by {0}."
        ),
        "credits": "Corrects invoice {0}: {1}", "category": "Category {0}", "vat_id": "VAT id",
    },
    "de": {
        "invoice": "Rechnung", "receipt": "Quittung", "credit_note": "Gutschrift", "number": "Nummer",
        "issued": "Datum", "due": "Fällig", "period": "Zeitraum", "to": "Rechnungsempfänger",
        "total_excl": "Summe netto", "vat": "USt.", "sales_tax": "Umsatzsteuer",
        "total_incl": "Gesamtbetrag inkl. USt.", "pay": "Zu zahlen", "by": "bis", "account": "Bankverbindung",
        "lines": "Ladevorgänge, Gebühren und Rabatte", "description": "Beschreibung", "rate": "Satz",
        "amount": "Betrag (netto)", "notes": "Hinweise",
        "rounding": (
            "Beträge werden für dieses Dokument einmal gerundet; die exakte Summe weicht um {0} ab."
        ),
        "credits": "Korrigiert Rechnung {0}: {1}", "category": "Kategorie {0}", "vat_id": "USt-IdNr.",
    },
}  # fmt: skip


def language_of(locale: str) -> str:
    return locale.split("_")[0]


def label(key: str, language: str) -> str:
    return LABELS.get(language, LABELS["en"])[key]


class _Pdf(FPDF):
    def __init__(self) -> None:
        super().__init__(enforce_compliance="PDF/A-3B")
        self.family = "Helvetica"
        if (FONT_DIR / "DejaVuSans.ttf").exists():
            self.add_font("DejaVu", "", str(FONT_DIR / "DejaVuSans.ttf"))
            self.add_font("DejaVu", "B", str(FONT_DIR / "DejaVuSans-Bold.ttf"))
            self.family = "DejaVu"
        self.set_auto_page_break(auto=True, margin=15)

    def style(self, size: float, bold: bool = False, color: tuple[int, int, int] = (0, 0, 0)) -> None:
        self.set_font(self.family, "B" if bold else "", size)
        self.set_text_color(*color)


def render_pdf(document: Document) -> bytes:
    language = document.language if document.language in LABELS else "en"
    locale = {"en": "en_GB", "de": "de_DE"}.get(document.language, document.language)

    def amount(minor: int) -> str:
        return format_currency(money(minor, document.currency), document.currency, locale=locale)

    def day(value: object) -> str:
        return "" if value is None else format_date(value, format="medium", locale=locale)  # type: ignore[arg-type]

    def text(key: str) -> str:
        return label(key, language)

    pdf = _Pdf()
    pdf.set_title(f"{text(document.kind.value)} {document.number or ''}")
    pdf.set_author(document.seller.name)
    pdf.add_page()
    seller = document.seller
    pdf.style(16, True, ACCENT)
    pdf.cell(0, 8, seller.name, new_x="LMARGIN", new_y="NEXT")
    pdf.style(9, color=(80, 80, 80))
    address = ", ".join(
        part for part in (seller.address, seller.postal_code, seller.city, seller.country) if part
    )
    pdf.cell(0, 5, address, new_x="LMARGIN", new_y="NEXT")
    if seller.vat_id:
        pdf.cell(0, 5, f"{text('vat_id')} {seller.vat_id}", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.style(14, True)
    pdf.cell(0, 8, f"{text(document.kind.value)} {document.number or ''}", new_x="LMARGIN", new_y="NEXT")
    pdf.style(10)
    facts = [(text("issued"), day(document.issue_date))]
    if document.due_date:
        facts.append((text("due"), day(document.due_date)))
    if document.period_start and document.period_end:
        last_day = document.period_end - timedelta(days=1)  # the period's end is exclusive
        facts.append((text("period"), f"{day(document.period_start)} – {day(last_day)}"))
    buyer = document.buyer
    facts.append(
        (text("to"), ", ".join(p for p in (buyer.name, buyer.address, buyer.city, buyer.country) if p))
    )
    for name, value in facts:
        pdf.cell(48, 6, name)
        pdf.cell(0, 6, value, new_x="LMARGIN", new_y="NEXT")
    _totals(pdf, document, amount, text, day)
    _notes(pdf, document, text, locale)
    _lines(pdf, document, amount, text, locale)
    return bytes(pdf.output())


def _totals(pdf: _Pdf, document: Document, amount, text, day) -> None:  # type: ignore[no-untyped-def]
    totals = document.composed.totals
    tax_word = text("sales_tax") if document.composed.tax_mode is TaxMode.SALES_TAX else text("vat")
    pdf.ln(4)
    pdf.set_fill_color(235, 243, 247)
    pdf.style(12, True, ACCENT)
    due = f" {text('by')} {day(document.due_date)}" if document.due_date else ""
    pdf.cell(120, 10, f"{text('pay')}{due}", fill=True)
    pdf.cell(0, 10, amount(totals.payable_minor), fill=True, align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.style(10)
    pdf.cell(120, 6, text("total_excl"))
    pdf.cell(0, 6, amount(totals.excl_vat_minor), align="R", new_x="LMARGIN", new_y="NEXT")
    for part in document.composed.breakdown:
        rate = (
            f"{format_decimal(part.rate, locale='en')} %"
            if part.category in (VatCategory.STANDARD, VatCategory.ZERO)
            else text("category").format(part.category.value)
        )
        pdf.cell(120, 6, f"{tax_word} {rate} · {amount(part.base_minor)}")
        pdf.cell(0, 6, amount(part.tax_minor), align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.style(10, True)
    pdf.cell(120, 7, text("total_incl"))
    pdf.cell(0, 7, amount(totals.incl_vat_minor), align="R", new_x="LMARGIN", new_y="NEXT")
    if document.seller.iban and document.kind is not DocumentKind.CREDIT_NOTE:
        pdf.style(9)
        bic = f" · BIC {document.seller.bic}" if document.seller.bic else ""
        pdf.cell(0, 6, f"{text('account')}: {document.seller.iban}{bic}", new_x="LMARGIN", new_y="NEXT")


def _notes(pdf: _Pdf, document: Document, text, locale: str) -> None:  # type: ignore[no-untyped-def]
    notes = list(document.notes)
    reverse = any(part.category is VatCategory.REVERSE_CHARGE for part in document.composed.breakdown)
    if reverse and REVERSE_CHARGE_NOTE not in notes:
        notes.append(REVERSE_CHARGE_NOTE)
    if reverse and language_of(locale) == "de":
        notes.append("Steuerschuldnerschaft des Leistungsempfängers (§ 13b UStG, Art. 196 MwStSystRL)")
    if document.kind is DocumentKind.CREDIT_NOTE and document.original_number:
        notes.insert(0, text("credits").format(document.original_number, document.reason or ""))
    difference = document.composed.rounding_difference
    if difference:
        shown = format_decimal(difference.normalize(), locale=locale, decimal_quantization=False)
        notes.append(text("rounding").format(f"{shown} {document.currency}"))
    if not notes:
        return
    pdf.ln(3)
    pdf.style(10, True)
    pdf.cell(0, 6, text("notes"), new_x="LMARGIN", new_y="NEXT")
    pdf.style(8.5)
    for note in notes:
        pdf.multi_cell(0, 4.5, f"• {note}", new_x="LMARGIN", new_y="NEXT")


def _lines(pdf: _Pdf, document: Document, amount, text, locale: str) -> None:  # type: ignore[no-untyped-def]
    pdf.ln(3)
    pdf.style(10, True, ACCENT)
    pdf.cell(0, 7, text("lines"), new_x="LMARGIN", new_y="NEXT")
    pdf.style(8.5, True)
    pdf.cell(130, 6, text("description"), border="B")
    pdf.cell(20, 6, text("rate"), border="B", align="R")
    pdf.cell(0, 6, text("amount"), border="B", align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.style(8.5)
    for line in document.composed.lines:
        rate = (
            f"{format_decimal(line.rate, locale=locale)} %"
            if line.category.value in ("S", "Z")
            else line.category.value
        )
        y = pdf.get_y()
        pdf.multi_cell(130, 4.5, line.description, new_x="RIGHT", new_y="TOP")
        height = max(pdf.get_y() - y, 4.5)
        pdf.cell(20, 4.5, rate, align="R")
        pdf.cell(0, 4.5, amount(line.net_minor), align="R", new_x="LMARGIN", new_y="NEXT")
        pdf.set_y(max(pdf.get_y(), y + height))


def render_facturx(document: Document) -> bytes:
    """The PDF with its CII XML embedded as factur-x.xml (PDF/A-3, EN 16931 profile)."""
    xml = write_cii(document)
    return bytes(
        facturx.generate_from_binary(
            render_pdf(document), xml, flavor="factur-x", level="en16931", check_xsd=True
        )
    )


__all__ = ["Decimal", "render_facturx", "render_pdf"]
