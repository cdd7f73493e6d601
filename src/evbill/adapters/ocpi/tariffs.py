"""OCPI 2.2.1 Tariff documents in and out: decoded JSON <-> ``evbill.domain.tariffs.model.Tariff``.

``parse_tariff`` checks a whole document against OCPI 2.2.1 (mod_tariffs, types) and collects every
problem with its JSONPath instead of stopping at the first. Errors make it raise ``InvalidInput``
(whose ``problems`` also carry the warnings); a valid document gives a ``ParsedTariff``: the domain
tariff plus the warnings (unknown fields, a defaulted ``step_size`` ...). Numbers become exact
``Decimal`` (a float through its repr: ``0.1`` stays ``Decimal('0.1')``); numeric strings are accepted,
booleans are not numbers. Times of day become minutes after midnight, DateTimes aware UTC datetimes.

    >>> parsed = parse_tariff({
    ...     "country_code": "DE", "party_id": "ALL", "id": "12", "currency": "EUR",
    ...     "elements": [{"price_components": [{"type": "TIME", "price": 2.1, "vat": 10, "step_size": 60}],
    ...                   "restrictions": {"start_time": "09:00", "day_of_week": ["MONDAY"]}}],
    ...     "last_updated": "2015-06-29T22:39:09+02:00",
    ... })
    >>> parsed.tariff.elements[0].price_components[0].price, parsed.tariff.last_updated.isoformat()
    (Decimal('2.1'), '2015-06-29T20:39:09+00:00')
    >>> parsed.tariff.elements[0].restrictions.start_minute, parsed.warnings
    (540, ())
    >>> try:
    ...     parse_tariff({"country_code": "DE", "party_id": "ALL", "id": "13", "currency": "EURO",
    ...                   "elements": [{"price_components": [{"type": "ENERGY", "price": -0.25}]}]})
    ... except InvalidInput as error:
    ...     print(error)  # doctest: +NORMALIZE_WHITESPACE
    tariff is invalid
      error: $.currency: 'EURO' is not an ISO 4217 currency code
      error: $.elements[0].price_components[0].price: must not be negative (-0.25): evbill refuses negative
        unit prices; give discounts through plans or promotions
      warning: $.elements[0].price_components[0].step_size: missing, but OCPI requires it; 1 is used
      warning: $.last_updated: missing, but OCPI requires it; the tariff's last change is unknown

Decisions beyond the letter of the spec: ``last_updated`` missing is a warning (the spec's own PUT
example omits it); a FLAT component may have ``step_size`` 0 (FLAT has no unit to step; the spec's
free-of-charge example uses 0); an empty ``day_of_week`` list is an error, because it reads either as
"never" or (as many serialisers write an absent list) "every day", and the two price sessions
completely differently; a day listed twice is a warning. ``render_tariff`` is the inverse.
"""

from __future__ import annotations

import copy
import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from evbill.adapters.ocpi.readers import (
    MAX_TEXT,
    Problems,
    json_type,
    member,
    one_of,
    optional,
    read_country_code,
    read_currency,
    read_date,
    read_date_time,
    read_integer,
    read_language,
    read_list,
    read_minute_of_day,
    read_object,
    read_party_id,
    read_quantity,
    read_seconds,
    read_string,
    read_tariff_id,
    read_unit_price,
    read_url,
    read_vat,
    required,
)
from evbill.domain.errors import InvalidInput, Problem
from evbill.domain.tariffs.model import (
    DayOfWeek,
    DisplayText,
    Price,
    PriceComponent,
    ReservationRestriction,
    Restrictions,
    Tariff,
    TariffDimension,
    TariffElement,
    TariffType,
)

T = TypeVar("T")
E = TypeVar("E", bound=enum.StrEnum)


@dataclass(frozen=True, slots=True)
class ParsedTariff:
    tariff: Tariff
    warnings: tuple[Problem, ...]


RESERVATION_DIMENSIONS = frozenset({TariffDimension.FLAT, TariffDimension.TIME})
read_tariff_type = one_of(TariffType)
read_dimension = one_of(TariffDimension)
read_day = one_of(DayOfWeek)
read_reservation = one_of(ReservationRestriction)


