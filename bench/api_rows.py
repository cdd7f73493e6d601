"""Rows for the API benchmark's data set, as PostgreSQL COPY text: sites first, then a year of sessions.

Everything comes from one seeded ``random.Random`` and a fixed "now", so the same seed and moment give
the same rows. Values are written the way the application's column types store them: ids are UUIDv7
text whose 48-bit timestamp is the record's ``created_at`` (so ids sort by creation, as the
application's ``Uuid7Generator`` makes them), times are ISO-8601 with a UTC offset (``timestamptz``),
energy has 3 decimals (Wh), precise totals 10 decimals and settled totals are integer cents.

Money is integer arithmetic throughout: with ``e`` the energy in mWh and ``p`` the price in euro cents
per kWh, the precise total excl. VAT is ``e * p / 10**8`` EUR (written with 10 decimals), incl. 19 %
VAT ``e * p * 119 / 10**10`` EUR, and the settled totals are those rounded half up to the cent:

    >>> energy_text(12_345_678), precise_text(12_345_678 * 39 * 100)
    ('12345.678', '4.8148144200')
"""

from __future__ import annotations

import bisect
import itertools
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

NULL = "\\N"  # COPY text format's NULL
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
VAT_PERCENT = 19
OPENING_HOURS = '{"twentyfourseven":true,"regular_hours":[]}'

# (city, country, IANA zone, latitude and longitude of the centre in 1e-7 degrees, postal prefix, share)
CITIES = (
    ("Berlin", "DE", "Europe/Berlin", 525_200_000, 134_050_000, "10", 200),
    ("Hamburg", "DE", "Europe/Berlin", 535_511_000, 99_937_000, "20", 150),
    ("München", "DE", "Europe/Berlin", 481_372_000, 115_755_000, "80", 130),
    ("Köln", "DE", "Europe/Berlin", 509_375_000, 69_603_000, "50", 100),
    ("Frankfurt am Main", "DE", "Europe/Berlin", 501_109_000, 86_821_000, "60", 90),
    ("Amsterdam", "NL", "Europe/Amsterdam", 523_676_000, 48_952_000, "10", 90),
    ("Rotterdam", "NL", "Europe/Amsterdam", 519_244_000, 44_777_000, "30", 70),
    ("Wien", "AT", "Europe/Vienna", 482_082_000, 163_738_000, "11", 70),
    ("Bruxelles", "BE", "Europe/Brussels", 508_503_000, 43_517_000, "10", 50),
    ("Paris", "FR", "Europe/Paris", 488_566_000, 23_522_000, "75", 50),
)
# The columns each row gives, in order; columns left out take their defaults (NULL, or the server's).
_STAMP = ("created_at", "updated_at", "version")
LOCATION_COLUMNS = (
    "id",
    "operator_id",
    "name",
    "address",
    "city",
    "postal_code",
    "country",
    "time_zone",
    "latitude",
    "longitude",
    "opening_hours",
    *_STAMP,
)
STATION_COLUMNS = (
    "id",
    "operator_id",
    "location_id",
    "charge_point_id",
    "vendor",
    "model",
    "ocpp_version",
    "security_profile",
    "password_hash",
    *_STAMP,
)
EVSE_COLUMNS = ("id", "operator_id", "station_id", "evse_id", "ocpp_evse_id", *_STAMP)
CONNECTOR_COLUMNS = (
    "id",
    "operator_id",
    "evse_id",
    "connector_number",
    "standard",
    "format",
    "power_type",
    "max_voltage",
    "max_amperage",
    "max_electric_power",
    *_STAMP,
)
SESSION_COLUMNS = (
    "id",
    "operator_id",
    "location_id",
    "station_id",
    "evse_id",
    "status",
    "started_at",
    "ended_at",
    "energy_wh",
    "currency",
    "tariff_version_id",
    "total_excl_vat",
    "total_incl_vat",
    "total_excl_vat_minor",
    "total_incl_vat_minor",
    "created_at",
)
ID_SPACING = 1_000_000  # milliseconds between the creation of each kind of site record
STREETS = ("Hauptstraße", "Bahnhofstraße", "Marktplatz", "Parkweg", "Industriestraße", "Am Hafen")


