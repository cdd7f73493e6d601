"""The Mailer port over SMTP (``smtplib`` from the standard library).

``EVBILL_SMTP_URL`` names the server: ``smtp://host:port`` (plain, for a relay on loopback),
``smtp+starttls://user:password@host:587`` or ``smtps://user:password@host:465``. ``memory`` keeps
messages in this process (the demo); unset, sending is refused with a clear error.
"""

from __future__ import annotations

import smtplib
import ssl
import threading
from email.message import EmailMessage
from email.utils import make_msgid
from urllib.parse import unquote, urlsplit

from evbill.application.ports import OutgoingMail
from evbill.domain.errors import InvalidInput, Problem


def _message(mail: OutgoingMail, sender: str) -> EmailMessage:
    if not mail.to:
        raise InvalidInput("no recipient", (Problem("to", "at least one address is required"),))
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(mail.to)
    message["Subject"] = mail.subject
    if mail.reply_to:
        message["Reply-To"] = mail.reply_to
    domain = sender.rpartition("@")[2].strip(">") or None
    message["Message-ID"] = make_msgid(domain=domain)
    message.set_content(mail.text)
    if mail.html is not None:
        message.add_alternative(mail.html, subtype="html")
    for attachment in mail.attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        message.add_attachment(
            attachment.data,
            maintype=maintype,
            subtype=subtype or "octet-stream",
            filename=attachment.filename,
        )
    return message


class SmtpMailer:
    """One connection per message: billing runs send from several workers, and a connection kept open
    between messages would time out on most servers anyway."""

    def __init__(self, url: str, sender: str, *, timeout: float = 30.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps", "smtp+starttls") or not parts.hostname:
            raise InvalidInput(
                "invalid settings",
                (
                    Problem(
                        "EVBILL_SMTP_URL", f"{url!r} is not smtp://, smtps:// or smtp+starttls://host[:port]"
                    ),
                ),
            )
        self.scheme = parts.scheme
        self.host = parts.hostname
        default_port = {"smtp": 25, "smtps": 465, "smtp+starttls": 587}[parts.scheme]
        self.port = parts.port or default_port
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.sender = sender
        self.timeout = timeout

    def send(self, mail: OutgoingMail) -> str:
        message = _message(mail, self.sender)
        context = ssl.create_default_context()
        client: smtplib.SMTP
        if self.scheme == "smtps":
            client = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        with client:
            if self.scheme == "smtp+starttls":
                client.starttls(context=context)
            if self.username is not None:
                client.login(self.username, self.password or "")
            client.send_message(message)
        return str(message["Message-ID"])


class MemoryMailer:
    """Keeps what it is given, for the demo (nothing leaves the machine) and tests."""

    def __init__(self, sender: str = "billing@evbill.invalid") -> None:
        self.sender = sender
        self.sent: list[EmailMessage] = []
        self._lock = threading.Lock()

    def send(self, mail: OutgoingMail) -> str:
        message = _message(mail, self.sender)
        with self._lock:
            self.sent.append(message)
        return str(message["Message-ID"])


class UnconfiguredMailer:
    """What evbill has when EVBILL_SMTP_URL is unset: every send is refused, naming the setting."""

    def send(self, mail: OutgoingMail) -> str:
        raise InvalidInput(
            "e-mail is not configured",
            (Problem("EVBILL_SMTP_URL", "set it to smtp://host:port (or memory) to send e-mail"),),
        )


def build_mailer(url: str, sender: str) -> SmtpMailer | MemoryMailer | UnconfiguredMailer:
    if not url:
        return UnconfiguredMailer()
    if url == "memory":
        return MemoryMailer(sender)
    return SmtpMailer(url, sender)
