"""OCPI 2.2.1 Tariff documents in, domain tariffs out: every spec example, every kind of problem."""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from evbill.adapters.ocpi.tariffs import ParsedTariff, parse_tariff, render_tariff
from evbill.domain.errors import InvalidInput, Problem, Severity
from evbill.domain.tariffs.model import (
    DayOfWeek,
    DisplayText,
    Price,
    PriceComponent,
    ReservationRestriction,
    Restrictions,
    TariffDimension,
    TariffElement,
    TariffType,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = REPO_ROOT / "tests" / "fixtures" / "ocpi-2.2.1"
EXAMPLE_FILES = sorted([*EXAMPLES.glob("tariff_*.json"), *EXAMPLES.glob("tariffrestriction_*.json")])
WEEKDAYS = frozenset(
    {DayOfWeek.MONDAY, DayOfWeek.TUESDAY, DayOfWeek.WEDNESDAY, DayOfWeek.THURSDAY, DayOfWeek.FRIDAY}
)


def load_example(name: str) -> object:
    return json.loads((EXAMPLES / name).read_text())


def a_tariff(**changes: object) -> dict[str, object]:
    """A valid OCPI tariff (EUR 2.00 per hour charging), with ``changes`` applied on top."""
    document: dict[str, object] = {
        "country_code": "DE",
        "party_id": "ALL",
        "id": "12",
        "currency": "EUR",
        "elements": [{"price_components": [{"type": "TIME", "price": 2.00, "vat": 10.0, "step_size": 60}]}],
        "last_updated": "2015-06-29T20:39:09Z",
    }
    document.update(changes)
    return document


def with_element(element: Mapping[str, object]) -> dict[str, object]:
    return a_tariff(elements=[element])


def with_component(**component: object) -> dict[str, object]:
    return with_element({"price_components": [{"type": "TIME", "price": 2.00, "step_size": 60, **component}]})


def with_restrictions(**restrictions: object) -> dict[str, object]:
    element = {
        "price_components": [{"type": "TIME", "price": 2, "step_size": 60}],
        "restrictions": restrictions,
    }
    return with_element(element)


def problems_of(document: object) -> tuple[Problem, ...]:
    with pytest.raises(InvalidInput) as raised:
        parse_tariff(document)
    assert raised.value.message == "tariff is invalid"
    return raised.value.problems


def error(path: str, message: str) -> Problem:
    return Problem(path, message, Severity.ERROR)


def warning(path: str, message: str) -> Problem:
    return Problem(path, message, Severity.WARNING)


# --- the spec's examples ---------------------------------------------------------------------------


def test_all_twenty_spec_examples_are_found() -> None:
    assert len(EXAMPLE_FILES) == 20


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda path: path.name)
def test_every_spec_example_parses(path: Path) -> None:
    parsed = parse_tariff(json.loads(path.read_text()))

    assert parsed.tariff.currency == "EUR"
    assert parsed.tariff.country_code == "DE"


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda path: path.name)
def test_every_spec_example_survives_a_round_trip(path: Path) -> None:
    parsed = parse_tariff(json.loads(path.read_text()))

    again = parse_tariff(render_tariff(parsed.tariff))

    assert again == parsed


def test_the_complex_example_keeps_every_value_exactly() -> None:
    tariff = parse_tariff(load_example("tariff_4_complex.json")).tariff

    assert (tariff.id, tariff.type, tariff.alt_url) == (
        "14",
        TariffType.REGULAR,
        "https://company.com/tariffs/14",
    )
    assert tariff.last_updated == datetime(2015, 6, 29, 20, 39, 9, tzinfo=UTC)
    assert len(tariff.elements) == 6
    assert tariff.elements[0] == TariffElement(
        (PriceComponent(TariffDimension.FLAT, Decimal("2.50"), Decimal("15.0"), 1),)
    )
    assert tariff.elements[1].restrictions == Restrictions(max_current=Decimal("32.00"))
    assert tariff.elements[2].price_components == (
        PriceComponent(TariffDimension.TIME, Decimal("2.00"), Decimal("20.0"), 600),
    )
    assert tariff.elements[2].restrictions == Restrictions(
        min_current=Decimal("32.00"), days_of_week=WEEKDAYS
    )
    assert tariff.elements[4].restrictions == Restrictions(
        start_minute=540, end_minute=1080, days_of_week=WEEKDAYS
    )
    assert tariff.elements[5].restrictions == Restrictions(
        start_minute=600, end_minute=1020, days_of_week=frozenset({DayOfWeek.SATURDAY})
    )


