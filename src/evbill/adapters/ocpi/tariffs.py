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
import difflib
import enum
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, TypeVar

from evbill.domain import currency as currencies
from evbill.domain.errors import InvalidInput, Problem, Severity
from evbill.domain.money import to_decimal
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


class _Problems:
    """Everything found wrong with one document, object by object (its unknown fields first)."""

    def __init__(self) -> None:
        self.found: list[Problem] = []

    def error(self, path: str, message: str) -> None:
        self.found.append(Problem(path, message))

    def warn(self, path: str, message: str) -> None:
        self.found.append(Problem(path, message, Severity.WARNING))

    def has_errors(self) -> bool:
        return any(problem.severity is Severity.ERROR for problem in self.found)


Reader = Callable[[object, str, _Problems], T | None]

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_COUNTRY_CODE = re.compile(r"[A-Z]{2}")
_PARTY_ID = re.compile(r"[A-Za-z0-9]{3}")
_CI_STRING_36 = re.compile(r"[\x20-\x7e]{1,36}")
_LANGUAGE = re.compile(r"[A-Za-z]{2}")
_TIME_OF_DAY = re.compile(r"([0-1][0-9]|2[0-3]):([0-5][0-9])")
_DATE = re.compile(r"([12][0-9]{3})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])")
_DATE_TIME = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})[Tt](?P<hour>\d{2}):(?P<minute>\d{2}):(?P<second>\d{2})"
    r"(?:\.(?P<fraction>\d{1,9}))?(?:(?P<utc>[Zz])|(?P<sign>[+-])(?P<offset>[01]\d|2[0-3]):(?P<offset_minute>[0-5]\d))?"
)
_MAX_TEXT = 512
_MAX_URL = 255
_RESERVATION_DIMENSIONS = frozenset({TariffDimension.FLAT, TariffDimension.TIME})


def parse_tariff(document: object) -> ParsedTariff:
    """The domain tariff of an OCPI 2.2.1 Tariff document; raises InvalidInput listing every problem."""
    problems = _Problems()
    tariff = _read_tariff(document, problems)
    if tariff is None or problems.has_errors():
        raise InvalidInput("tariff is invalid", problems=tuple(problems.found))
    return ParsedTariff(tariff, tuple(problems.found))


# --- structure -------------------------------------------------------------------------------------


def _member(path: str, key: str) -> str:
    return f"{path}.{key}" if _IDENTIFIER.fullmatch(key) else f"{path}[{key!r}]"


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float | Decimal):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "a list" if isinstance(value, list) else "an object"


def _read_object(
    value: object, path: str, problems: _Problems, fields: frozenset[str], kind: str
) -> Mapping[str, object] | None:
    """``value`` as a JSON object; fields not in ``fields`` are warned about (typos) and ignored."""
    if not isinstance(value, Mapping):
        problems.error(path, f"must be an object ({kind}), not {_json_type(value)}")
        return None
    for key in value:
        if key not in fields:
            guess = difflib.get_close_matches(str(key), fields, n=1)
            hint = f" (did you mean {guess[0]!r}?)" if guess else ""
            problems.warn(_member(path, str(key)), f"unknown field, ignored{hint}")
    return value


def _optional(
    obj: Mapping[str, object], key: str, path: str, problems: _Problems, read: Reader[T]
) -> T | None:
    """An optional field: absent and null both mean "not given"."""
    value = obj.get(key)
    return None if value is None else read(value, _member(path, key), problems)


def _required(
    obj: Mapping[str, object], key: str, path: str, problems: _Problems, read: Reader[T]
) -> T | None:
    if obj.get(key) is None:
        problems.error(
            _member(path, key), "required field is missing" if key not in obj else "must not be null"
        )
        return None
    return read(obj[key], _member(path, key), problems)


def _read_list(
    value: object, path: str, problems: _Problems, read_item: Reader[T], *, empty_error: str | None = None
) -> tuple[T, ...] | None:
    if not isinstance(value, list):
        problems.error(path, f"must be a list, not {_json_type(value)}")
        return None
    if not value and empty_error is not None:
        problems.error(path, empty_error)
        return None
    items = [read_item(item, f"{path}[{index}]", problems) for index, item in enumerate(value)]
    valid = tuple(item for item in items if item is not None)
    return valid if len(valid) == len(items) else None


# --- scalars ---------------------------------------------------------------------------------------


def _read_string(value: object, path: str, problems: _Problems) -> str | None:
    if not isinstance(value, str):
        problems.error(path, f"must be a string, not {_json_type(value)}")
        return None
    return value


