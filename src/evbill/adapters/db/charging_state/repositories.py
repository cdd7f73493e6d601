"""Repositories of session review events (append-only) and of OCPP 1.6 connector states (upserted)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select

from evbill.adapters.db.charging_state import tables
from evbill.adapters.db.records import CONNECTOR_STATES, SESSION_REVIEWS
from evbill.adapters.db.repositories import ConnectionSource, insert_row
from evbill.domain.charging.connectors import ConnectorState
from evbill.domain.charging.review import ReviewEvent


class SqlSessionReviewLog:
    def __init__(self, connection: ConnectionSource) -> None:
        self._connection = connection

    def add(self, event: ReviewEvent) -> None:
        insert_row(self._connection(), tables.session_reviews, SESSION_REVIEWS.to_row(event))

    def of_session(self, operator_id: str, session_id: str) -> Sequence[ReviewEvent]:
        c = tables.session_reviews.c
        rows = self._connection().execute(
            select(tables.session_reviews)
            .where(c.operator_id == operator_id, c.session_id == session_id)
            .order_by(c.at, c.id)
        )
        return [SESSION_REVIEWS.from_row(row) for row in rows.mappings()]


class SqlConnectorStates:
    def __init__(self, connection: ConnectionSource) -> None:
        self._connection = connection

    def put(self, state: ConnectorState) -> None:
        """The station's latest word on the connector replaces the one before."""
        connection, c = self._connection(), tables.connector_states.c
        connection.execute(
            delete(tables.connector_states).where(
                c.station_id == state.station_id, c.connector_id == state.connector_id
            )
        )
        insert_row(connection, tables.connector_states, CONNECTOR_STATES.to_row(state))

    def of_station(self, operator_id: str, station_id: str) -> Sequence[ConnectorState]:
        c = tables.connector_states.c
        rows = self._connection().execute(
            select(tables.connector_states).where(c.operator_id == operator_id, c.station_id == station_id)
        )
        return [CONNECTOR_STATES.from_row(row) for row in rows.mappings()]
