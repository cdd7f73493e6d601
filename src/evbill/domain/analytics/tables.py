"""Reports as flat rows of text: the one shape behind the API's JSON, the CLI table and CSV.

Each amount is the group's exact sum rounded once, here, to the currency's minor unit with the
operator's rounding mode (a row's gross is not the sum of its rounded net and tax). Energy is in kWh
with 3 decimals (exact Wh), durations in hours with 2 decimals, net revenue per kWh with 4.

    key,currency,sessions,duration_h,charging_h,idle_h,energy_kwh,net,tax,gross,energy_net,...
    2026-03,EUR,2,2.50,2.00,0.50,31.000,17.70,3.61,21.31,15.10,...
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

from evbill.domain import currency as currencies
from evbill.domain.analytics.backtest import Backtest, Shift
from evbill.domain.analytics.heatmap import WEEKDAYS, Heatmap
from evbill.domain.analytics.reports import Component, Report, ReportRow, Revenue
from evbill.domain.money import PRECISE_CONTEXT, RoundingMode, round_to_minor_units

HOURS = Decimal("0.01")
KWH = Decimal("0.001")
PER_KWH = Decimal("0.0001")

COLUMNS = (
    "key", "currency", "sessions", "duration_h", "charging_h", "idle_h", "energy_kwh",
    "net", "tax", "gross",
    *(f"{component}_{part}" for component in Component for part in ("net", "tax", "gross")),
    "gross_per_session", "net_per_kwh", "customers", "new_customers", "returning_customers",
    "share", "refunded", "disputed", "charged_back", "billed_net", "billed_gross",
    "credited_net", "credited_tax", "voided_net", "voided_tax", "corrected_net", "corrected_gross",
)  # fmt: skip
SHARE = Decimal("0.0001")


def money_text(amount: Decimal, currency: str, rounding: RoundingMode) -> str:
    places = currencies.exponent(currency)
    minor = round_to_minor_units(amount, currency, rounding)
    return format(Decimal(minor).scaleb(-places), "f")


def _fixed(value: Decimal, quantum: Decimal) -> str:
    return format(value.quantize(quantum, ROUND_HALF_EVEN, PRECISE_CONTEXT), "f")


def row_text(row: ReportRow, rounding: RoundingMode, of_sessions: int | None = None) -> dict[str, str]:
    """One row as text; ``share`` is its sessions over ``of_sessions`` (its currency's total)."""

    def money(amount: Decimal) -> str:
        return money_text(amount, row.currency, rounding)

    def revenue(prefix: str, value: Revenue) -> dict[str, str]:
        return {
            f"{prefix}net": money(value.net),
            f"{prefix}tax": money(value.tax),
            f"{prefix}gross": money(value.gross),
        }

    components: dict[str, str] = {}
    for component in Component:
        components |= revenue(f"{component}_", row.components.get(component, Revenue()))
    return {
        "key": row.key,
        "currency": row.currency,
        "sessions": str(row.sessions),
        "duration_h": _fixed(row.duration_s / 3600, HOURS),
        "charging_h": _fixed(row.charging_s / 3600, HOURS),
        "idle_h": _fixed(row.idle_s / 3600, HOURS),
        "energy_kwh": _fixed(row.energy_kwh, KWH),
        **revenue("", row.revenue),
        **components,
        "gross_per_session": money(row.gross_per_session),
        "net_per_kwh": _fixed(row.net_per_kwh, PER_KWH),
        "customers": str(row.customers),
        "new_customers": str(row.new_customers),
        "returning_customers": str(row.returning_customers),
        "share": _fixed(_share(row.sessions, row.sessions if of_sessions is None else of_sessions), SHARE),
        "refunded": _minor(row.refunded_minor, row.currency),
        "disputed": _minor(row.disputed_minor, row.currency),
        "charged_back": _minor(row.charged_back_minor, row.currency),
        "billed_net": _minor(row.billed_net_minor, row.currency),
        "billed_gross": _minor(row.billed_gross_minor, row.currency),
        "credited_net": _minor(row.credited_net_minor, row.currency),
        "credited_tax": _minor(row.credited_tax_minor, row.currency),
        "voided_net": _minor(row.voided_net_minor, row.currency),
        "voided_tax": _minor(row.voided_tax_minor, row.currency),
        "corrected_net": _minor(row.corrected_net_minor, row.currency),
        "corrected_gross": _minor(row.corrected_gross_minor, row.currency),
    }


def _share(part: int, whole: int) -> Decimal:
    return PRECISE_CONTEXT.divide(Decimal(part), Decimal(whole)) if whole else Decimal(0)


def _minor(amount: int, currency: str) -> str:
    return format(Decimal(amount).scaleb(-currencies.exponent(currency)), "f")


def report_text(report: Report, rounding: RoundingMode) -> dict[str, object]:
    sessions = {total.currency: total.sessions for total in report.totals}
    return {
        "group_by": report.group_by.value,
        "rows": [row_text(row, rounding, sessions.get(row.currency, 0)) for row in report.rows],
        "totals": [row_text(row, rounding) for row in report.totals],
        # groups not in "rows" (a report of its top rows by gross revenue); the totals count them
        "rows_left_out": report.left_out,
    }


def heatmap_text(map_: Heatmap) -> dict[str, object]:
    """Starts and occupied hours (2 decimals) per local weekday (Mon..Sun) x hour (0..23)."""
    return {
        "weekdays": list(WEEKDAYS),
        "hours": list(range(24)),
        "starts": [list(day) for day in map_.starts],
        "occupied_hours": [[_fixed(Decimal(s) / 3600, HOURS) for s in day] for day in map_.occupied_s],
    }


def backtest_text(result: Backtest) -> dict[str, object]:
    """A backtest with amounts as decimal text (settled, incl. VAT unless named excl)."""

    def money(minor: int) -> str:
        return format(Decimal(minor).scaleb(-currencies.exponent(result.currency)), "f")

    def shifts(items: tuple[Shift, ...]) -> list[dict[str, object]]:
        return [
            {"key": s.key, "sessions": s.sessions, "billed": money(s.billed_minor),
             "candidate": money(s.candidate_minor), "difference": money(s.difference_minor)}
            for s in items
        ]  # fmt: skip

    more, less, same = result.customers_paying()
    return {
        "currency": result.currency,
        "sessions": result.sessions,
        "billed": {"excl_vat": money(result.billed_excl_minor), "incl_vat": money(result.billed_incl_minor)},
        "candidate": {
            "excl_vat": money(result.candidate_excl_minor),
            "incl_vat": money(result.candidate_incl_minor),
        },
        "difference": {
            "excl_vat": money(result.difference_excl_minor),
            "incl_vat": money(result.difference_incl_minor),
        },
        "customers_paying": {"more": more, "less": less, "same": same},
        "by_customer": shifts(result.by_customer),
        "by_location": shifts(result.by_location),
        "most_affected": [
            {
                "session_id": r.session_id,
                "location_id": r.location_id,
                "customer_id": r.customer_id,
                "billed": money(r.billed_incl_minor),
                "candidate": money(r.candidate_incl_minor),
                "difference": money(r.difference_minor),
            }
            for r in result.most_affected
        ],  # fmt: skip
        "left_out": result.left_out,
        "assumption": result.assumption,
    }
