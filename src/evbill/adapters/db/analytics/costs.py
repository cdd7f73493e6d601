"""Energy purchase prices: each location's fixed price or time-of-use schedule, and imported series."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime, time
from decimal import Decimal

from sqlalchemy import delete, insert, select

from evbill.adapters.db.analytics.tables import energy_prices, energy_purchases
from evbill.adapters.db.repositories import ConnectionSource
from evbill.domain.analytics.costs import QUARTER, EnergyPurchase, PriceKind, PricePoint, TimeOfUseWindow

_CHUNK = 1000


def _windows_text(purchase: EnergyPurchase) -> str | None:
    if not purchase.windows:
        return None
    return json.dumps(
        [
            [w.start.strftime("%H:%M"), w.end.strftime("%H:%M"), format(w.price, "f"), list(w.weekdays)]
            for w in purchase.windows
        ],
        separators=(",", ":"),
    )


def _windows(text: str | None) -> tuple[TimeOfUseWindow, ...]:
    if text is None:
        return ()
    return tuple(
        TimeOfUseWindow(time.fromisoformat(start), time.fromisoformat(end), Decimal(price), tuple(days))
        for start, end, price, days in json.loads(text)
    )


class SqlEnergyCosts:
    def __init__(self, connection: ConnectionSource) -> None:
        self._connection = connection

    def set_purchase(self, operator_id: str, purchase: EnergyPurchase, now: datetime) -> None:
        table = energy_purchases
        connection = self._connection()
        connection.execute(
            delete(table).where(
                table.c.operator_id == operator_id, table.c.location_id == purchase.location_id
            )
        )
        connection.execute(
            insert(table),
            {
                "location_id": purchase.location_id, "operator_id": operator_id,
                "currency": purchase.currency, "kind": purchase.kind.value,
                "fixed_price": purchase.fixed_price, "windows": _windows_text(purchase), "updated_at": now,
            },
        )  # fmt: skip

    def purchases(self, operator_id: str) -> dict[str, EnergyPurchase]:
        table = energy_purchases
        rows = self._connection().execute(select(table).where(table.c.operator_id == operator_id))
        return {
            row.location_id: EnergyPurchase(
                row.location_id, row.currency, PriceKind(row.kind), row.fixed_price, _windows(row.windows)
            )
            for row in rows
        }

    def replace_prices(self, operator_id: str, location_id: str, points: tuple[PricePoint, ...]) -> None:
        """Store a series (in time order); it replaces the prices of the span it covers."""
        if not points:
            return
        table = energy_prices
        connection = self._connection()
        connection.execute(
            delete(table).where(
                table.c.operator_id == operator_id,
                table.c.location_id == location_id,
                table.c.starts_at.between(points[0].starts_at, points[-1].starts_at),
            )
        )
        rows = [
            {
                "location_id": location_id,
                "starts_at": p.starts_at,
                "operator_id": operator_id,
                "price": p.price,
            }
            for p in points
        ]
        for first in range(0, len(rows), _CHUNK):
            connection.execute(insert(table), rows[first : first + _CHUNK])

    def price_series(
        self, operator_id: str, location_ids: Iterable[str], start: datetime, end: datetime
    ) -> dict[str, dict[datetime, Decimal]]:
        """The prices starting in [start - 15 min, end] per location (what sessions in the span need)."""
        table = energy_prices
        wanted = list(location_ids)
        series: dict[str, dict[datetime, Decimal]] = {location: {} for location in wanted}
        if not wanted:
            return series
        statement = select(table.c.location_id, table.c.starts_at, table.c.price).where(
            table.c.operator_id == operator_id,
            table.c.location_id.in_(wanted),
            table.c.starts_at >= start - QUARTER,
            table.c.starts_at <= end,
        )
        for row in self._connection().execute(statement):
            series[row.location_id][row.starts_at] = row.price
        return series
