"""What analytics needs from outside besides its repository (which is ``ports.AnalyticsRepository``):
drawing charts and writing report files."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from evbill.domain.analytics.charts import ChartFormat


class ChartRenderer(Protocol):
    def render(self, spec: dict[str, Any], output: ChartFormat) -> bytes:
        """A Vega-Lite spec drawn as PNG, SVG or self-contained HTML (loads nothing from outside)."""
        ...


class ReportFileWriter(Protocol):
    def report(self, shown: Mapping[str, object], columns: Sequence[str], money_places: int) -> bytes:
        """The report's text rows (then totals) as a file with exact decimal columns (Parquet)."""
        ...
