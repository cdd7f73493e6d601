"""PostgreSQL, when CI provides it, stores an exact decimal and gives it back digit for digit."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.conftest import _libpq_url, postgres_url


@pytest.mark.postgres
@pytest.mark.skipif(postgres_url() is None, reason="EVBILL_TEST_POSTGRES_URL not set")
def test_postgres_round_trips_a_precise_amount_exactly():
    import psycopg

    amount = Decimal("16.3299540000")
    with psycopg.connect(_libpq_url(postgres_url())) as connection:  # type: ignore[arg-type]
        row = connection.execute("SELECT %s::numeric(28, 10)", (amount,)).fetchone()

    assert row is not None
    assert row[0] == amount
    assert str(row[0]) == "16.3299540000"
