"""The price in words, for a charger's display or an app, before a session starts (EU AFIR).

The tariff's own ``tariff_alt_text`` in the driver's language wins; otherwise the elements are
described, cheapest words first, prices including VAT when VAT applies (what a driver pays):

    >>> from evbill.domain.tariffs.model import (
    ...     PriceComponent, Restrictions, Tariff, TariffDimension, TariffElement,
    ... )
    >>> energy = PriceComponent(TariffDimension.ENERGY, Decimal("0.39"), Decimal("21"), 1)
    >>> idle = PriceComponent(TariffDimension.PARKING_TIME, Decimal("6.00"), Decimal("21"), 60)
    >>> daytime = Restrictions(start_minute=420, end_minute=1380)
    >>> tariff = Tariff("T", "EUR", (TariffElement((energy,)), TariffElement((idle,), daytime)))
    >>> describe_tariff(tariff)
    'EUR 0.4719/kWh; idle EUR 7.26/h (07:00-23:00). Incl. VAT.'
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from evbill.domain.tariffs.model import PriceComponent, Restrictions, Tariff, TariffDimension

_WORDS = {
    TariffDimension.FLAT: ("start", ""),
    TariffDimension.ENERGY: ("", "/kWh"),
    TariffDimension.TIME: ("charging", "/h"),
    TariffDimension.PARKING_TIME: ("idle", "/h"),
}
_ORDER = (TariffDimension.FLAT, TariffDimension.ENERGY, TariffDimension.TIME, TariffDimension.PARKING_TIME)


def describe_tariff(tariff: Tariff, language: str = "en") -> str:
    """The operator's own words for the tariff (its ``tariff_alt_text`` in ``language``), else ours."""
    for text in tariff.alt_text:
        if text.language == language:
            return text.text
    return price_in_words(tariff)


def price_in_words(tariff: Tariff) -> str:
    """Every price component in words, incl. VAT where the tariff states it (what a consumer is shown
    before an ad hoc start: AFIR wants the price incl. VAT, whatever the operator's alt text says)."""
    parts = []
    with_vat = False
    for dimension in _ORDER:
        for element in tariff.elements:
            component = element.component(dimension)
            if component is None or (element.restrictions and element.restrictions.reservation):
                continue
            with_vat = with_vat or component.vat is not None
            parts.append(_describe(component, element.restrictions, tariff.currency))
    if not parts:
        return "Free of charge."
    return "; ".join(parts) + (". Incl. VAT." if with_vat else ".")


def _describe(component: PriceComponent, restrictions: Restrictions | None, currency: str) -> str:
    label, unit = _WORDS[component.dimension]
    price = component.price if component.vat is None else component.price * (1 + component.vat / 100)
    shown = price.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP).normalize()
    if -shown.as_tuple().exponent < 2:  # type: ignore[operator]
        shown = shown.quantize(Decimal("0.01"))
    text = f"{label + ' ' if label else ''}{currency} {shown:f}{unit}"
    when = _when(restrictions)
    return f"{text} ({when})" if when else text


def _when(restrictions: Restrictions | None) -> str:
    if restrictions is None:
        return ""
    bits = []
    if restrictions.start_minute is not None or restrictions.end_minute is not None:
        start = restrictions.start_minute or 0
        end = restrictions.end_minute if restrictions.end_minute is not None else 0
        bits.append(f"{start // 60:02d}:{start % 60:02d}-{end // 60:02d}:{end % 60:02d}")
    if restrictions.days_of_week:
        bits.append(", ".join(sorted((d.value[:3].title() for d in restrictions.days_of_week), key=_weekday)))
    if restrictions.min_power is not None:
        bits.append(f"from {restrictions.min_power} kW")
    if restrictions.max_power is not None:
        bits.append(f"below {restrictions.max_power} kW")
    if restrictions.min_duration is not None:
        bits.append(f"after {restrictions.min_duration // 60} min")
    if restrictions.max_kwh is not None:
        bits.append(f"first {restrictions.max_kwh} kWh")
    return ", ".join(bits)


def _weekday(abbreviation: str) -> int:
    return ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"].index(abbreviation)
