"""The sessions of a document in detail: where, when (local), how much, every priced period and why.

Each session gets a heading (local start and end, the location), a line of facts (EVSE, energy,
charging and idle time, its exact price excl. VAT), a table of its priced periods (local time,
component, quantity, unit price, amount, and the restrictions that made the price apply, so the
time-of-use window shows), its min/max price adjustments explained, what was not charged and why,
and, where the charger signed its meter values, the OCMF record verbatim. One paragraph at the end
says how to check signed data with transparency software (German calibration law).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING

from evbill.domain.invoicing.statement import PricedPeriod, SessionStatement

if TYPE_CHECKING:
    from evbill.adapters.documents.pdf import Formats, Pdf

GREY = (90, 90, 90)
WIDTHS = (27, 24, 25, 25, 22, 67)  # time, component, quantity, unit price, amount, why: 190 mm
PER = {"ENERGY": "kWh", "TIME": "h", "PARKING_TIME": "h"}


def duration(seconds: int, language: str) -> str:
    hours, rest = divmod(max(seconds, 0), 3600)
    minutes = rest // 60
    words = ("Std.", "Min.") if language == "de" else ("h", "min")
    if hours:
        return f"{hours} {words[0]} {minutes:02d} {words[1]}"
    return f"{minutes} {words[1]}"


def _quantity(period: PricedPeriod, formats: Formats) -> str:
    if period.dimension == "ENERGY":
        return f"{formats.number(period.volume / 1000, 3)} kWh"
    if period.dimension == "FLAT":
        return "1"
    return duration(int(period.volume), formats.language)


def _unit_price(period: PricedPeriod, formats: Formats) -> str:
    per = PER.get(period.dimension)
    price = formats.exact(period.price)
    return f"{price}/{per}" if per else price


def wrap(pdf: Pdf, text: str, width: float) -> list[str]:
    """``text`` in lines of at most ``width`` mm in the current font, broken between words.

    fpdf2's own line breaking measures the growing line again for every character; measuring each
    word once is what makes a 20-session invoice render in tens of milliseconds instead of a second."""
    widths = pdf.current_font.cw  # per character, in 1/1000 of the font size
    scale = pdf.font_size / 1000
    space = widths[32] * scale
    lines: list[str] = []
    current, used = "", 0.0
    for word in text.split(" "):
        size = sum(widths[ord(character)] for character in word) * scale
        if current and used + space + size > width:
            lines.append(current)
            current, used = word, size
        elif current:
            current, used = f"{current} {word}", used + space + size
        else:
            current, used = word, size
    lines.append(current)
    return lines


def text_width(pdf: Pdf, text: str) -> float:
    widths = pdf.current_font.cw
    return sum(widths[ord(character)] for character in text) * pdf.font_size / 1000


def put(pdf: Pdf, x: float, width: float, height: float, text: str, *, right: bool = False) -> None:
    """One line of text in a box at the current line, without fpdf2's cell machinery (it lays out
    and measures every cell again; a document writes hundreds). The baseline is where ``cell`` puts it."""
    if not text:
        return
    left = x + width - text_width(pdf, text) - pdf.c_margin if right else x + pdf.c_margin
    pdf.put_text(left, pdf.get_y() + 0.5 * height + 0.3 * pdf.font_size, text)


def paragraph(pdf: Pdf, text: str, height: float, width: float | None = None) -> None:
    """``text`` wrapped to ``width`` (default: the page between the margins), from the left margin."""
    full = width or pdf.w - pdf.l_margin - pdf.r_margin
    lines = wrap(pdf, text, full - 2 * pdf.c_margin)
    if pdf.will_page_break(height * len(lines)):
        pdf.add_page()
    for line in lines:
        put(pdf, pdf.l_margin, full, height, line)
        pdf.set_xy(pdf.l_margin, pdf.get_y() + height)


def _why(period: PricedPeriod) -> str:
    reasons = [reason for reason in period.why if reason != "no restrictions"]
    return "; ".join(reasons) if reasons else "–"


def _row(pdf: Pdf, cells: Sequence[str], *, bold: bool = False) -> None:
    pdf.style(7.5, bold, (0, 0, 0))
    why = wrap(pdf, cells[-1], WIDTHS[-1] - 1)
    height = 3.8 * len(why)
    if pdf.will_page_break(height):
        pdf.add_page()
    x, top = pdf.l_margin, pdf.get_y()
    for index, (width, value) in enumerate(zip(WIDTHS[:-1], cells[:-1], strict=True)):
        put(pdf, x, width, 3.8, value, right=index in (2, 3, 4))
        x += width
    for number, line in enumerate(why):
        pdf.set_y(top + 3.8 * number)
        put(pdf, x, WIDTHS[-1], 3.8, line)
    if bold:
        pdf.line(pdf.l_margin, top + height, pdf.w - pdf.r_margin, top + height)
    pdf.set_xy(pdf.l_margin, top + height)


def _facts(statement: SessionStatement, formats: Formats) -> str:
    text = formats.text
    return " · ".join(
        (
            f"{text('evse')} {statement.evse}",
            f"{text('energy')} {formats.number(statement.energy_wh / 1000, 3)} kWh",
            f"{text('charging_time')} {duration(statement.charging_s, formats.language)}",
            f"{text('idle_time')} {duration(statement.idle_s, formats.language)}",
            text("session_price").format(formats.exact(statement.excl_vat)),
        )
    )


def _session(pdf: Pdf, statement: SessionStatement, formats: Formats) -> None:
    text = formats.text
    if pdf.will_page_break(22):
        pdf.add_page()
    pdf.ln(2)
    start = statement.started
    end = statement.ended
    when = f"{formats.day(start.date())} {start:%H:%M}–{'' if end is None else format(end, '%H:%M')}"
    if end is not None and end.date() != start.date():
        when = f"{formats.day(start.date())} {start:%H:%M} – {formats.day(end.date())} {end:%H:%M}"
    pdf.style(9, True, pdf.accent)
    paragraph(pdf, f"{when} · {statement.location}", 4.8)
    pdf.style(8, color=GREY)
    paragraph(pdf, _facts(statement, formats), 4.2)
    if statement.price_reason:
        paragraph(pdf, f"{text('priced_by')}: {statement.price_reason}", 4.2)
    if statement.periods:
        heads = ("when", "component", "quantity", "unit_price", "net", "why")
        _row(pdf, [text(key) for key in heads], bold=True)
        for period in statement.periods:
            _row(
                pdf,
                [
                    f"{period.start:%H:%M}–{period.end:%H:%M}",
                    text(period.dimension)
                    if period.dimension in ("ENERGY", "TIME", "PARKING_TIME", "FLAT")
                    else period.dimension,
                    _quantity(period, formats),
                    _unit_price(period, formats),
                    formats.exact(period.excl_vat),
                    _why(period),
                ],
            )
    pdf.style(7.5, color=GREY)
    for kind, change in statement.adjustments:
        sign = "+" if change >= 0 else ""
        paragraph(pdf, f"{text(kind)} {sign}{formats.exact(change)}: {text(kind + '_why')}", 3.8)
    for free in statement.free:
        paragraph(pdf, f"{text('free')}: {free}", 3.8)
    for reading in statement.signed:
        _signed(pdf, reading.raw, reading.meter, reading.begin, reading.end, formats)


def _signed(
    pdf: Pdf, raw: str, meter: str | None, begin: str | None, end: str | None, formats: Formats
) -> None:
    text = formats.text
    pdf.style(7.5, True, (0, 0, 0))
    facts = [text("signed")]
    if meter:
        facts.append(f"{text('meter')} {meter}")
    if begin:
        facts.append(f"{text('begin')} {begin}")
    if end:
        facts.append(f"{text('end')} {end}")
    paragraph(pdf, " · ".join(facts), 3.8)
    # verbatim, in a fixed-width font cut at a fixed number of characters: a reader copies it exactly
    pdf.set_font(pdf.mono, "", 5.5)
    pdf.set_text_color(*GREY)
    width = pdf.w - pdf.l_margin - pdf.r_margin
    per_line = max(int(width / pdf.get_string_width("0")) - 1, 20)
    for start in range(0, len(raw), per_line):
        if pdf.will_page_break(2.6):
            pdf.add_page()
            pdf.set_font(pdf.mono, "", 5.5)
            pdf.set_text_color(*GREY)
        put(pdf, pdf.l_margin, width, 2.6, raw[start : start + per_line])
        pdf.set_xy(pdf.l_margin, pdf.get_y() + 2.6)


def write_sessions(pdf: Pdf, statements: Sequence[SessionStatement], formats: Formats) -> None:
    if not statements:
        return
    text = formats.text
    pdf.ln(4)
    pdf.style(10, True, pdf.accent)
    pdf.cell(0, 7, text("sessions"), new_x="LMARGIN", new_y="NEXT")
    pdf.style(7.5, color=GREY)
    zones = sorted({statement.time_zone for statement in statements})
    paragraph(pdf, f"{text('local_time').format(', '.join(zones))} {text('fees')}", 3.8)
    for statement in statements:
        _session(pdf, statement, formats)
    if any(statement.signed for statement in statements):
        if pdf.will_page_break(25):
            pdf.add_page()
        pdf.ln(3)
        pdf.style(9, True, pdf.accent)
        pdf.cell(0, 6, text("eichrecht_title"), new_x="LMARGIN", new_y="NEXT")
        pdf.style(8)
        paragraph(pdf, text("eichrecht"), 4.2)


__all__ = ["Decimal", "duration", "write_sessions"]
