"""The analytics repository: every read and write of analytics, behind one object on the unit of work."""

from __future__ import annotations

from evbill.adapters.db.analytics.corrections import SqlReportCorrections
from evbill.adapters.db.analytics.costs import SqlEnergyCosts
from evbill.adapters.db.analytics.facts import SqlSessionFacts
from evbill.adapters.db.analytics.fees import SqlFees
from evbill.adapters.db.analytics.report_facts import SqlReportFacts
from evbill.adapters.db.analytics.usage import SqlSessionUsage
from evbill.adapters.db.repositories import ConnectionSource


class SqlAnalyticsRepository(
    SqlSessionFacts, SqlSessionUsage, SqlEnergyCosts, SqlFees, SqlReportFacts, SqlReportCorrections
):
    def __init__(self, connection: ConnectionSource) -> None:
        self._connection = connection
