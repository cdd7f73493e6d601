"""The operator's collection policy: when failed card charges are retried, when reminders go out, when
an overdue customer's tokens are suspended.

Retries stay within the card networks' rules: at most ``MAX_RETRIES`` retries within 30 days of the
first attempt, at most one a day, and never after a hard decline (a lost or stolen card, a closed
account: retrying those is what the networks fine). The default retries 1, 3, 7 and 14 days after the
first attempt:

    >>> policy = CollectionPolicy()
    >>> [retry_day(policy, attempts) for attempts in (1, 2, 3, 4, 5)]
    [1, 3, 7, 14, None]
    >>> is_hard_decline("lost_card"), is_hard_decline("insufficient_funds")
    (True, False)
"""

from __future__ import annotations

from dataclasses import dataclass

from evbill.domain.errors import InvalidInput, Problem

RETRY_WINDOW_DAYS = 30
MAX_RETRIES = 15  # Visa: no more than 15 retries of one transaction within 30 days

# Decline codes that mean "do not try again" (Stripe's names, which the gateways here use too).
HARD_DECLINES = frozenset(
    {
        "lost_card",
        "stolen_card",
        "pickup_card",
        "restricted_card",
        "fraudulent",
        "invalid_account",
        "card_not_supported",
        "currency_not_supported",
        "do_not_try_again",
        "revocation_of_authorization",
        "revocation_of_all_authorizations",
        "authentication_failed",  # off-session: only the customer can authenticate
        "authentication_required",
    }
)


@dataclass(frozen=True, slots=True)
class CollectionPolicy:
    operator_id: str = ""
    retry_days: tuple[int, ...] = (1, 3, 7, 14)  # days after the first attempt
    reminder_days: tuple[int, ...] = (1, 7, 14)  # days after the due date
    suspend_after_days: int | None = 21  # days overdue; None: never suspend

    def checked(self) -> CollectionPolicy:
        problems: list[Problem] = []
        days = self.retry_days
        if len(days) > MAX_RETRIES:
            problems.append(Problem("$.retry_days", f"at most {MAX_RETRIES} retries"))
        if any(day < 1 or day > RETRY_WINDOW_DAYS for day in days):
            problems.append(Problem("$.retry_days", f"each between 1 and {RETRY_WINDOW_DAYS} days"))
        if any(later <= earlier for earlier, later in zip(days, days[1:], strict=False)):
            problems.append(Problem("$.retry_days", "increasing, at most one retry a day"))
        if any(day < 0 for day in self.reminder_days) or list(self.reminder_days) != sorted(
            set(self.reminder_days)
        ):
            problems.append(Problem("$.reminder_days", "increasing days after the due date"))
        if self.suspend_after_days is not None and self.suspend_after_days < 0:
            problems.append(Problem("$.suspend_after_days", "must be 0 or more"))
        if problems:
            raise InvalidInput("invalid collection policy", tuple(problems))
        return self


def retry_day(policy: CollectionPolicy, attempts_made: int) -> int | None:
    """Days after the first attempt when the next retry is due; None: no retry left."""
    retries_made = attempts_made - 1
    if retries_made < len(policy.retry_days):
        return policy.retry_days[retries_made]
    return None


def is_hard_decline(code: str | None) -> bool:
    return code in HARD_DECLINES
