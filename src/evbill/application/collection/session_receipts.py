"""The receipt of a session paid by itself, issued when the money is taken, then e-mailed once.

The payment side (``application.payments.adhoc``, ``session_funding``) calls ``after_payment`` each
time it took money for a session: after the capture of an ad hoc hold, the charge of a card on
file, a spend from a prepaid wallet. Here, above both invoicing and payments, the receipt is issued
(``receipt_for_paid_session``: once per session, marked paid from the stored payment events), then,
where the customer has an e-mail address and a mailer is configured, sent through
``deliver_document``, which sends a document at most once (asked again, it returns the first
delivery). An anonymous driver at the charger has no address: their receipt is behind the start's
receipt link. A mail that fails is logged and left for an operator's resend: the money and the
receipt stand. An operator whose seller data is incomplete gets no receipt (refused, logged, and
issued when asked for once the profile is complete); the settlement finishes all the same.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from evbill.application.invoicing.delivery import deliver_document
from evbill.application.invoicing.queries import DocumentRenderer, document_file
from evbill.application.invoicing.receipts import receipt_for_paid_session
from evbill.application.payments.adhoc import get_adhoc
from evbill.application.ports import Mailer
from evbill.application.records import Services
from evbill.domain.access.operators import Actor, Role
from evbill.domain.errors import Conflict, InvalidInput, NotFound
from evbill.domain.invoicing.documents import Document
from evbill.domain.payments.adhoc import AdhocStatus

logger = logging.getLogger("evbill.collection.receipts")


def _billing(operator_id: str) -> Actor:
    return Actor(
        operator_id=operator_id, role=Role.BILLING, key_id="session-receipts", name="session receipts"
    )


@dataclass(frozen=True, slots=True)
class ReceiptsPerSession:
    """``ports.SessionReceipts``: issue, then send where a mailer is configured (None: never sent)."""

    services: Services
    mailer: Mailer | None = None
    renderer: DocumentRenderer | None = None

    def after_payment(self, operator_id: str, session_id: str) -> None:
        try:
            receipt = receipt_for_paid_session(self.services, operator_id, session_id)
        except InvalidInput as refused:
            # The operator's seller data is incomplete (no receipt may be issued without it): the money
            # stands, the settlement finishes, and the receipt is issued when asked for
            # (``POST /sessions/{id}/receipt``) once the invoicing profile is complete.
            logger.warning(
                "receipt of session %s not issued: %s (%s)", session_id, refused,
                "; ".join(f"{problem.path}: {problem.message}" for problem in refused.problems),
            )  # fmt: skip
            return
        if receipt is None or receipt.buyer.email is None or self.mailer is None or self.renderer is None:
            return
        try:
            deliver_document(
                self.services, self.mailer, _billing(operator_id), receipt.id, renderer=self.renderer
            )
        except Conflict as error:  # another settler is sending it right now (or died doing so)
            logger.warning("receipt %s of session %s not sent: %s", receipt.number, session_id, error)
        except Exception:
            logger.exception("receipt %s of session %s could not be sent", receipt.number, session_id)


def adhoc_receipt_file(
    services: Services, renderer: DocumentRenderer, evse: str, start_id: str
) -> tuple[Document, bytes]:
    """The receipt PDF of a finished ad hoc start, for the driver who paid at the charger and has no
    account: the EVSE and the start's unguessable id are the key. NotFound until the session is
    settled and its receipt issued (a released hold, a session that delivered nothing, or an
    operator whose seller data is incomplete has none)."""
    start = get_adhoc(services, evse, start_id).start
    if start.status is not AdhocStatus.FINISHED or start.session_id is None:
        raise NotFound("no receipt yet: the session has not ended and been paid")
    with services.uow(read_only=True) as uow:
        receipt = uow.invoices.receipt_of_session(start.operator_id, start.session_id)
    if receipt is None:
        raise NotFound("this start has no receipt")
    return document_file(services, renderer, _billing(start.operator_id), receipt.id, "facturx")
