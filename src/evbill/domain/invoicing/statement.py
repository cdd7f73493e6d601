"""What a customer's document shows beyond its lines: each session in detail, the brand, a draft mark.

A document's lines say what is charged; a ``DocumentView`` adds what a person needs to believe it:
for each session the place (location, EVSE), the local start and end, the energy, the charging and
idle time, every priced period with the reason its price applied (the time-of-use window, the
day), min/max price adjustments, and the signed meter data (OCMF) a driver can check with
transparency software under German calibration law (Eichrecht). The operator's name, logo and
colour come from its invoicing profile. A preview is a draft: no number, marked DRAFT, not stored.

OCMF (Open Charge Metering Format) is ``OCMF|<payload JSON>|<signature JSON>``; the readings of the
payload (``RD``) carry the meter register at begin (``TX`` B) and end (``TX`` E):

    >>> reading = read_ocmf('OCMF|{"GS":"17619300","RD":[{"TM":"2019-08-13T10:03:15,000+0000 I",'
    ...     '"TX":"B","RV":0.2596,"RU":"kWh"},{"TM":"2019-08-13T10:03:36,000+0000 R","TX":"E",'
    ...     '"RV":0.2597,"RU":"kWh"}]}|{"SD":"3045"}')
    >>> reading.meter, reading.begin, reading.end
    ('17619300', '0.2596 kWh (2019-08-13T10:03:15,000+0000 I)', '0.2597 kWh (2019-08-13T10:03:36,000+0000 R)')
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from evbill.domain.invoicing.documents import Document

COLOUR = re.compile(r"#[0-9A-Fa-f]{6}")
DEFAULT_ACCENT = "#005C82"


@dataclass(frozen=True, slots=True)
class PricedPeriod:
    """One priced part of a session: when (local), what, how much, at which price, and why."""

    start: datetime  # local
    end: datetime  # local
    dimension: str  # ENERGY, TIME, PARKING_TIME, FLAT
    volume: Decimal  # Wh for energy, seconds for time, 1 for a flat fee (billed volume)
    price: Decimal  # per kWh, per hour or per start
    excl_vat: Decimal  # precise
    vat: Decimal | None
    why: tuple[str, ...]  # the restrictions that made this price apply (time of use, day, ...)


@dataclass(frozen=True, slots=True)
class SignedReading:
    """One signed meter value as the charger sent it, with what a person can read of it."""

    raw: str
    meter: str | None = None  # the meter's serial number (GS)
    begin: str | None = None  # register and time at the start
    end: str | None = None  # register and time at the end
    format: str = "OCMF"


@dataclass(frozen=True, slots=True)
class SessionStatement:
    session_id: str
    location: str  # name and address
    evse: str  # the EVSE id (eMI3), e.g. NL*EVB*E0001*1
    time_zone: str
    started: datetime  # local
    ended: datetime | None  # local
    energy_wh: Decimal
    charging_s: int
    idle_s: int
    excl_vat: Decimal  # precise, as rated
    incl_vat: Decimal
    periods: tuple[PricedPeriod, ...] = ()
    free: tuple[str, ...] = ()  # volumes no price applied to, and why
    adjustments: tuple[tuple[str, Decimal], ...] = ()  # (MIN_PRICE | MAX_PRICE, excl. VAT change)
    price_reason: str | None = None  # which plan or tariff priced it, in words
    signed: tuple[SignedReading, ...] = ()


@dataclass(frozen=True, slots=True)
class Branding:
    name: str
    logo: bytes | None = None  # PNG or JPEG
    accent: str = DEFAULT_ACCENT  # "#RRGGBB"

    @property
    def accent_rgb(self) -> tuple[int, int, int]:
        colour = self.accent if COLOUR.fullmatch(self.accent) else DEFAULT_ACCENT
        return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


@dataclass(frozen=True, slots=True)
class DocumentView:
    document: Document
    sessions: tuple[SessionStatement, ...] = ()
    branding: Branding | None = None
    draft: bool = False
    paid_by_card: bool = False  # an invoice charged to the customer's card on file (not to be paid again)


def _reading(entry: object) -> str | None:
    if not isinstance(entry, dict) or "RV" not in entry:
        return None
    return f"{entry['RV']} {entry.get('RU', '')} ({entry.get('TM', '?')})"


def read_ocmf(raw: str) -> SignedReading:
    """The readable parts of an OCMF record; anything unreadable keeps only the raw text."""
    parts = raw.split("|")
    if len(parts) < 3 or parts[0] != "OCMF":
        return SignedReading(raw, format="OCMF" if raw.startswith("OCMF") else "signed meter value")
    try:
        payload = json.loads(parts[1])
    except ValueError:
        return SignedReading(raw)
    if not isinstance(payload, dict):
        return SignedReading(raw)
    found = payload.get("RD")
    readings: list[object] = found if isinstance(found, list) else []
    begin = next((r for r in readings if isinstance(r, dict) and r.get("TX") == "B"), None)
    end = next((r for r in reversed(readings) if isinstance(r, dict) and r.get("TX") in ("E", "L")), None)
    meter = payload.get("GS") or payload.get("MS")
    return SignedReading(raw, str(meter) if meter else None, _reading(begin), _reading(end))
