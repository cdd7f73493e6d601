"""The structured payment reference printed on an invoice: an ISO 11649 creditor reference (RF).

It is made from the invoice number's letters and digits (at most 21), with the check digits of
ISO 7064 mod 97-10 (computed by ``python-stdnum``), so a payer's bank can check it as it is typed
and the statement import can find the invoice by it:

    >>> creditor_reference("INV-2026-000001")
    'RF94INV2026000001'
    >>> iso11649.is_valid("RF94INV2026000001"), iso11649.is_valid("RF95INV2026000001")
    (True, False)
    >>> find_references("Payment RF94 INV2 0260 0000 1, thanks")
    ['RF94INV2026000001']
"""

from __future__ import annotations

import re

from stdnum import iso11649
from stdnum.iso7064 import mod_97_10

MAX_BODY = 21  # RF + 2 check digits + at most 21 characters = 25
# RF, two digits, then the body, which a payer may have written in groups of four
_CANDIDATE = re.compile(r"RF\s?\d\d(?:\s?[0-9A-Z]){1,21}", re.IGNORECASE)


def creditor_reference(invoice_number: str) -> str:
    body = "".join(character for character in invoice_number.upper() if character.isalnum())
    body = body[-MAX_BODY:] or "0"  # the end of a number is what makes it unique
    return f"RF{mod_97_10.calc_check_digits(body + 'RF')}{body}"


def find_references(text: str) -> list[str]:
    """Every valid RF reference in a free text, in electronic form (a checked reference only)."""
    found = []
    for match in _CANDIDATE.finditer(text):
        compact = iso11649.compact(match.group(0))
        # the pattern is greedy; a shorter prefix may be the reference when text follows it
        for end in range(len(compact), 4, -1):
            if iso11649.is_valid(compact[:end]):
                found.append(compact[:end])
                break
    return found


def normalise(reference: str) -> str | None:
    """A reference as the bank gave it, in electronic form if it is a valid RF reference."""
    compact = iso11649.compact(reference)
    return compact if iso11649.is_valid(compact) else None
