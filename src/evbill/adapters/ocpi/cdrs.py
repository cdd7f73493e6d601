"""OCPI 2.2.1 CDRs in and out: a CDR document becomes ``SessionUsage``; a rated session becomes a priced CDR.

Reading (``parse_cdr``) keeps the measured volumes exact (kWh -> Wh, hours -> seconds as ``Decimal``)
and reports every problem with its path: a missing field, a period that starts before the previous
one or after the session's end, a negative volume, a dimension given twice, an unknown currency.
Session-only dimensions (CURRENT, POWER, ...) are accepted: an average POWER or CURRENT stands in for
a missing MIN/MAX value; the others are ignored.

Writing (``render_priced_cdr``) returns the input document with every ``total_*`` field filled from
the rating, rounded once to the currency's minor unit with the operator's rounding mode, and the
tariff used in ``tariffs``. The totals' quantities (kWh, hours) use OCPI's 4 decimals. ``incl_vat`` is
given when VAT applies to any component of the session, as OCPI's Price class says.

A CDR evbill writes re-rates to its own totals (DESIGN.md rule 10), so its charging periods carry
more digits than OCPI's default 4, which OCPI numbers allow ("a sufficiently large amount of digits"):
energy in kWh, power in kW and current in A exactly (Wh / 1000 always ends), and time in hours to
12 decimals (within 2 nanoseconds). Reading holds times to the microsecond, so such an hour count
comes back as exactly the seconds it was written from. With 4 decimals, 10 minutes was 0.1667 h
(600.12 s) and a per-minute tariff billed 11.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from typing import Any

import orjson

from evbill.adapters.ocpi.common import NUMBER_QUANTUM, format_datetime, ocpi_number, parse_datetime
from evbill.domain import currency as currencies
from evbill.domain.errors import InvalidInput, Problem, Severity
from evbill.domain.metering.usage import ChargingPeriod, SessionUsage
from evbill.domain.money import PRECISE_CONTEXT, RoundingMode, round_to_minor_units, to_decimal
from evbill.domain.rating import Cost, RatedSession
from evbill.domain.rating.fast import FastTotals

WH_PER_KWH = Decimal(1000)
SECONDS_PER_HOUR = Decimal(3600)
HOURS_QUANTUM = Decimal("1e-12")  # charging periods' hours: within 2 ns, read back to the microsecond
SECONDS_QUANTUM = Decimal("0.000001")


class CdrDimensionType(enum.StrEnum):
    CURRENT = "CURRENT"
    ENERGY = "ENERGY"
    ENERGY_EXPORT = "ENERGY_EXPORT"
    ENERGY_IMPORT = "ENERGY_IMPORT"
    MAX_CURRENT = "MAX_CURRENT"
    MIN_CURRENT = "MIN_CURRENT"
    MAX_POWER = "MAX_POWER"
    MIN_POWER = "MIN_POWER"
    PARKING_TIME = "PARKING_TIME"
    POWER = "POWER"
    RESERVATION_TIME = "RESERVATION_TIME"
    STATE_OF_CHARGE = "STATE_OF_CHARGE"
    TIME = "TIME"


_KNOWN_DIMENSIONS = frozenset(CdrDimensionType)
_ALLOWED_DIMENSIONS = ", ".join(CdrDimensionType)

# The ChargingPeriod field each dimension fills, and the factor from OCPI's unit to evbill's.
_FIELDS: dict[str, tuple[str, Decimal]] = {
    "ENERGY": ("energy_wh", WH_PER_KWH),
    "TIME": ("charging_s", SECONDS_PER_HOUR),
    "PARKING_TIME": ("parking_s", SECONDS_PER_HOUR),
    "RESERVATION_TIME": ("reservation_s", SECONDS_PER_HOUR),
    "MIN_CURRENT": ("min_current", Decimal(1)),
    "MAX_CURRENT": ("max_current", Decimal(1)),
    "MIN_POWER": ("min_power", Decimal(1)),
    "MAX_POWER": ("max_power", Decimal(1)),
    "CURRENT": ("current", Decimal(1)),
    "POWER": ("power", Decimal(1)),
}
MAX_VOLUME = Decimal(10) ** 9  # kWh, hours, A or kW: far above any session, far below overflow
MAX_VOLUME_NUMBER = 10**9  # the same, to compare JSON numbers with before they become Decimals
_MAY_BE_NEGATIVE = frozenset({"MIN_CURRENT", "MIN_POWER", "CURRENT", "POWER"})


@dataclass(frozen=True, slots=True)
class ParsedCdr:
    usage: SessionUsage
    warnings: tuple[Problem, ...]


def parse_cdr(document: object) -> ParsedCdr:
    """Read an OCPI CDR (decoded JSON) into ``SessionUsage``; InvalidInput lists every problem."""
    problems: list[Problem] = []
    if not isinstance(document, Mapping):
        raise InvalidInput("CDR is invalid", (Problem("$", "must be a JSON object"),))
    start = _datetime(document, "start_date_time", problems)
    end = _datetime(document, "end_date_time", problems)
    currency = document.get("currency")
    if currency is None:
        problems.append(Problem("$.currency", "is required"))
    elif not isinstance(currency, str) or not currencies.is_known(currency):
        problems.append(Problem("$.currency", f"{currency!r} is not an ISO 4217 currency code"))
    periods = _periods(document.get("charging_periods"), problems)
    if start is not None and end is not None:
        if end < start:
            problems.append(Problem("$.end_date_time", "is before start_date_time"))
        _check_period_bounds(periods, start, end, problems)
    errors = [p for p in problems if p.severity is Severity.ERROR]
    if errors:
        raise InvalidInput("CDR is invalid", tuple(problems))
    cdr_id = document.get("id")
    usage = SessionUsage(
        start,  # type: ignore[arg-type]
        end,  # type: ignore[arg-type]
        currency,  # type: ignore[arg-type]
        tuple(_close(periods, end)),  # type: ignore[arg-type]
        cdr_id if isinstance(cdr_id, str) else "",
    )
    return ParsedCdr(usage, tuple(problems))


def _datetime(document: Mapping[str, Any], name: str, problems: list[Problem]) -> datetime | None:
    path = f"$.{name}"
    if name not in document:
        problems.append(Problem(path, "is required"))
        return None
    try:
        return parse_datetime(document[name], path)
    except InvalidInput as error:
        problems.extend(error.problems)
        return None


# Field order of ChargingPeriod after start and end; the dimension table's names map into it.
_PERIOD_FIELDS = (
    "energy_wh", "charging_s", "parking_s", "reservation_s",
    "min_current", "max_current", "min_power", "max_power",
)  # fmt: skip
_SLOT = {name: position for position, name in enumerate(_PERIOD_FIELDS)}
_AVERAGE_SLOT = {"power": 8, "current": 9}  # averages kept after the ChargingPeriod fields
_DIMENSION_SLOTS = {
    kind: (_SLOT[name] if name in _SLOT else _AVERAGE_SLOT[name], factor)
    for kind, (name, factor) in _FIELDS.items()
}
_INFORMATIVE = frozenset({"ENERGY_EXPORT", "ENERGY_IMPORT", "STATE_OF_CHARGE"})


class _RawPeriod:
    """A period being read: its start, its measured values in ChargingPeriod order, its tariff id."""

    __slots__ = ("start", "values", "tariff_id")

    def __init__(self, start: datetime, values: list[Decimal | None], tariff_id: str | None) -> None:
        self.start = start
        self.values = values
        self.tariff_id = tariff_id


def _periods(value: object, problems: list[Problem]) -> list[_RawPeriod]:
    if not isinstance(value, list) or not value:
        problems.append(Problem("$.charging_periods", "must be a non-empty list of charging periods"))
        return []
    periods = []
    previous: datetime | None = None
    for index, raw in enumerate(value):
        if not isinstance(raw, dict):
            problems.append(Problem(f"$.charging_periods[{index}]", "must be an object"))
            continue
        start = _period_start(raw.get("start_date_time"), index, problems)
        values = _dimensions(raw.get("dimensions"), index, problems)
        tariff_id = raw.get("tariff_id")
        if start is None:
            continue
        if previous is not None and start <= previous:
            problems.append(
                Problem(
                    f"$.charging_periods[{index}].start_date_time",
                    "periods must be in time order, each after the last",
                )
            )
        previous = start
        periods.append(_RawPeriod(start, values, tariff_id if isinstance(tariff_id, str) else None))
    return periods


def _period_start(value: object, index: int, problems: list[Problem]) -> datetime | None:
    if type(value) is str:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    path = f"$.charging_periods[{index}].start_date_time"
    if value is None:
        problems.append(Problem(path, "is required"))
        return None
    try:
        return parse_datetime(value, path)
    except InvalidInput as error:
        problems.extend(error.problems)
        return None


def _dimensions(value: object, period: int, problems: list[Problem]) -> list[Decimal | None]:
    """The period's values in ChargingPeriod field order, then average power and current."""
    values: list[Decimal | None] = [None] * (len(_PERIOD_FIELDS) + 2)
    if not isinstance(value, list) or not value:
        problems.append(Problem(f"$.charging_periods[{period}].dimensions", "must be a non-empty list"))
        return values
    seen: set[str] = set()
    for index, raw in enumerate(value):
        kind = raw.get("type") if isinstance(raw, dict) else None
        if not isinstance(kind, str) or kind in seen or kind not in _KNOWN_DIMENSIONS:
            problems.append(_dimension_problem(period, index, kind, isinstance(kind, str) and kind in seen))
            continue
        seen.add(kind)  # type: ignore[arg-type]
        slot = _DIMENSION_SLOTS.get(kind)  # type: ignore[arg-type]
        if slot is None:
            continue  # ENERGY_IMPORT/EXPORT, STATE_OF_CHARGE: informative only
        volume = _volume(raw.get("volume"), kind, period, index, problems)  # type: ignore[arg-type]
        if volume is not None:
            position, factor = slot
            values[position] = _seconds(volume) if factor is SECONDS_PER_HOUR else volume * factor
    return values