def parse_tariff(document: object) -> ParsedTariff:
    """The domain tariff of an OCPI 2.2.1 Tariff document; raises InvalidInput listing every problem."""
    problems = Problems()
    tariff = _read_tariff(document, problems)
    if tariff is None or problems.has_errors():
        raise InvalidInput("tariff is invalid", problems=tuple(problems.found))
    return ParsedTariff(tariff, tuple(problems.found))


# --- objects ---------------------------------------------------------------------------------------

_DISPLAY_TEXT_FIELDS = frozenset({"language", "text"})
_PRICE_FIELDS = frozenset({"excl_vat", "incl_vat"})
_COMPONENT_FIELDS = frozenset({"type", "price", "vat", "step_size"})
_ELEMENT_FIELDS = frozenset({"price_components", "restrictions"})


def _read_display_text(value: object, path: str, problems: Problems) -> DisplayText | None:
    obj = read_object(value, path, problems, _DISPLAY_TEXT_FIELDS, "DisplayText")
    if obj is None:
        return None
    language = required(obj, "language", path, problems, read_language)
    text = required(obj, "text", path, problems, read_string)
    if text is not None and len(text) > MAX_TEXT:
        problems.error(member(path, "text"), f"must be at most {MAX_TEXT} characters, not {len(text)}")
    elif text is not None and not text.isprintable():
        problems.warn(
            member(path, "text"), "contains control characters (such as line breaks), not allowed by OCPI"
        )
    if language is None or text is None:
        return None
    return DisplayText(language, text)


def _read_display_texts(value: object, path: str, problems: Problems) -> tuple[DisplayText, ...] | None:
    return read_list(value, path, problems, _read_display_text)


def _read_price(value: object, path: str, problems: Problems) -> Price | None:
    obj = read_object(value, path, problems, _PRICE_FIELDS, "Price")
    if obj is None:
        return None
    excl_vat = required(obj, "excl_vat", path, problems, read_quantity)
    incl_vat = optional(obj, "incl_vat", path, problems, read_quantity)
    if excl_vat is None:
        return None
    if incl_vat is not None and incl_vat < excl_vat:
        problems.error(member(path, "incl_vat"), f"must not be below excl_vat ({incl_vat} < {excl_vat})")
    return Price(excl_vat, incl_vat)


def _read_component(value: object, path: str, problems: Problems) -> PriceComponent | None:
    obj = read_object(value, path, problems, _COMPONENT_FIELDS, "PriceComponent")
    if obj is None:
        return None
    dimension = required(obj, "type", path, problems, read_dimension)
    price = required(obj, "price", path, problems, read_unit_price)
    vat = optional(obj, "vat", path, problems, read_vat)
    step_size = _read_step_size(obj, path, problems, dimension)
    if dimension is None or price is None or step_size is None:
        return None
    return PriceComponent(dimension, price, vat, step_size)


def _read_step_size(
    obj: Mapping[str, object], path: str, problems: Problems, dimension: TariffDimension | None
) -> int | None:
    path = member(path, "step_size")
    if obj.get("step_size") is None:
        problems.warn(path, "missing, but OCPI requires it; 1 is used")
        return 1
    if dimension is TariffDimension.FLAT:  # FLAT has no unit to step: 0 is fine (spec example 5)
        return read_integer(obj["step_size"], path, problems, minimum=0, requirement="an integer, 0 or more")
    return read_integer(obj["step_size"], path, problems, minimum=1, requirement="a positive integer")


def _read_components(value: object, path: str, problems: Problems) -> tuple[PriceComponent, ...] | None:
    empty = "must list at least one price component"
    return read_list(value, path, problems, _read_component, empty_error=empty)


def _read_element(value: object, path: str, problems: Problems) -> TariffElement | None:
    obj = read_object(value, path, problems, _ELEMENT_FIELDS, "TariffElement")
    if obj is None:
        return None
    components = required(obj, "price_components", path, problems, _read_components)
    restrictions = optional(obj, "restrictions", path, problems, _read_restrictions)
    if components is None:
        return None
    if restrictions is not None and restrictions.reservation is not None:
        _check_reservation_components(components, path, problems)
    return TariffElement(components, restrictions)


def _check_reservation_components(
    components: tuple[PriceComponent, ...], path: str, problems: Problems
) -> None:
    for index, component in enumerate(components):
        if component.dimension not in RESERVATION_DIMENSIONS:
            problems.error(
                f"{path}.price_components[{index}].type",
                f"a reservation element may only have FLAT and TIME components, not {component.dimension}",
            )


