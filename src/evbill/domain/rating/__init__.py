"""Rating: price a session's charging periods under an OCPI 2.2.1 tariff, exactly.

``rate(usage, compiled_tariff)`` is the one pure function behind every number evbill shows: the running
cost during a session, the final total, the OCPI CDR, the receipt and the invoice line. It follows
OCPI 2.2.1 (mod_tariffs, mod_cdrs) to the letter:

1. Periods are walked in time order. A period is a *reservation* period when it carries reservation
   time; it is then priced only by elements with a ``reservation`` restriction (``RESERVATION``, or,
   for a reservation that expired without a session, ``RESERVATION_EXPIRES`` first). Every other
   period is priced only by elements without one.
2. For each dimension of a period (ENERGY, TIME = charging, PARKING_TIME = not requesting power,
   reservation TIME) the *first* element in the tariff with a component of that dimension whose
   restrictions all hold at the period's start wins. Restrictions are evaluated in the location's time
   zone: time of day (``end <= start`` wraps past midnight; 00:00 as end means end of day), day of
   week and dates of the local start; energy consumed and session duration before the period;
   current and power of the period (minimums compared with the period's minimum, maximums with its
   maximum; an unreported value never satisfies a restriction). Minimums are inclusive, maximums
   exclusive. No match: that dimension is free in that period.
3. FLAT is charged once per session (and once per reservation): from the first period in which some
   element's FLAT component applies.
4. ``step_size`` applies once per session per group, to the group's total, with the step of the
   *last* component used: ENERGY once; TIME and PARKING_TIME together once, to the total of whichever
   of the two was priced last (charging followed by parking: the step goes to parking); reservation
   time once. The extra billed volume is added to the last priced period at that period's price.
5. Amounts are exact: price x volume (per kWh, per hour) held to 10 decimal places, VAT per component
   (``vat`` omitted = no VAT), summed without rounding. ``min_price`` and ``max_price`` bound the total
   excl. VAT and incl. VAT independently; each bound that moves the total is a visible adjustment.

Rounding to the currency's minor unit happens later, once, when a document is made (money.settle).

Example: €0.25/kWh + €0.50 start fee, 20 kWh:

    >>> from datetime import datetime, timezone
    >>> from decimal import Decimal
    >>> from zoneinfo import ZoneInfo
    >>> from evbill.domain.tariffs.model import PriceComponent, Tariff, TariffDimension, TariffElement
    >>> from evbill.domain.metering.usage import ChargingPeriod, SessionUsage
    >>> tariff = Tariff(id="9", currency="EUR", elements=(TariffElement((
    ...     PriceComponent(TariffDimension.FLAT, Decimal("0.50"), Decimal("20"), 1),
    ...     PriceComponent(TariffDimension.ENERGY, Decimal("0.25"), Decimal("10"), 1),
    ... )),))
    >>> start = datetime(2026, 5, 4, 9, tzinfo=timezone.utc)
    >>> end = datetime(2026, 5, 4, 11, tzinfo=timezone.utc)
    >>> usage = SessionUsage(start, end, "EUR", (ChargingPeriod(start, end, energy_wh=Decimal(20000)),))
    >>> rated = rate(usage, compile_tariff(tariff, ZoneInfo("UTC")))
    >>> rated.total_cost
    Cost(excl_vat=Decimal('5.5000000000'), incl_vat=Decimal('6.1000000000'))
"""

from evbill.domain.rating._models import (
    NO_COST,
    Adjustment,
    AdjustmentKind,
    Cost,
    Phase,
    RatedLine,
    RatedSession,
)
from evbill.domain.rating.compiled import CompiledTariff, compile_tariff
from evbill.domain.rating.engine import rate
from evbill.domain.rating.restrictions import PeriodState, period_states, restriction_checks

__all__ = [
    "NO_COST",
    "Adjustment",
    "AdjustmentKind",
    "CompiledTariff",
    "Cost",
    "PeriodState",
    "Phase",
    "RatedLine",
    "RatedSession",
    "compile_tariff",
    "period_states",
    "rate",
    "restriction_checks",
]
