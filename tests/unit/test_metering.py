"""Meter cleaning (DESIGN.md rule 5): what the charger sent in, the energy curve and its anomalies out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evbill.domain.errors import InvalidInput, MeterDataError
from evbill.domain.metering.cleaning import (
    Anomaly,
    ChargingState,
    CleanSeries,
    MeterFlag,
    MeterPoint,
    MeterSample,
    ReadingContext,
    clean_series,
)


def at(minute: int, second: int = 0) -> datetime:
    """Minutes after 09:00 UTC on Monday 5 January 2026."""
    return datetime(2026, 1, 5, 9, tzinfo=UTC) + timedelta(minutes=minute, seconds=second)


def wh(minute: int, value: str, **fields: object) -> MeterSample:
    return MeterSample(at(minute), Decimal(value), **fields)  # type: ignore[arg-type]


def energies(series: CleanSeries) -> list[Decimal]:
    return [point.energy_wh for point in series.points]


# --- units -------------------------------------------------------------------------------------------


def test_kwh_register_with_a_multiplier_becomes_wh() -> None:
    # given a meter that reports tenths of kWh: 1234.5 x 10^-1 kWh = 123.45 kWh
    samples = [
        MeterSample(at(0), Decimal("1234.5"), "kWh", multiplier=-1),
        MeterSample(at(10), Decimal("1240.5"), "kWh", multiplier=-1),
    ]
    # when
    series = clean_series(samples)
    # then the register is 123450 Wh and 600 Wh were delivered
    assert samples[0].energy_wh == Decimal("123450")
    assert energies(series) == [Decimal(0), Decimal(600)]
    assert series.energy_wh == Decimal(600)
    assert series.anomalies == ()


def test_power_in_kw_becomes_w_and_current_is_kept() -> None:
    # given
    sample = MeterSample(at(0), Decimal(0), power=Decimal("11.2"), power_unit="kW", current=Decimal("48.3"))
    # when
    series = clean_series([sample])
    # then
    assert series.points == (MeterPoint(at(0), Decimal(0), Decimal("11200.0"), Decimal("48.3")),)


def test_timestamps_are_held_in_utc() -> None:
    # given a sample stamped in local time
    local = datetime(2026, 1, 5, 10, tzinfo=ZoneInfo("Europe/Amsterdam"))
    # when
    series = clean_series([MeterSample(local, Decimal(0))])
    # then
    assert series.points[0].timestamp.tzinfo is UTC
    assert series.points[0].timestamp == at(0)


# --- duplicates and order ----------------------------------------------------------------------------


def test_an_exact_duplicate_is_dropped_and_flagged() -> None:
    # given the 09:10 reading twice
    samples = [wh(0, "1000"), wh(10, "1500"), wh(10, "1500"), wh(20, "2100")]
    # when
    series = clean_series(samples)
    # then one point per instant, no energy counted twice
    assert energies(series) == [Decimal(0), Decimal(500), Decimal(1100)]
    assert series.anomalies == (
        Anomaly(MeterFlag.DUPLICATE, at(10), "same timestamp and values as an earlier sample"),
    )


def test_the_transaction_begin_and_end_readings_sent_again_are_no_anomaly() -> None:
    # given an OCPP 1.6 session: meterStart, a sample, then meterStop with transactionData that
    # repeats the begin and end readings (as chargers do)
    begin, end = ReadingContext.TRANSACTION_BEGIN, ReadingContext.TRANSACTION_END
    samples = [
        wh(0, "1000", context=begin),
        wh(10, "1500"),
        wh(0, "1000", context=begin),
        wh(20, "2100", context=end),
        wh(20, "2100", context=end),
    ]
    # when
    series = clean_series(samples)
    # then the same energy, and nothing to flag
    assert energies(series) == [Decimal(0), Decimal(500), Decimal(1100)]
    assert series.anomalies == ()


def test_a_repeated_seq_no_is_a_duplicate_and_the_first_one_is_kept() -> None:
    # given seqNo 2 sent twice, the retransmission with another (wrong) value
    samples = [
        wh(0, "1000", seq_no=1),
        wh(10, "1500", seq_no=2),
        wh(10, "1700", seq_no=2),
        wh(20, "2100", seq_no=3),
    ]
    # when
    series = clean_series(samples)
    # then
    assert energies(series) == [Decimal(0), Decimal(500), Decimal(1100)]
    assert series.flags == (MeterFlag.DUPLICATE,)


def test_samples_of_one_event_share_its_seq_no_and_are_all_kept() -> None:
    # given a TransactionEvent (seqNo 7) that carries three samples taken at different times
    samples = [
        wh(0, "1000", seq_no=6),
        wh(10, "1500", seq_no=7),
        wh(20, "2000", seq_no=7),
        wh(30, "2600", seq_no=7),
    ]
    # when
    series = clean_series(samples)
    # then
    assert energies(series) == [Decimal(0), Decimal(500), Decimal(1000), Decimal(1600)]
    assert series.anomalies == ()


def test_same_values_with_different_seq_nos_are_two_messages() -> None:
    # given two distinct events that happen to carry the same reading
    samples = [wh(0, "1000", seq_no=1), wh(0, "1000", seq_no=2), wh(10, "1500", seq_no=3)]
    # when
    series = clean_series(samples)
    # then nothing is flagged; the two merge into one point
    assert series.flags == ()
    assert energies(series) == [Decimal(0), Decimal(500)]


def test_late_samples_are_put_in_place_by_seq_no() -> None:
    # given seqNo 2 arrives after seqNo 3 (it was queued while offline)
    samples = [wh(0, "1000", seq_no=1), wh(20, "3000", seq_no=3), wh(10, "2000", seq_no=2, offline=True)]
    # when
    series = clean_series(samples)
    # then the curve is in order and nothing is lost or negative
    assert [point.timestamp for point in series.points] == [at(0), at(10), at(20)]
    assert energies(series) == [Decimal(0), Decimal(1000), Decimal(2000)]
    assert series.anomalies == (
        Anomaly(MeterFlag.OUT_OF_ORDER, at(10), "arrived late; put in place by seqNo 2"),
    )


def test_without_seq_nos_samples_are_ordered_by_timestamp() -> None:
    # given
    samples = [wh(0, "1000"), wh(20, "3000"), wh(10, "2000")]
    # when
    series = clean_series(samples)
    # then
    assert energies(series) == [Decimal(0), Decimal(1000), Decimal(2000)]
    assert series.flags == (MeterFlag.OUT_OF_ORDER,)


def test_seq_no_order_wins_over_a_clock_that_goes_back() -> None:
    # given the charger's clock was set back between seqNo 2 and 3
    samples = [
        wh(0, "1000", seq_no=1),
        wh(10, "2000", seq_no=2),
        wh(8, "2500", seq_no=3),
        wh(20, "3000", seq_no=4),
    ]
    # when
    series = clean_series(samples)
    # then the sample is merged into the point before it, its energy kept
    assert [point.timestamp for point in series.points] == [at(0), at(10), at(20)]
    assert energies(series) == [Decimal(0), Decimal(1500), Decimal(2000)]
    assert series.flags == (MeterFlag.CLOCK_REGRESSION,)


@given(
    registers=st.lists(st.integers(0, 10_000_000), min_size=1, max_size=10),
    data=st.data(),
)
def test_retransmitted_and_shuffled_messages_give_the_same_curve(
    registers: list[int], data: st.DataObject
) -> None:
    # given samples numbered by seqNo, then received shuffled with some sent twice
    samples = [wh(minute, str(register), seq_no=minute) for minute, register in enumerate(registers)]
    repeated = data.draw(st.lists(st.sampled_from(samples), max_size=5))
    received = data.draw(st.permutations(samples + repeated))
    # when
    series = clean_series(received)
    # then the curve is the one of the samples in order, and it never decreases
    assert series.points == clean_series(samples).points
    assert all(
        earlier <= later for earlier, later in zip(energies(series), energies(series)[1:], strict=False)
    )
    assert series.flags.count(MeterFlag.DUPLICATE) == len(repeated)


# --- baselines, resets, negative deltas --------------------------------------------------------------


def test_a_register_that_drops_a_little_is_a_negative_delta_and_its_energy_is_rejected() -> None:
    # given the 09:20 reading is 100 Wh below the one before; it keeps its state
    samples = [wh(0, "1000"), wh(10, "2000"), wh(20, "1900", state=ChargingState.CHARGING), wh(30, "2500")]
    # when
    series = clean_series(samples)
    # then its energy is interpolated between the good readings, the total never decreases
    assert energies(series) == [Decimal(0), Decimal(1000), Decimal(1250), Decimal(1500)]
    assert series.points[2].state is ChargingState.CHARGING
    assert series.anomalies == (
        Anomaly(MeterFlag.NEGATIVE_DELTA, at(20), "register 1900 Wh is below 2000 Wh; reading rejected"),
    )


def test_a_drop_to_zero_that_comes_back_is_a_glitch_not_a_reset() -> None:
    # given one reading of 0 between readings that go on from the old register
    samples = [wh(0, "50000"), wh(10, "51000"), wh(20, "0"), wh(30, "52000")]
    # when
    series = clean_series(samples)
    # then the old register is not counted a second time
    assert energies(series) == [Decimal(0), Decimal(1000), Decimal(1500), Decimal(2000)]
    assert series.flags == (MeterFlag.NEGATIVE_DELTA,)


def test_a_register_reset_continues_from_the_new_register() -> None:
    # given the meter reboots after 09:10 and counts again from zero
    samples = [wh(0, "5000000"), wh(10, "5001000"), wh(20, "100"), wh(30, "400")]
    # when
    series = clean_series(samples)
    # then no energy is lost and none invented: 1000 + 100 + 300
    assert energies(series) == [Decimal(0), Decimal(1000), Decimal(1100), Decimal(1400)]
    assert series.anomalies == (
        Anomaly(
            MeterFlag.REGISTER_RESET,
            at(20),
            "register restarted: 5001000 Wh then 100 Wh; energy continues from 1000 Wh",
        ),
    )


def test_session_relative_readings_after_an_absolute_begin_count_from_session_start() -> None:
    # given an absolute Transaction.Begin, then registers relative to the session
    samples = [
        wh(0, "1000000", context=ReadingContext.TRANSACTION_BEGIN),
        wh(10, "500"),
        wh(20, "1200", context="Transaction.End"),
    ]
    # when
    series = clean_series(samples)
    # then
    assert energies(series) == [Decimal(0), Decimal(500), Decimal(1200)]
    assert series.flags == (MeterFlag.SESSION_RELATIVE_REGISTER,)


def test_an_offline_transaction_begin_of_zero_is_never_the_baseline() -> None:
    # given a transaction started offline: the charger sent 0 as its begin register
    samples = [
        wh(0, "0", context=ReadingContext.TRANSACTION_BEGIN, offline=True),
        wh(10, "1234000"),
        wh(20, "1235000"),
    ]
    # when
    series = clean_series(samples)
    # then 1234 kWh are not billed: the baseline is the first trustworthy register
    assert energies(series) == [Decimal(0), Decimal(0), Decimal(1000)]
    assert series.anomalies == (
        Anomaly(
            MeterFlag.OFFLINE_ZERO_BEGIN,
            at(0),
            "Transaction.Begin of 0 sent offline is not used as the baseline",
        ),
    )


def test_an_online_transaction_begin_of_zero_is_a_baseline() -> None:
    # given a new meter whose register really starts at 0
    samples = [wh(0, "0", context=ReadingContext.TRANSACTION_BEGIN), wh(10, "700")]
    # when
    series = clean_series(samples)
    # then
    assert energies(series) == [Decimal(0), Decimal(700)]
    assert series.anomalies == ()


def test_a_negative_register_is_ignored() -> None:
    # given
    samples = [wh(0, "-5"), wh(10, "1000"), wh(20, "1300")]
    # when
    series = clean_series(samples)
    # then
    assert energies(series) == [Decimal(0), Decimal(0), Decimal(300)]
    assert series.flags == (MeterFlag.NEGATIVE_REGISTER,)


# --- samples without energy --------------------------------------------------------------------------


def test_samples_without_energy_keep_power_and_state_and_sit_on_the_line() -> None:
    # given a power and state sample between two registers
    samples = [
        wh(0, "1000"),
        MeterSample(at(5), power=Decimal(3000), state=ChargingState.SUSPENDED_EV),
        wh(15, "4000"),
        MeterSample(at(20), power=Decimal(0)),
    ]
    # when
    series = clean_series(samples)
    # then the energy between the readings flowed before the car suspended at 5 (none while it is
    # parked), and is held after the last reading
    assert energies(series) == [Decimal(0), Decimal(3000), Decimal(3000), Decimal(3000)]
    assert series.points[1] == MeterPoint(
        at(5), Decimal(3000), Decimal(3000), None, ChargingState.SUSPENDED_EV
    )


def test_without_states_energy_between_readings_is_linear_in_time() -> None:
    samples = [wh(0, "1000"), MeterSample(at(5), power=Decimal(3000)), wh(15, "4000")]
    assert energies(clean_series(samples)) == [Decimal(0), Decimal(1000), Decimal(3000)]


def test_a_state_change_between_two_readings_cuts_the_energy_where_it_was_reported() -> None:
    # given charging from 0, suspended (SuspendedEV) at 6, charging again at 19; readings at 0, 10, 20
    samples = [
        MeterSample(at(0), Decimal(1000), state=ChargingState.CHARGING),
        MeterSample(at(6), state=ChargingState.SUSPENDED_EV),
        MeterSample(at(10), Decimal(1600), state=ChargingState.SUSPENDED_EV),
        MeterSample(at(19), state=ChargingState.CHARGING),
        MeterSample(at(20), Decimal(1700), state=ChargingState.CHARGING),
    ]
    # then the 600 Wh flowed 0-6, nothing while parked 6-19, the last 100 Wh 19-20
    assert energies(clean_series(samples)) == [0, 600, 600, 600, 700]


def test_a_series_without_any_register_is_flagged_but_usable() -> None:
    # given
    samples = [MeterSample(at(0), state=ChargingState.CHARGING), MeterSample(at(10), power=Decimal(7000))]
    # when
    series = clean_series(samples)
    # then
    assert energies(series) == [Decimal(0), Decimal(0)]
    assert series.anomalies == (Anomaly(MeterFlag.NO_ENERGY, at(0), "no usable energy register"),)


def test_no_samples_at_all_is_a_meter_data_error() -> None:
    with pytest.raises(MeterDataError):
        clean_series([])


# --- the sample itself -------------------------------------------------------------------------------


def test_a_float_reading_is_refused() -> None:
    with pytest.raises(TypeError):
        MeterSample(at(0), 12.5)  # type: ignore[arg-type]


def test_an_invalid_sample_lists_every_problem() -> None:
    # when
    with pytest.raises(InvalidInput) as raised:
        MeterSample(datetime(2026, 1, 5, 9), Decimal("NaN"), "MWh", state="Sleeping")  # noqa: DTZ001  # type: ignore[arg-type]
    # then
    assert [problem.path for problem in raised.value.problems] == [
        "$.timestamp",
        "$.energy",
        "$.energy_unit",
        "$.state",
    ]


def test_ocpp_spellings_become_enums() -> None:
    # when
    sample = MeterSample(at(0), state="SuspendedEVSE", context="Sample.Periodic")  # type: ignore[arg-type]
    # then
    assert sample.state is ChargingState.SUSPENDED_EVSE
    assert sample.context is ReadingContext.SAMPLE_PERIODIC


@pytest.mark.parametrize(
    ("state", "parking"),
    [
        (ChargingState.CHARGING, False),
        (ChargingState.SUSPENDED_EVSE, False),
        (ChargingState.SUSPENDED_EV, True),
        (ChargingState.EV_CONNECTED, True),
        (ChargingState.IDLE, True),
    ],
)
def test_which_states_are_parking(state: ChargingState, parking: bool) -> None:
    assert state.is_parking is parking


def test_a_clean_series_refuses_points_out_of_order() -> None:
    with pytest.raises(InvalidInput):
        CleanSeries((MeterPoint(at(10), Decimal(5)), MeterPoint(at(0), Decimal(6))))
