"""What analytics reads and keeps, as a Protocol (the unit of work holds one as ``uow.analytics``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from evbill.domain.analytics.facts import SessionFact, SessionFilter


class AnalyticsRepository(Protocol):
    def session_facts(self, operator_id: str, query: SessionFilter) -> Iterator[SessionFact]:
        """Finished sessions matching the filter, oldest first (consume inside the unit of work)."""
        ...
