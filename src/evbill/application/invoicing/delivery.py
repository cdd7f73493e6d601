"""Use case: e-mail an issued document to its customer, with the Factur-X PDF attached, at most once.

``deliver_document`` claims a delivery row (who asked, to whom, when) and commits, sends the mail in
the customer's language, then records the mail server's message id. Asked again, it returns the
delivery already made instead of sending a second mail; ``resend=True`` sends again (a new attempt).
A claim left without a message id (the process died while sending, or a sender is at it right now)
is reported as a conflict rather than risking a second mail; a resend settles it. When the server
refuses the mail, the claim is dropped, nothing is recorded as sent, and the error is raised.
"""

from __future__ import annotations

import re
from dataclasses import replace
from decimal import Decimal

from evbill.application.invoicing.queries import DocumentRenderer, document_view
from evbill.application.ports import MailAttachment, Mailer, OutgoingMail
from evbill.application.records import Services, require
from evbill.domain import currency as currencies
from evbill.domain.access.operators import Actor, Permission
from evbill.domain.errors import Conflict, InvalidInput, NotFound, Problem
from evbill.domain.invoicing.deliveries import Delivery
from evbill.domain.invoicing.documents import Document, DocumentStatus

ADDRESS = re.compile(r"[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+")
SUBJECTS = {
    "en": {"invoice": "Invoice {0} from {1}", "receipt": "Receipt {0} from {1}",
           "credit_note": "Credit note {0} from {1}"},
    "de": {"invoice": "Rechnung {0} von {1}", "receipt": "Quittung {0} von {1}",
           "credit_note": "Gutschrift {0} von {1}"},
}  # fmt: skip
BODIES = {
    "en": "Hello {buyer},\n\nplease find attached {what} {number} ({total}).\n"
    "The PDF carries the e-invoice (Factur-X, EN 16931) for your accounting software.\n\n"
    "Kind regards,\n{seller}\n",
    "de": "Guten Tag {buyer},\n\nim Anhang finden Sie {what} {number} ({total}).\n"
    "Die PDF-Datei enthält die E-Rechnung (Factur-X, EN 16931) für Ihre Buchhaltung.\n\n"
    "Mit freundlichen Grüßen\n{seller}\n",
}
WHAT = {
    "en": {"invoice": "invoice", "receipt": "receipt", "credit_note": "credit note"},
    "de": {"invoice": "Rechnung", "receipt": "Quittung", "credit_note": "Gutschrift"},
}


def _recipient(document: Document, to: str | None) -> str:
    recipient = to if to is not None else document.buyer.email
    if recipient is None:
        raise InvalidInput(
            "cannot send", (Problem("$.to", "the customer has no e-mail address; name one to send to"),)
        )
    if not ADDRESS.fullmatch(recipient.strip()):
        raise InvalidInput("cannot send", (Problem("$.to", "not an e-mail address"),))
    return recipient.strip()


def _mail(document: Document, recipient: str, pdf: bytes) -> OutgoingMail:
    language = document.language if document.language in SUBJECTS else "en"
    kind = document.kind.value
    number = document.number or ""
    payable = Decimal(document.composed.totals.payable_minor).scaleb(-currencies.exponent(document.currency))
    total = f"{payable:f} {document.currency}"
    return OutgoingMail(
        to=(recipient,),
        subject=SUBJECTS[language][kind].format(number, document.seller.name),
        text=BODIES[language].format(
            buyer=document.buyer.name,
            what=WHAT[language][kind],
            number=number,
            total=total,
            seller=document.seller.name,
        ),  # fmt: skip
        attachments=(MailAttachment(f"{number}.pdf", "application/pdf", pdf),),
    )


def _claim(services: Services, actor: Actor, document_id: str, to: str | None, resend: bool) -> Delivery:
    with services.uow() as uow:
        document = uow.invoices.get(actor.operator_id, document_id)
        if document is None:
            raise NotFound(f"invoice {document_id!r} not found")
        if document.status in (DocumentStatus.DRAFT, DocumentStatus.FAILED) or document.number is None:
            raise Conflict(f"a {document.status.value} document is not sent; issue it first")
        previous = uow.invoices.deliveries(actor.operator_id, document_id)
        if previous and not resend:
            last = previous[-1]
            if last.sent:
                return last
            raise Conflict(
                f"sending this document began at {last.claimed_at.isoformat()} and did not finish; "
                "ask for a resend to send it again"
            )
        delivery = Delivery(
            id=services.ids.new_id(), operator_id=actor.operator_id, document_id=document_id,
            attempt=len(previous) + 1, recipient=_recipient(document, to), requested_by=actor.name[:200],
            claimed_at=services.clock.now(),
        )  # fmt: skip
        uow.invoices.claim_delivery(delivery)
        uow.commit()
        return delivery


def deliver_document(
    services: Services,
    mailer: Mailer,
    actor: Actor,
    document_id: str,
    to: str | None = None,
    *,
    renderer: DocumentRenderer,
    resend: bool = False,
) -> Delivery:
    """E-mail the document (Factur-X PDF attached) to ``to`` or the customer's address, once."""
    require(actor, Permission.BILL)
    delivery = _claim(services, actor, document_id, to, resend)
    if delivery.sent:
        return delivery
    try:
        view = document_view(services, actor, document_id)
        pdf = renderer.render(view.document, "facturx", view=view)
        message_id = mailer.send(_mail(view.document, delivery.recipient, pdf))
    except BaseException:
        with services.uow() as uow:
            uow.invoices.drop_delivery(actor.operator_id, delivery.id)
            uow.commit()
        raise
    sent_at = services.clock.now()
    with services.uow() as uow:
        uow.invoices.complete_delivery(actor.operator_id, delivery.id, sent_at=sent_at, message_id=message_id)
        uow.commit()
    return replace(delivery, sent_at=sent_at, message_id=message_id)


def deliveries_of(services: Services, actor: Actor, document_id: str) -> list[Delivery]:
    require(actor, Permission.READ)
    with services.uow(read_only=True) as uow:
        return list(uow.invoices.deliveries(actor.operator_id, document_id))
