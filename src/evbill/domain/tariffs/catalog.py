"""Tariffs as an operator keeps them: versioned documents, and where each applies.

A tariff (``TariffRecord``) has immutable versions (``TariffVersion``): editing a tariff adds a
version, so a session that started under version 3 is still priced by version 3 (DESIGN.md rule 4).
An assignment puts a tariff on the whole operator, a location, a station or one EVSE; the most
specific assignment wins:

    >>> assignments = [
    ...     TariffAssignment("a1", "op", AssignmentScope.OPERATOR, None, "default"),
    ...     TariffAssignment("a2", "op", AssignmentScope.LOCATION, "loc-1", "city-centre"),
    ... ]
    >>> resolve_tariff_id(assignments, location_id="loc-1", station_id="st-9", evse_id="ev-3")
    'city-centre'
    >>> resolve_tariff_id(assignments, location_id="loc-2", station_id="st-1", evse_id="ev-1")
    'default'
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any


class AssignmentScope(enum.StrEnum):
    OPERATOR = "operator"
    LOCATION = "location"
    STATION = "station"
    EVSE = "evse"


_SPECIFICITY = {
    AssignmentScope.EVSE: 0,
    AssignmentScope.STATION: 1,
    AssignmentScope.LOCATION: 2,
    AssignmentScope.OPERATOR: 3,
}


@dataclass(frozen=True, slots=True)
class TariffRecord:
    id: str
    operator_id: str
    ocpi_id: str  # the Tariff.id inside the OCPI document
    name: str
    current_version: int
    currency: str
    created_at: datetime
    updated_at: datetime
    version: int = 1  # optimistic-lock counter of the record itself


@dataclass(frozen=True, slots=True)
class TariffVersion:
    """One immutable version of a tariff: the OCPI document exactly as accepted."""

    id: str
    operator_id: str
    tariff_id: str
    number: int
    document: dict[str, Any]
    created_at: datetime
    created_by: str


@dataclass(frozen=True, slots=True)
class TariffAssignment:
    id: str
    operator_id: str
    scope: AssignmentScope
    scope_id: str | None  # None for the operator-wide default
    tariff_id: str


def resolve_tariff_id(
    assignments: Iterable[TariffAssignment], *, location_id: str, station_id: str, evse_id: str
) -> str | None:
    """The tariff of the most specific assignment: EVSE, then station, then location, then operator."""
    wanted = {
        AssignmentScope.EVSE: evse_id,
        AssignmentScope.STATION: station_id,
        AssignmentScope.LOCATION: location_id,
        AssignmentScope.OPERATOR: None,
    }
    matching = [a for a in assignments if wanted[a.scope] == a.scope_id]
    if not matching:
        return None
    return min(matching, key=lambda a: _SPECIFICITY[a.scope]).tariff_id