def _read_elements(value: object, path: str, problems: Problems) -> tuple[TariffElement, ...] | None:
    return read_list(
        value, path, problems, _read_element, empty_error="must list at least one tariff element"
    )


def _read_energy_mix(value: object, path: str, problems: Problems) -> dict[str, Any] | None:
    if not isinstance(value, Mapping):
        problems.error(path, f"must be an object (EnergyMix), not {json_type(value)}")
        return None
    return copy.deepcopy(dict(value))  # kept verbatim, passed on untouched


# --- restrictions ----------------------------------------------------------------------------------


def _read_days(value: object, path: str, problems: Problems) -> frozenset[DayOfWeek] | None:
    empty = "must not be empty: an empty list matches no day; omit day_of_week to mean every day"
    days = read_list(value, path, problems, read_day, empty_error=empty)
    if days is None:
        return None
    for index, day in enumerate(days):
        if day in days[:index]:
            problems.warn(f"{path}[{index}]", f"{day} is listed twice; the repeat is ignored")
    return frozenset(days)


def _render_minute_of_day(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _render_days(days: frozenset[DayOfWeek]) -> list[str]:
    return [day.value for day in DayOfWeek if day in days]


def _as_is(value: object) -> object:
    return value


@dataclass(frozen=True, slots=True)
class _RestrictionField:
    """One OCPI TariffRestrictions field: its JSON name, the Restrictions attribute, both directions."""

    name: str
    attribute: str
    read: Callable[[object, str, Problems], Any]
    render: Callable[[Any], object] = _as_is


_RESTRICTION_FIELDS = (
    _RestrictionField("start_time", "start_minute", read_minute_of_day, _render_minute_of_day),
    _RestrictionField("end_time", "end_minute", read_minute_of_day, _render_minute_of_day),
    _RestrictionField("start_date", "start_date", read_date, date.isoformat),
    _RestrictionField("end_date", "end_date", read_date, date.isoformat),
    *(
        _RestrictionField(name, name, read_quantity)
        for name in ("min_kwh", "max_kwh", "min_current", "max_current", "min_power", "max_power")
    ),
    _RestrictionField("min_duration", "min_duration", read_seconds),
    _RestrictionField("max_duration", "max_duration", read_seconds),
    _RestrictionField("day_of_week", "days_of_week", _read_days, _render_days),
    _RestrictionField("reservation", "reservation", read_reservation, str),
)
_RESTRICTION_NAMES = frozenset(field.name for field in _RESTRICTION_FIELDS)


def _read_restrictions(value: object, path: str, problems: Problems) -> Restrictions | None:
    obj = read_object(value, path, problems, _RESTRICTION_NAMES, "TariffRestrictions")
    if obj is None:
        return None
    values = {
        field.attribute: optional(obj, field.name, path, problems, field.read)
        for field in _RESTRICTION_FIELDS
    }
    return Restrictions(**values)


# --- the tariff ------------------------------------------------------------------------------------

_TARIFF_FIELDS = frozenset(
    {
        "country_code", "party_id", "id", "currency", "type", "tariff_alt_text", "tariff_alt_url",
        "min_price", "max_price", "elements", "start_date_time", "end_date_time", "energy_mix",
        "last_updated",
    }
)  # fmt: skip


def _read_tariff(document: object, problems: Problems) -> Tariff | None:
    obj = read_object(document, "$", problems, _TARIFF_FIELDS, "OCPI Tariff")
    if obj is None:
        return None
    country_code = required(obj, "country_code", "$", problems, read_country_code)
    party_id = required(obj, "party_id", "$", problems, read_party_id)
    tariff_id = required(obj, "id", "$", problems, read_tariff_id)
    currency = required(obj, "currency", "$", problems, read_currency)
    tariff_type = optional(obj, "type", "$", problems, read_tariff_type)
    alt_text = optional(obj, "tariff_alt_text", "$", problems, _read_display_texts)
    alt_url = optional(obj, "tariff_alt_url", "$", problems, read_url)
    min_price = optional(obj, "min_price", "$", problems, _read_price)
    max_price = optional(obj, "max_price", "$", problems, _read_price)
    elements = required(obj, "elements", "$", problems, _read_elements)
    start = optional(obj, "start_date_time", "$", problems, read_date_time)
    end = optional(obj, "end_date_time", "$", problems, read_date_time)
    energy_mix = optional(obj, "energy_mix", "$", problems, _read_energy_mix)
    last_updated = optional(obj, "last_updated", "$", problems, read_date_time)
    if obj.get("last_updated") is None:
        problems.warn("$.last_updated", "missing, but OCPI requires it; the tariff's last change is unknown")
    _check_price_bounds(min_price, max_price, problems)
    if start is not None and end is not None and start >= end:
        problems.error("$.end_date_time", f"must be after start_date_time ({_render_date_time(start)})")
    if country_code is None or party_id is None or tariff_id is None or currency is None or elements is None:
        return None
    return Tariff(
        id=tariff_id, currency=currency, elements=elements, country_code=country_code, party_id=party_id,
        type=tariff_type, alt_text=alt_text or (), alt_url=alt_url, min_price=min_price,
        max_price=max_price, start_date_time=start, end_date_time=end, last_updated=last_updated,
        extra={} if energy_mix is None else {"energy_mix": energy_mix},
    )  # fmt: skip


def _check_price_bounds(min_price: Price | None, max_price: Price | None, problems: Problems) -> None:
    """A session cannot cost at least min_price and at most max_price if min_price is the larger."""
    if min_price is None or max_price is None:
        return
    if min_price.excl_vat > max_price.excl_vat:
        problems.error(
            "$.min_price.excl_vat",
            f"must not be above max_price.excl_vat ({min_price.excl_vat} > {max_price.excl_vat})",
        )
    if min_price.incl_vat is not None and max_price.incl_vat is not None:
        if min_price.incl_vat > max_price.incl_vat:
            problems.error(
                "$.min_price.incl_vat",
                f"must not be above max_price.incl_vat ({min_price.incl_vat} > {max_price.incl_vat})",
            )


# --- rendering -------------------------------------------------------------------------------------


def render_tariff(tariff: Tariff) -> dict[str, object]:
    """The OCPI 2.2.1 Tariff object of ``tariff`` (numbers stay ``Decimal``; the JSON encoder decides)."""
    fields: dict[str, object | None] = {
        "country_code": tariff.country_code,
        "party_id": tariff.party_id,
        "id": tariff.id,
        "currency": tariff.currency,
        "type": None if tariff.type is None else tariff.type.value,
        "tariff_alt_text": [{"language": text.language, "text": text.text} for text in tariff.alt_text]
        or None,
        "tariff_alt_url": tariff.alt_url,
        "min_price": _render_price(tariff.min_price),
        "max_price": _render_price(tariff.max_price),
        "elements": [_render_element(element) for element in tariff.elements],
        "start_date_time": _render_date_time(tariff.start_date_time),
        "end_date_time": _render_date_time(tariff.end_date_time),
        "energy_mix": copy.deepcopy(tariff.extra.get("energy_mix")),
        "last_updated": _render_date_time(tariff.last_updated),
    }
    return {name: value for name, value in fields.items() if value is not None}


def _render_price(price: Price | None) -> dict[str, object] | None:
    if price is None:
        return None
    rendered: dict[str, object] = {"excl_vat": price.excl_vat}
    if price.incl_vat is not None:
        rendered["incl_vat"] = price.incl_vat
    return rendered


def _render_element(element: TariffElement) -> dict[str, object]:
    rendered: dict[str, object] = {
        "price_components": [_render_component(component) for component in element.price_components]
    }
    if element.restrictions is not None:
        rendered["restrictions"] = _render_restrictions(element.restrictions)
    return rendered


def _render_component(component: PriceComponent) -> dict[str, object]:
    rendered: dict[str, object] = {"type": component.dimension.value, "price": component.price}
    if component.vat is not None:
        rendered["vat"] = component.vat
    rendered["step_size"] = component.step_size
    return rendered


def _render_restrictions(restrictions: Restrictions) -> dict[str, object]:
    rendered: dict[str, object] = {}
    for field in _RESTRICTION_FIELDS:
        value = getattr(restrictions, field.attribute)
        if value is not None:
            rendered[field.name] = field.render(value)
    return rendered


def _render_date_time(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    moment = moment.astimezone(UTC)
    fraction = f".{moment.microsecond:06d}".rstrip("0") if moment.microsecond else ""
    return moment.replace(microsecond=0, tzinfo=None).isoformat() + fraction + "Z"
