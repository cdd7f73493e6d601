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


def _why(period: PricedPeriod) -> str:
    reasons = [reason for reason in period.why if reason != "no restrictions"]
    return "; ".join(reasons) if reasons else "–"


def _row(pdf: Pdf, cells: Sequence[str], *, bold: bool = False) -> None:
    pdf.style(7.5, bold, (0, 0, 0))
    lines = max(len(pdf.multi_cell(WIDTHS[-1], 3.8, cells[-1], dry_run=True, output="LINES")), 1)
    height = 3.8 * lines
    if pdf.will_page_break(height):
        pdf.add_page()
    for index, (width, value) in enumerate(zip(WIDTHS, cells, strict=True)):
        align = "R" if index in (2, 3, 4) else "L"
        if index == len(WIDTHS) - 1:
            pdf.multi_cell(width, 3.8, value, new_x="LMARGIN", new_y="NEXT", align="L")
        else:
            pdf.cell(width, height, value, align=align, border="B" if bold else 0)


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
    pdf.multi_cell(0, 4.8, f"{when} · {statement.location}", new_x="LMARGIN", new_y="NEXT")
    pdf.style(8, color=GREY)
    pdf.multi_cell(0, 4.2, _facts(statement, formats), new_x="LMARGIN", new_y="NEXT")
    if statement.price_reason:
        pdf.multi_cell(
            0, 4.2, f"{text('priced_by')}: {statement.price_reason}", new_x="LMARGIN", new_y="NEXT"
        )
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
        pdf.multi_cell(
            0, 3.8, f"{text(kind)} {sign}{formats.exact(change)}: {text(kind + '_why')}",
            new_x="LMARGIN", new_y="NEXT",
        )  # fmt: skip
    for free in statement.free:
        pdf.multi_cell(0, 3.8, f"{text('free')}: {free}", new_x="LMARGIN", new_y="NEXT")
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
    pdf.multi_cell(0, 3.8, " · ".join(facts), new_x="LMARGIN", new_y="NEXT", align="L")
    pdf.style(5.5, color=GREY)
    pdf.multi_cell(0, 2.6, raw, new_x="LMARGIN", new_y="NEXT", wrapmode="CHAR", align="L")


def write_sessions(pdf: Pdf, statements: Sequence[SessionStatement], formats: Formats) -> None:
    if not statements:
        return
    text = formats.text
    pdf.ln(4)
    pdf.style(10, True, pdf.accent)
    pdf.cell(0, 7, text("sessions"), new_x="LMARGIN", new_y="NEXT")
    pdf.style(7.5, color=GREY)
    zones = sorted({statement.time_zone for statement in statements})
    pdf.multi_cell(
        0, 3.8, f"{text('local_time').format(', '.join(zones))} {text('fees')}", new_x="LMARGIN", new_y="NEXT"
    )
    for statement in statements:
        _session(pdf, statement, formats)
    if any(statement.signed for statement in statements):
        if pdf.will_page_break(25):
            pdf.add_page()
        pdf.ln(3)
        pdf.style(9, True, pdf.accent)
        pdf.cell(0, 6, text("eichrecht_title"), new_x="LMARGIN", new_y="NEXT")
        pdf.style(8)
        pdf.multi_cell(0, 4.2, text("eichrecht"), new_x="LMARGIN", new_y="NEXT")


__all__ = ["Decimal", "duration", "write_sessions"]
