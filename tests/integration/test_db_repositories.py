"""Repositories over a real database (SQLite file and PostgreSQL): records come back as stored, every
operator sees only its own, stale writes and writes the database refuses become plain Conflicts, and a
unit of work left without commit leaves nothing behind."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from evbill.domain.access.keys import AuditAction
from evbill.domain.errors import Conflict, InvalidInput, NotFound, StaleVersion
from evbill.domain.money import RoundingMode
from evbill.domain.sites.model import OcppVersion, PowerType
from evbill.domain.tariffs.catalog import AssignmentScope
from tests.integration.db_records import (
    CREATED,
    a_connector,
    a_location,
    a_session,
    a_station,
    a_tariff,
    a_tariff_version,
    an_api_key,
    an_assignment,
    an_audit_entry,
    an_evse,
    an_operator,
    given_site,
)

LATER = datetime(2026, 5, 5, 8, 0, 0, 1, tzinfo=UTC)


@pytest.fixture
def operator_id(uow_factory) -> str:
    operator = an_operator()
    with uow_factory() as uow:
        uow.operators.add(operator)
        uow.commit()
    return operator.id


@pytest.fixture
def other_operator_id(uow_factory) -> str:
    operator = an_operator(name="Other CPO")
    with uow_factory() as uow:
        uow.operators.add(operator)
        uow.commit()
    return operator.id


def _stored_site(uow_factory, operator_id):
    with uow_factory() as uow:
        site = given_site(uow, operator_id)
        uow.commit()
    return site


class TestOperators:
    def test_add_get_update_and_list(self, uow_factory):
        first, second = an_operator(), an_operator(name="Second", rounding_mode=RoundingMode.HALF_EVEN)
        with uow_factory() as uow:
            uow.operators.add(first)
            uow.operators.add(second)
            uow.commit()

        renamed = replace(first, name="Renamed", vat_id=None, updated_at=LATER, version=2)
        with uow_factory() as uow:
            uow.operators.update(renamed, expected_version=1)
            uow.commit()

        with uow_factory() as uow:
            assert uow.operators.get(first.id) == renamed
            assert uow.operators.list_all() == [renamed, second]
            assert uow.operators.get("no-such-operator") is None

    def test_a_stale_update_is_a_conflict(self, uow_factory, operator_id):
        with uow_factory() as uow:
            operator = uow.operators.get(operator_id)
        with uow_factory() as uow, pytest.raises(StaleVersion, match=r"\(version 1\); reload and retry"):
            uow.operators.update(replace(operator, name="X", version=3), expected_version=2)


class TestLocations:
    def test_a_location_comes_back_exactly_as_stored(self, uow_factory, operator_id):
        location = a_location(operator_id)
        with uow_factory() as uow:
            uow.locations.add(location)
            uow.commit()

        with uow_factory() as uow:
            stored = uow.locations.get(operator_id, location.id)

        assert stored == location
        assert repr(stored.latitude) == "Decimal('52.0894440')"
        assert stored.opening_hours == {"twentyfourseven": True}

    def test_update_stores_the_next_version(self, uow_factory, operator_id):
        location = a_location(operator_id)
        with uow_factory() as uow:
            uow.locations.add(location)
            uow.commit()
        moved = replace(location, name="New name", postal_code=None, updated_at=LATER, version=2)

        with uow_factory() as uow:
            uow.locations.update(moved, expected_version=1)
            uow.commit()

        with uow_factory() as uow:
            assert uow.locations.get(operator_id, location.id) == moved

    def test_a_stale_update_is_a_conflict_and_changes_nothing(self, uow_factory, operator_id):
        # given a location someone already moved to version 2
        location = a_location(operator_id)
        with uow_factory() as uow:
            uow.locations.add(location)
            uow.locations.update(replace(location, name="Theirs", version=2), expected_version=1)
            uow.commit()

        # when another writer, who read version 1, updates it
        with uow_factory() as uow, pytest.raises(StaleVersion) as raised:
            uow.locations.update(replace(location, name="Mine", version=2), expected_version=1)

        # then it is a Conflict that says what happened, and the stored row is theirs
        assert isinstance(raised.value, Conflict)
        assert raised.value.message == (
            f"location {location.id!r} was changed by someone else (version 2); reload and retry"
        )
        with uow_factory() as uow:
            assert uow.locations.get(operator_id, location.id).name == "Theirs"

    def test_update_insists_on_the_next_version_number(self, uow_factory, operator_id):
        location = a_location(operator_id)
        with uow_factory() as uow, pytest.raises(ValueError, match="must be expected_version \\+ 1 = 2"):
            uow.locations.update(location, expected_version=1)

    def test_updating_or_deleting_a_missing_location_is_not_found(self, uow_factory, operator_id):
        ghost = a_location(operator_id, version=2)
        with uow_factory() as uow:
            with pytest.raises(NotFound, match=f"location {ghost.id!r} not found"):
                uow.locations.update(ghost, expected_version=1)
            with pytest.raises(NotFound, match=f"location {ghost.id!r} not found"):
                uow.locations.delete(operator_id, ghost.id, expected_version=None)

    def test_delete_with_the_current_version(self, uow_factory, operator_id):
        location = a_location(operator_id)
        with uow_factory() as uow:
            uow.locations.add(location)
            uow.commit()

        with uow_factory() as uow:
            with pytest.raises(StaleVersion, match=r"\(version 1\)"):
                uow.locations.delete(operator_id, location.id, expected_version=7)
        with uow_factory() as uow:
            uow.locations.delete(operator_id, location.id, expected_version=1)
            uow.commit()

        with uow_factory() as uow:
            assert uow.locations.get(operator_id, location.id) is None

    def test_filters_and_pages(self, uow_factory, operator_id):
        utrecht = a_location(operator_id, name="Stationsplein Garage", city="Utrecht")
        berlin = a_location(operator_id, name="Parkhaus Mitte", city="Berlin", country="DE")
        garage_100 = a_location(operator_id, name="100% Garage_East", city="utrecht")
        with uow_factory() as uow:
            for location in (utrecht, berlin, garage_100):
                uow.locations.add(location)
            uow.commit()

        def ids(filters, after=None, limit=10):
            with uow_factory() as uow:
                found = uow.locations.list(operator_id, filters=filters, after=after, limit=limit)
            return [location.id for location in found]

        assert ids({}) == [utrecht.id, berlin.id, garage_100.id]
        assert ids({}, limit=2) == [utrecht.id, berlin.id]
        assert ids({}, after=berlin.id) == [garage_100.id]
        assert ids({"country": "DE"}) == [berlin.id]
        assert ids({"city": "UTRECHT"}) == [utrecht.id, garage_100.id]
        assert ids({"name": "gARAGE"}) == [utrecht.id, garage_100.id]
        assert ids({"name": "100%"}) == [garage_100.id]  # % and _ are matched literally
        assert ids({"name": "e_E"}) == [garage_100.id]
        assert ids({"name": None, "country": "NL"}) == [utrecht.id, garage_100.id]

    def test_an_unknown_filter_or_a_bad_limit_is_a_programming_error(self, uow_factory, operator_id):
        with uow_factory() as uow:
            with pytest.raises(ValueError, match="unknown filter colour for locations; known: city, country"):
                uow.locations.list(operator_id, filters={"colour": "red"}, after=None, limit=10)
            with pytest.raises(ValueError, match="limit must be at least 1, not 0"):
                uow.locations.list(operator_id, filters={}, after=None, limit=0)


class TestTenantIsolation:
    def test_another_operator_cannot_see_or_touch_a_location(
        self, uow_factory, operator_id, other_operator_id
    ):
        # given operator A's location
        location = a_location(operator_id)
        with uow_factory() as uow:
            uow.locations.add(location)
            uow.commit()

        # when operator B uses its id, then for B it does not exist
        with uow_factory() as uow:
            assert uow.locations.get(other_operator_id, location.id) is None
            assert uow.locations.list(other_operator_id, filters={}, after=None, limit=10) == []
            with pytest.raises(NotFound):
                uow.locations.update(
                    replace(location, operator_id=other_operator_id, name="Hijacked", version=2),
                    expected_version=1,
                )
            with pytest.raises(NotFound):
                uow.locations.delete(other_operator_id, location.id, expected_version=None)
            uow.commit()

        # and A's location is untouched
        with uow_factory() as uow:
            assert uow.locations.get(operator_id, location.id) == location

    def test_a_station_cannot_hang_under_another_operators_location(
        self, uow_factory, operator_id, other_operator_id
    ):
        location = a_location(operator_id)
        with uow_factory() as uow:
            uow.locations.add(location)
            uow.commit()

        with uow_factory() as uow, pytest.raises(Conflict) as raised:
            uow.stations.add(a_station(other_operator_id, location.id))

        assert raised.value.message == (
            f"location_id {location.id!r} does not refer to a location of this operator"
        )

    def test_every_kind_of_record_is_scoped(self, uow_factory, operator_id, other_operator_id):
        site = _stored_site(uow_factory, operator_id)
        with uow_factory() as uow:
            tariff = a_tariff(operator_id)
            version = a_tariff_version(operator_id, tariff.id)
            session = a_session(site)
            uow.tariffs.add(tariff)
            uow.tariff_versions.add(version)
            uow.assignments.add(an_assignment(operator_id, tariff.id))
            uow.sessions.add(session)
            uow.api_keys.add(an_api_key(operator_id))
            uow.audit.append(an_audit_entry(operator_id))
            uow.commit()

        with uow_factory() as uow:
            other = other_operator_id
            assert uow.stations.get(other, site.station.id) is None
            assert uow.evses.get(other, site.evse.id) is None
            assert uow.connectors.get(other, site.connector.id) is None
            assert uow.tariffs.get(other, tariff.id) is None
            assert uow.tariff_versions.get(other, version.id) is None
            assert uow.tariff_versions.of_tariff(other, tariff.id) == []
            assert uow.tariff_versions.find(other, tariff.id, 1) is None
            assert uow.assignments.list(other) == []
            assert uow.sessions.get(other, session.id) is None
            assert uow.sessions.list(other, filters={}, after=None, limit=10) == []
            assert uow.api_keys.list(other) == []
            assert uow.audit.list(other, filters={}, after=None, limit=10) == []
            for repository in (uow.stations, uow.evses, uow.connectors, uow.tariffs):
                assert repository.list(other, filters={}, after=None, limit=10) == []


class TestSites:
    def test_stations_evses_and_connectors_round_trip_and_filter(self, uow_factory, operator_id):
        site = _stored_site(uow_factory, operator_id)
        with uow_factory() as uow:
            dc_evse = an_evse(operator_id, site.station.id, ocpp_evse_id=2)
            dc = a_connector(operator_id, dc_evse.id, power_type=PowerType.DC, max_electric_power=None)
            old_station = a_station(operator_id, site.location.id, ocpp_version=OcppVersion.V16)
            uow.evses.add(dc_evse)
            uow.connectors.add(dc)
            uow.stations.add(old_station)
            uow.commit()

        with uow_factory() as uow:
            assert uow.stations.get(operator_id, site.station.id) == site.station
            assert uow.evses.get(operator_id, site.evse.id) == site.evse
            assert uow.connectors.get(operator_id, dc.id) == dc

            def ids(repository, filters):
                found = repository.list(operator_id, filters=filters, after=None, limit=10)
                return [record.id for record in found]

            assert ids(uow.stations, {"location_id": site.location.id}) == [site.station.id, old_station.id]
            assert ids(uow.stations, {"ocpp_version": OcppVersion.V16}) == [old_station.id]
            assert ids(uow.stations, {"ocpp_version": "2.0.1"}) == [site.station.id]
            assert ids(uow.stations, {"charge_point_id": site.station.charge_point_id}) == [site.station.id]
            assert ids(uow.evses, {"station_id": site.station.id}) == [site.evse.id, dc_evse.id]
            assert ids(uow.connectors, {"evse_id": dc_evse.id}) == [dc.id]
            assert ids(uow.connectors, {"power_type": "DC"}) == [dc.id]
            assert ids(uow.connectors, {"power_type": PowerType.AC_3_PHASE}) == [site.connector.id]

    def test_a_bad_filter_value_is_invalid_input(self, uow_factory, operator_id):
        with uow_factory() as uow, pytest.raises(InvalidInput) as raised:
            uow.stations.list(operator_id, filters={"ocpp_version": "1.5"}, after=None, limit=10)

        assert (
            str(raised.value.problems[0])
            == "error: $.ocpp_version: '1.5' is not one of '1.6', '2.0.1', '2.1'"
        )

    def test_a_duplicate_charge_point_id_is_a_conflict_even_across_operators(
        self, uow_factory, operator_id, other_operator_id
    ):
        site = _stored_site(uow_factory, operator_id)
        with uow_factory() as uow:
            location = a_location(other_operator_id)
            uow.locations.add(location)
            duplicate = a_station(
                other_operator_id, location.id, charge_point_id=site.station.charge_point_id
            )
            with pytest.raises(Conflict) as raised:
                uow.stations.add(duplicate)

        assert raised.value.message == (  # the same as for a station of its own: whose it is stays unsaid
            f"charge_point_id {site.station.charge_point_id!r} is not available: "
            "it must be unique across the platform; choose another"
        )

    def test_renaming_a_station_to_a_taken_charge_point_id_is_a_conflict(self, uow_factory, operator_id):
        first = _stored_site(uow_factory, operator_id)
        second = _stored_site(uow_factory, operator_id)
        taken = first.station.charge_point_id

        with (
            uow_factory() as uow,
            pytest.raises(Conflict, match=f"charge_point_id {taken!r} is not available"),
        ):
            uow.stations.update(replace(second.station, charge_point_id=taken, version=2), expected_version=1)

    def test_duplicate_evse_and_connector_numbers_are_conflicts(self, uow_factory, operator_id):
        site = _stored_site(uow_factory, operator_id)
        with uow_factory() as uow, pytest.raises(Conflict) as raised:
            uow.evses.add(an_evse(operator_id, site.station.id, ocpp_evse_id=1))
        assert raised.value.message == (
            f"an EVSE with station_id {site.station.id!r} and ocpp_evse_id 1 already exists"
        )
        with uow_factory() as uow, pytest.raises(Conflict, match="connector_number 1 already exists"):
            uow.connectors.add(a_connector(operator_id, site.evse.id, connector_number=1))

    @pytest.mark.parametrize(
        ("kind", "dependants"),
        [("locations", "charging stations"), ("stations", "EVSEs"), ("evses", "connectors")],
    )
    def test_deleting_a_parent_with_children_is_a_conflict(self, uow_factory, operator_id, kind, dependants):
        site = _stored_site(uow_factory, operator_id)
        record = {"locations": site.location, "stations": site.station, "evses": site.evse}[kind]

        with uow_factory() as uow, pytest.raises(Conflict) as raised:
            getattr(uow, kind).delete(operator_id, record.id, expected_version=1)

        assert raised.value.message.endswith(
            f"{record.id!r} is still referenced by {dependants}; remove those first"
        )
        with uow_factory() as uow:
            assert getattr(uow, kind).get(operator_id, record.id) == record

    def test_deleting_children_first_lets_the_parent_go(self, uow_factory, operator_id):
        site = _stored_site(uow_factory, operator_id)
        with uow_factory() as uow:
            uow.connectors.delete(operator_id, site.connector.id, expected_version=1)
            uow.evses.delete(operator_id, site.evse.id, expected_version=1)
            uow.stations.delete(operator_id, site.station.id, expected_version=1)
            uow.locations.delete(operator_id, site.location.id, expected_version=1)
            uow.commit()

        with uow_factory() as uow:
            assert uow.locations.get(operator_id, site.location.id) is None

    def test_a_location_with_sessions_cannot_be_deleted(self, uow_factory, operator_id):
        site = _stored_site(uow_factory, operator_id)
        with uow_factory() as uow:
            uow.sessions.add(a_session(site))
            uow.connectors.delete(operator_id, site.connector.id, expected_version=None)
            uow.commit()

        with uow_factory() as uow, pytest.raises(Conflict, match="still referenced by charging sessions"):
            uow.evses.delete(operator_id, site.evse.id, expected_version=None)


class TestTariffs:
    def test_tariff_versions_and_assignments(self, uow_factory, operator_id):
        tariff = a_tariff(operator_id)
        first = a_tariff_version(operator_id, tariff.id, number=1)
        second = a_tariff_version(operator_id, tariff.id, number=2, created_at=LATER)
        default = an_assignment(operator_id, tariff.id)
        on_location = an_assignment(operator_id, tariff.id, scope=AssignmentScope.LOCATION, scope_id="loc-1")
        with uow_factory() as uow:
            uow.tariffs.add(tariff)
            uow.tariff_versions.add(second)
            uow.tariff_versions.add(first)
            uow.assignments.add(default)
            uow.assignments.add(on_location)
            uow.commit()

        with uow_factory() as uow:
            assert uow.tariffs.get(operator_id, tariff.id) == tariff
            assert uow.tariff_versions.of_tariff(operator_id, tariff.id) == [first, second]
            assert uow.tariff_versions.find(operator_id, tariff.id, 2) == second
            assert uow.tariff_versions.find(operator_id, tariff.id, 3) is None
            assert uow.tariff_versions.get(operator_id, first.id) == first
            assert uow.assignments.list(operator_id) == [default, on_location]
            uow.assignments.delete(operator_id, default.id)
            with pytest.raises(NotFound, match=f"tariff assignment {default.id!r} not found"):
                uow.assignments.delete(operator_id, default.id)
            uow.commit()

        with uow_factory() as uow:
            assert uow.assignments.list(operator_id) == [on_location]

    def test_ocpi_id_is_unique_per_operator(self, uow_factory, operator_id, other_operator_id):
        with uow_factory() as uow:
            uow.tariffs.add(a_tariff(operator_id, ocpi_id="12"))
            uow.tariffs.add(a_tariff(other_operator_id, ocpi_id="12"))  # another operator: fine
            uow.commit()

        with uow_factory() as uow, pytest.raises(Conflict) as raised:
            uow.tariffs.add(a_tariff(operator_id, ocpi_id="12"))
        assert raised.value.message == "a tariff with ocpi_id '12' already exists"

    def test_a_version_number_is_taken_once(self, uow_factory, operator_id):
        tariff = a_tariff(operator_id)
        with uow_factory() as uow:
            uow.tariffs.add(tariff)
            uow.tariff_versions.add(a_tariff_version(operator_id, tariff.id, number=1))
            uow.commit()

        with uow_factory() as uow, pytest.raises(Conflict) as raised:
            uow.tariff_versions.add(a_tariff_version(operator_id, tariff.id, number=1))
        assert (
            raised.value.message
            == f"a tariff version with tariff_id {tariff.id!r} and number 1 already exists"
        )

    def test_filters(self, uow_factory, operator_id):
        euro, pound = a_tariff(operator_id, ocpi_id="A"), a_tariff(operator_id, ocpi_id="B", currency="GBP")
        with uow_factory() as uow:
            uow.tariffs.add(euro)
            uow.tariffs.add(pound)
            assert uow.tariffs.list(operator_id, filters={"currency": "GBP"}, after=None, limit=5) == [pound]
            assert uow.tariffs.list(operator_id, filters={"ocpi_id": "A"}, after=None, limit=5) == [euro]

    def test_an_unused_tariff_goes_with_its_versions(self, uow_factory, operator_id):
        tariff = a_tariff(operator_id)
        version = a_tariff_version(operator_id, tariff.id)
        with uow_factory() as uow:
            uow.tariffs.add(tariff)
            uow.tariff_versions.add(version)
            uow.commit()

        with uow_factory() as uow:
            uow.tariffs.delete(operator_id, tariff.id, expected_version=1)
            uow.commit()

        with uow_factory() as uow:
            assert uow.tariff_versions.get(operator_id, version.id) is None

    def test_an_assigned_tariff_or_one_that_priced_a_session_stays(self, uow_factory, operator_id):
        site = _stored_site(uow_factory, operator_id)
        assigned, used = a_tariff(operator_id, ocpi_id="A"), a_tariff(operator_id, ocpi_id="U")
        used_version = a_tariff_version(operator_id, used.id)
        with uow_factory() as uow:
            uow.tariffs.add(assigned)
            uow.tariffs.add(used)
            uow.assignments.add(an_assignment(operator_id, assigned.id))
            uow.tariff_versions.add(used_version)
            uow.sessions.add(a_session(site, tariff_version_id=used_version.id))
            uow.commit()

        with uow_factory() as uow, pytest.raises(Conflict) as assigned_error:
            uow.tariffs.delete(operator_id, assigned.id, expected_version=None)
        with uow_factory() as uow, pytest.raises(Conflict) as used_error:
            uow.tariffs.delete(operator_id, used.id, expected_version=None)

        assert assigned_error.value.message == (
            f"tariff {assigned.id!r} is still referenced by tariff assignments; remove those first"
        )
        assert used_error.value.message == (
            f"tariff {used.id!r} is still referenced by charging sessions; remove those first"
        )


class TestApiKeys:
    def test_find_by_prefix_across_operators_list_and_revoke(
        self, uow_factory, operator_id, other_operator_id
    ):
        mine, theirs = an_api_key(operator_id), an_api_key(other_operator_id)
        with uow_factory() as uow:
            uow.api_keys.add(mine)
            uow.api_keys.add(theirs)
            uow.commit()

        with uow_factory() as uow:
            assert uow.api_keys.find_by_prefix(theirs.prefix) == theirs
            assert uow.api_keys.find_by_prefix("evb_nothing") is None
            assert uow.api_keys.list(operator_id) == [mine]
            with pytest.raises(NotFound, match=f"API key {theirs.id!r} not found"):
                uow.api_keys.revoke(operator_id, theirs.id, LATER)
            assert uow.api_keys.revoke(operator_id, mine.id, LATER) is True
            # a second revocation says so, and the first time stays
            assert uow.api_keys.revoke(operator_id, mine.id, datetime(2027, 1, 1, tzinfo=UTC)) is False
            uow.commit()

        with uow_factory() as uow:
            assert uow.api_keys.find_by_prefix(mine.prefix) == replace(mine, revoked_at=LATER)
            assert uow.api_keys.find_by_prefix(theirs.prefix).active is True

    def test_a_prefix_is_unique(self, uow_factory, operator_id, other_operator_id):
        key = an_api_key(operator_id)
        with uow_factory() as uow:
            uow.api_keys.add(key)
            uow.commit()

        with uow_factory() as uow, pytest.raises(Conflict) as raised:
            uow.api_keys.add(an_api_key(other_operator_id, prefix=key.prefix))
        assert raised.value.message == f"an API key with prefix {key.prefix!r} already exists"


class TestAuditLog:
    def test_entries_get_ids_in_order_and_filter(self, uow_factory, operator_id):
        created = an_audit_entry(operator_id, action=AuditAction.CREATE, before=None, entity_id="loc-1")
        updated = an_audit_entry(operator_id, entity_id="loc-1")
        other = an_audit_entry(operator_id, entity_type="station", entity_id="st-1", at=LATER)
        with uow_factory() as uow:
            for entry in (created, updated, other):
                uow.audit.append(entry)
            uow.commit()

        with uow_factory() as uow:
            everything = uow.audit.list(operator_id, filters={}, after=None, limit=10)
            ids = [entry.id for entry in everything]
            entry_ids = [entry.entry_id for entry in everything]
            assert everything == [
                replace(created, id=ids[0], entry_id=entry_ids[0]),
                replace(updated, id=ids[1], entry_id=entry_ids[1]),
                replace(other, id=ids[2], entry_id=entry_ids[2]),
            ]
            assert all(uuid.UUID(entry_id).version == 4 for entry_id in entry_ids if entry_id)
            assert len(set(entry_ids)) == 3
            after_first = uow.audit.cursor_of(everything[0])
            after_second = uow.audit.cursor_of(everything[1])
            assert uow.audit.list(operator_id, filters={}, after=after_first, limit=1) == [everything[1]]
            assert uow.audit.list(operator_id, filters={}, after=after_second, limit=5) == [everything[2]]
            by_entity = {"entity_type": "location", "entity_id": "loc-1"}
            assert uow.audit.list(operator_id, filters=by_entity, after=None, limit=10) == everything[:2]
            by_action = {"action": AuditAction.CREATE}
            assert uow.audit.list(operator_id, filters=by_action, after=None, limit=10) == everything[:1]

    def test_the_log_assigns_ids(self, uow_factory, operator_id):
        with uow_factory() as uow, pytest.raises(ValueError, match="ids are assigned by the log; got id 5"):
            uow.audit.append(an_audit_entry(operator_id, id=5))
        with uow_factory() as uow, pytest.raises(ValueError, match="got entry_id 'mine'"):
            uow.audit.append(an_audit_entry(operator_id, entry_id="mine"))

    def test_a_cursor_not_given_out_is_refused_naming_the_field(self, uow_factory, operator_id):
        with uow_factory() as uow, pytest.raises(InvalidInput) as raised:
            uow.audit.list(operator_id, filters={}, after="bm90IGEgY3Vyc29y", limit=5)
        assert [(problem.path, problem.message) for problem in raised.value.problems] == [
            ("$.cursor", "is not a cursor this list gave out")
        ]


class TestUnitOfWork:
    def test_leaving_without_commit_rolls_everything_back(self, uow_factory, operator_id):
        location = a_location(operator_id)
        with uow_factory() as uow:
            uow.locations.add(location)
            uow.audit.append(an_audit_entry(operator_id))
            assert uow.locations.get(operator_id, location.id) == location  # visible inside

        with uow_factory() as uow:
            assert uow.locations.get(operator_id, location.id) is None
            assert uow.audit.list(operator_id, filters={}, after=None, limit=10) == []

    def test_an_error_inside_rolls_back(self, uow_factory, operator_id):
        location = a_location(operator_id)

        def add_then_fail() -> None:
            with uow_factory() as uow:
                uow.locations.add(location)
                raise RuntimeError("boom")

        with pytest.raises(RuntimeError, match="boom"):
            add_then_fail()

        with uow_factory() as uow:
            assert uow.locations.get(operator_id, location.id) is None

    def test_a_conflict_leaves_earlier_commits_alone(self, uow_factory, operator_id):
        site = _stored_site(uow_factory, operator_id)
        location = a_location(operator_id)
        with uow_factory() as uow:
            uow.locations.add(location)
            duplicate = a_station(operator_id, location.id, charge_point_id=site.station.charge_point_id)
            with pytest.raises(Conflict):
                uow.stations.add(duplicate)

        with uow_factory() as uow:
            assert uow.locations.get(operator_id, location.id) is None
            assert uow.stations.get(operator_id, site.station.id) == site.station

    def test_repositories_work_only_inside_the_block(self, uow_factory, operator_id):
        uow = uow_factory()
        with pytest.raises(RuntimeError, match="inside 'with uow:'"):
            uow.locations.get(operator_id, "x")
        with uow, pytest.raises(RuntimeError, match="already open"):
            uow.__enter__()

    def test_created_at_never_changes_on_update(self, uow_factory, operator_id):
        location = a_location(operator_id)
        with uow_factory() as uow:
            uow.locations.add(location)
            uow.locations.update(replace(location, created_at=LATER, version=2), expected_version=1)
            uow.commit()

        with uow_factory() as uow:
            assert uow.locations.get(operator_id, location.id).created_at == CREATED


def test_concurrent_writers_lose_no_update_and_never_see_a_locked_database(uow_factory, operator_id):
    # given one location and four writers that each apply ten read-modify-write updates, retrying on
    # StaleVersion (SQLite: BEGIN IMMEDIATE serialises them; PostgreSQL: the version check does)
    location = a_location(operator_id)
    with uow_factory() as uow:
        uow.locations.add(location)
        uow.commit()
    applied: list[str] = []

    def writer(name: str) -> None:
        done = 0
        while done < 10:
            try:
                with uow_factory() as uow:
                    current = uow.locations.get(operator_id, location.id)
                    changed = replace(current, name=f"{name}-{done}", version=current.version + 1)
                    uow.locations.update(changed, expected_version=current.version)
                    applied.append(changed.name)  # still holding the row's write lock: in commit order
                    uow.commit()
            except StaleVersion:
                continue
            done += 1

    # when they run at the same time
    with ThreadPoolExecutor(max_workers=4) as pool:
        for future in [pool.submit(writer, f"w{number}") for number in range(4)]:
            future.result()  # re-raises any error, e.g. "database is locked"

    # then all forty updates happened, one version each, and the last one is stored
    with uow_factory() as uow:
        stored = uow.locations.get(operator_id, location.id)
    assert len(applied) == 40
    assert stored.version == 41
    assert stored.name == applied[-1]
