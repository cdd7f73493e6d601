"""A small network computed by hand, for the analytics tests.

Europe/Amsterdam (CET +1, CEST +2 from 2026-03-29). Prices: AC energy 0.30/kWh, DC energy 0.59/kWh,
idle 1.50/h, DC time 1.20/h, start fee 0.50 (no VAT); VAT 21 %.

    A  L1/S1/E1 AC T1 P1 C1 Mon 2026-03-02 09:00-11:00 local, charging 90 min, 11 kWh
       energy 3.30 + idle 30 min 1.50 + fee 0.50        = 5.30 net, 6.308 gross
    B  L1/S1/E2 DC T2 -  C2 Thu 2026-03-05 18:30-19:00 local, 20 kWh (charging time unknown)
       energy 11.80 + time 30 min 0.60                  = 12.40 net, 15.004 gross
    C  L2/S2/E3 AC T1 P1 C1 Wed 2026-04-01 00:30-01:30 local (31 March 22:30 UTC), 7 kWh
       energy 2.10                                      = 2.10 net, 2.541 gross
    D  L2/S2/E3 AC T1 -  -  Thu 2026-04-02 12:00-12:45 local, charging 30 min, 5 kWh
       energy 1.50 + idle 15 min 0.375                  = 1.875 net, 2.26875 gross

Billed (each session's totals settled once, half even, as the stored network has them): A 5.30 / 6.31,
B 12.40 / 15.00, C 2.10 / 2.54, D 1.88 / 2.27.

C1 (INDIVIDUAL) first charged on 2026-01-10; C2 (BUSINESS) first charged with session B.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from evbill.domain.analytics.facts import SessionFact
from evbill.domain.charging.sessions import ChargePart
from evbill.domain.tariffs.model import TariffDimension

VAT = Decimal(21)
ZONE = "Europe/Amsterdam"
C1_FIRST = datetime(2026, 1, 10, 12, tzinfo=UTC)
C2_FIRST = datetime(2026, 3, 5, 17, 30, tzinfo=UTC)


def _part(dimension: TariffDimension, amount: str, vat: Decimal | None = VAT) -> ChargePart:
    return ChargePart(dimension, vat, Decimal(amount))


def _at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[arg-type, misc]


A = SessionFact(
    "A", "L1", "S1", "E1", ZONE, _at(2026, 3, 2, 8), _at(2026, 3, 2, 10), "EUR", Decimal(11000),
    Decimal(5400), Decimal("5.30"), Decimal("6.308"),
    (_part(TariffDimension.ENERGY, "3.30"), _part(TariffDimension.PARKING_TIME, "1.50"),
     _part(TariffDimension.FLAT, "0.50", None)),
    "AC", "T1", "P1", "C1", "INDIVIDUAL", C1_FIRST, billed_excl_minor=530, billed_incl_minor=631,
)  # fmt: skip
B = SessionFact(
    "B", "L1", "S1", "E2", ZONE, _at(2026, 3, 5, 17, 30), _at(2026, 3, 5, 18), "EUR", Decimal(20000),
    None, Decimal("12.40"), Decimal("15.004"),
    (_part(TariffDimension.ENERGY, "11.80"), _part(TariffDimension.TIME, "0.60")),
    "DC", "T2", None, "C2", "BUSINESS", C2_FIRST, billed_excl_minor=1240, billed_incl_minor=1500,
)  # fmt: skip
C = SessionFact(
    "C", "L2", "S2", "E3", ZONE, _at(2026, 3, 31, 22, 30), _at(2026, 3, 31, 23, 30), "EUR", Decimal(7000),
    Decimal(3600), Decimal("2.10"), Decimal("2.541"), (_part(TariffDimension.ENERGY, "2.10"),),
    "AC", "T1", "P1", "C1", "INDIVIDUAL", C1_FIRST, billed_excl_minor=210, billed_incl_minor=254,
)  # fmt: skip
D = SessionFact(
    "D", "L2", "S2", "E3", ZONE, _at(2026, 4, 2, 10), _at(2026, 4, 2, 10, 45), "EUR", Decimal(5000),
    Decimal(1800), Decimal("1.875"), Decimal("2.26875"),
    (_part(TariffDimension.ENERGY, "1.50"), _part(TariffDimension.PARKING_TIME, "0.375")),
    "AC", "T1", None, None, None, None, billed_excl_minor=188, billed_incl_minor=227,
)  # fmt: skip
FACTS = (A, B, C, D)
WINDOW_START = _at(2026, 3, 1)
