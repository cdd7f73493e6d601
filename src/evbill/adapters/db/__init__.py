"""The database adapter: SQLAlchemy Core tables, repositories and unit of work, Alembic migrations.

One code path for SQLite (the embedded default, a file in WAL mode) and PostgreSQL (production):

    engine = create_database_engine("sqlite:///var/evbill.sqlite3")
    upgrade("sqlite:///var/evbill.sqlite3")
    uow_factory = SqlAlchemyUnitOfWorkFactory(engine)   # the application's UnitOfWorkFactory

Modules: ``engine`` (connections), ``types`` (exact decimals, UTC times, JSON documents),
``tables`` (the schema), ``migrate`` (Alembic, programmatic), ``records`` (rows <-> domain records),
``repositories``/``tariffs``/``sessions``/``access``/``customers``/``plans``/``promotions`` (the ports),
``conflicts`` (refused writes as Conflict), ``uow`` (the unit of work).
"""

from evbill.adapters.db.charging.sessions import decode_session_cursor, encode_session_cursor, session_cursor
from evbill.adapters.db.engine import create_database_engine
from evbill.adapters.db.migrate import current_revision, head_revision, is_up_to_date, upgrade
from evbill.adapters.db.uow import SqlAlchemyUnitOfWork, SqlAlchemyUnitOfWorkFactory

__all__ = [
    "SqlAlchemyUnitOfWork",
    "SqlAlchemyUnitOfWorkFactory",
    "create_database_engine",
    "current_revision",
    "decode_session_cursor",
    "encode_session_cursor",
    "head_revision",
    "is_up_to_date",
    "session_cursor",
    "upgrade",
]
