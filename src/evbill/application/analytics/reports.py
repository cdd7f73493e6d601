"""Reports and heatmaps over an operator's finished sessions (read-only use cases)."""

from __future__ import annotations

from evbill.application.access.keys import get_operator
from evbill.application.records import Services, require
from evbill.domain.access.operators import Actor, Permission
from evbill.domain.analytics.facts import GroupBy, SessionFilter
from evbill.domain.analytics.heatmap import Heatmap, heatmap
from evbill.domain.analytics.reports import Report, summarise
from evbill.domain.analytics.tables import heatmap_text, report_text
from evbill.domain.money import RoundingMode


def usage_report(services: Services, actor: Actor, *, query: SessionFilter, group_by: GroupBy) -> Report:
    """Sessions, time, energy and revenue per group; customers are new if first seen in the window."""
    require(actor, Permission.READ)
    with services.uow(read_only=True) as uow:
        return summarise(
            uow.analytics.session_facts(actor.operator_id, query), group_by, window_start=query.start
        )


def peak_heatmap(services: Services, actor: Actor, *, query: SessionFilter) -> Heatmap:
    require(actor, Permission.READ)
    with services.uow(read_only=True) as uow:
        return heatmap(uow.analytics.session_facts(actor.operator_id, query))


def rounding_of(services: Services, actor: Actor) -> RoundingMode:
    """The operator's rounding mode: how its reports show exact sums."""
    return get_operator(services, actor).rounding_mode


def shown_report(
    services: Services, actor: Actor, *, query: SessionFilter, group_by: GroupBy
) -> dict[str, object]:
    """The report as text rows, each amount rounded once with the operator's rounding mode."""
    report = usage_report(services, actor, query=query, group_by=group_by)
    return report_text(report, rounding_of(services, actor))


def shown_heatmap(services: Services, actor: Actor, *, query: SessionFilter) -> dict[str, object]:
    return heatmap_text(peak_heatmap(services, actor, query=query))
