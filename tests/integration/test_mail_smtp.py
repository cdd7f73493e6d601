"""The SMTP mailer against a real SMTP server (aiosmtpd) on loopback."""

from __future__ import annotations

import email
import email.policy
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from evbill.adapters.mail import MemoryMailer, SmtpMailer, UnconfiguredMailer, build_mailer
from evbill.application.ports import MailAttachment, OutgoingMail
from evbill.domain.errors import InvalidInput


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


@pytest.fixture
def smtp_server() -> Iterator[tuple[_Inbox, int]]:
    inbox = _Inbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def test_a_message_with_a_pdf_arrives_whole(smtp_server: tuple[_Inbox, int]) -> None:
    inbox, port = smtp_server
    mailer = SmtpMailer(f"smtp://127.0.0.1:{port}", "Billing <billing@ams-charge.example>")
    pdf = b"%PDF-1.7\n" + bytes(range(256)) * 4
    message_id = mailer.send(
        OutgoingMail(
            to=("driver@example.org",),
            subject="Invoice AMS-2026-000123",
            text="Your invoice is attached.",
            attachments=(MailAttachment("AMS-2026-000123.pdf", "application/pdf", pdf),),
        )
    )
    assert len(inbox.messages) == 1
    sender, recipients, raw = inbox.messages[0]
    assert sender == "billing@ams-charge.example"
    assert recipients == ["driver@example.org"]
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed["Subject"] == "Invoice AMS-2026-000123"
    assert parsed["Message-ID"] == message_id
    assert message_id.endswith("@ams-charge.example>")
    attachments = list(parsed.iter_attachments())
    assert [part.get_filename() for part in attachments] == ["AMS-2026-000123.pdf"]
    assert attachments[0].get_content() == pdf


def test_unset_refuses_naming_the_setting() -> None:
    with pytest.raises(InvalidInput) as caught:
        build_mailer("", "billing@example.org").send(OutgoingMail(to=("a@b.c",), subject="s", text="t"))
    assert [problem.path for problem in caught.value.problems] == ["EVBILL_SMTP_URL"]
    assert isinstance(build_mailer("", "x@y.z"), UnconfiguredMailer)


def test_a_bad_url_and_no_recipient_are_refused() -> None:
    with pytest.raises(InvalidInput):
        SmtpMailer("http://127.0.0.1:25", "x@y.z")
    with pytest.raises(InvalidInput) as caught:
        MemoryMailer().send(OutgoingMail(to=(), subject="s", text="t"))
    assert caught.value.problems[0].path == "to"


def test_memory_keeps_what_it_is_given() -> None:
    mailer = build_mailer("memory", "billing@example.org")
    assert isinstance(mailer, MemoryMailer)
    mailer.send(OutgoingMail(to=("a@example.org", "b@example.org"), subject="Hello", text="body"))
    assert [message["To"] for message in mailer.sent] == ["a@example.org, b@example.org"]
