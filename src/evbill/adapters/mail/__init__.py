"""E-mail: SMTP for real delivery, an in-memory outbox for the demo and tests."""

from __future__ import annotations

from evbill.adapters.mail.smtp import MemoryMailer, SmtpMailer, UnconfiguredMailer, build_mailer

__all__ = ["MemoryMailer", "SmtpMailer", "UnconfiguredMailer", "build_mailer"]
