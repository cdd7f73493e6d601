"""The interfaces use cases need from outside, as Protocols; adapters implement them.

Only what exists so far is declared here: reading and writing OCPI documents. Repositories, the unit
of work, gateways, renderers, notifiers, the clock and id generators join as their use cases arrive.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from evbill.domain.errors import Problem
from evbill.domain.money import RoundingMode
from evbill.domain.rating import RatedSession
from evbill.domain.tariff import Tariff
from evbill.domain.usage import SessionUsage


class TariffReading(Protocol):
    @property
    def tariff(self) -> Tariff: ...

    @property
    def warnings(self) -> tuple[Problem, ...]: ...


class CdrReading(Protocol):
    @property
    def usage(self) -> SessionUsage: ...

    @property
    def warnings(self) -> tuple[Problem, ...]: ...


class OcpiCodec(Protocol):
    """OCPI 2.2.1 documents (decoded JSON) in and out; readers raise InvalidInput with every problem."""

    def read_tariff(self, document: object) -> TariffReading: ...

    def read_cdr(self, document: object) -> CdrReading: ...

    def write_priced_cdr(
        self,
        document: Mapping[str, Any],
        rated: RatedSession,
        *,
        tariff_document: Mapping[str, Any] | None,
        rounding: RoundingMode,
    ) -> dict[str, Any]: ...
