"""The run's summary as a table on stdout: one row per station (the first ``ROWS_SHOWN``) and a total.

    station  charger  sessions  rejected  kWh      messages  errors  outages  duplicates  final costs
    SIM-001  dc150    3/3       0         112.405  214/2     0       1        2           41.20
    total             3/3       0         112.405  214/2     0       1        2           41.20

Under the table a legend says what each column counts (``LEGEND``).
"""

from __future__ import annotations

from decimal import Decimal

from rich import box
from rich.console import Console
from rich.table import Table

from evbill.entrypoints.simulator.summary import StationSummary, Summary

ROWS_SHOWN = 50
LEGEND = (
    "charger: ac11/ac22 = AC 11/22 kW, dc50/dc150 = DC 50/150 kW; sessions: finished/started; "
    "rejected: cards the CSMS refused; kWh: energy charged; messages: sent/received (calls from the "
    "CSMS); errors: CallErrors and calls not answered; outages: network drops the simulator made; "
    "duplicates: messages it resent on purpose; final costs: sum of the final costs the CSMS sent "
    "(incl. VAT, '-' when none)"
)


def print_summary(summary: Summary) -> None:
    table = Table(
        box=box.SIMPLE_HEAD,
        caption=LEGEND,
        caption_justify="left",
        title=(
            f"OCPP {summary.ocpp_version}, seed {summary.seed}: {summary.simulated_seconds:,} simulated "
            f"seconds in {summary.wall_seconds:.1f} s"
        ),
    )
    for header in ("station", "charger", "sessions", "rejected", "kWh", "messages", "errors", "outages"):
        table.add_column(header, justify="left" if header in ("station", "charger") else "right")
    table.add_column("duplicates", justify="right")
    table.add_column("final costs", justify="right")
    for station in summary.stations[:ROWS_SHOWN]:
        table.add_row(*_row(station))
    hidden = len(summary.stations) - ROWS_SHOWN
    if hidden > 0:
        table.add_row(f"... {hidden:,} more", *[""] * 9)
    table.add_section()
    table.add_row(
        "total",
        "",
        f"{summary.total('sessions_finished'):,}/{summary.total('sessions_started'):,}",
        f"{summary.total('sessions_rejected'):,}",
        _kwh(summary.energy_wh),
        f"{summary.total('messages_sent'):,}/{summary.total('messages_received'):,}",
        f"{summary.total('errors'):,}",
        f"{summary.total('outages'):,}",
        f"{summary.total('duplicates_sent'):,}",
        _money(summary.final_cost_total),
    )
    console = Console(soft_wrap=False)
    if not console.is_terminal:  # a file or a pipe: never cut a number short to fit 80 columns
        console.width = max(console.width, 160)
    console.print(table)


def _row(station: StationSummary) -> tuple[str, ...]:
    if not station.connected:
        return (station.station_id, station.charger, "not connected", *[""] * 7)
    return (
        station.station_id,
        station.charger,
        f"{station.sessions_finished:,}/{station.sessions_started:,}",
        f"{station.sessions_rejected:,}",
        _kwh(station.energy_wh),
        f"{station.messages_sent:,}/{station.messages_received:,}",
        f"{station.errors:,}",
        f"{station.outages:,}",
        f"{station.duplicates_sent:,}",
        _money(station.final_cost_total),
    )


def _kwh(energy_wh: int) -> str:
    return format(Decimal(energy_wh).scaleb(-3), "f")


def _money(amount: Decimal) -> str:
    return format(amount, "f") if amount else "-"
