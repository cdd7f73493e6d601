"""Warnings about tariffs that are valid but probably not what the operator meant."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from evbill.adapters.ocpi.tariffs import parse_tariff
from evbill.domain.errors import Problem, Severity
from evbill.domain.tariffs.checks import check_tariff
from evbill.domain.tariffs.model import (
    DayOfWeek,
    Price,
    PriceComponent,
    ReservationRestriction,
    Restrictions,
    Tariff,
    TariffDimension,
    TariffElement,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "ocpi-2.2.1"
ENERGY, FLAT, PARKING, TIME = (
    TariffDimension.ENERGY,
    TariffDimension.FLAT,
    TariffDimension.PARKING_TIME,
    TariffDimension.TIME,
)
WEEKDAYS = frozenset(
    {DayOfWeek.MONDAY, DayOfWeek.TUESDAY, DayOfWeek.WEDNESDAY, DayOfWeek.THURSDAY, DayOfWeek.FRIDAY}
)
FIRST_MATCH = "as OCPI uses the first matching element"


def priced(dimension: TariffDimension, price: str = "1.00", step_size: int = 1) -> PriceComponent:
    return PriceComponent(dimension, Decimal(price), Decimal("20"), step_size)


def element(*components: PriceComponent, **restrictions: Any) -> TariffElement:
    return TariffElement(components, Restrictions(**restrictions) if restrictions else None)


def tariff(*elements: TariffElement, **fields: Any) -> Tariff:
    return Tariff(id="1", currency="EUR", elements=elements, **fields)


def warning(path: str, message: str) -> Problem:
    return Problem(path, message, Severity.WARNING)


def example(name: str) -> Tariff:
    return parse_tariff(json.loads((EXAMPLES / name).read_text())).tariff


# --- the spec's examples ---------------------------------------------------------------------------


def test_the_simple_example_has_nothing_to_warn_about() -> None:
    assert check_tariff(example("tariff_1_simple_2hour.json")) == ()


def test_the_complex_example_only_warns_that_parking_is_free_outside_its_hours() -> None:
    problems = check_tariff(example("tariff_4_complex.json"))

    assert problems == (
        warning(
            "$.elements",
            "PARKING_TIME is priced only under restrictions (elements[4], elements[5]) and no element covers "
            "the other cases: sessions outside those restrictions get PARKING_TIME free; OCPI advises ending "
            "the list with an element without restrictions as the default",
        ),
    )
    assert not [problem for problem in problems if "can never" in problem.message]


def test_time_windows_that_cover_the_whole_day_need_no_fallback() -> None:
    problems = check_tariff(example("tariff_14_step_size.json"))

    assert problems == (
        warning(
            "$.elements",
            "PARKING_TIME is priced only under restrictions (elements[0], elements[1]) and no element covers "
            "the other cases: sessions outside those restrictions get PARKING_TIME free; OCPI advises ending "
            "the list with an element without restrictions as the default",
        ),
    )  # TIME is priced 00:00-17:00, 17:00-20:00 and 20:00-00:00: the whole day, so no warning for it


def test_reservation_examples_have_nothing_to_warn_about() -> None:
    assert check_tariff(example("tariff_18_reservation_with_expire_time.json")) == ()


# --- elements that can never apply -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("restrictions", "reason"),
    [
        ({"min_kwh": Decimal(50), "max_kwh": Decimal(20)}, "min_kwh (50) is not below max_kwh (20)"),
        ({"min_power": Decimal(22), "max_power": Decimal(22)}, "min_power (22) is not below max_power (22)"),
        (
            {"min_current": Decimal(32), "max_current": Decimal(16)},
            "min_current (32) is not below max_current (16)",
        ),
        (
            {"min_duration": 3600, "max_duration": 1800},
            "min_duration (3600) is not below max_duration (1800)",
        ),
        (
            {"start_date": date(2025, 1, 1), "end_date": date(2024, 1, 1)},
            "start_date (2025-01-01) is not below end_date (2024-01-01)",
        ),
        ({"max_kwh": Decimal(0)}, "max_kwh is 0: nothing is below it"),
        ({"days_of_week": frozenset()}, "day_of_week lists no day"),
    ],
)
def test_an_element_that_can_never_apply(restrictions: dict[str, object], reason: str) -> None:
    given = tariff(element(priced(TIME, "2.00"), **restrictions), element(priced(TIME)))

    problems = check_tariff(given)

    assert problems == (warning("$.elements[0]", f"this element can never apply: {reason}"),)


def test_equal_start_and_end_time_is_ambiguous() -> None:
    given = tariff(
        element(priced(TIME), start_minute=540, end_minute=540, min_kwh=Decimal(1)), element(priced(TIME))
    )

    problems = check_tariff(given)

    assert problems == (
        warning(
            "$.elements[0]",
            "start_time and end_time are both 09:00: evbill reads this as the whole day, other systems may "
            "read it as never; leave both out to mean the whole day",
        ),
    )


def test_a_dimension_whose_elements_can_never_apply_is_never_priced() -> None:
    given = tariff(element(priced(FLAT)), element(priced(TIME), min_kwh=Decimal(5), max_kwh=Decimal(5)))

    problems = check_tariff(given)

    assert problems == (
        warning("$.elements[1]", "this element can never apply: min_kwh (5) is not below max_kwh (5)"),
        warning(
            "$.elements",
            "TIME can never be priced: every element that prices it (elements[1]) can never apply",
        ),
    )


# --- first match wins ------------------------------------------------------------------------------


def test_a_component_after_an_unrestricted_element_is_never_chosen() -> None:
    given = tariff(element(priced(ENERGY, "0.30")), element(priced(ENERGY, "0.20"), max_power=Decimal(11)))

    problems = check_tariff(given)

    assert problems == (
        warning(
            "$.elements[1].price_components[0]",
            f"can never be chosen: elements[0] also prices ENERGY and applies whenever this element does, "
            f"{FIRST_MATCH}",
        ),
    )


def test_a_component_after_an_element_with_identical_restrictions_is_never_chosen() -> None:
    given = tariff(
        element(priced(PARKING, "2.00"), start_minute=540, end_minute=1080, days_of_week=WEEKDAYS),
        element(priced(PARKING, "3.00"), start_minute=540, end_minute=1080, days_of_week=WEEKDAYS),
        element(priced(PARKING, "0.00")),
    )

    problems = check_tariff(given)

    assert problems == (
        warning(
            "$.elements[1].price_components[0]",
            f"can never be chosen: elements[0] also prices PARKING_TIME and applies whenever this element "
            f"does, {FIRST_MATCH}",
        ),
    )


def test_earlier_elements_can_together_hide_a_later_one() -> None:
    given = tariff(
        element(priced(ENERGY, "0.20"), max_power=Decimal(16)),
        element(priced(ENERGY, "0.40"), min_power=Decimal(16)),
        element(priced(ENERGY, "0.30")),
    )

    problems = check_tariff(given)

    assert problems == (
        warning(
            "$.elements[2].price_components[0]",
            f"can never be chosen: elements[0], elements[1] also price ENERGY and together apply whenever "
            f"this element does, {FIRST_MATCH}",
        ),
    )


def test_a_second_component_of_the_same_dimension_in_one_element_is_never_used() -> None:
    given = tariff(element(priced(TIME, "1.00"), priced(TIME, "2.00")))

    problems = check_tariff(given)

    assert problems == (
        warning(
            "$.elements[0].price_components[1]",
            "this element already prices TIME; only its first TIME component is used",
        ),
    )


def test_overlapping_power_tiers_say_which_element_wins() -> None:
    problems = check_tariff(example("tariffrestriction_example_max_power.json"))

    assert problems == (
        warning(
            "$.elements[1].price_components[0]",
            f"elements[0] and elements[1] both price ENERGY when power is below 16.0 kW; there elements[0] "
            f"wins, {FIRST_MATCH}",
        ),
    )


def test_overlapping_time_windows_are_found_across_midnight() -> None:
    given = tariff(
        element(priced(TIME, "1.00"), start_minute=22 * 60, end_minute=6 * 60),
        element(priced(TIME, "3.00"), start_minute=5 * 60, end_minute=8 * 60),
        element(priced(TIME, "2.00")),
    )

    problems = check_tariff(given)

    assert problems == (
        warning(
            "$.elements[1].price_components[0]",
            f"elements[0] and elements[1] both price TIME for example on MONDAY 05:00-06:00; there "
            f"elements[0] wins, {FIRST_MATCH}",
        ),
    )


def test_overlapping_day_sets_name_the_shared_day() -> None:
    given = tariff(
        element(priced(PARKING, "2.00"), start_minute=540, end_minute=1080, days_of_week=WEEKDAYS),
        element(
            priced(PARKING, "4.00"),
            start_minute=600,
            end_minute=720,
            days_of_week=frozenset({DayOfWeek.MONDAY, DayOfWeek.SATURDAY}),
        ),
        element(priced(PARKING, "1.00")),
    )

    problems = check_tariff(given)

    assert problems == (
        warning(
            "$.elements[1].price_components[0]",
            f"elements[0] and elements[1] both price PARKING_TIME on MONDAY 10:00-12:00; there elements[0] "
            f"wins, {FIRST_MATCH}",
        ),
    )


def test_disjoint_restrictions_do_not_overlap() -> None:
    given = tariff(
        element(priced(TIME, "1.00"), max_current=Decimal(32)),
        element(priced(TIME, "2.00"), min_current=Decimal(32), days_of_week=WEEKDAYS),
        element(priced(TIME, "1.50")),
    )

    assert check_tariff(given) == ()


def test_reservation_elements_do_not_compete_with_charging_elements() -> None:
    given = tariff(
        element(priced(TIME, "5.00"), reservation=ReservationRestriction.RESERVATION),
        element(priced(TIME, "2.00")),
    )

    assert check_tariff(given) == ()


# --- the tariff as a whole -------------------------------------------------------------------------


def test_a_dimension_priced_only_under_restrictions_is_free_elsewhere() -> None:
    given = tariff(element(priced(ENERGY, "0.30")), element(priced(PARKING, "2.00"), min_duration=3600))

    problems = check_tariff(given)

    assert problems == (
        warning(
            "$.elements",
            "PARKING_TIME is priced only under restrictions (elements[1]) and no element covers the other "
            "cases: sessions outside those restrictions get PARKING_TIME free; OCPI advises ending the list "
            "with an element without restrictions as the default",
        ),
    )


def test_reservation_elements_that_price_neither_time_nor_flat() -> None:
    given = tariff(
        element(priced(ENERGY, "0.50"), reservation=ReservationRestriction.RESERVATION),
        element(priced(ENERGY, "0.30")),
    )

    problems = check_tariff(given)

    assert problems == (
        warning(
            "$.elements[0].price_components[0]",
            "a reservation is priced only by FLAT and TIME; this ENERGY component is never used",
        ),
        warning(
            "$.elements",
            "there are reservation elements, but none prices TIME or FLAT: reservations are free",
        ),
    )


def test_price_bounds_without_incl_vat() -> None:
    given = tariff(element(priced(ENERGY)), min_price=Price(Decimal("0.50")), max_price=Price(Decimal(10)))

    problems = check_tariff(given)

    assert problems == (
        warning(
            "$.min_price",
            "has no incl_vat: the VAT on a minimum-price raise will be inferred from the session's price "
            "components",
        ),
        warning(
            "$.max_price",
            "has no incl_vat: the VAT on a maximum-price cut will be inferred from the session's price "
            "components",
        ),
    )


def test_unusually_coarse_steps() -> None:
    given = tariff(
        element(
            priced(TIME, step_size=7200), priced(PARKING, step_size=3600), priced(ENERGY, step_size=20000)
        )
    )

    problems = check_tariff(given)

    assert problems == (
        warning(
            "$.elements[0].price_components[0]",
            "TIME is billed in steps of 7200 seconds (120 minutes): a driver who stays one minute pays for a "
            "whole step; steps over an hour are unusual and confuse drivers",
        ),
        warning(
            "$.elements[0].price_components[2]",
            "ENERGY is billed in steps of 20000 Wh (20 kWh): a driver who charges 1 kWh pays for a whole "
            "step; steps over 10 kWh are unusual and confuse drivers",
        ),
    )


def test_a_single_hiding_element_is_named_alone() -> None:
    given = tariff(
        element(priced(TIME, "1.00"), min_kwh=Decimal(10)),
        element(priced(TIME, "2.00"), start_minute=22 * 60, end_minute=6 * 60),
        element(
            priced(TIME, "3.00"),
            start_minute=0,
            end_minute=2 * 60,
            days_of_week=frozenset({DayOfWeek.MONDAY}),
        ),
        element(priced(TIME, "1.50")),
    )

    problems = check_tariff(given)

    assert problems == (
        warning(
            "$.elements[1].price_components[0]",
            "elements[0] and elements[1] both price TIME for example on MONDAY 00:00-06:00, "
            f"energy is 10 kWh or more; there elements[0] wins, {FIRST_MATCH}",
        ),
        warning(
            "$.elements[2].price_components[0]",
            f"can never be chosen: elements[1] also prices TIME and applies whenever this element does, "
            f"{FIRST_MATCH}",
        ),
    )


def test_overlapping_date_ranges_are_described_in_dates() -> None:
    given = tariff(
        element(priced(ENERGY, "0.20"), start_date=date(2024, 12, 1), end_date=date(2025, 1, 1)),
        element(priced(ENERGY, "0.25"), start_date=date(2024, 12, 24)),
        element(priced(ENERGY, "0.30")),
    )

    problems = check_tariff(given)

    assert problems == (
        warning(
            "$.elements[1].price_components[0]",
            "elements[0] and elements[1] both price ENERGY when the date is 2024-12-24 to before "
            f"2025-01-01; there elements[0] wins, {FIRST_MATCH}",
        ),
    )
