"""Utilisation from status reports: shares, gaps, clocks, order, duplicates, faults, DST (hand-computed)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from evbill.domain.analytics.utilisation import EvsePlace, Occupancy, timelines, with_charging
from evbill.domain.analytics.utilisation_report import (
    UtilisationGroup,
    faults,
    faults_text,
    heatmap_text,
    occupancy_heatmap,
    row_text,
    utilisation,
)
from evbill.domain.charging.status_history import StatusReport, offline_report

OP, ST = "op", "st-1"
E1 = EvsePlace("evse-1", ST, 1, "loc-1", "UTC", "AC")
E2 = EvsePlace("evse-2", ST, 2, "loc-1", "UTC", "DC")
AMS = EvsePlace("evse-a", "st-a", 1, "loc-a", "Europe/Amsterdam", "AC")


def at(text: str) -> datetime:
    return (
        datetime.fromisoformat(f"2026-03-02T{text}:00+00:00")
        if len(text) == 5
        else datetime.fromisoformat(text)
    )


def report(
    evse: int,
    status: str,
    when: str,
    *,
    received: str | None = None,
    connector: int | None = None,
    error: str | None = "NoError",
    station: str = ST,
) -> StatusReport:
    return StatusReport(OP, station, evse, connector, status, at(received or when), at(when), error)


def seconds_of(rows, key="total"):
    row = next(row for row in rows if row.key == key)
    return {state: int(value) for state, value in row.seconds.items() if value}


WINDOW = {"start": at("10:00"), "end": at("12:00")}


def test_occupied_and_charging_shares_of_one_evse():
    # Given Available 10:00, Charging 10:15, Finishing 10:45, Available 11:00 in a window 10:00-12:00
    reports = [
        report(1, "Available", "10:00"),
        report(1, "Charging", "10:15"),
        report(1, "Finishing", "10:45"),
        report(1, "Available", "11:00"),
    ]
    found = timelines(reports, [E1], **WINDOW)
    rows = utilisation(found.segments, UtilisationGroup.TOTAL)
    # Then available 15 + 60 = 75 min, charging 30 min, occupied (not charging) 15 min
    assert seconds_of(rows) == {Occupancy.AVAILABLE: 4500, Occupancy.CHARGING: 1800, Occupancy.OCCUPIED: 900}
    text = row_text(rows[0])
    # occupied share = (1800 + 900) / 7200 = 0.375; charging 1800 / 7200 = 0.25; available 4500/7200
    assert text["occupied_share"] == "0.3750"
    assert text["charging_share"] == "0.2500"
    assert text["available_share"] == "0.6250"
    assert (text["hours"], text["occupied_hours"], text["charging_hours"]) == ("2.00", "0.75", "0.50")


def test_before_the_first_report_and_while_offline_the_state_is_unknown_not_available():
    # Given nothing before 10:20, Available at 10:20, the station offline at 10:30, Available again 11:30
    reports = [
        report(1, "Available", "10:20"),
        offline_report(OP, ST, at("10:30")),
        report(1, "Available", "11:30"),
    ]
    found = timelines(reports, [E1], **WINDOW)
    # Then unknown 10:00-10:20 and 10:30-11:30 = 80 min; available 10 + 30 = 40 min
    assert seconds_of(utilisation(found.segments, UtilisationGroup.TOTAL)) == {
        Occupancy.UNKNOWN: 4800,
        Occupancy.AVAILABLE: 2400,
    }


def test_a_report_before_the_window_gives_the_state_at_its_start():
    found = timelines([report(1, "Charging", "09:00")], [E1], **WINDOW)
    assert seconds_of(utilisation(found.segments, UtilisationGroup.TOTAL)) == {Occupancy.CHARGING: 7200}


def test_late_reports_land_where_they_happened_and_duplicates_count_once():
    # Given Charging at 10:15 received only at 10:50, after Finishing 10:45, and Finishing sent twice
    reports = [
        report(1, "Available", "10:00"),
        report(1, "Finishing", "10:45"),
        report(1, "Finishing", "10:45", received="10:46"),
        report(1, "Charging", "10:15", received="10:50"),
        report(1, "Available", "11:00"),
    ]
    found = timelines(reports, [E1], **WINDOW)
    assert seconds_of(utilisation(found.segments, UtilisationGroup.TOTAL)) == {
        Occupancy.AVAILABLE: 4500,
        Occupancy.CHARGING: 1800,
        Occupancy.OCCUPIED: 900,
    }
    assert (found.cleaning.reports, found.cleaning.duplicates, found.cleaning.out_of_order) == (5, 1, 1)
    assert found.cleaning.clock_corrected == 0  # 35 minutes late is a queue, not a clock that is off


def test_a_clock_far_off_is_set_aside_for_the_received_time():
    # Given a charger whose clock says 2020 while evbill received its Charging at 11:00
    reports = [
        report(1, "Available", "10:00"),
        report(1, "Charging", "2020-01-01T00:00:00+00:00", received="11:00"),
    ]
    found = timelines(reports, [E1], **WINDOW)
    # Then Charging counts from 11:00: 60 min available, 60 min charging
    assert seconds_of(utilisation(found.segments, UtilisationGroup.TOTAL)) == {
        Occupancy.AVAILABLE: 3600,
        Occupancy.CHARGING: 3600,
    }
    assert found.cleaning.clock_corrected == 1


def test_a_station_fault_holds_every_evse_and_is_reported_with_its_error_code():
    # Given both EVSEs available, the station (connector 0) Faulted 10:30-11:00 with GroundFailure
    reports = [
        report(1, "Available", "10:00"),
        report(2, "Available", "10:00"),
        report(0, "Faulted", "10:30", error="GroundFailure"),
        report(0, "Available", "11:00"),
    ]
    found = timelines(reports, [E1, E2], **WINDOW)
    rows = utilisation(found.segments, UtilisationGroup.EVSE)
    assert seconds_of(rows, "evse-1") == {Occupancy.AVAILABLE: 5400, Occupancy.FAULTED: 1800}
    # Then 2 EVSEs x 30 min = 1.00 faulted hour, one fault, its code
    assert faults_text(faults(found))["rows"] == [
        {
            "station_id": ST,
            "faults": 1,
            "faulted_hours": "1.00",
            "last_error_code": "GroundFailure",
            "last_error_at": "2026-03-02T10:30:00+00:00",
        },
    ]
    by_class = utilisation(found.segments, UtilisationGroup.CONNECTOR_CLASS)
    assert [row.key for row in by_class] == ["AC", "DC"]


def test_an_evse_with_two_connectors_is_occupied_when_one_is_and_sessions_say_when_it_charged():
    # Given 2.0.1: connector 1 Available, connector 2 Occupied 10:00-11:00; a session charged 10:10-10:40
    reports = [
        report(1, "Available", "10:00", connector=1),
        report(1, "Occupied", "10:00", connector=2),
        report(1, "Available", "11:00", connector=2),
    ]
    found = timelines(reports, [E1], **WINDOW)
    segments = with_charging(found.segments, {"evse-1": [(at("10:10"), at("10:40"))]})
    # Then occupied 10 + 20 = 30 min, charging 30 min, available 60 min
    assert seconds_of(utilisation(segments, UtilisationGroup.TOTAL)) == {
        Occupancy.OCCUPIED: 1800,
        Occupancy.CHARGING: 1800,
        Occupancy.AVAILABLE: 3600,
    }


def test_the_night_clocks_go_back_in_amsterdam_counts_sunday_two_oclock_twice():
    # Given an EVSE occupied from 00:00 to 02:00 UTC on 25 October 2026 (CEST ends at 01:00 UTC):
    # 00:00-01:00 UTC is 02:00-03:00 CEST, 01:00-02:00 UTC is 02:00-03:00 CET
    start = datetime(2026, 10, 24, 22, 0, tzinfo=UTC)
    reports = [
        report(1, "Available", "2026-10-24T22:00:00+00:00", station="st-a"),
        report(1, "Charging", "2026-10-25T00:00:00+00:00", station="st-a"),
        report(1, "Available", "2026-10-25T02:00:00+00:00", station="st-a"),
    ]
    found = timelines(reports, [AMS], start=start, end=start + timedelta(hours=6))
    shown = heatmap_text(occupancy_heatmap(found.segments))
    # Then Sunday (6) 02h holds 2.00 busy hours out of 2 known: share 1.0000; 03h holds none
    assert shown["occupied_hours"][6][2] == "2.00"
    assert shown["occupied_share"][6][2] == "1.0000"
    assert shown["occupied_hours"][6][3] == "0.00"
    assert shown["starts"][6][2] == 1
    # And by local day: 22:00-24:00 UTC on the 24th is 00:00-02:00 CEST on the 25th: all on the 25th,
    # 6 hours of EVSE time (the local day has 25 hours)
    days = utilisation(found.segments, UtilisationGroup.DAY)
    assert [(row.key, int(row.total)) for row in days] == [("2026-10-25", 21600)]


def test_local_days_are_cut_at_local_midnight():
    # Given Charging 21:00-23:00 UTC on 1 March in Amsterdam (CET, UTC+1): local 22:00-24:00 and 00:00
    start = datetime(2026, 3, 1, 21, 0, tzinfo=UTC)
    reports = [report(1, "Charging", "2026-03-01T21:00:00+00:00", station="st-a")]
    found = timelines(reports, [AMS], start=start, end=start + timedelta(hours=2))
    days = utilisation(found.segments, UtilisationGroup.DAY)
    # Then 1 h on 1 March (22:00-23:00 local) and 1 h on 2 March (00:00-01:00 local)... local midnight is
    # 23:00 UTC, so 21:00-23:00 UTC is all of 22:00-24:00 local on the 1st
    assert [(row.key, int(row.total)) for row in days] == [("2026-03-01", 7200)]
    found = timelines(reports, [AMS], start=start, end=start + timedelta(hours=3))
    days = utilisation(found.segments, UtilisationGroup.DAY)
    assert [(row.key, int(row.total)) for row in days] == [("2026-03-01", 7200), ("2026-03-02", 3600)]
