"""Exact values survive the database: decimals digit for digit, aware times to the microsecond, and JSON
documents with their decimals, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, text

from evbill.adapters.db.types import ExactDecimal, UtcDateTime, decode_document, encode_document
from tests.integration.db_records import a_session, a_tariff, a_tariff_version, an_operator, given_site


def _stored_and_read_back(uow_factory, **changes):
    operator = an_operator()
    with uow_factory() as uow:
        uow.operators.add(operator)
        session = a_session(given_site(uow, operator.id), **changes)
        uow.sessions.add(session)
        uow.commit()
    with uow_factory() as uow:
        return session, uow.sessions.get(operator.id, session.id)


@pytest.mark.parametrize(
    "amount",
    [
        Decimal("16.3299540000"),
        Decimal("0.0000000001"),
        Decimal("123456789012.3456789012"),
        Decimal("0.1"),
        Decimal("-2.5000000000"),
        Decimal("0"),
    ],
)
def test_precise_amounts_come_back_digit_for_digit(uow_factory, amount: Decimal):
    # given a session whose precise total is the amount, when it is stored and read back
    _, stored = _stored_and_read_back(uow_factory, total_excl_vat=amount)

    # then the amount is the same Decimal, down to its exponent (trailing zeros kept)
    assert stored.total_excl_vat == amount
    assert stored.total_excl_vat.as_tuple() == amount.as_tuple()


def test_energy_settled_amounts_and_times_come_back_exactly(uow_factory):
    session, stored = _stored_and_read_back(uow_factory)

    assert stored == session
    assert str(stored.energy_wh) == "20450.125"
    assert stored.started_at == datetime(2026, 5, 4, 17, 0, 0, 250000, tzinfo=UTC)
    assert stored.started_at.tzinfo is UTC
    assert stored.ended_at.microsecond == 999999
    assert (stored.total_excl_vat_minor, stored.total_incl_vat_minor) == (1633, 1976)


def test_a_time_in_another_offset_comes_back_as_the_same_instant_in_utc(uow_factory):
    amsterdam_summer = timezone(timedelta(hours=2))
    started = datetime(2026, 5, 4, 19, 0, 0, 1, tzinfo=amsterdam_summer)

    _, stored = _stored_and_read_back(uow_factory, started_at=started)

    assert stored.started_at == datetime(2026, 5, 4, 17, 0, 0, 1, tzinfo=UTC)
    assert stored.started_at.tzinfo is UTC


def test_json_documents_keep_their_decimals_exactly(uow_factory):
    # given a tariff version whose document has prices with exact decimals
    document = {
        "id": "12",
        "currency": "EUR",
        "elements": [
            {
                "price_components": [
                    {"type": "ENERGY", "price": Decimal("0.1"), "vat": Decimal("21.0"), "step_size": 1},
                    {"type": "TIME", "price": Decimal("2.0000"), "step_size": 300},
                ],
                "restrictions": {"max_kwh": Decimal("0.0000000001"), "start_time": "08:00"},
            }
        ],
        "min_price": None,
        "nested": {"big": Decimal("123456789012.3456789012"), "flag": True},
    }
    operator = an_operator()
    with uow_factory() as uow:
        uow.operators.add(operator)
        tariff = a_tariff(operator.id)
        uow.tariffs.add(tariff)
        version = a_tariff_version(operator.id, tariff.id, document=document)
        uow.tariff_versions.add(version)
        uow.commit()

    # when it is read back
    with uow_factory() as uow:
        stored = uow.tariff_versions.get(operator.id, version.id)

    # then the document is equal, and each decimal keeps its digits (0.1 stays 0.1, never a float)
    assert stored.document == document
    components = stored.document["elements"][0]["price_components"]
    assert repr(components[0]["price"]) == "Decimal('0.1')"
    assert repr(components[1]["price"]) == "Decimal('2.0000')"
    assert components[1]["step_size"] == 300
    assert type(components[1]["step_size"]) is int


def test_json_text_is_exact_json_numbers_in_the_given_key_order():
    document = {"b": Decimal("0.10"), "a": [1, Decimal("1E+2"), Decimal("-0.000001")], "c": "x"}

    encoded = encode_document(document)

    assert encoded == '{"b":0.10,"a":[1,100,-0.000001],"c":"x"}'
    assert decode_document(encoded) == {"b": Decimal("0.10"), "a": [1, 100, Decimal("-0.000001")], "c": "x"}


def test_a_json_document_refuses_a_non_finite_decimal():
    with pytest.raises(ValueError, match="NaN is not a JSON number"):
        encode_document({"price": Decimal("NaN")})


def test_decimals_are_stored_as_exact_text_on_sqlite_and_numeric_on_postgresql(
    database_engine: Engine, uow_factory
):
    _, stored = _stored_and_read_back(uow_factory, total_excl_vat=Decimal("0.0000000001"))

    with database_engine.connect() as connection:
        raw = connection.execute(text("SELECT total_excl_vat, energy_wh FROM charging_sessions")).one()

    if database_engine.dialect.name == "sqlite":
        assert tuple(raw) == ("0.0000000001", "20450.125")
    else:
        assert tuple(raw) == (Decimal("1E-10"), Decimal("20450.125"))
        assert str(raw[0]) == "1E-10"


def test_naive_times_are_refused(uow_factory):
    operator = an_operator()
    with uow_factory() as uow:
        uow.operators.add(operator)
        site = given_site(uow, operator.id)
        naive = datetime(2026, 5, 4, 17, 0)  # noqa: DTZ001 - the point of the test
        with pytest.raises(Exception, match="naive datetime 2026-05-04T17:00:00 refused"):
            uow.sessions.add(a_session(site, started_at=naive))


class TestExactDecimalColumn:
    column = ExactDecimal(38, 10)

    def test_refuses_a_float(self):
        with pytest.raises(TypeError, match=r"an exact Decimal is required, not float \(0.1\)"):
            self.column.checked(0.1)

    def test_refuses_more_decimal_places_than_its_scale(self):
        with pytest.raises(ValueError, match="0.00000000001 has more than 10 decimal places"):
            self.column.checked(Decimal("0.00000000001"))

    def test_drops_only_trailing_zeros_beyond_its_scale(self):
        assert repr(self.column.checked(Decimal("1.500000000000"))) == "Decimal('1.5000000000')"

    def test_refuses_too_many_integer_digits(self):
        with pytest.raises(ValueError, match="more than 28 digits before the point"):
            self.column.checked(Decimal("1" * 29))

    def test_refuses_infinity(self):
        with pytest.raises(ValueError, match="Infinity cannot be stored"):
            self.column.checked(Decimal("Infinity"))

    def test_accepts_an_int(self):
        assert self.column.checked(7) == Decimal(7)


def test_utc_datetime_refuses_a_naive_value():
    from sqlalchemy.dialects import sqlite

    with pytest.raises(ValueError, match="naive datetime"):
        UtcDateTime().process_bind_param(datetime(2026, 1, 1), sqlite.dialect())  # noqa: DTZ001


def test_a_record_with_a_value_the_column_cannot_hold_is_not_stored(uow_factory):
    operator = an_operator()
    with uow_factory() as uow:
        uow.operators.add(operator)
        site = given_site(uow, operator.id)
        session = a_session(site, energy_wh=Decimal("1.0005"))  # energy is kept to 0.001 Wh
        with pytest.raises(Exception, match=r"1.0005 has more than 3 decimal places"):
            uow.sessions.add(session)

    with uow_factory() as uow:
        assert uow.sessions.get(operator.id, replace(session).id) is None


@pytest.mark.parametrize(
    ("instant", "stored"),
    [
        (datetime(2026, 11, 22, 1, 17, 6, 123456, tzinfo=UTC), "2026-11-22T01:17:06.123456Z"),
        (datetime(2026, 3, 29, 3, 0, tzinfo=ZoneInfo("Europe/Amsterdam")), "2026-03-29T01:00:00.000000Z"),
        (datetime(1, 1, 1, 0, 0, 0, 1, tzinfo=UTC), "0001-01-01T00:00:00.000001Z"),
    ],
)
def test_utc_datetime_on_sqlite_is_fixed_width_text_and_comes_back_the_same_instant_in_utc(instant, stored):
    from sqlalchemy.dialects import sqlite

    column, dialect = UtcDateTime(), sqlite.dialect()
    assert column.process_bind_param(instant, dialect) == stored
    back = column.process_result_value(stored, dialect)
    assert back == instant
    assert back.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "text",
    ["2026-11-22T01:17:06.123456+00:00", "2026-11-22 01:17:06.123456Z", "2026-11-22T01:17:6.1234567Z", "x"],
)
def test_utc_datetime_refuses_stored_text_of_another_shape(text):
    from sqlalchemy.dialects import sqlite

    with pytest.raises(ValueError, match="does not match format"):
        UtcDateTime().process_result_value(text, sqlite.dialect())