def _seconds(hours: Decimal) -> Decimal:
    """Hours as seconds held to the microsecond (periods' times are whole microseconds)."""
    # positional arguments: Decimal methods parse keywords slowly, and this runs twice a period
    return (hours * SECONDS_PER_HOUR).quantize(SECONDS_QUANTUM, ROUND_HALF_EVEN).normalize()


def _dimension_problem(period: int, index: int, kind: object, repeated: bool) -> Problem:
    path = f"$.charging_periods[{period}].dimensions[{index}].type"
    if repeated:
        return Problem(path, f"dimension {kind} is given twice in this period")
    return Problem(path, f"{kind!r} is not one of {_ALLOWED_DIMENSIONS}")


def _volume(value: object, kind: str, period: int, index: int, problems: list[Problem]) -> Decimal | None:
    kind_of_value = type(value)
    if kind_of_value is float and math.isfinite(value):  # type: ignore[arg-type]
        volume = Decimal(repr(value))
    elif kind_of_value is int:
        volume = Decimal(value)  # type: ignore[arg-type]
    else:
        try:
            volume = to_decimal(value, path=f"$.charging_periods[{period}].dimensions[{index}].volume")
        except InvalidInput as error:
            problems.extend(error.problems)
            return None
    if abs(volume) > MAX_VOLUME:
        path = f"$.charging_periods[{period}].dimensions[{index}].volume"
        problems.append(Problem(path, f"{kind} volume {volume} is too large (at most {MAX_VOLUME:,})"))
        return None
    if volume < 0 and kind not in _MAY_BE_NEGATIVE:
        path = f"$.charging_periods[{period}].dimensions[{index}].volume"
        problems.append(Problem(path, f"{kind} volume must not be negative, got {volume}"))
        return None
    return volume