def test_the_put_example_without_last_updated_parses_with_a_warning() -> None:
    parsed = parse_tariff(load_example("tariff_put_example.json"))

    assert parsed.tariff.last_updated is None
    assert parsed.warnings == (
        warning("$.last_updated", "missing, but OCPI requires it; the tariff's last change is unknown"),
    )


def test_the_free_of_charge_example_may_step_a_flat_fee_by_zero() -> None:
    tariff = parse_tariff(load_example("tariff_5_free_of_charge.json")).tariff

    assert tariff.elements == (
        TariffElement((PriceComponent(TariffDimension.FLAT, Decimal("0.00"), None, 0),)),
    )


def test_reservation_and_alternative_texts_are_read() -> None:
    reservation = parse_tariff(load_example("tariff_17_reservation_with_expire_fee.json")).tariff
    alt_text = parse_tariff(load_example("tariff_2_alt_text.json")).tariff

    assert reservation.elements[0].restrictions == Restrictions(
        reservation=ReservationRestriction.RESERVATION_EXPIRES
    )
    assert alt_text.alt_text == (
        DisplayText("en", "2.00 euro p/hour including VAT."),
        DisplayText("nl", "2.00 euro p/uur inclusief BTW."),
    )


def test_prices_and_validity_period_are_read() -> None:
    min_price = parse_tariff(load_example("tariff_12_025kwh_min_price.json")).tariff
    max_price = parse_tariff(load_example("tariff_6_025kwh_start_max_price.json")).tariff

    assert min_price.min_price == Price(Decimal("0.50"), Decimal("0.55"))
    assert max_price.max_price == Price(Decimal("10.00"), Decimal("11.00"))
    assert max_price.end_date_time == datetime(2019, 6, 30, 23, 59, 59, tzinfo=UTC)


# --- numbers ---------------------------------------------------------------------------------------


def test_floats_become_the_decimal_written_in_the_document() -> None:
    tariff = parse_tariff(with_component(price=0.1, vat=20.0)).tariff

    assert tariff.elements[0].price_components[0].price == Decimal("0.1")
    assert str(tariff.elements[0].price_components[0].price) == "0.1"
    assert str(tariff.elements[0].price_components[0].vat) == "20.0"


def test_numeric_strings_and_decimals_are_accepted_as_numbers() -> None:
    tariff = parse_tariff(with_component(price="0.25", vat=Decimal("19.00"), step_size="300")).tariff

    assert tariff.elements[0].price_components[0] == PriceComponent(
        TariffDimension.TIME, Decimal("0.25"), Decimal("19.00"), 300
    )


def test_booleans_and_words_are_not_numbers() -> None:
    problems = problems_of(with_component(price=True, vat="ten"))

    assert problems == (
        error("$.elements[0].price_components[0].price", "must be a number, not a boolean"),
        error("$.elements[0].price_components[0].vat", "'ten' is not a number"),
    )


def test_a_negative_price_is_refused() -> None:
    problems = problems_of(with_component(price=-0.5))

    assert problems == (
        error(
            "$.elements[0].price_components[0].price",
            "must not be negative (-0.5): evbill refuses negative unit prices; "
            "give discounts through plans or promotions",
        ),
    )


def test_vat_must_be_a_percentage() -> None:
    problems = problems_of(with_component(vat=120))

    assert problems == (
        error("$.elements[0].price_components[0].vat", "must be a percentage from 0 to 100, not 120"),
    )


@pytest.mark.parametrize("step_size", [0, -60, 1.5, "1.5"])
def test_a_time_step_must_be_a_positive_integer(step_size: object) -> None:
    problems = problems_of(with_component(step_size=step_size))

    assert problems == (
        error("$.elements[0].price_components[0].step_size", f"must be a positive integer, not {step_size}"),
    )


