"""Reports as Parquet: the figures of the API's JSON and CSV, in exact decimal columns (no doubles).

The hand-computed network (tests/unit/analytics_data.py): March 2 sessions, net 17.70, gross 21.31,
31.000 kWh; April net 3.98 (the exact 3.975, half up), gross 4.81; total gross 26.12.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

from evbill.adapters.exports.parquet import ParquetReportWriter
from evbill.application.access.keys import create_api_key
from evbill.bootstrap import Container, bootstrap
from evbill.config import Settings
from evbill.domain.access.operators import Role
from evbill.domain.analytics.tables import COLUMNS
from evbill.entrypoints.api.app import create_app
from evbill.entrypoints.cli.main import build_app
from tests.integration.analytics_network import Network, given_network
from tests.support import CliRunner

WINDOW = {"started_from": "2026-03-01T00:00:00Z", "started_to": "2026-05-01T00:00:00Z"}


@pytest.fixture
def container(database_url: str) -> Iterator[Container]:
    container = bootstrap(Settings(database_url=database_url))
    yield container
    container.dispose()


@pytest.fixture
def network(container: Container) -> Network:
    return given_network(container.services.uow)


def _monthly(table: pa.Table) -> list[tuple[object, ...]]:
    names = ("key", "sessions", "net", "gross", "energy_kwh")
    return list(zip(*(table.column(name).to_pylist() for name in names), strict=True))


def test_the_api_exports_the_report_as_parquet_with_exact_decimals(
    container: Container, network: Network
) -> None:
    _, key = create_api_key(
        container.services, operator_id=network.operator_id, role=Role.READ_ONLY, name="t"
    )
    client = TestClient(create_app(container.settings, container=container))
    answer = client.get(
        "/api/v1/analytics/report.parquet", params={"group_by": "month", **WINDOW},
        headers={"Authorization": f"Bearer {key}"},
    )  # fmt: skip
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/vnd.apache.parquet"
    table = pq.read_table(io.BytesIO(answer.content))
    assert table.column_names == list(COLUMNS)
    assert table.schema.field("gross").type == pa.decimal128(28, 2)
    assert table.schema.field("energy_kwh").type == pa.decimal128(28, 3)
    assert table.schema.field("sessions").type == pa.int64()
    assert table.schema.metadata[b"evbill.group_by"] == b"month"
    assert _monthly(table) == [
        ("2026-03", 2, Decimal("17.70"), Decimal("21.31"), Decimal("31.000")),
        ("2026-04", 2, Decimal("3.98"), Decimal("4.81"), Decimal("12.000")),
        ("total", 4, Decimal("21.68"), Decimal("26.12"), Decimal("43.000")),
    ]


def test_the_cli_writes_the_same_parquet_file(container: Container, network: Network, tmp_path: Path) -> None:
    target = tmp_path / "by-month.parquet"
    shown = CliRunner().invoke(
        build_app(container.settings),
        ["analytics", "report", "--operator", network.operator_id, "--by", "month", "--from", "2026-03-01",
         "--to", "2026-05-01", "--parquet", str(target)],
    )  # fmt: skip
    assert shown.exit_code == 0, shown.output
    assert shown.output == ""  # the file is the output; no table printed over it
    table = pq.read_table(target)
    assert _monthly(table)[-1] == ("total", 4, Decimal("21.68"), Decimal("26.12"), Decimal("43.000"))


def test_a_share_of_four_places_is_exported_exactly() -> None:
    """Found by an outside tester: a share such as 1/3 (0.3333) was rescaled to the money's 2 places and
    Parquet refused it (ArrowInvalid), so almost every grouped report failed to export."""
    row = dict.fromkeys(COLUMNS, "0")
    shown = {
        "group_by": "location",
        "rows": [{**row, "key": "L1", "currency": "EUR", "sessions": "1", "share": "0.3333"}],
        "totals": [{**row, "key": "total", "currency": "EUR", "sessions": "3", "share": "1.0000"}],
    }
    table = pq.read_table(io.BytesIO(ParquetReportWriter().report(shown, COLUMNS, 2)))
    assert table.schema.field("share").type == pa.decimal128(28, 4)
    assert table.column("share").to_pylist() == [Decimal("0.3333"), Decimal("1.0000")]