def _matching(pattern: re.Pattern[str], requirement: str) -> Reader[str]:
    def read(value: object, path: str, problems: _Problems) -> str | None:
        text = _read_string(value, path, problems)
        if text is not None and not pattern.fullmatch(text):
            problems.error(path, f"must be {requirement}, not {text!r}")
            return None
        return text

    return read


_read_country_code = _matching(_COUNTRY_CODE, "2 upper-case letters (ISO 3166-1 alpha-2, e.g. 'DE')")
_read_party_id = _matching(_PARTY_ID, "3 letters or digits (e.g. 'ALL')")
_read_tariff_id = _matching(_CI_STRING_36, "1 to 36 printable ASCII characters")
_read_language = _matching(_LANGUAGE, "2 letters (ISO 639-1, e.g. 'en')")


def _read_currency(value: object, path: str, problems: _Problems) -> str | None:
    code = _read_string(value, path, problems)
    if code is not None and not currencies.is_known(code):
        problems.error(path, f"{code!r} is not an ISO 4217 currency code")
        return None
    return code


def _one_of(enum_type: type[E]) -> Reader[E]:
    allowed = ", ".join(member.value for member in enum_type)

    def read(value: object, path: str, problems: _Problems) -> E | None:
        text = _read_string(value, path, problems)
        if text is None:
            return None
        try:
            return enum_type(text)
        except ValueError:
            problems.error(path, f"{text!r} is not a {enum_type.__name__}; allowed: {allowed}")
            return None

    return read


_read_tariff_type = _one_of(TariffType)
_read_dimension = _one_of(TariffDimension)
_read_day = _one_of(DayOfWeek)
_read_reservation = _one_of(ReservationRestriction)


# No price, quantity or duration in a tariff comes near this; bounding it keeps every amount rating
# computes well inside its 34 significant digits.
MAX_MAGNITUDE = Decimal(10) ** 9


def _read_number(value: object, path: str, problems: _Problems) -> Decimal | None:
    try:
        number = to_decimal(value, path=path)
    except InvalidInput as error:
        problems.found.extend(error.problems)
        return None
    if abs(number) > MAX_MAGNITUDE:
        problems.error(path, f"is too large ({number}); at most {MAX_MAGNITUDE:,} is accepted")
        return None
    return number


def _at_least_zero(message: str) -> Reader[Decimal]:
    def read(value: object, path: str, problems: _Problems) -> Decimal | None:
        number = _read_number(value, path, problems)
        if number is not None and number < 0:
            problems.error(path, f"must not be negative ({number}){message}")
            return None
        return number

    return read


_read_quantity = _at_least_zero("")
_read_unit_price = _at_least_zero(
    ": evbill refuses negative unit prices; give discounts through plans or promotions"
)


def _read_vat(value: object, path: str, problems: _Problems) -> Decimal | None:
    number = _read_number(value, path, problems)
    if number is not None and not 0 <= number <= 100:
        problems.error(path, f"must be a percentage from 0 to 100, not {number}")
        return None
    return number


def _read_integer(
    value: object, path: str, problems: _Problems, *, minimum: int, requirement: str
) -> int | None:
    number = _read_number(value, path, problems)
    if number is None:
        return None
    if number != number.to_integral_value() or number < minimum:
        problems.error(path, f"must be {requirement}, not {number}")
        return None
    return int(number)


def _read_seconds(value: object, path: str, problems: _Problems) -> int | None:
    return _read_integer(value, path, problems, minimum=0, requirement="a whole number of seconds, 0 or more")


def _read_minute_of_day(value: object, path: str, problems: _Problems) -> int | None:
    text = _read_string(value, path, problems)
    match = None if text is None else _TIME_OF_DAY.fullmatch(text)
    if match is None:
        if text is not None:
            problems.error(path, f"must be a time of day from 00:00 to 23:59 (HH:MM, 24-hour), not {text!r}")
        return None
    return int(match[1]) * 60 + int(match[2])


def _read_date(value: object, path: str, problems: _Problems) -> date | None:
    text = _read_string(value, path, problems)
    match = None if text is None else _DATE.fullmatch(text)
    if match is None:
        if text is not None:
            problems.error(path, f"must be a date YYYY-MM-DD, not {text!r}")
        return None
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        problems.error(path, f"{text!r} is not a real date")
        return None


