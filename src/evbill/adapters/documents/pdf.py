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

import copy
import functools
import io
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.numbers import (
    NumberPattern,
    format_currency,
    format_decimal,
    get_currency_precision,
    get_currency_symbol,
)
from fpdf import FPDF
from fpdf.enums import OutputIntentSubType, TextMode
from fpdf.fonts import TTFFont
from fpdf.output import PDFICCProfile
from fpdf.util import builtin_srgb2014_bytes, escape_parens

from evbill.adapters.documents.amounts import money, shown_totals
from evbill.adapters.documents.cii import write_cii
from evbill.adapters.documents.facturx_pdf import write_facturx
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


@functools.cache
def _srgb_profile() -> bytes:
    return builtin_srgb2014_bytes()


class Pdf(FPDF):
    """An A4 PDF/A-3B page set in DejaVu, with the operator's accent colour and an optional DRAFT mark."""

    def __init__(self, accent: tuple[int, int, int] = ACCENT, watermark: str | None = None) -> None:
        super().__init__(enforce_compliance="PDF/A-3B")
        # the output intent fpdf2 adds to a PDF/A, with its sRGB profile read once per process (fpdf2
        # reads the file for every document)
        self.add_output_intent(
            OutputIntentSubType.PDFA, output_condition_identifier="sRGB",
            output_condition="IEC 61966-2-1:1999", registry_name="http://www.color.org", info="sRGB2014 (v2)",
            dest_output_profile=PDFICCProfile(contents=_srgb_profile(), n=3, alternate="DeviceRGB"),
        )  # fmt: skip
        self.family = "Helvetica"
        self.accent = accent
        self.watermark = watermark
        self.caption = ""  # the footer's title (the metadata's title may say it otherwise)
        self.mono = "Courier"
        self._codes: dict[str, dict[str, str]] = {}  # per font: character -> its code in the PDF string
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

    def put_text(self, x: float, y: float, text: str) -> None:
        """``FPDF.text`` for the plain case (a TrueType font, filled, not underlined), writing the same
        content stream without its machinery: each character is encoded once per font and document
        (its glyph picked into the font's subset as ``text`` picks it, escaped as ``text`` escapes it).
        A document writes hundreds of strings; anything else goes through ``text``."""
        font = self.current_font
        if (
            not isinstance(font, TTFFont) or font.color_font or font.is_symbol
            or self.text_mode != TextMode.FILL or self.underline or self.strikethrough
            or self._record_text_quad_points or not self.page
        ):  # fmt: skip
            self.text(x, y, text)
            return
        if not self.current_font_is_set_on_page:
            self._out(self._set_font_for_page(font, self.font_size_pt))
        codes = self._codes.setdefault(font.fontkey, {})
        try:
            encoded = "".join([codes[character] for character in text])
        except KeyError:
            for character in text:
                if character not in codes:
                    code = font.subset.pick(ord(character))
                    codes[character] = (
                        "" if code is None else escape_parens(chr(code).encode("utf-16-be").decode("latin-1"))
                    )
            encoded = "".join([codes[character] for character in text])
        line = f"BT {x * self.k:.2f} {(self.h - y) * self.k:.2f} Td ({encoded}) Tj ET"
        if self.fill_color != self.text_color:
            assert self.text_color is not None  # noqa: S101  (fpdf2 always has one)
            line = f"q {self.text_color.serialize().lower()} {line} Q"
        self._out(line)

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
        self.cell(0, 5, f"{self.caption} · {self.page_no()}/{{nb}}", align="R")


@functools.cache
def babel_locale(name: str) -> Locale:
    """The locale parsed once (Babel parses a name again on every call); English for one it lacks."""
    try:
        return Locale.parse(name)
    except (ValueError, UnknownLocaleError):
        return Locale.parse("en_GB")


@functools.cache
def _currency_pattern(locale: Locale, currency: str) -> tuple[NumberPattern, str] | None:
    """The locale's currency pattern with the currency's places, and its symbol; None for a pattern
    that names the currency otherwise than by its symbol."""
    standard = locale.currency_formats["standard"]
    if "¤¤" in standard.pattern:
        return None
    pattern = copy.copy(standard)
    pattern.frac_prec = (get_currency_precision(currency),) * 2
    return pattern, get_currency_symbol(currency, locale)


