"""Reports: every measure of the hand-computed network in analytics_data, exactly."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from evbill.domain.analytics.facts import GroupBy, SessionFact
from evbill.domain.analytics.heatmap import heatmap
from evbill.domain.analytics.reports import Component, Revenue, summarise
from tests.unit.analytics_data import FACTS, WINDOW_START, ZONE


def test_by_month_sums_sessions_time_energy_and_revenue_by_local_month() -> None:
    # Given the four sessions (C starts 31 March 22:30 UTC, which is 1 April in Amsterdam)
    # When grouped by month
    report = summarise(FACTS, GroupBy.MONTH, window_start=WINDOW_START)
    # Then March holds A and B, April holds C and D
    march, april = report.rows
    assert (march.key, march.sessions, april.key, april.sessions) == ("2026-03", 2, "2026-04", 2)
    assert (march.duration_s, march.charging_s, march.idle_s) == (9000, 7200, 1800)
    assert march.energy_wh == 31000
    assert march.revenue == Revenue(Decimal("17.70"), Decimal("3.612"))
    assert march.revenue.gross == Decimal("21.312")
    assert march.components == {
        Component.ENERGY: Revenue(Decimal("15.10"), Decimal("3.171")),
        Component.TIME: Revenue(Decimal("0.60"), Decimal("0.126")),
        Component.IDLE: Revenue(Decimal("1.50"), Decimal("0.315")),
        Component.FEES: Revenue(Decimal("0.50"), Decimal(0)),
    }
    assert march.gross_per_session == Decimal("10.656")
    assert march.net_per_kwh.quantize(Decimal("0.000001")) == Decimal("0.570968")  # 17.70 / 31
    assert (april.duration_s, april.charging_s, april.idle_s, april.energy_wh) == (6300, 5400, 900, 12000)
    assert april.revenue.net == Decimal("3.975")
    assert april.revenue.gross == Decimal("4.80975")
    assert april.idle_fee == Revenue(Decimal("0.375"), Decimal("0.07875"))


def test_new_customers_had_their_first_session_inside_the_window() -> None:
    report = summarise(FACTS, GroupBy.MONTH, window_start=WINDOW_START)
    march, april = report.rows
    # C2 first charged on 5 March (new); C1 first charged in January (returning); D is ad hoc
    assert (march.customers, march.new_customers, march.returning_customers) == (2, 1, 1)
    assert (april.customers, april.new_customers, april.returning_customers) == (1, 0, 1)
    (total,) = report.totals
    assert (total.sessions, total.customers, total.new_customers) == (4, 2, 1)
    assert total.revenue.net == Decimal("21.675")
    assert total.revenue.gross == Decimal("26.12175")


def test_every_grouping_partitions_the_sessions() -> None:
    def keyed(group_by: GroupBy) -> dict[str, int]:
        return {row.key: row.sessions for row in summarise(FACTS, group_by).rows}

    assert keyed(GroupBy.LOCATION) == {"L1": 2, "L2": 2}
    assert keyed(GroupBy.STATION) == {"S1": 2, "S2": 2}
    assert keyed(GroupBy.EVSE) == {"E1": 1, "E2": 1, "E3": 2}
    assert keyed(GroupBy.CONNECTOR_CLASS) == {"AC": 3, "DC": 1}
    assert keyed(GroupBy.PLAN) == {"(none)": 2, "P1": 2}
    assert keyed(GroupBy.TARIFF) == {"T1": 3, "T2": 1}
    assert keyed(GroupBy.SEGMENT) == {"(none)": 1, "BUSINESS": 1, "INDIVIDUAL": 2}
    assert keyed(GroupBy.CUSTOMER) == {"(none)": 1, "C1": 2, "C2": 1}
    assert keyed(GroupBy.DAY) == {"2026-03-02": 1, "2026-03-05": 1, "2026-04-01": 1, "2026-04-02": 1}
    assert keyed(GroupBy.WEEK) == {"2026-W10": 2, "2026-W14": 2}
    by_location = {row.key: row for row in summarise(FACTS, GroupBy.LOCATION).rows}
    assert by_location["L1"].revenue.net == Decimal("17.70")
    assert by_location["L2"].idle_s == 900


def test_heatmap_counts_starts_and_occupancy_in_local_time() -> None:
    map_ = heatmap(FACTS)
    # A: Monday 09:00-11:00 local; C: Wednesday 00:30-01:30 local (Tuesday in UTC)
    assert map_.starts[0][9] == 1
    assert (map_.occupied_s[0][9], map_.occupied_s[0][10], map_.occupied_s[0][11]) == (3600, 3600, 0)
    assert map_.starts[2][0] == 1
    assert (map_.occupied_s[2][0], map_.occupied_s[2][1]) == (1800, 1800)
    assert map_.occupied_s[1][23] == 0
    assert sum(map(sum, map_.starts)) == 4


def _overnight(start: datetime, end: datetime) -> SessionFact:
    return SessionFact("N", "L", "S", "E", ZONE, start, end, "EUR", Decimal(0), None, Decimal(0), Decimal(0))


def test_heatmap_on_the_night_clocks_go_back_counts_the_repeated_hour_twice() -> None:
    # Given a session from 01:30 CEST to 03:30 CET on Sunday 25 October 2026 (three real hours)
    session = _overnight(
        datetime(2026, 10, 24, 23, 30, tzinfo=UTC), datetime(2026, 10, 25, 2, 30, tzinfo=UTC)
    )
    # Then local 02h (lived twice) holds 120 minutes
    sunday = heatmap([session]).occupied_s[6]
    assert (sunday[1], sunday[2], sunday[3]) == (1800, 7200, 1800)
    assert heatmap([session]).starts[6][1] == 1


def test_heatmap_on_the_night_clocks_go_forward_skips_the_missing_hour() -> None:
    # Given a session from 01:30 CET to 03:30 CEST on Sunday 29 March 2026 (one real hour)
    session = _overnight(datetime(2026, 3, 29, 0, 30, tzinfo=UTC), datetime(2026, 3, 29, 1, 30, tzinfo=UTC))
    sunday = heatmap([session]).occupied_s[6]
    assert (sunday[1], sunday[2], sunday[3]) == (1800, 0, 1800)


def test_a_shown_row_rounds_each_exact_sum_once() -> None:
    from evbill.domain.analytics.tables import COLUMNS, row_text
    from evbill.domain.money import RoundingMode

    march, april = summarise(FACTS, GroupBy.MONTH, window_start=WINDOW_START).rows
    shown = row_text(march, RoundingMode.HALF_UP)
    assert list(shown) == list(COLUMNS)
    assert (shown["duration_h"], shown["charging_h"], shown["idle_h"], shown["energy_kwh"]) == (
        "2.50", "2.00", "0.50", "31.000",
    )  # fmt: skip
    assert (shown["net"], shown["tax"], shown["gross"]) == ("17.70", "3.61", "21.31")
    assert (shown["energy_net"], shown["energy_tax"], shown["energy_gross"]) == ("15.10", "3.17", "18.27")
    assert (shown["gross_per_session"], shown["net_per_kwh"]) == ("10.66", "0.5710")
    # April: gross 4.80975 -> 4.81; net 3.975 -> 3.98 (half up) but 3.97 rounded down
    april_up, april_down = row_text(april, RoundingMode.HALF_UP), row_text(april, RoundingMode.DOWN)
    assert (april_up["net"], april_up["gross"], april_down["net"]) == ("3.98", "4.81", "3.97")
    assert (april_up["idle_net"], april_up["idle_tax"], april_up["idle_gross"]) == ("0.38", "0.08", "0.45")