def _check_period_bounds(
    periods: list[_RawPeriod], start: datetime, end: datetime, problems: list[Problem]
) -> None:
    if not periods:
        return
    if periods[0].start < start:
        problems.append(
            Problem("$.charging_periods[0].start_date_time", "is before the CDR's start_date_time")
        )
    if periods[-1].start > end:
        problems.append(
            Problem(
                f"$.charging_periods[{len(periods) - 1}].start_date_time", "is after the CDR's end_date_time"
            )
        )


_new_period = tuple.__new__  # a ChargingPeriod built without its keyword-handling constructor


def _close(periods: list[_RawPeriod], end: datetime) -> list[ChargingPeriod]:
    """Each period ends where the next begins; the last ends with the session.

    An average POWER or CURRENT (session-only dimensions) stands in for a missing minimum/maximum.
    """
    closed = []
    for position, raw in enumerate(periods):
        period_end = periods[position + 1].start if position + 1 < len(periods) else end
        values = raw.values
        power, current = values[8], values[9]
        if power is not None:
            values[6] = power if values[6] is None else values[6]
            values[7] = power if values[7] is None else values[7]
        if current is not None:
            values[4] = current if values[4] is None else values[4]
            values[5] = current if values[5] is None else values[5]
        closed.append(_new_period(ChargingPeriod, (raw.start, period_end, *values[:8], raw.tariff_id)))
    return closed


