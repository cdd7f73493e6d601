"""A small network whose energy costs and margins are computed by hand (Europe/Amsterdam).

Purchase prices per kWh (EUR): L1 fixed 0.25; L2 time of use (local): 23:00-07:00 every day 0.12,
07:00-23:00 Mon-Fri 0.30, 07:00-23:00 Sat-Sun 0.20; L3 a 15-minute spot series (below); L4 none.

    S1 L1 Mon 2 Mar 08:00-10:00 UTC, 10 kWh in 08:00-09:00 then idle   cost 10 x 0.25 = 2.50
       billed net 5.30                                                margin 2.80
    S2 L2 Mon 2 Mar 21:30-22:30 UTC = 22:30-23:30 CET, 12 kWh          cost 6 x 0.30 + 6 x 0.12 = 2.52
       billed net 2.00                                                margin -0.52 (loses)
    S9 L2 Mon 30 Mar 20:30-21:30 UTC = 22:30-23:30 CEST (after DST)    cost 2.52 again (not 3.60)
       billed net 3.00                                                margin 0.48
    S3 L3 Tue 3 Mar 12:00-12:30 UTC, 10 kWh; spot 0.20 then 0.40      cost 5 x 0.20 + 5 x 0.40 = 3.00
       billed net 4.00                                                margin 1.00
    S4 L3 Wed 1 Apr 12:00-12:20 UTC, 9 kWh; spot 0.10 then -0.05      cost 6.75 x 0.10 - 2.25 x 0.05
       billed net 3.00                                                     = 0.5625, margin 2.4375
    S5 L3 Wed 1 Apr 13:00-13:10 UTC: no spot price at 13:00            left out (price gap)
    S6 L1 without stored periods                                      left out (no periods)
    S7 L4, which has no purchase price                                left out (no purchase price)

By location: L1 5.30 - 2.50 = 2.80; L2 5.00 - 5.04 = -0.04 (loses); L3 7.00 - 3.5625 = 3.4375.
By month: 2026-03 14.30 - 10.54 = 3.76; 2026-04 3.00 - 0.5625 = 2.4375. Total 17.30 - 11.1025 = 6.1975.
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from decimal import Decimal

from evbill.domain.analytics.backtest import StoredSession
from evbill.domain.analytics.costs import EnergyPurchase, PriceKind, PricePoint, TimeOfUseWindow
from evbill.domain.metering.usage import ChargingPeriod, SessionUsage

ZONE = "Europe/Amsterdam"
WEEKDAYS, WEEKEND = (0, 1, 2, 3, 4), (5, 6)


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[arg-type, misc]


PURCHASES = {
    "L1": EnergyPurchase("L1", "EUR", PriceKind.FIXED, Decimal("0.25")),
    "L2": EnergyPurchase(
        "L2",
        "EUR",
        PriceKind.TIME_OF_USE,
        windows=(
            TimeOfUseWindow(time(23), time(7), Decimal("0.12")),
            TimeOfUseWindow(time(7), time(23), Decimal("0.30"), WEEKDAYS),
            TimeOfUseWindow(time(7), time(23), Decimal("0.20"), WEEKEND),
        ),
    ),  # fmt: skip
    "L3": EnergyPurchase("L3", "EUR", PriceKind.SERIES),
}
SPOT = (
    PricePoint(at(2026, 3, 3, 12), Decimal("0.20")),
    PricePoint(at(2026, 3, 3, 12, 15), Decimal("0.40")),
    PricePoint(at(2026, 4, 1, 12), Decimal("0.10")),
    PricePoint(at(2026, 4, 1, 12, 15), Decimal("-0.05")),
)


def session(
    name: str, location: str, start: datetime, end: datetime, net: str, *periods: ChargingPeriod
) -> StoredSession:
    usage = SessionUsage(start, end, "EUR", periods, name) if periods else None
    minor = int(Decimal(net) * 100)
    return StoredSession(name, location, "C1", ZONE, "EUR", None, minor, minor, usage)


def period(start: datetime, end: datetime, kwh: str) -> ChargingPeriod:
    return ChargingPeriod(start, end, Decimal(kwh) * 1000)


S1 = session(
    "S1", "L1", at(2026, 3, 2, 8), at(2026, 3, 2, 10), "5.30",
    period(at(2026, 3, 2, 8), at(2026, 3, 2, 9), "10"), period(at(2026, 3, 2, 9), at(2026, 3, 2, 10), "0"),
)  # fmt: skip
S2 = session(
    "S2", "L2", at(2026, 3, 2, 21, 30), at(2026, 3, 2, 22, 30), "2.00",
    period(at(2026, 3, 2, 21, 30), at(2026, 3, 2, 22, 30), "12"),
)  # fmt: skip
S9 = session(
    "S9", "L2", at(2026, 3, 30, 20, 30), at(2026, 3, 30, 21, 30), "3.00",
    period(at(2026, 3, 30, 20, 30), at(2026, 3, 30, 21, 30), "12"),
)  # fmt: skip
S3 = session(
    "S3", "L3", at(2026, 3, 3, 12), at(2026, 3, 3, 12, 30), "4.00",
    period(at(2026, 3, 3, 12), at(2026, 3, 3, 12, 30), "10"),
)  # fmt: skip
S4 = session(
    "S4", "L3", at(2026, 4, 1, 12), at(2026, 4, 1, 12, 20), "3.00",
    period(at(2026, 4, 1, 12), at(2026, 4, 1, 12, 20), "9"),
)  # fmt: skip
S5 = session(
    "S5", "L3", at(2026, 4, 1, 13), at(2026, 4, 1, 13, 10), "1.00",
    period(at(2026, 4, 1, 13), at(2026, 4, 1, 13, 10), "2"),
)  # fmt: skip
S6 = session("S6", "L1", at(2026, 3, 4, 8), at(2026, 3, 4, 9), "1.00")
S7 = session(
    "S7", "L4", at(2026, 3, 4, 8), at(2026, 3, 4, 9), "1.00",
    period(at(2026, 3, 4, 8), at(2026, 3, 4, 9), "3"),
)  # fmt: skip
SESSIONS = (S1, S2, S3, S9, S4, S5, S6, S7)
