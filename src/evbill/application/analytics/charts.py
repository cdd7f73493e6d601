"""Charts of the reports (read-only use cases): the heatmap and revenue over time, rendered.

The figures are those of ``shown_heatmap`` / ``shown_report`` (rounded once, operator's rounding
mode); the renderer (a port) only draws them.
"""

from __future__ import annotations

from datetime import date

from evbill.application.analytics.booked import shown_booked_revenue
from evbill.application.analytics.ports import ChartRenderer
from evbill.application.analytics.reports import shown_heatmap, shown_report
from evbill.application.records import Services
from evbill.domain.access.operators import Actor
from evbill.domain.analytics import charts
from evbill.domain.analytics.booked import Period
from evbill.domain.analytics.charts import ChartFormat
from evbill.domain.analytics.facts import GroupBy, SessionFilter
from evbill.domain.errors import InvalidInput

PERIODS = (GroupBy.DAY, GroupBy.WEEK, GroupBy.MONTH)


def heatmap_chart(
    services: Services, actor: Actor, *, query: SessionFilter, renderer: ChartRenderer, output: ChartFormat
) -> bytes:
    """Hours occupied per local weekday x hour, each occupied cell labelled with its hours."""
    spec = charts.heatmap_chart(shown_heatmap(services, actor, query=query))
    return renderer.render(spec, output)


def revenue_chart(
    services: Services,
    actor: Actor,
    *,
    query: SessionFilter,
    period: GroupBy,
    renderer: ChartRenderer,
    output: ChartFormat,
) -> bytes:
    """Net revenue per day, week or month, stacked by component, each bar labelled with its net."""
    if period not in PERIODS:
        raise InvalidInput(f"revenue is charted per day, week or month, not per {period.value}")
    spec = charts.revenue_chart(shown_report(services, actor, query=query, group_by=period))
    return renderer.render(spec, output)


def booked_chart(
    services: Services,
    actor: Actor,
    *,
    first: date | None,
    end: date | None,
    period: Period,
    renderer: ChartRenderer,
    output: ChartFormat,
) -> bytes:
    """Booked revenue per day, week or month, stacked by revenue kind, each bar labelled with its net."""
    shown = shown_booked_revenue(services, actor, first=first, end=end, period=period)
    return renderer.render(charts.booked_chart(shown), output)