def _read_date_time(value: object, path: str, problems: _Problems) -> datetime | None:
    """RFC 3339 with Z or an offset, or without a designator, which OCPI defines as UTC."""
    text = _read_string(value, path, problems)
    match = None if text is None else _DATE_TIME.fullmatch(text)
    if match is None:
        if text is not None:
            problems.error(
                path, f"must be an RFC 3339 date-time such as '2015-06-29T20:39:09Z', not {text!r}"
            )
        return None
    zone = UTC
    if match["sign"]:
        offset = timedelta(hours=int(match["offset"]), minutes=int(match["offset_minute"]))
        zone = timezone(-offset if match["sign"] == "-" else offset)
    # datetime holds microseconds; finer digits are cut (no timestamp here needs them).
    microsecond = int((match["fraction"] or "")[:6].ljust(6, "0"))
    try:
        day = date.fromisoformat(match["date"])
        clock = (int(match["hour"]), int(match["minute"]), int(match["second"]), microsecond)
        return datetime(day.year, day.month, day.day, *clock, tzinfo=zone).astimezone(UTC)
    except ValueError:
        problems.error(path, f"{text!r} is not a real date and time")
        return None


def _read_url(value: object, path: str, problems: _Problems) -> str | None:
    url = _read_string(value, path, problems)
    if url is None:
        return None
    if len(url) > _MAX_URL:
        problems.error(path, f"must be at most {_MAX_URL} characters, not {len(url)}")
        return None
    if not url.startswith(("https://", "http://")):
        problems.warn(path, "is not an http(s) URL; drivers may not be able to open it")
    return url


# --- objects ---------------------------------------------------------------------------------------

_DISPLAY_TEXT_FIELDS = frozenset({"language", "text"})
_PRICE_FIELDS = frozenset({"excl_vat", "incl_vat"})
_COMPONENT_FIELDS = frozenset({"type", "price", "vat", "step_size"})
_ELEMENT_FIELDS = frozenset({"price_components", "restrictions"})


def _read_display_text(value: object, path: str, problems: _Problems) -> DisplayText | None:
    obj = _read_object(value, path, problems, _DISPLAY_TEXT_FIELDS, "DisplayText")
    if obj is None:
        return None
    language = _required(obj, "language", path, problems, _read_language)
    text = _required(obj, "text", path, problems, _read_string)
    if text is not None and len(text) > _MAX_TEXT:
        problems.error(_member(path, "text"), f"must be at most {_MAX_TEXT} characters, not {len(text)}")
    elif text is not None and not text.isprintable():
        problems.warn(
            _member(path, "text"), "contains control characters (such as line breaks), not allowed by OCPI"
        )
    if language is None or text is None:
        return None
    return DisplayText(language, text)


def _read_display_texts(value: object, path: str, problems: _Problems) -> tuple[DisplayText, ...] | None:
    return _read_list(value, path, problems, _read_display_text)


def _read_price(value: object, path: str, problems: _Problems) -> Price | None:
    obj = _read_object(value, path, problems, _PRICE_FIELDS, "Price")
    if obj is None:
        return None
    excl_vat = _required(obj, "excl_vat", path, problems, _read_quantity)
    incl_vat = _optional(obj, "incl_vat", path, problems, _read_quantity)
    if excl_vat is None:
        return None
    if incl_vat is not None and incl_vat < excl_vat:
        problems.error(_member(path, "incl_vat"), f"must not be below excl_vat ({incl_vat} < {excl_vat})")
    return Price(excl_vat, incl_vat)


def _read_component(value: object, path: str, problems: _Problems) -> PriceComponent | None:
    obj = _read_object(value, path, problems, _COMPONENT_FIELDS, "PriceComponent")
    if obj is None:
        return None
    dimension = _required(obj, "type", path, problems, _read_dimension)
    price = _required(obj, "price", path, problems, _read_unit_price)
    vat = _optional(obj, "vat", path, problems, _read_vat)
    step_size = _read_step_size(obj, path, problems, dimension)
    if dimension is None or price is None or step_size is None:
        return None
    return PriceComponent(dimension, price, vat, step_size)


def _read_step_size(
    obj: Mapping[str, object], path: str, problems: _Problems, dimension: TariffDimension | None
) -> int | None:
    path = _member(path, "step_size")
    if obj.get("step_size") is None:
        problems.warn(path, "missing, but OCPI requires it; 1 is used")
        return 1
    if dimension is TariffDimension.FLAT:  # FLAT has no unit to step: 0 is fine (spec example 5)
        return _read_integer(obj["step_size"], path, problems, minimum=0, requirement="an integer, 0 or more")
    return _read_integer(obj["step_size"], path, problems, minimum=1, requirement="a positive integer")


def _read_components(value: object, path: str, problems: _Problems) -> tuple[PriceComponent, ...] | None:
    empty = "must list at least one price component"
    return _read_list(value, path, problems, _read_component, empty_error=empty)


