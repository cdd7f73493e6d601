"""What a session costs: rated under its snapshotted tariff, up to now (running) or as stored (final).

``running_cost`` is the final price's own rating up to now, for the cost a charger shows during the
session; a ``RunningMeter`` carries what one push read over to the next.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from evbill.application.charging.checks import Checked, checked, rated_power_w
from evbill.application.charging.stations import StationContext
from evbill.application.rating.cdrs import MeteredPrice, price_metered_session
from evbill.application.records import Services
from evbill.domain.charging.sessions import ChargingSession
from evbill.domain.metering.cleaning import MeterSample
from evbill.domain.money import PreciseMoney, SettledMoney, settle
from evbill.domain.rating import CompiledTariff, compile_tariff

ZERO = Decimal(0)
_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class Cost:
    """A session's cost so far (or final), exact and as the charger shows it."""

    session: ChargingSession
    excl_vat: Decimal
    incl_vat: Decimal
    shown: SettledMoney  # incl. VAT, rounded once
    energy_wh: Decimal


@dataclass(frozen=True, slots=True)
class Priced:
    metered: MeteredPrice
    compiled: CompiledTariff


def compiled_tariff(
    services: Services, context: StationContext, session: ChargingSession
) -> CompiledTariff | None:
    """The tariff version snapshotted at the session's start, compiled (None: the session is free)."""
    if session.tariff_version_id is None:
        return None
    with services.uow(read_only=True) as uow:
        version = uow.tariff_versions.get(session.operator_id, session.tariff_version_id)
    if version is None:
        return None
    return compile_tariff(services.ocpi.read_tariff(version.document).tariff, context.zone)


def price_samples(
    services: Services, context: StationContext, session: ChargingSession, checked: Checked
) -> Priced | None:
    """Rate the plausible samples in the plausible window under the session's snapshotted tariff."""
    compiled = compiled_tariff(services, context, session)
    if compiled is None:
        return None
    # A session that ends where it starts (an operator closes a stuck one that never reported a
    # reading after its start) is rated over its first microsecond, as its running cost was: it has
    # begun, so it has a period, a price breakdown and a complete CDR like any other.
    metered = price_metered_session(
        samples=checked.samples,
        compiled=compiled,
        start=checked.start,
        until=max(checked.end, checked.start + _MICROSECOND),
        currency=session.currency,
    )
    return Priced(metered, compiled)


@dataclass(slots=True)
class RunningMeter:
    """What a live session's running costs keep from one to the next: the samples read so far with
    the mark to read on from, and the compiled tariff version (versions never change). Each push then
    reads only the samples stored since the last one. One thread at a time uses a meter."""

    samples: list[MeterSample] = field(default_factory=list)
    mark: int = 0
    compiled: CompiledTariff | None = None
    tariff_read: bool = False
    max_power_w: Decimal | None = None
    highest: Cost | None = None  # the highest cost shown so far: a push never shows less


def running_cost(
    services: Services,
    context: StationContext,
    session: ChargingSession,
    now: datetime,
    meter: RunningMeter | None = None,
) -> Cost:
    """What the session costs if it ended with the data received: the final price's own function, up
    to the last reported time. Pass the session's ``RunningMeter`` to carry what this push read over
    to the next one; with it, the cost shown never goes down (a late, out-of-order value that would
    lower it waits for the final price)."""
    meter = RunningMeter() if meter is None else meter
    with services.uow(read_only=True) as uow:
        new, meter.mark = uow.meter_samples.of_session_after(session.operator_id, session.id, meter.mark)
    meter.samples.extend(new)
    if not meter.tariff_read:
        meter.compiled, meter.tariff_read = compiled_tariff(services, context, session), True
        meter.max_power_w = rated_power_w(services, session)
    if meter.compiled is None:
        return Cost(session, ZERO, ZERO, SettledMoney(0, session.currency), ZERO)
    # Rated up to the charger's last reported time, not the server's clock: what the final price
    # would be if the session ended with the data received (a charger whose clock is behind the
    # server's would otherwise be shown hours it never charged).
    # Right at the start a zero-length session would have no period at all, and no start fee: the
    # first microsecond shows what has begun.
    reported = max([session.started_at + _MICROSECOND, *(sample.timestamp for sample in meter.samples)])
    fit = checked(
        services, session, meter.samples, reported_end=reported, closed_at=now, max_power_w=meter.max_power_w
    )
    if not fit.samples:  # nothing plausible yet (a start before the driver paid): nothing shown yet
        return meter.highest or Cost(session, ZERO, ZERO, SettledMoney(0, session.currency), ZERO)
    rated = price_metered_session(
        samples=fit.samples,
        compiled=meter.compiled,
        start=fit.start,
        until=max(fit.end, fit.start + _MICROSECOND),
        currency=session.currency,
    ).rated
    shown = settle(PreciseMoney(rated.total_cost.incl_vat, session.currency), context.rounding)
    cost = Cost(session, rated.total_cost.excl_vat, rated.total_cost.incl_vat, shown, rated.total_energy_wh)
    if meter.highest is None or cost.incl_vat >= meter.highest.incl_vat:
        meter.highest = cost
    return meter.highest


def stored_cost(session: ChargingSession, context: StationContext) -> Cost:
    minor = session.total_incl_vat_minor or 0
    return Cost(
        session,
        session.total_excl_vat or ZERO,
        session.total_incl_vat or ZERO,
        SettledMoney(minor, session.currency),
        session.energy_wh,
    )