def render_priced_cdr(
    document: Mapping[str, Any],
    rated: RatedSession,
    *,
    tariff_document: Mapping[str, Any] | None = None,
    rounding: RoundingMode = RoundingMode.HALF_UP,
) -> dict[str, Any]:
    """The input CDR with every total filled from ``rated``, rounded once per figure."""
    currency = rated.currency
    with_vat = any(line.vat is not None for line in rated.lines)

    def price(cost: Cost) -> dict[str, Decimal]:
        rendered = {"excl_vat": _settled(cost.excl_vat, currency, rounding)}
        if with_vat:
            rendered["incl_vat"] = _settled(cost.incl_vat, currency, rounding)
        return rendered

    priced = dict(document)
    if tariff_document is not None:
        priced["tariffs"] = [tariff_document]
    priced.update(
        total_cost=price(rated.total_cost),
        total_fixed_cost=price(rated.total_fixed_cost),
        total_energy=ocpi_number(rated.total_energy_wh / WH_PER_KWH),
        total_energy_cost=price(rated.total_energy_cost),
        total_time=ocpi_number(rated.total_time_s / SECONDS_PER_HOUR),
        total_time_cost=price(rated.total_time_cost),
        total_parking_time=ocpi_number(rated.total_parking_s / SECONDS_PER_HOUR),
        total_parking_cost=price(rated.total_parking_cost),
        total_reservation_cost=price(rated.total_reservation_cost),
    )
    return priced


def _settled(amount: Decimal, currency: str, rounding: RoundingMode) -> Decimal:
    places = currencies.exponent(currency)
    return Decimal(round_to_minor_units(amount, currency, rounding)).scaleb(-places)


def render_periods(periods: Sequence[ChargingPeriod], tariff_id: str) -> list[dict[str, Any]]:
    """Charging periods as OCPI ChargingPeriod objects: kWh, kW and A exact, hours to 12 decimals."""
    rendered = []
    for period in periods:
        dimensions: list[dict[str, Any]] = []
        values = (
            ("ENERGY", period.energy_wh, WH_PER_KWH),
            ("TIME", period.charging_s, SECONDS_PER_HOUR),
            ("PARKING_TIME", period.parking_s, SECONDS_PER_HOUR),
            ("RESERVATION_TIME", period.reservation_s, SECONDS_PER_HOUR),
            ("MIN_CURRENT", period.min_current, Decimal(1)),
            ("MAX_CURRENT", period.max_current, Decimal(1)),
            ("MIN_POWER", period.min_power, Decimal(1)),
            ("MAX_POWER", period.max_power, Decimal(1)),
        )
        for kind, value, factor in values:
            if value is not None:
                dimensions.append({"type": kind, "volume": _volume_out(value, factor)})
        rendered.append(
            {
                "start_date_time": format_datetime(period.start),
                "dimensions": dimensions,
                "tariff_id": tariff_id,
            }
        )
    return rendered


def _volume_out(value: Decimal, factor: Decimal) -> Decimal:
    if factor is SECONDS_PER_HOUR:
        hours = (value / factor).quantize(HOURS_QUANTUM, rounding=ROUND_HALF_UP)
    else:
        hours = value / factor  # Wh / 1000 and x / 1 always end: exact
    return hours.normalize() if hours else Decimal(0)


