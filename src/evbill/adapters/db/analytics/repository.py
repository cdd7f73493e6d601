"""The analytics repository: every read and write of analytics, behind one object on the unit of work."""

from __future__ import annotations

from evbill.adapters.db.analytics.facts import SqlSessionFacts


class SqlAnalyticsRepository(SqlSessionFacts):
    pass
