"""Every CDR evbill writes re-rates to its own totals through ``evbill rate`` (DESIGN.md rule 10).

A session is priced from its meter samples (clean, cut into periods, rate), written as the OCPI CDR
evbill stores, then read back and rated again the way ``evbill rate --cdr`` does. The totals must be
the same to the last digit. With durations written to 4 decimals of an hour, 10 minutes became
0.1667 h (600.12 s) and a per-minute tariff billed 11 minutes.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from evbill.adapters.ocpi.codec import Ocpi221Codec
from evbill.application.rating.cdrs import CdrPricer, price_metered_session
from evbill.domain.metering.cleaning import ChargingState, MeterSample
from evbill.domain.money import RoundingMode
from evbill.domain.rating import compile_tariff

ZONE = ZoneInfo("Europe/Amsterdam")
PER_MINUTE = {
    "country_code": "NL",
    "party_id": "EVB",
    "id": "PER-MINUTE",
    "currency": "EUR",
    "elements": [
        {
            "price_components": [
                {"type": "FLAT", "price": 0.35, "vat": 21.0, "step_size": 1},
                {"type": "ENERGY", "price": 0.39, "vat": 21.0, "step_size": 1},
                {"type": "TIME", "price": 0.60, "vat": 21.0, "step_size": 60},
            ],
            "restrictions": {"max_power": 11.0},
        },
        {
            "price_components": [
                {"type": "ENERGY", "price": 0.49, "vat": 21.0, "step_size": 1},
                {"type": "TIME", "price": 1.20, "vat": 21.0, "step_size": 60},
            ],
            "restrictions": {"start_time": "17:00", "end_time": "21:00"},
        },
        {
            "price_components": [
                {"type": "ENERGY", "price": 0.45, "vat": 21.0, "step_size": 1},
                {"type": "TIME", "price": 0.90, "vat": 21.0, "step_size": 60},
                {"type": "PARKING_TIME", "price": 6.00, "vat": 21.0, "step_size": 300},
            ],
            "restrictions": {"min_kwh": 0.5},
        },
        {
            "price_components": [
                {"type": "ENERGY", "price": 0.40, "vat": 21.0, "step_size": 1},
                {"type": "TIME", "price": 0.75, "vat": 21.0, "step_size": 60},
                {"type": "PARKING_TIME", "price": 5.00, "vat": 21.0, "step_size": 300},
            ]
        },
    ],
    "last_updated": "2026-01-01T00:00:00Z",
}
SIMPLE = {
    "country_code": "NL",
    "party_id": "EVB",
    "id": "SIMPLE-PER-MINUTE",
    "currency": "EUR",
    "elements": [
        {
            "price_components": [
                {"type": "ENERGY", "price": 0.39, "vat": 21.0, "step_size": 1},
                {"type": "TIME", "price": 6.00, "vat": 21.0, "step_size": 60},
            ]
        }
    ],
    "last_updated": "2026-01-01T00:00:00Z",
}
PLACE = {
    "location_id": "LOC-1",
    "name": "Zuid",
    "address": "Street 1",
    "city": "Amsterdam",
    "postal_code": "1000AA",
    "country_alpha_3": "NLD",
    "latitude": Decimal("52.3"),
    "longitude": Decimal("4.9"),
    "evse_uid": "EVSE-1",
    "evse_id": "NL*EVB*E1*1",
    "connector_id": "1",
    "connector_standard": "IEC_62196_T2",
    "connector_format": "SOCKET",
    "connector_power_type": "AC_3_PHASE",
}
TOTALS = (
    "total_cost",
    "total_fixed_cost",
    "total_energy",
    "total_energy_cost",
    "total_time",
    "total_time_cost",
    "total_parking_time",
    "total_parking_cost",
)


def written_and_rerated(
    samples: list[MeterSample], start: datetime, end: datetime, document: dict = PER_MINUTE
) -> tuple[dict, dict]:
    """The CDR evbill writes for the session, and the same CDR priced again by ``evbill rate``."""
    codec = Ocpi221Codec()
    tariff = codec.read_tariff(document).tariff
    priced = price_metered_session(
        samples=samples, compiled=compile_tariff(tariff, ZONE), start=start, until=end, currency="EUR"
    )
    written = codec.write_session_cdr(
        cdr_id="S-1", country_code="NL", party_id="EVB", token_uid="04A1B2C3D4", contract_id=None,
        place=PLACE, usage=priced.usage, rated=priced.rated, tariff_document=codec.write_tariff(tariff),
        rounding=RoundingMode.HALF_UP, last_updated=end,
    )  # fmt: skip
    stored = json.loads(json.dumps(written, default=str), parse_float=Decimal)  # as the API serves it
    pricer = CdrPricer.for_tariff(codec=codec, tariff_document=document, zone=ZONE)
    return written, pricer.price(stored).document


def test_a_ten_minute_session_rerates_to_ten_minutes_not_eleven():
    # Given 10 minutes of charging at 7.2 kW (1,200 Wh) at 0.39/kWh and 6.00/h by the minute
    start = datetime(2026, 11, 17, 9, 0, tzinfo=UTC)
    samples = [
        MeterSample(start, Decimal(1_000_000), state=ChargingState.CHARGING),
        MeterSample(start + timedelta(minutes=10), Decimal(1_001_200), state=ChargingState.CHARGING),
    ]
    # When the stored CDR is priced again
    written, rerated = written_and_rerated(samples, start, start + timedelta(minutes=10), SIMPLE)
    # Then it bills the same 10 minutes: 1.2 x 0.39 + 10 x 0.10 = 1.468 -> 1.47 excl. VAT (11 minutes
    # would be 1.568 -> 1.57)
    assert written["total_cost"] == {"excl_vat": Decimal("1.47"), "incl_vat": Decimal("1.78")}
    assert rerated["total_cost"] == {"excl_vat": Decimal("1.47"), "incl_vat": Decimal("1.78")}
    assert {name: rerated[name] for name in TOTALS} == {name: written[name] for name in TOTALS}


@st.composite
def sessions(draw: st.DrawFn) -> tuple[list[MeterSample], datetime, datetime]:
    start = datetime(2026, 11, 17, 15, 0, tzinfo=UTC) + timedelta(
        seconds=draw(st.integers(0, 6 * 3600)), microseconds=draw(st.sampled_from([0, 0, 250_000, 1]))
    )
    moment, register = start, Decimal(draw(st.integers(0, 5_000_000)))
    samples = [MeterSample(moment, register, state=ChargingState.CHARGING)]
    for _ in range(draw(st.integers(1, 8))):
        moment += timedelta(seconds=draw(st.integers(1, 2400)), milliseconds=draw(st.sampled_from([0, 0, 7])))
        register += Decimal(draw(st.integers(0, 9000))) / draw(st.sampled_from([1, 1, 10, 1000]))
        state = draw(st.sampled_from([ChargingState.CHARGING, ChargingState.SUSPENDED_EV, None]))
        samples.append(MeterSample(moment, register, state=state))
    end = moment + timedelta(seconds=draw(st.integers(0, 1800)))
    return samples, start, end


@settings(max_examples=150, deadline=None)
@given(sessions())
def test_every_cdr_evbill_writes_rerates_to_its_own_totals(session):
    samples, start, end = session
    written, rerated = written_and_rerated(samples, start, end)
    assert {name: rerated[name] for name in TOTALS} == {name: written[name] for name in TOTALS}