def money_text(value: Decimal, currency: str, locale: Locale, *, quantize: bool = True) -> str:
    """``babel.numbers.format_currency(value, currency, locale=locale, decimal_quantization=quantize)``,
    without the currency's plural name that Babel looks up for every amount (its patterns say ¤¤¤
    for it, and the standard patterns do not): a document writes hundreds of amounts.

    >>> money_text(Decimal("-1234.5"), "EUR", babel_locale("de_DE")), money_text(Decimal("12.079"), "EUR",
    ...     babel_locale("en_GB"), quantize=False)
    ('-1.234,50\xa0€', '€12.079')
    """
    known = _currency_pattern(locale, currency)
    if known is None:
        return format_currency(value, currency, locale=locale, decimal_quantization=quantize)
    pattern, symbol = known
    return pattern.apply(value, locale, decimal_quantization=quantize).replace("¤", symbol)


class Formats:
    """Money, dates and numbers in the document's language."""

    def __init__(self, document: Document) -> None:
        self.language = document.language if document.language in LABELS else "en"
        self.locale = babel_locale(LOCALES.get(document.language, document.language))
        self.currency = document.currency

    def text(self, key: str) -> str:
        return label(key, self.language)

    def amount(self, minor: int) -> str:
        return money_text(money(minor, self.currency), self.currency, self.locale)

    def exact(self, value: Decimal) -> str:
        """A precise amount with at least the currency's places and at most 6: €12.079, 12,079 €."""
        shown = value.quantize(Decimal("0.000001")).normalize()
        return money_text(shown, self.currency, self.locale, quantize=False)

    def day(self, value: date | None) -> str:
        return "" if value is None else format_date(value, format="medium", locale=self.locale)

    def number(self, value: Decimal, places: int) -> str:
        return format_decimal(value, format="#,##0." + "0" * places, locale=self.locale)


def render_pdf(document: Document, view: DocumentView | None = None) -> bytes:
    """The document as a PDF/A-3B; ``view`` adds its sessions in detail, the brand and a draft mark."""
    return bytes(lay_out(document, view).output())


def lay_out(document: Document, view: DocumentView | None = None) -> Pdf:
    """The document's pages, not yet written out."""
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
    pdf.caption = title
    pdf.set_author(document.seller.name)
    pdf.add_page()
    _heading(pdf, document, branding, formats)
    pdf.style(14, True)
    pdf.cell(0, 8, title, new_x="LMARGIN", new_y="NEXT")
    if view.draft:
        pdf.style(9, True, (170, 40, 40))
        pdf.cell(0, 5, text("draft_note"), new_x="LMARGIN", new_y="NEXT")
    _facts(pdf, document, formats)
    _totals(pdf, document, formats, paid_by_card=view.paid_by_card)
    _notes(pdf, document, formats)
    _lines(pdf, document, formats)
    write_sessions(pdf, view.sessions, formats)
    return pdf


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


def _totals(pdf: Pdf, document: Document, formats: Formats, *, paid_by_card: bool = False) -> None:
    """The amount due up front (or paid: a receipt, an invoice charged to the card on file), then the
    totals; the account to pay to only while something is left to pay."""
    text, amount = formats.text, formats.amount
    totals = shown_totals(document)
    paid = totals.prepaid_minor - document.composed.totals.prepaid_minor  # paid since the invoice's issue
    tax_word = text("sales_tax") if document.composed.tax_mode is TaxMode.SALES_TAX else text("vat")
    pdf.ln(4)
    red, green, blue = pdf.accent
    pdf.set_fill_color(*(255 - (255 - c) // 9 for c in (red, green, blue)))  # a pale tint of the accent
    pdf.style(12, True, pdf.accent)
    due = f" {text('by')} {formats.day(document.due_date)}" if document.due_date else ""
    if paid:
        pdf.cell(120, 10, text("paid_card") if paid_by_card else text("paid"), fill=True)
        pdf.cell(0, 10, amount(paid), fill=True, align="R", new_x="LMARGIN", new_y="NEXT")
        pdf.style(10, True)
        pdf.cell(120, 7, f"{text('pay')}{due if totals.payable_minor else ''}")
        pdf.cell(0, 7, amount(totals.payable_minor), align="R", new_x="LMARGIN", new_y="NEXT")
    else:
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
    if document.seller.iban and document.kind is DocumentKind.INVOICE and totals.payable_minor > 0:
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


def render_facturx(document: Document, view: DocumentView | None = None) -> bytes:
    """The PDF with its CII XML embedded as factur-x.xml (PDF/A-3, EN 16931 profile).

    ``write_cii`` checks the XML against the Factur-X XSD (once); fpdf2 embeds it while it writes the
    PDF (``facturx_pdf``): the factur-x package would copy the finished PDF once more with pypdf."""
    xml = write_cii(document, paid_by_card=view is not None and view.paid_by_card)
    return write_facturx(lay_out(document, view), document, xml)


Renderer = Callable[[Document, DocumentView | None], bytes]
__all__ = ["Decimal", "Pdf", "render_facturx", "render_pdf"]