def test_a_missing_step_size_defaults_to_one_with_a_warning() -> None:
    document = with_element({"price_components": [{"type": "ENERGY", "price": 0.25}]})

    parsed = parse_tariff(document)

    assert parsed.tariff.elements[0].price_components[0].step_size == 1
    assert parsed.warnings == (
        warning("$.elements[0].price_components[0].step_size", "missing, but OCPI requires it; 1 is used"),
    )


# --- times, dates and date-times -------------------------------------------------------------------


def test_restrictions_are_read_in_evbill_units() -> None:
    document = with_restrictions(
        start_time="22:30", end_time="06:00", start_date="2024-12-24", end_date="2025-01-01",
        min_kwh=5, max_kwh="50.5", min_current=6, max_current=32.0, min_power=0, max_power=22,
        min_duration=900, max_duration=7200.0, day_of_week=["SUNDAY", "SATURDAY"],
    )  # fmt: skip

    restrictions = parse_tariff(document).tariff.elements[0].restrictions

    assert restrictions == Restrictions(
        start_minute=1350, end_minute=360, start_date=date(2024, 12, 24), end_date=date(2025, 1, 1),
        min_kwh=Decimal(5), max_kwh=Decimal("50.5"), min_current=Decimal(6), max_current=Decimal(32),
        min_power=Decimal(0), max_power=Decimal(22), min_duration=900, max_duration=7200,
        days_of_week=frozenset({DayOfWeek.SATURDAY, DayOfWeek.SUNDAY}),
    )  # fmt: skip


@pytest.mark.parametrize("time", ["24:00", "9:00", "09:60", "0900", "09:00:00"])
def test_a_time_of_day_must_be_hh_mm_from_00_00_to_23_59(time: str) -> None:
    problems = problems_of(with_restrictions(start_time=time))

    assert problems == (
        error(
            "$.elements[0].restrictions.start_time",
            f"must be a time of day from 00:00 to 23:59 (HH:MM, 24-hour), not {time!r}",
        ),
    )


def test_a_date_must_be_well_formed_and_real() -> None:
    problems = problems_of(with_restrictions(start_date="2023-02-30", end_date="2023-2-28"))

    assert problems == (
        error("$.elements[0].restrictions.start_date", "'2023-02-30' is not a real date"),
        error("$.elements[0].restrictions.end_date", "must be a date YYYY-MM-DD, not '2023-2-28'"),
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2015-06-29T20:39:09Z", datetime(2015, 6, 29, 20, 39, 9, tzinfo=UTC)),
        ("2015-06-29T20:39:09", datetime(2015, 6, 29, 20, 39, 9, tzinfo=UTC)),
        ("2016-12-29T17:45:09.2Z", datetime(2016, 12, 29, 17, 45, 9, 200000, tzinfo=UTC)),
        ("2018-01-01T01:08:01.123", datetime(2018, 1, 1, 1, 8, 1, 123000, tzinfo=UTC)),
        ("2015-06-29T22:39:09+02:00", datetime(2015, 6, 29, 20, 39, 9, tzinfo=UTC)),
        ("2015-06-29T18:09:09-02:30", datetime(2015, 6, 29, 20, 39, 9, tzinfo=UTC)),
    ],
)
def test_date_times_become_utc(text: str, expected: datetime) -> None:
    tariff = parse_tariff(a_tariff(last_updated=text)).tariff

    assert tariff.last_updated == expected


@pytest.mark.parametrize(
    "text", ["2015-06-29", "2015-06-29 20:39:09Z", "29/06/2015 20:39", "2015-06-31T20:39:09Z"]
)
def test_other_date_time_forms_are_refused(text: str) -> None:
    problems = problems_of(a_tariff(last_updated=text))

    assert len(problems) == 1
    assert problems[0].path == "$.last_updated"


def test_the_tariff_must_end_after_it_starts() -> None:
    problems = problems_of(
        a_tariff(start_date_time="2024-01-01T00:00:00Z", end_date_time="2023-12-31T23:00:00-01:00")
    )

    assert problems == (error("$.end_date_time", "must be after start_date_time (2024-01-01T00:00:00Z)"),)


