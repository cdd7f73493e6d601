"""VAT identification numbers checked with python-stdnum (format and check digits, offline).

    >>> checker = StdnumVatChecker()
    >>> checker.check("NL", "nl 0044.95.445.B01")
    'NL004495445B01'
    >>> checker.check("DE", "DE136695977")
    Traceback (most recent call last):
    ...
    ValueError: DE136695977 is not a valid DE VAT number: The number's checksum or check digit is invalid.

EU numbers go through stdnum's EU module (the country prefix is part of the number); other
countries through their own module when stdnum has one (e.g. CH, GB, NO); for a country it does not
know, the number is kept as given, stripped of spaces.
"""

from __future__ import annotations

from stdnum.eu import vat as eu_vat
from stdnum.exceptions import ValidationError
from stdnum.util import get_cc_module

EU = frozenset("AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK XI".split())


class StdnumVatChecker:
    def check(self, country: str, vat_id: str) -> str:
        """The normalised number, or ValueError saying why it is not valid for ``country``."""
        compact = "".join(vat_id.split()).upper()
        try:
            if country in EU or (country == "GR" and compact.startswith("EL")):
                number = eu_vat.validate(compact if compact[:2].isalpha() else f"{country}{compact}")
                if number[:2] not in (country, "EL" if country == "GR" else country):
                    raise ValueError(f"{vat_id} is a {number[:2]} number, not a {country} one")
                return str(number)
            module = get_cc_module(country.lower(), "vat")
            if module is None:
                return compact
            return str(module.validate(compact))
        except ValidationError as error:
            raise ValueError(f"{compact} is not a valid {country} VAT number: {error.message}") from None
