"""Sessions under review, and what operators decide about them.

A session whose charger reported something implausible (``domain.metering.plausibility``), or that
could not be priced at all, is closed with status ``REVIEW``: kept out of billing until an operator
looks at it. Operators can also act on a session that is stuck (``ACTIVE`` long after the car left)
or faulty. Each step is a ``ReviewEvent``, append-only, with who, when, why and the status before and
after (the audit log holds the session before and after as well):

* ``FLAGGED``: evbill sent the session to review, with the reasons;
* ``CLOSED``: an operator closed a stuck session, priced from the data received up to a given end;
* ``VOIDED``: an operator closed or cancelled a session at no charge;
* ``RERATED``: an operator priced the session again from its stored samples (plausible ones only) and
  accepted the result for billing.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from evbill.domain.charging.sessions import SessionStatus


class ReviewAction(enum.StrEnum):
    FLAGGED = "FLAGGED"
    CLOSED = "CLOSED"
    VOIDED = "VOIDED"
    RERATED = "RERATED"
    CORRECTED = "CORRECTED"  # an operator set the energy (the charger's readings kept as they were)


@dataclass(frozen=True, slots=True)
class ReviewEvent:
    id: str
    operator_id: str
    session_id: str
    at: datetime
    actor: str
    action: ReviewAction
    reason: str
    status_before: SessionStatus
    status_after: SessionStatus