def test_day_of_week_must_list_days_and_warns_about_repeats() -> None:
    assert problems_of(with_restrictions(day_of_week=[])) == (
        error(
            "$.elements[0].restrictions.day_of_week",
            "must not be empty: an empty list matches no day; omit day_of_week to mean every day",
        ),
    )
    parsed = parse_tariff(with_restrictions(day_of_week=["MONDAY", "MONDAY"]))
    assert parsed.tariff.elements[0].restrictions == Restrictions(days_of_week=frozenset({DayOfWeek.MONDAY}))
    assert parsed.warnings == (
        warning("$.elements[0].restrictions.day_of_week[1]", "MONDAY is listed twice; the repeat is ignored"),
    )


# --- enums, strings and structure ------------------------------------------------------------------


def test_an_unknown_enum_value_lists_the_allowed_ones() -> None:
    problems = problems_of(with_restrictions(day_of_week=["Monday"], reservation="BOOKING"))

    assert problems == (
        error(
            "$.elements[0].restrictions.day_of_week[0]",
            "'Monday' is not a DayOfWeek; "
            "allowed: MONDAY, TUESDAY, WEDNESDAY, THURSDAY, FRIDAY, SATURDAY, SUNDAY",
        ),
        error(
            "$.elements[0].restrictions.reservation",
            "'BOOKING' is not a ReservationRestriction; allowed: RESERVATION, RESERVATION_EXPIRES",
        ),
    )


def test_a_bad_currency_is_refused() -> None:
    assert problems_of(a_tariff(currency="EURO")) == (
        error("$.currency", "'EURO' is not an ISO 4217 currency code"),
    )


def test_an_unknown_field_is_ignored_with_a_warning_that_catches_typos() -> None:
    element = {
        "price_components": [{"type": "TIME", "price": 2, "step_size": 60}],
        "restriction": {"max_kwh": 5},
    }

    parsed = parse_tariff(a_tariff(elements=[element], colour="green"))

    assert parsed.tariff.elements[0].restrictions is None
    assert parsed.warnings == (
        warning("$.colour", "unknown field, ignored"),
        warning("$.elements[0].restriction", "unknown field, ignored (did you mean 'restrictions'?)"),
    )


def test_a_reservation_element_may_only_price_flat_and_time() -> None:
    element = {
        "price_components": [
            {"type": "TIME", "price": 5, "step_size": 60},
            {"type": "ENERGY", "price": 0.25, "step_size": 1},
        ],
        "restrictions": {"reservation": "RESERVATION"},
    }

    problems = problems_of(with_element(element))

    assert problems == (
        error(
            "$.elements[0].price_components[1].type",
            "a reservation element may only have FLAT and TIME components, not ENERGY",
        ),
    )


def test_min_and_max_price_must_be_consistent() -> None:
    document = a_tariff(
        min_price={"excl_vat": 12, "incl_vat": 11}, max_price={"excl_vat": 10, "incl_vat": 12}
    )

    assert problems_of(document) == (
        error("$.min_price.incl_vat", "must not be below excl_vat (11 < 12)"),
        error("$.min_price.excl_vat", "must not be above max_price.excl_vat (12 > 10)"),
    )


def test_alternative_texts_are_checked() -> None:
    document = a_tariff(tariff_alt_text=[{"language": "eng", "text": "x" * 513}, {"text": "hi"}])

    assert problems_of(document) == (
        error("$.tariff_alt_text[0].language", "must be 2 letters (ISO 639-1, e.g. 'en'), not 'eng'"),
        error("$.tariff_alt_text[0].text", "must be at most 512 characters, not 513"),
        error("$.tariff_alt_text[1].language", "required field is missing"),
    )