@dataclass(frozen=True, slots=True)
class CdrPlace:
    """Where the session happened, as the CDR describes it (OCPI CdrLocation)."""

    location_id: str
    name: str
    address: str
    city: str
    postal_code: str | None
    country_alpha_3: str
    latitude: Decimal
    longitude: Decimal
    evse_uid: str
    evse_id: str
    connector_id: str
    connector_standard: str
    connector_format: str
    connector_power_type: str


def session_cdr(
    *,
    cdr_id: str,
    country_code: str,
    party_id: str,
    token_uid: str | None,
    contract_id: str | None,
    place: CdrPlace,
    usage: SessionUsage,
    rated: RatedSession,
    tariff_document: Mapping[str, Any],
    rounding: RoundingMode,
    last_updated: datetime,
) -> dict[str, Any]:
    """The OCPI 2.2.1 CDR of a finished session, totals rounded once with the operator's mode."""
    document: dict[str, Any] = {
        "country_code": country_code,
        "party_id": party_id,
        "id": cdr_id[:36],
        "start_date_time": format_datetime(usage.start),
        "end_date_time": format_datetime(usage.end),
        "session_id": cdr_id[:36],
        "cdr_token": {
            "country_code": country_code,
            "party_id": party_id,
            "uid": token_uid or "AD-HOC",
            "type": "RFID" if token_uid else "AD_HOC_USER",
            "contract_id": contract_id or token_uid or "AD-HOC",
        },
        "auth_method": "WHITELIST" if token_uid else "COMMAND",
        "cdr_location": {
            "id": place.location_id[:36],
            "name": place.name,
            "address": place.address[:45],
            "city": place.city[:45],
            "postal_code": place.postal_code,
            "country": place.country_alpha_3,
            "coordinates": {
                "latitude": format(place.latitude, "f"),
                "longitude": format(place.longitude, "f"),
            },
            "evse_uid": place.evse_uid[:36],
            "evse_id": place.evse_id,
            "connector_id": place.connector_id,
            "connector_standard": place.connector_standard,
            "connector_format": place.connector_format,
            "connector_power_type": place.connector_power_type,
        },
        "currency": rated.currency,
        "charging_periods": render_periods(usage.periods, str(tariff_document.get("id", rated.tariff_id))),
        "last_updated": format_datetime(last_updated),
    }
    if document["cdr_location"]["postal_code"] is None:
        del document["cdr_location"]["postal_code"]
    return render_priced_cdr(document, rated, tariff_document=tariff_document, rounding=rounding)


# The batch path (``evbill rate --cdrs``): a reader that skips the checks' bookkeeping for a CDR
# that is well formed, and a writer of the priced CDR as one JSON line. Both give exactly what
# ``parse_cdr`` and ``render_priced_cdr`` + the CLI's JSON writer give: the reader builds the same
# values with the same operations and hands any CDR it is not sure of to ``parse_cdr`` (which
# reports every problem as it always did); the writer embeds the same digits as JSON fragments.


def read_cdr_usage(document: object) -> SessionUsage:
    """``parse_cdr(document).usage``, faster for a well-formed CDR; InvalidInput exactly as parse_cdr."""
    try:
        usage = _read_well_formed(document)
    except KeyError:  # a required member is missing: parse_cdr names it
        usage = None
    return usage if usage is not None else parse_cdr(document).usage


def _moment(value: object) -> datetime | None:
    if type(value) is not str:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


_FAST_SLOTS: dict[str, tuple[int, Decimal] | None] = {
    **{kind: None for kind in _INFORMATIVE},
    **_DIMENSION_SLOTS,
}


# A float volume's value in evbill's unit, by dimension and float: CDRs measure in kWh to a few
# decimals and hours to the second, so the same volumes come back often. Only floats are kept
# (an int equal to a float would find the float's Decimal, whose exponent may differ).
_FLOAT_VOLUMES: dict[str, dict[float, Decimal]] = {kind: {} for kind in _DIMENSION_SLOTS}
_FLOAT_VOLUMES_KEPT = 65_536  # per dimension; a table starts over past it


def _keep_volume(kind: str, value: float, volume: Decimal) -> None:
    table = _FLOAT_VOLUMES[kind]
    if len(table) >= _FLOAT_VOLUMES_KEPT:
        table.clear()
    table[value] = volume


