"""The one wiring root: builds adapters from settings and hands them to the entrypoints.

Nothing is built at import time; entrypoints call ``bootstrap(settings)`` once and keep the result.
The database engine is created lazily, so commands that need no database (``evbill rate``) never
touch one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from sqlalchemy.engine import Engine

from evbill.adapters.charts.vega import VegaChartRenderer
from evbill.adapters.db import migrate
from evbill.adapters.db.charging.ocpp import GroupCommitJournal
from evbill.adapters.db.engine import create_database_engine
from evbill.adapters.db.uow import SqlAlchemyUnitOfWorkFactory
from evbill.adapters.exports.parquet import ParquetReportWriter
from evbill.adapters.ocpi.codec import Ocpi221Codec
from evbill.adapters.ocpp.server import OcppEndpoint
from evbill.adapters.ocpp.station import StationSettings
from evbill.adapters.passwords import Argon2Hasher
from evbill.adapters.system import SystemClock, Uuid7Generator
from evbill.adapters.vat import StdnumVatChecker
from evbill.application.ports import OcpiCodec
from evbill.application.records import Services
from evbill.config import Settings


@dataclass
class Container:
    settings: Settings
    ocpi: OcpiCodec = field(default_factory=Ocpi221Codec)

    @cached_property
    def engine(self) -> Engine:
        return create_database_engine(self.settings.database_url)

    @cached_property
    def services(self) -> Services:
        return Services(
            uow=SqlAlchemyUnitOfWorkFactory(self.engine),
            clock=SystemClock(),
            ids=Uuid7Generator(),
            ocpi=self.ocpi,
            passwords=Argon2Hasher(),
            vat_ids=StdnumVatChecker(),
        )

    @cached_property
    def charts(self) -> VegaChartRenderer:
        return VegaChartRenderer()

    @cached_property
    def report_files(self) -> ParquetReportWriter:
        return ParquetReportWriter()

    @cached_property
    def ocpp_endpoint(self) -> OcppEndpoint:
        settings = self.settings
        return OcppEndpoint(
            self.services,
            GroupCommitJournal(self.engine),
            StationSettings(
                heartbeat_interval=settings.ocpp_heartbeat_interval,
                cost_interval=settings.ocpp_cost_interval,
                messages_per_second=settings.ocpp_messages_per_second,
                burst=settings.ocpp_burst,
            ),
            settings.ocpp_unknown_stations,
        )

    def schema_is_current(self) -> bool:
        return migrate.is_up_to_date(self.engine)

    def upgrade_schema(self) -> None:
        migrate.upgrade(self.settings.database_url)

    def dispose(self) -> None:
        if "engine" in self.__dict__:
            self.engine.dispose()


def bootstrap(settings: Settings) -> Container:
    return Container(settings=settings)