def _read_element(value: object, path: str, problems: _Problems) -> TariffElement | None:
    obj = _read_object(value, path, problems, _ELEMENT_FIELDS, "TariffElement")
    if obj is None:
        return None
    components = _required(obj, "price_components", path, problems, _read_components)
    restrictions = _optional(obj, "restrictions", path, problems, _read_restrictions)
    if components is None:
        return None
    if restrictions is not None and restrictions.reservation is not None:
        _check_reservation_components(components, path, problems)
    return TariffElement(components, restrictions)


def _check_reservation_components(
    components: tuple[PriceComponent, ...], path: str, problems: _Problems
) -> None:
    for index, component in enumerate(components):
        if component.dimension not in _RESERVATION_DIMENSIONS:
            problems.error(
                f"{path}.price_components[{index}].type",
                f"a reservation element may only have FLAT and TIME components, not {component.dimension}",
            )


def _read_elements(value: object, path: str, problems: _Problems) -> tuple[TariffElement, ...] | None:
    return _read_list(
        value, path, problems, _read_element, empty_error="must list at least one tariff element"
    )


def _read_energy_mix(value: object, path: str, problems: _Problems) -> dict[str, Any] | None:
    if not isinstance(value, Mapping):
        problems.error(path, f"must be an object (EnergyMix), not {_json_type(value)}")
        return None
    return copy.deepcopy(dict(value))  # kept verbatim, passed on untouched


# --- restrictions ----------------------------------------------------------------------------------


def _read_days(value: object, path: str, problems: _Problems) -> frozenset[DayOfWeek] | None:
    empty = "must not be empty: an empty list matches no day; omit day_of_week to mean every day"
    days = _read_list(value, path, problems, _read_day, empty_error=empty)
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
    read: Callable[[object, str, _Problems], Any]
    render: Callable[[Any], object] = _as_is


_RESTRICTION_FIELDS = (
    _RestrictionField("start_time", "start_minute", _read_minute_of_day, _render_minute_of_day),
    _RestrictionField("end_time", "end_minute", _read_minute_of_day, _render_minute_of_day),
    _RestrictionField("start_date", "start_date", _read_date, date.isoformat),
    _RestrictionField("end_date", "end_date", _read_date, date.isoformat),
    *(
        _RestrictionField(name, name, _read_quantity)
        for name in ("min_kwh", "max_kwh", "min_current", "max_current", "min_power", "max_power")
    ),
    _RestrictionField("min_duration", "min_duration", _read_seconds),
    _RestrictionField("max_duration", "max_duration", _read_seconds),
    _RestrictionField("day_of_week", "days_of_week", _read_days, _render_days),
    _RestrictionField("reservation", "reservation", _read_reservation, str),
)
_RESTRICTION_NAMES = frozenset(field.name for field in _RESTRICTION_FIELDS)


def _read_restrictions(value: object, path: str, problems: _Problems) -> Restrictions | None:
    obj = _read_object(value, path, problems, _RESTRICTION_NAMES, "TariffRestrictions")
    if obj is None:
        return None
    values = {
        field.attribute: _optional(obj, field.name, path, problems, field.read)
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


def _read_tariff(document: object, problems: _Problems) -> Tariff | None:
    obj = _read_object(document, "$", problems, _TARIFF_FIELDS, "OCPI Tariff")
    if obj is None:
        return None
    country_code = _required(obj, "country_code", "$", problems, _read_country_code)
    party_id = _required(obj, "party_id", "$", problems, _read_party_id)
    tariff_id = _required(obj, "id", "$", problems, _read_tariff_id)
    currency = _required(obj, "currency", "$", problems, _read_currency)
    tariff_type = _optional(obj, "type", "$", problems, _read_tariff_type)
    alt_text = _optional(obj, "tariff_alt_text", "$", problems, _read_display_texts)
    alt_url = _optional(obj, "tariff_alt_url", "$", problems, _read_url)
    min_price = _optional(obj, "min_price", "$", problems, _read_price)
    max_price = _optional(obj, "max_price", "$", problems, _read_price)
    elements = _required(obj, "elements", "$", problems, _read_elements)
    start = _optional(obj, "start_date_time", "$", problems, _read_date_time)
    end = _optional(obj, "end_date_time", "$", problems, _read_date_time)
    energy_mix = _optional(obj, "energy_mix", "$", problems, _read_energy_mix)
    last_updated = _optional(obj, "last_updated", "$", problems, _read_date_time)
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


def _check_price_bounds(min_price: Price | None, max_price: Price | None, problems: _Problems) -> None:
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
