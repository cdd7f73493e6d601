"""Reports as Parquet with exact decimal columns, for DuckDB, Polars, pandas or a data warehouse.

The rows are the report's text rows (``domain/analytics/tables``): every amount already rounded once
with the operator's rounding mode. Each becomes an exact ``decimal128`` (never a double): money with
the largest minor-unit exponent among the report's currencies (2 for EUR), hours with 2 places,
energy with 3 (kWh), net per kWh with 4; counts are int64; key and currency strings. The file's
metadata names the grouping (``evbill.group_by``).
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq

COUNTS = frozenset({"sessions", "customers", "new_customers", "returning_customers"})
TEXTS = frozenset({"key", "currency"})
PLACES = {"duration_h": 2, "charging_h": 2, "idle_h": 2, "energy_kwh": 3, "net_per_kwh": 4, "share": 4}
PRECISION = 28


class ParquetReportWriter:
    def report(self, shown: Mapping[str, object], columns: Sequence[str], money_places: int) -> bytes:
        """The report's rows, then its totals (key ``total``), as one Parquet file."""
        rows: list[Mapping[str, str]] = [*shown["rows"], *shown["totals"]]  # type: ignore[misc]
        arrays, fields = [], []
        for column in columns:
            values = [row[column] for row in rows]
            if column in TEXTS:
                kind: pa.DataType = pa.string()
                arrays.append(pa.array(values, kind))
            elif column in COUNTS:
                kind = pa.int64()
                arrays.append(pa.array([int(value) for value in values], kind))
            else:
                kind = pa.decimal128(PRECISION, PLACES.get(column, money_places))
                arrays.append(pa.array([Decimal(value) for value in values], kind))
            fields.append(pa.field(column, kind, nullable=False))
        metadata = {b"evbill.group_by": str(shown["group_by"]).encode()}
        table = pa.Table.from_arrays(arrays, schema=pa.schema(fields, metadata=metadata))
        buffer = io.BytesIO()
        pq.write_table(table, buffer)
        return buffer.getvalue()