def _read_well_formed(document: object) -> SessionUsage | None:
    """The usage of a CDR with nothing to report; None (or KeyError) at the first thing parse_cdr
    would look into. Required members are read by subscript: cheaper than ``get`` on the hot path."""
    if type(document) is not dict:
        return None
    start = _moment(document["start_date_time"])
    end = _moment(document["end_date_time"])
    currency = document["currency"]
    raw_periods = document["charging_periods"]
    if (
        start is None
        or end is None
        or end < start
        or type(currency) is not str
        or not currencies.is_known(currency)
        or type(raw_periods) is not list
        or not raw_periods
    ):
        return None
    periods: list[_RawPeriod] = []
    previous = None
    for raw in raw_periods:
        if type(raw) is not dict:
            return None
        period_start = _moment(raw["start_date_time"])
        dimensions = raw["dimensions"]
        if period_start is None or type(dimensions) is not list or not dimensions:
            return None
        if previous is not None and period_start <= previous:
            return None
        values: list[Decimal | None] = [None] * (len(_PERIOD_FIELDS) + 2)
        seen = set()
        for dimension in dimensions:
            if type(dimension) is not dict:
                return None
            kind = dimension["type"]
            if type(kind) is not str or kind in seen or kind not in _FAST_SLOTS:
                return None
            seen.add(kind)
            slot = _FAST_SLOTS[kind]
            if slot is None:
                continue
            value = dimension["volume"]
            kind_of_value = type(value)
            if kind_of_value is not float and kind_of_value is not int:
                return None
            # Compared before the Decimal is made: for a float, its shortest repr is above 10**9 (or
            # below 0) exactly when the float is (10**9 is a float; the repr reads back to the float).
            if not -MAX_VOLUME_NUMBER <= value <= MAX_VOLUME_NUMBER or (  # type: ignore[operator]
                value < 0 and kind not in _MAY_BE_NEGATIVE  # type: ignore[operator]
            ):
                return None  # also NaN (no comparison holds) and infinities
            position, factor = slot
            if kind_of_value is float and value:  # not 0.0 and -0.0 (equal keys, different Decimals)
                known = _FLOAT_VOLUMES[kind].get(value)
                if known is None:
                    volume = Decimal(repr(value))
                    known = _seconds(volume) if factor is SECONDS_PER_HOUR else volume * factor
                    _keep_volume(kind, value, known)
                values[position] = known
                continue
            volume = Decimal(repr(value)) if kind_of_value is float else Decimal(value)  # type: ignore[arg-type]
            values[position] = _seconds(volume) if factor is SECONDS_PER_HOUR else volume * factor
        tariff_id = raw.get("tariff_id")
        periods.append(_RawPeriod(period_start, values, tariff_id if isinstance(tariff_id, str) else None))
        previous = period_start
    if periods[0].start < start or periods[-1].start > end:
        return None
    cdr_id = document.get("id")
    return SessionUsage(
        start, end, currency, tuple(_close(periods, end)), cdr_id if isinstance(cdr_id, str) else ""
    )


