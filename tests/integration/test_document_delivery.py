"""E-mailing a document: delivered to a real SMTP server (aiosmtpd) on loopback, once, in the
customer's language, with the Factur-X PDF attached; a retry sends nothing twice unless asked."""

from __future__ import annotations

import email
import email.policy
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import facturx
import pytest

from evbill.adapters.documents.renderer import DocumentRenderer
from evbill.adapters.mail import SmtpMailer
from evbill.application.access.keys import create_operator, platform_actor
from evbill.application.invoicing.delivery import deliver_document
from evbill.bootstrap import bootstrap
from evbill.config import Settings
from evbill.domain.errors import Conflict, InvalidInput
from evbill.domain.invoicing.deliveries import Delivery
from evbill.domain.invoicing.documents import Party
from tests.einvoices import cii_problems
from tests.integration.test_mail_smtp import smtp_server  # noqa: F401 (the fixture)
from tests.unit.test_einvoices import MIXED

SENDER = "Billing <billing@alpha-charging.example>"


@pytest.fixture
def stored(database_url: str) -> Any:
    """A migrated database with one operator and its issued invoice to Acme (billing@acme.example, German)."""
    container = bootstrap(Settings(database_url=database_url))
    operator = create_operator(
        container.services, name="Alpha", legal_name="Alpha B.V.", country="NL", default_currency="EUR"
    )
    invoice = replace(
        MIXED, id=container.services.ids.new_id(), operator_id=operator.id, language="de",
        buyer=replace(MIXED.buyer, email="billing@acme.example"),
        created_at=datetime(2026, 11, 1, tzinfo=UTC),
    )  # fmt: skip
    with container.services.uow() as uow:
        uow.invoices.add(invoice)
        uow.commit()
    yield container, platform_actor(operator.id), invoice
    container.dispose()


def test_the_invoice_arrives_once_in_german_with_its_facturx_pdf_and_the_delivery_is_recorded(
    stored,
    smtp_server,  # noqa: F811
):
    container, actor, invoice = stored
    inbox, port = smtp_server
    mailer = SmtpMailer(f"smtp://127.0.0.1:{port}", SENDER)
    renderer = DocumentRenderer()

    sent = deliver_document(container.services, mailer, actor, invoice.id, renderer=renderer)
    again = deliver_document(container.services, mailer, actor, invoice.id, renderer=renderer)

    assert len(inbox.messages) == 1  # the retry sent nothing
    assert (again.id, again.message_id) == (sent.id, sent.message_id)
    _, recipients, raw = inbox.messages[0]
    assert recipients == ["billing@acme.example"]
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert (
        message["Subject"] == "Rechnung AMS-2026-000001 von Amsterdam Charging B.V."
    )  # the seller on the document
    assert message["Message-ID"] == sent.message_id
    assert (
        "im Anhang finden Sie Rechnung AMS-2026-000001 (24.91 EUR)"
        in message.get_body(("plain",)).get_content()
    )
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_filename() == "AMS-2026-000001.pdf"
    name, xml = facturx.get_facturx_xml_from_pdf(attachment.get_content())
    assert name == "factur-x.xml"
    assert cii_problems(xml) == []
    assert (sent.attempt, sent.recipient, sent.requested_by) == (1, "billing@acme.example", actor.name)
    assert sent.sent_at is not None
    with container.services.uow() as uow:
        assert [d.message_id for d in uow.invoices.deliveries(actor.operator_id, invoice.id)] == [
            sent.message_id
        ]


def test_a_resend_sends_again_to_the_address_asked_for(stored, smtp_server):  # noqa: F811
    container, actor, invoice = stored
    inbox, port = smtp_server
    mailer = SmtpMailer(f"smtp://127.0.0.1:{port}", SENDER)
    renderer = DocumentRenderer()

    first = deliver_document(container.services, mailer, actor, invoice.id, renderer=renderer)
    second = deliver_document(container.services, mailer, actor, invoice.id, "accounts@acme.example",
                              renderer=renderer, resend=True)  # fmt: skip

    assert [recipients for _, recipients, _ in inbox.messages] == [["billing@acme.example"],
                                                                    ["accounts@acme.example"]]  # fmt: skip
    assert (first.attempt, second.attempt) == (1, 2)
    assert first.message_id != second.message_id


def test_a_refused_mail_records_nothing_and_can_be_sent_later(stored, smtp_server):  # noqa: F811
    container, actor, invoice = stored
    inbox, port = smtp_server
    renderer = DocumentRenderer()
    closed = SmtpMailer("smtp://127.0.0.1:9", SENDER)  # nothing listens on the discard port

    with pytest.raises(Exception):  # noqa: B017, PT011  (whatever the SMTP client raises)
        deliver_document(container.services, closed, actor, invoice.id, renderer=renderer)
    with container.services.uow() as uow:
        assert uow.invoices.deliveries(actor.operator_id, invoice.id) == []
    listening = SmtpMailer(f"smtp://127.0.0.1:{port}", SENDER)
    sent = deliver_document(container.services, listening, actor, invoice.id, renderer=renderer)

    assert sent.attempt == 1
    assert len(inbox.messages) == 1


def test_a_send_that_never_finished_is_not_repeated_without_a_resend(stored, smtp_server):  # noqa: F811
    container, actor, invoice = stored
    inbox, port = smtp_server
    mailer = SmtpMailer(f"smtp://127.0.0.1:{port}", SENDER)
    with container.services.uow() as uow:  # a sender claimed it, then died before the server answered
        uow.invoices.claim_delivery(Delivery("d1", actor.operator_id, invoice.id, 1, "billing@acme.example",
                                             "crashed", datetime(2026, 11, 2, tzinfo=UTC)))  # fmt: skip
        uow.commit()

    with pytest.raises(Conflict, match="did not finish"):
        deliver_document(container.services, mailer, actor, invoice.id, renderer=DocumentRenderer())
    resent = deliver_document(container.services, mailer, actor, invoice.id, renderer=DocumentRenderer(),
                              resend=True)  # fmt: skip

    assert resent.attempt == 2
    assert len(inbox.messages) == 1


def test_without_an_address_the_send_is_refused_naming_the_field(stored, smtp_server):  # noqa: F811
    container, actor, invoice = stored
    _, port = smtp_server
    mailer = SmtpMailer(f"smtp://127.0.0.1:{port}", SENDER)
    with container.services.uow() as uow:
        no_email = replace(invoice, id=container.services.ids.new_id(), buyer=Party("Jan", "NL"),
                           number="X-1", bill_id=None, series="X")  # fmt: skip
        uow.invoices.add(no_email)
        uow.commit()

    with pytest.raises(InvalidInput) as refused:
        deliver_document(container.services, mailer, actor, no_email.id, renderer=DocumentRenderer())
    with pytest.raises(InvalidInput) as bad:
        deliver_document(container.services, mailer, actor, no_email.id, "not-an-address",
                         renderer=DocumentRenderer())  # fmt: skip

    assert [p.path for p in refused.value.problems] == [p.path for p in bad.value.problems] == ["$.to"]