@dataclass(frozen=True, slots=True)
class Tariffs:
    """The tariff versions sessions are priced under, with their energy price in cents per kWh."""

    ac_version_id: str
    ac_cents: int
    dc_version_id: str
    dc_cents: int


@dataclass(frozen=True, slots=True)
class EvsePlace:
    """An EVSE with the ids a session copies from it, and how often it is used."""

    evse_id: str
    station_id: str
    location_id: str
    dc: bool
    weight: float


@dataclass
class Sites:
    """The COPY rows of one operator's sites, and its EVSEs for the sessions to happen at."""

    locations: list[tuple[str, ...]]
    stations: list[tuple[str, ...]]
    evses: list[tuple[str, ...]]
    connectors: list[tuple[str, ...]]
    places: list[EvsePlace]


def uuid7(milliseconds: int, rng: random.Random) -> str:
    """A UUIDv7 (RFC 9562) for a creation time in Unix milliseconds, random in its other bits."""
    value = (milliseconds & ((1 << 48) - 1)) << 80 | 0x7 << 76 | rng.getrandbits(12) << 64
    value |= 0b10 << 62 | rng.getrandbits(62)
    text = f"{value:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def microseconds(moment: datetime) -> int:
    return (moment - EPOCH) // timedelta(microseconds=1)


def time_text(epoch_microseconds: int) -> str:
    return (EPOCH + timedelta(microseconds=epoch_microseconds)).isoformat()


def energy_text(millwatt_hours: int) -> str:
    return f"{millwatt_hours // 1000}.{millwatt_hours % 1000:03d}"


def precise_text(units: int) -> str:
    """An amount given in 1e-10 of the currency unit, with its 10 decimals."""
    return f"{units // 10**10}.{units % 10**10:010d}"


def coordinate_text(tenth_micro_degrees: int) -> str:
    sign = "-" if tenth_micro_degrees < 0 else ""
    magnitude = abs(tenth_micro_degrees)
    return f"{sign}{magnitude // 10**7}.{magnitude % 10**7:07d}"


def build_sites(
    *, operator_id: str, tag: str, locations: int, evses_per_station: int, created: datetime, seed: int
) -> Sites:
    """``locations`` locations in the cities above, one station each with its EVSEs and connectors."""
    rng = random.Random(seed)
    created_text = created.isoformat()
    base_ms = microseconds(created) // 1000
    stamp = (created_text, created_text, "1")  # created_at, updated_at, version
    city_of = [city for city in CITIES for _ in range(city[-1])]  # one entry per 1/1000 of the sites
    sites = Sites([], [], [], [], [])
    for number in range(1, locations + 1):
        name, country, zone, latitude, longitude, postal, _ = city_of[
            (number - 1) * len(city_of) // locations
        ]
        location_id = uuid7(base_ms + number, rng)
        sites.locations.append(
            (location_id, operator_id, f"{tag} Parking {number:04d}",
             f"{rng.choice(STREETS)} {rng.randint(1, 200)}", name, f"{postal}{rng.randint(100, 999)}",
             country, zone, coordinate_text(latitude + rng.randint(-800_000, 800_000)),
             coordinate_text(longitude + rng.randint(-800_000, 800_000)), OPENING_HOURS, *stamp)
        )  # fmt: skip
        dc = number % 5 == 0  # every fifth site is a DC fast-charging hub
        station_id = uuid7(base_ms + ID_SPACING + number, rng)
        vendor, model = ("ABB", "Terra 184") if dc else ("Alfen", "Eve Double Pro-line")
        sites.stations.append(
            (station_id, operator_id, location_id, f"{tag}-CP-{number:06d}", vendor, model,
             "2.0.1" if dc else "1.6", "1", NULL, *stamp)
        )  # fmt: skip
        _add_evses(
            sites, rng, operator_id, tag, number, station_id, location_id, dc, evses_per_station, base_ms
        )
    return sites