def test_a_broken_tariff_reports_every_problem_with_its_path() -> None:
    document = {
        "country_code": "de",
        "party_id": "AL",
        "currency": "EUR",
        "type": "CHEAP",
        "elements": [
            {"price_components": [{"type": "TIME", "price": 2.0, "step_size": 60}]},
            {"price_components": []},
            {
                "price_components": [
                    {"type": "ENERGY", "price": 0.25, "step_size": 1},
                    {"type": "ENERGY", "price": 0.30, "step_size": 0},
                ],
                "restrictions": {"start_time": "24:00", "max_kwh": -1},
            },
        ],
        "last_updated": "2015-06-29T20:39:09Z",
    }

    problems = problems_of(document)

    assert problems == (
        error("$.country_code", "must be 2 upper-case letters (ISO 3166-1 alpha-2, e.g. 'DE'), not 'de'"),
        error("$.party_id", "must be 3 letters or digits (e.g. 'ALL'), not 'AL'"),
        error("$.id", "required field is missing"),
        error(
            "$.type",
            "'CHEAP' is not a TariffType; "
            "allowed: AD_HOC_PAYMENT, PROFILE_CHEAP, PROFILE_FAST, PROFILE_GREEN, REGULAR",
        ),
        error("$.elements[1].price_components", "must list at least one price component"),
        error("$.elements[2].price_components[1].step_size", "must be a positive integer, not 0"),
        error(
            "$.elements[2].restrictions.start_time",
            "must be a time of day from 00:00 to 23:59 (HH:MM, 24-hour), not '24:00'",
        ),
        error("$.elements[2].restrictions.max_kwh", "must not be negative (-1)"),
    )


def test_warnings_travel_with_the_errors() -> None:
    problems = problems_of(a_tariff(currency="XYZ", colour="green"))

    assert problems == (
        warning("$.colour", "unknown field, ignored"),
        error("$.currency", "'XYZ' is not an ISO 4217 currency code"),
    )


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ([], error("$", "must be an object (OCPI Tariff), not a list")),
        (a_tariff(elements=[]), error("$.elements", "must list at least one tariff element")),
        (a_tariff(elements=None), error("$.elements", "must not be null")),
        (a_tariff(elements={"price_components": []}), error("$.elements", "must be a list, not an object")),
        (
            a_tariff(id="x" * 37),
            error("$.id", f"must be 1 to 36 printable ASCII characters, not {'x' * 37!r}"),
        ),
        (a_tariff(energy_mix="green"), error("$.energy_mix", "must be an object (EnergyMix), not a string")),
    ],
)
def test_structural_problems(document: object, expected: Problem) -> None:
    assert problems_of(document) == (expected,)


# --- rendering -------------------------------------------------------------------------------------


def test_render_writes_ocpi_fields_and_keeps_decimals() -> None:
    document = with_restrictions(
        start_time="09:00", end_time="00:00", start_date="2024-01-01", day_of_week=["FRIDAY", "MONDAY"]
    )
    document["min_price"] = {"excl_vat": "1.50"}
    document["last_updated"] = "2015-06-29T22:39:09.5+02:00"

    rendered = render_tariff(parse_tariff(document).tariff)

    assert rendered == {
        "country_code": "DE",
        "party_id": "ALL",
        "id": "12",
        "currency": "EUR",
        "min_price": {"excl_vat": Decimal("1.50")},
        "elements": [
            {
                "price_components": [{"type": "TIME", "price": Decimal(2), "step_size": 60}],
                "restrictions": {
                    "start_time": "09:00",
                    "end_time": "00:00",
                    "start_date": "2024-01-01",
                    "day_of_week": ["MONDAY", "FRIDAY"],
                },
            }
        ],
        "last_updated": "2015-06-29T20:39:09.5Z",
    }


def test_energy_mix_is_kept_verbatim_and_rendered_back() -> None:
    energy_mix = {"is_green_energy": True, "energy_sources": [{"source": "SOLAR", "percentage": 80.5}]}
    document = a_tariff(energy_mix=copy.deepcopy(energy_mix))

    parsed = parse_tariff(document)

    assert parsed == ParsedTariff(parsed.tariff, ())
    assert parsed.tariff.extra == {"energy_mix": energy_mix}
    assert render_tariff(parsed.tariff)["energy_mix"] == energy_mix


def test_questionable_texts_and_urls_are_warned_about() -> None:
    document = a_tariff(
        tariff_alt_text=[{"language": "en", "text": "2.00 EUR/h\nincl. VAT"}], tariff_alt_url="x.com"
    )

    parsed = parse_tariff(document)

    assert parsed.tariff.alt_url == "x.com"
    assert parsed.warnings == (
        warning(
            "$.tariff_alt_text[0].text",
            "contains control characters (such as line breaks), not allowed by OCPI",
        ),
        warning("$.tariff_alt_url", "is not an http(s) URL; drivers may not be able to open it"),
    )
