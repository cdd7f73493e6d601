"""The whole schema: every capability's tables on one ``metadata``.

Importing this module registers every table, so ``metadata`` is complete for Alembic and the schema
tests. Repositories import the tables of their own capability (``<capability>/tables.py``).
"""

from evbill.adapters.db.access import tables as access
from evbill.adapters.db.analytics import tables as analytics
from evbill.adapters.db.billing import tables as billing
from evbill.adapters.db.charging import tables as charging
from evbill.adapters.db.charging_state import tables as charging_state
from evbill.adapters.db.collection import tables as collection
from evbill.adapters.db.idempotency import tables as idempotency
from evbill.adapters.db.invoicing import tables as invoicing
from evbill.adapters.db.ledger import tables as ledger
from evbill.adapters.db.offers import tables as offers
from evbill.adapters.db.payments import tables as payments
from evbill.adapters.db.runs import tables as billing_runs
from evbill.adapters.db.schema import NOUNS, metadata
from evbill.adapters.db.session_payments import tables as session_payments
from evbill.adapters.db.sites import tables as sites
from evbill.adapters.db.tariffs import tables as tariffs

__all__ = [
    "NOUNS",
    "access",
    "analytics",
    "billing",
    "billing_runs",
    "charging",
    "charging_state",
    "collection",
    "idempotency",
    "invoicing",
    "ledger",
    "metadata",
    "offers",
    "payments",
    "session_payments",
    "sites",
    "tariffs",
]