def _add_evses(
    sites: Sites,
    rng: random.Random,
    operator_id: str,
    tag: str,
    number: int,
    station_id: str,
    location_id: str,
    dc: bool,
    count: int,
    base_ms: int,
) -> None:
    stamp = sites.stations[-1][-3:]
    for position in range(1, count + 1):
        created_ms = base_ms + (number - 1) * count + position  # one millisecond each: ids sort by creation
        evse_id = uuid7(created_ms + 2 * ID_SPACING, rng)
        sites.evses.append(
            (evse_id, operator_id, station_id, f"DE*{tag}*E{number:06d}*{position}", str(position), *stamp)
        )
        plug = ("IEC_62196_T2_COMBO", "CABLE", "DC", "920", "250", "150000")
        if not dc:
            plug = ("IEC_62196_T2", "SOCKET", "AC_3_PHASE", "400", "32", "22000")
        connector_id = uuid7(created_ms + 3 * ID_SPACING, rng)
        sites.connectors.append((connector_id, operator_id, evse_id, "1", *plug, *stamp))
        # Busy and quiet EVSEs: a 6x spread in use, fast chargers a little busier.
        sites.places.append(
            EvsePlace(evse_id, station_id, location_id, dc, rng.uniform(0.3, 1.8) * (1.3 if dc else 1.0))
        )


def session_rows(
    *, operator_id: str, places: Sequence[EvsePlace], tariffs: Tariffs, count: int, now: datetime, seed: int
) -> Iterator[tuple[str, ...]]:
    """``count`` sessions started over the 365 days before ``now``, oldest first (so ids ascend)."""
    rng = random.Random(seed)
    latest = microseconds(now) - 9 * 3600 * 10**6  # every session has ended by now
    span = 365 * 24 * 3600 * 10**6
    starts = sorted(latest - rng.randrange(span) for _ in range(count))
    cumulative = list(itertools.accumulate(place.weight for place in places))
    total_weight = cumulative[-1]
    for started in starts:
        place = places[bisect.bisect_right(cumulative, rng.random() * total_weight)]
        yield _session(rng, operator_id, place, tariffs, started)


def _session(
    rng: random.Random, operator_id: str, place: EvsePlace, tariffs: Tariffs, started: int
) -> tuple[str, ...]:
    draw = rng.random()
    status = "ACTIVE" if draw < 0.02 else "INVALID" if draw < 0.025 else "COMPLETED"
    if place.dc:
        seconds, watts = rng.randint(10 * 60, 60 * 60), rng.randint(30_000, 150_000)
        version_id, cents = tariffs.dc_version_id, tariffs.dc_cents
    else:
        seconds, watts = rng.randint(30 * 60, 8 * 3600), rng.randint(3_700, 11_000)
        version_id, cents = tariffs.ac_version_id, tariffs.ac_cents
    energy = watts * seconds * 1000 // 3600  # mWh
    ended: str = time_text(started + seconds * 10**6)
    totals = (NULL, NULL, NULL, NULL)
    if status == "ACTIVE":
        ended, energy = NULL, energy // 2  # still charging: no end, no price yet
    elif status == "INVALID":
        ended, energy, version_id = time_text(started + 30 * 10**6), 0, NULL
    else:
        totals = (
            precise_text(energy * cents * 100),
            precise_text(energy * cents * (100 + VAT_PERCENT)),
            str((energy * cents + 500_000) // 1_000_000),
            str((energy * cents * (100 + VAT_PERCENT) + 50_000_000) // 100_000_000),
        )
    started_text = time_text(started)
    return (
        uuid7(started // 1000, rng), operator_id, place.location_id, place.station_id, place.evse_id,
        status, started_text, ended, energy_text(energy), "EUR", version_id, *totals, started_text,
    )  # fmt: skip