def priced_cdr_line(
    document: Mapping[str, Any],
    totals: FastTotals,
    *,
    currency: str,
    tariff_json: bytes,
    rounding: RoundingMode,
) -> bytes:
    """``render_priced_cdr`` written as the CLI writes it (``tariffs`` = the tariff's JSON bytes).

    Byte for byte what ``output.dumps`` makes of the rendered document: every amount and quantity is
    the same Decimal's digits (``format(value, "f")``), embedded as a JSON fragment.
    """
    quantum, zero = _minor_unit(currency)
    mode = rounding.decimal_rounding
    Fragment = orjson.Fragment  # noqa: N806
    settled = _SETTLED.get((quantum, mode))
    if settled is None or len(settled) > _SETTLED_KEPT:
        settled = _SETTLED[(quantum, mode)] = {}

    def amount_json(amount: Decimal) -> orjson.Fragment:
        # _settled's digits: rounding to the minor unit directly gives the same coefficient and
        # exponent as round_to_minor_units(...) scaled back (both exact at this precision); with an
        # exponent of 0 to -4, str() is format(..., "f"). Positional arguments: keywords are slow.
        # The same amounts come back often (a start fee, whole parking steps): kept by their digits,
        # since hashing a new Decimal costs more than its str() and rounding it together.
        if not amount:
            return zero
        digits = str(amount)
        known = settled.get(digits)  # type: ignore[union-attr]
        if known is None:
            rounded = amount.quantize(quantum, mode, PRECISE_CONTEXT)
            known = settled[digits] = Fragment(str(rounded)) if rounded else zero  # type: ignore[index]
        return known

    # A category without lines (no time, no reservation, often no parking) costs nothing: its
    # price is written from the currency's zero without looking at the amounts any further.
    if totals.with_vat:
        nothing = {"excl_vat": zero, "incl_vat": zero}

        def price(cost: Cost) -> dict[str, orjson.Fragment]:
            excl, incl = cost
            if not excl and not incl:
                return nothing
            return {"excl_vat": amount_json(excl), "incl_vat": amount_json(incl)}
    else:
        nothing = {"excl_vat": zero}

        def price(cost: Cost) -> dict[str, orjson.Fragment]:
            excl = cost[0]
            return {"excl_vat": amount_json(excl)} if excl else nothing

    priced = dict(document)
    priced["tariffs"] = [Fragment(tariff_json)]
    priced["total_cost"] = price(totals.total_cost)
    priced["total_fixed_cost"] = price(totals.total_fixed_cost)
    priced["total_energy"] = _quantity(totals.total_energy_wh / WH_PER_KWH)
    priced["total_energy_cost"] = price(totals.total_energy_cost)
    priced["total_time"] = _hours(totals.total_time_s)
    priced["total_time_cost"] = price(totals.total_time_cost)
    priced["total_parking_time"] = _hours(totals.total_parking_s)
    priced["total_parking_cost"] = price(totals.total_parking_cost)
    priced["total_reservation_cost"] = price(totals.total_reservation_cost)
    return orjson.dumps(priced, default=_no_default)


_MINOR_UNITS: dict[str, tuple[Decimal, orjson.Fragment]] = {}
# Settled amounts as JSON by (minor unit, rounding) and the precise amount's str(); each table
# starts over past its size.
_SETTLED: dict[tuple[Decimal, str], dict[str, orjson.Fragment]] = {}
_SETTLED_KEPT = 4096


def _minor_unit(currency: str) -> tuple[Decimal, orjson.Fragment]:
    """The currency's minor unit as a quantum (0.01 for EUR) and its zero as JSON ("0.00")."""
    known = _MINOR_UNITS.get(currency)
    if known is None:
        places = currencies.exponent(currency)
        zero = orjson.Fragment(format(Decimal(0).scaleb(-places), "f"))
        known = _MINOR_UNITS[currency] = (Decimal(1).scaleb(-places), zero)
    return known


def _quantity(value: Decimal) -> orjson.Fragment:
    """``ocpi_number(value)`` as JSON (its operations, with positional arguments)."""
    if not value:
        return _ZERO_QUANTITY
    return orjson.Fragment(format(value.quantize(NUMBER_QUANTUM, ROUND_HALF_UP).normalize(), "f"))


_ZERO_QUANTITY = orjson.Fragment(format(Decimal(0), "f"))
# Hours as JSON by the seconds' digits: sessions and parking of the same whole seconds come back often.
_HOURS: dict[str, orjson.Fragment] = {}
_HOURS_KEPT = 65_536


def _hours(seconds: Decimal) -> orjson.Fragment:
    """``_quantity(seconds / SECONDS_PER_HOUR)``, kept by the seconds' digits."""
    if not seconds:
        return _ZERO_QUANTITY
    digits = str(seconds)
    known = _HOURS.get(digits)
    if known is None:
        if len(_HOURS) >= _HOURS_KEPT:
            _HOURS.clear()
        known = _HOURS[digits] = _quantity(seconds / SECONDS_PER_HOUR)
    return known


def _no_default(value: object) -> object:
    """The CLI writer's fallback (``output._default``), for anything but the fragments above."""
    if isinstance(value, Decimal):
        return orjson.Fragment(format(value, "f"))
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")
