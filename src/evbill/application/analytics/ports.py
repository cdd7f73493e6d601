"""What analytics reads and keeps, as a Protocol (the unit of work holds one as ``uow.analytics``)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from evbill.domain.analytics.backtest import StoredSession
from evbill.domain.analytics.charts import ChartFormat
from evbill.domain.analytics.costs import EnergyPurchase, PricePoint
from evbill.domain.analytics.facts import SessionFact, SessionFilter
from evbill.domain.metering.usage import SessionUsage


class AnalyticsRepository(Protocol):
    def session_facts(self, operator_id: str, query: SessionFilter) -> Iterator[SessionFact]:
        """Finished sessions matching the filter, oldest first (consume inside the unit of work)."""
        ...

    def add_usage(self, operator_id: str, session_id: str, usage: SessionUsage) -> None:
        """Keep the periods a finished session was rated on (once per session)."""
        ...

    def stored_sessions(self, operator_id: str, query: SessionFilter) -> Iterator[StoredSession]:
        """Finished, settled sessions matching the filter with their stored periods (or None)."""
        ...

    def set_purchase(self, operator_id: str, purchase: EnergyPurchase, now: datetime) -> None:
        """Keep how a location buys energy (replacing what was there)."""
        ...

    def purchases(self, operator_id: str) -> dict[str, EnergyPurchase]:
        """Every location's purchase price, by location id."""
        ...

    def replace_prices(self, operator_id: str, location_id: str, points: tuple[PricePoint, ...]) -> None:
        """Store a checked, ordered price series; it replaces the prices of the span it covers."""
        ...

    def price_series(
        self, operator_id: str, location_ids: Iterable[str], start: datetime, end: datetime
    ) -> dict[str, dict[datetime, Decimal]]:
        """Per location, the prices whose quarter hour overlaps [start, end]."""
        ...


class ChartRenderer(Protocol):
    def render(self, spec: dict[str, Any], output: ChartFormat) -> bytes:
        """A Vega-Lite spec drawn as PNG, SVG or self-contained HTML (loads nothing from outside)."""
        ...


class ReportFileWriter(Protocol):
    def report(self, shown: Mapping[str, object], columns: Sequence[str], money_places: int) -> bytes:
        """The report's text rows (then totals) as a file with exact decimal columns (Parquet)."""
        ...
