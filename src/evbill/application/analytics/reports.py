"""Reports and heatmaps over an operator's finished sessions.

Each report first brings the operator's report facts up to date (the sessions and payments written
since the last report, a short write), then reads the database's sums (``rollup``): equal to the
reference ``summarise`` / ``heatmap`` over the same sessions, which ``reference_report`` and
``reference_heatmap`` still compute (the tests hold the two together).
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from evbill.application.access.keys import get_operator
from evbill.application.charging.pricing import most_common_zone
from evbill.application.ledger.bulk import collector_paused
from evbill.application.records import Services, require
from evbill.domain.access.operators import Actor, Permission
from evbill.domain.analytics.corrections import with_corrections
from evbill.domain.analytics.facts import GroupBy, SessionFilter
from evbill.domain.analytics.heatmap import Heatmap, heatmap
from evbill.domain.analytics.reports import Report, summarise
from evbill.domain.analytics.rollup import heatmap_of, report_of
from evbill.domain.analytics.tables import heatmap_text, report_text
from evbill.domain.money import RoundingMode

CATCH_UP = 20_000
# The rows a report answers with unless every row is asked for (the API's and CLI's default): the
# groups of highest gross revenue. A report by customer of a large operator has tens of thousands.
DEFAULT_ROWS = 1_000  # queued sessions from which the rollups are rebuilt whole rather than kept per batch


def calendar_zone(services: Services, actor: Actor) -> ZoneInfo:
    """The zone a bare date of a report window is read in: the operator's billing calendar's (that of
    most of its locations; UTC if it has none), so ``--from 2026-12-01`` is the local day's midnight."""
    require(actor, Permission.READ)
    with services.uow(read_only=True) as uow:
        locations = uow.locations.list(actor.operator_id, filters={}, after=None, limit=200)
    return ZoneInfo(most_common_zone([location.time_zone for location in locations]))


def refresh_facts(services: Services, operator_id: str) -> int:
    """Fold what was written since the last report into the report facts and rollups (the batches done).

    One short transaction per batch: a long catch-up (after an upgrade) keeps what it did. Past
    ``CATCH_UP`` queued sessions the rollups are let go during the catch-up and built whole after it
    (one GROUP BY each rather than the keys of every batch); reports read the facts meanwhile."""
    with services.uow() as uow:
        if uow.analytics.queued_for_reports(operator_id) >= CATCH_UP:
            uow.analytics.forget_report_rollups(operator_id)
            uow.commit()
    batches, last = 0, 0
    while True:
        with services.uow() as uow:
            done = uow.analytics.refresh_report_facts(operator_id, last)
            uow.commit()
        if done is None:
            break
        batches, last = batches + 1, done
    with services.uow() as uow:
        if uow.analytics.build_report_rollups(operator_id, services.clock.now()):
            uow.commit()
    return batches


def usage_report(
    services: Services, actor: Actor, *, query: SessionFilter, group_by: GroupBy, limit: int | None = None
) -> Report:
    """Sessions, time, energy and revenue per group; customers are new if first seen in the window.

    ``limit``: only the ``limit`` rows of highest gross revenue (in that order; ``left_out`` says how
    many more groups there are); the totals are always of every session."""
    require(actor, Permission.READ)
    refresh_facts(services, actor.operator_id)
    # Every row of a large report is tens of thousands of sums and rows (a by-customer report: 40,000
    # groups, some 30 objects each), none in a cycle: the cyclic collector, rescanning them and all
    # else alive as they pile up, took half the building's CPU (see Performance in the README).
    with collector_paused():
        with services.uow(read_only=True) as uow:
            groups, totals, found = uow.analytics.report_sums(actor.operator_id, query, group_by, limit=limit)
            corrections = uow.analytics.report_corrections(actor.operator_id, query)
        report = report_of(group_by, groups, totals, limit=limit, found=found)
        return with_corrections(report, corrections) if corrections else report


def peak_heatmap(services: Services, actor: Actor, *, query: SessionFilter) -> Heatmap:
    require(actor, Permission.READ)
    refresh_facts(services, actor.operator_id)
    with services.uow(read_only=True) as uow:
        starts, quarters, occupied = uow.analytics.heatmap_sums(actor.operator_id, query)
    return heatmap_of(starts, quarters, occupied)


def reference_report(services: Services, actor: Actor, *, query: SessionFilter, group_by: GroupBy) -> Report:
    """The same report summed in Python from every session (slow; the definition the fast one meets)."""
    require(actor, Permission.READ)
    with services.uow(read_only=True) as uow:
        return summarise(
            uow.analytics.session_facts(actor.operator_id, query), group_by, window_start=query.start
        )


def reference_heatmap(services: Services, actor: Actor, *, query: SessionFilter) -> Heatmap:
    require(actor, Permission.READ)
    with services.uow(read_only=True) as uow:
        return heatmap(uow.analytics.session_facts(actor.operator_id, query))


def rounding_of(services: Services, actor: Actor) -> RoundingMode:
    """The operator's rounding mode: how its reports show exact sums."""
    return get_operator(services, actor).rounding_mode


def shown_report(
    services: Services, actor: Actor, *, query: SessionFilter, group_by: GroupBy, limit: int | None = None
) -> dict[str, object]:
    """The report as text rows, each amount rounded once with the operator's rounding mode."""
    report = usage_report(services, actor, query=query, group_by=group_by, limit=limit)
    return report_text(report, rounding_of(services, actor))


def shown_heatmap(services: Services, actor: Actor, *, query: SessionFilter) -> dict[str, object]:
    return heatmap_text(peak_heatmap(services, actor, query=query))
