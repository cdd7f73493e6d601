"""Bank accounts: IBANs checked with ``schwifty`` (country format, length and check digits)."""

from __future__ import annotations

from schwifty import IBAN
from schwifty.exceptions import SchwiftyException


class SchwiftyIbanChecker:
    def check(self, iban: str) -> tuple[str, str | None]:
        try:
            parsed = IBAN(iban)
        except SchwiftyException as error:
            raise ValueError(f"not a valid IBAN: {error}") from None
        bic = parsed.bic
        return parsed.compact, None if bic is None else str(bic)
