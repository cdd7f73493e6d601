"""The unit of work: one connection, one transaction, one repository per kind of record.

    with uow_factory() as uow:
        station = uow.stations.get(operator_id, station_id)
        uow.stations.update(changed_station, expected_version=station.version)
        uow.audit.append(entry)
        uow.commit()          # leaving the block without commit() rolls everything back

Entering opens a connection from the engine's pool; the transaction begins with the first statement
(``BEGIN IMMEDIATE`` on SQLite, see ``engine``). ``commit()`` may be called more than once; work after
a commit runs in a new transaction. After a Conflict or any database error the transaction is done
(PostgreSQL aborts it): leave the block.

A read-only unit of work (``uow_factory(read_only=True)``) is for use cases that only read, one
statement at a time. On SQLite it reads a WAL snapshot. On PostgreSQL its statements run in
autocommit: no BEGIN and no ROLLBACK, two round trips fewer per use case, and each statement reads
what was committed when it ran (so do not use it where two reads must see the same moment).
"""

from __future__ import annotations

import time
from types import TracebackType
from typing import Self

from sqlalchemy import Connection, Engine

from evbill.adapters.db.access.repositories import SqlApiKeyRepository, SqlAuditLog, SqlOperatorRepository
from evbill.adapters.db.analytics.repository import SqlAnalyticsRepository
from evbill.adapters.db.analytics.utilisation import SqlStatusHistory
from evbill.adapters.db.billing.bills import SqlBillRepository
from evbill.adapters.db.charging.ocpp import (
    SqlFrameLog,
    SqlFrameRetention,
    SqlLiveSessionRepository,
    SqlMeterSampleRepository,
    SqlStationDirectory,
    SqlStationRequestLog,
)
from evbill.adapters.db.charging.sessions import SqlSessionRepository
from evbill.adapters.db.charging_state.repositories import SqlConnectorStates, SqlSessionReviewLog
from evbill.adapters.db.collection.repository import SqlCollectionRepository
from evbill.adapters.db.engine import READ_ONLY
from evbill.adapters.db.invoicing.repositories import SqlInvoiceRepository
from evbill.adapters.db.ledger.repositories import SqlLedgerRepository
from evbill.adapters.db.offers.customers import SqlTokenRepository, customer_repository
from evbill.adapters.db.offers.plans import (
    SqlContractTermsRepository,
    SqlPlanVersionRepository,
    contract_repository,
    plan_repository,
)
from evbill.adapters.db.offers.promotions import (
    SqlCustomerPromotionRepository,
    SqlPromotionRepository,
    SqlRedemptionRepository,
)
from evbill.adapters.db.payments.repositories import SqlPaymentRepository, SqlWalletRepository
from evbill.adapters.db.runs.repositories import SqlBillingRunRepository, SqlDocumentFiles
from evbill.adapters.db.session_payments.repositories import SqlSessionPaymentRepository
from evbill.adapters.db.sites.repositories import (
    connector_repository,
    evse_repository,
    location_repository,
    station_repository,
)
from evbill.adapters.db.tariffs.repositories import (
    SqlAssignmentRepository,
    SqlTariffVersionRepository,
    tariff_repository,
)

GIVE_WAY_S = 0.11  # longer than SQLite's slowest busy-wait poll (100 ms): a waiting writer gets in


class _OpenConnection:
    """The unit of work's connection as its repositories reach it. They hold this, not the unit of
    work: a repository holding a bound method of the unit of work would make a reference cycle, and
    then every unit of work (one per use case) would wait for the cyclic garbage collector, whose
    full passes over a server's heap stall every request."""

    __slots__ = ("connection",)

    def __init__(self) -> None:
        self.connection: Connection | None = None

    def __call__(self) -> Connection:
        if self.connection is None:
            raise RuntimeError("use the unit of work inside 'with uow:'")
        return self.connection


class SqlAlchemyUnitOfWork:
    def __init__(self, engine: Engine, *, read_only: bool = False) -> None:
        self._engine = engine
        self._read_only = read_only
        self._connection = _OpenConnection()
        self.operators = SqlOperatorRepository(self._connection)
        self.locations = location_repository(self._connection)
        self.stations = station_repository(self._connection)
        self.evses = evse_repository(self._connection)
        self.connectors = connector_repository(self._connection)
        self.tariffs = tariff_repository(self._connection)
        self.tariff_versions = SqlTariffVersionRepository(self._connection)
        self.assignments = SqlAssignmentRepository(self._connection)
        self.sessions = SqlSessionRepository(self._connection)
        self.api_keys = SqlApiKeyRepository(self._connection)
        self.audit = SqlAuditLog(self._connection)
        self.customers = customer_repository(self._connection)
        self.tokens = SqlTokenRepository(self._connection)
        self.plans = plan_repository(self._connection)
        self.plan_versions = SqlPlanVersionRepository(self._connection)
        self.contracts = contract_repository(self._connection)
        self.contract_terms = SqlContractTermsRepository(self._connection)
        self.promotions = SqlPromotionRepository(self._connection)
        self.customer_promotions = SqlCustomerPromotionRepository(self._connection)
        self.redemptions = SqlRedemptionRepository(self._connection)
        self.station_directory = SqlStationDirectory(self._connection)
        self.station_requests = SqlStationRequestLog(self._connection)
        self.live_sessions = SqlLiveSessionRepository(self._connection)
        self.meter_samples = SqlMeterSampleRepository(self._connection)
        self.session_reviews = SqlSessionReviewLog(self._connection)
        self.connector_states = SqlConnectorStates(self._connection)
        self.frames = SqlFrameLog(self._connection)
        self.frame_retention = SqlFrameRetention(self._connection)
        self.analytics = SqlAnalyticsRepository(self._connection)
        self.status_history = SqlStatusHistory(self._connection)
        self.ledger = SqlLedgerRepository(self._connection)
        self.payments = SqlPaymentRepository(self._connection)
        self.wallets = SqlWalletRepository(self._connection)
        self.bills = SqlBillRepository(self._connection)
        self.invoices = SqlInvoiceRepository(self._connection)
        self.session_payments = SqlSessionPaymentRepository(self._connection)
        self.billing_runs = SqlBillingRunRepository(self._connection)
        self.document_files = SqlDocumentFiles(self._connection)
        self.collection = SqlCollectionRepository(self._connection)

    def __enter__(self) -> Self:
        if self._connection.connection is not None:
            raise RuntimeError("this unit of work is already open; make a new one per use")
        connection = self._connection.connection = self._engine.connect()
        if self._read_only:
            options: dict[str, object] = {READ_ONLY: True}
            if self._engine.dialect.name == "postgresql":
                options["isolation_level"] = "AUTOCOMMIT"  # the pool resets it when the connection returns
            connection.execution_options(**options)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        connection, self._connection.connection = self._connection.connection, None
        if connection is None:
            return
        try:
            connection.rollback()  # a no-op after commit(): only uncommitted work goes
        finally:
            connection.close()

    def commit(self, *, give_way: bool = False) -> None:
        connection = self._connection()
        connection.commit()
        if give_way and connection.dialect.name == "sqlite":
            time.sleep(GIVE_WAY_S)  # see UnitOfWork.commit; PostgreSQL's lock queue is fair already

    def rollback(self) -> None:
        self._connection().rollback()


class SqlAlchemyUnitOfWorkFactory:
    """Makes a fresh unit of work per use case, all sharing one engine (and its pool)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def __call__(self, *, read_only: bool = False) -> SqlAlchemyUnitOfWork:
        return SqlAlchemyUnitOfWork(self.engine, read_only=read_only)
