"""Sending a document by e-mail, recorded: who asked, to whom, when, and the mail server's message id.

A delivery is claimed before the mail is handed to the server and completed with its message id
after. A claimed delivery without a message id is one whose outcome is not known (the process died,
or is still sending): it is not sent again unless someone asks for a resend.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Delivery:
    id: str
    operator_id: str
    document_id: str
    attempt: int  # 1 for the first send, counted up by each resend
    recipient: str
    requested_by: str
    claimed_at: datetime
    sent_at: datetime | None = None
    message_id: str | None = None

    @property
    def sent(self) -> bool:
        return self.message_id is not None
