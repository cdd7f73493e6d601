"""The price in words: the operator's alt text where it has one, but the pay link always shows ours.

Found by an outside tester: the demo's ad hoc pay link showed the operator's alt text ("... Excl. 21%
VAT."), where a consumer about to pay at the charger must see the price incl. VAT (AFIR)."""

from __future__ import annotations

from evbill.adapters.ocpi.tariffs import parse_tariff
from evbill.domain.tariffs.text import describe_tariff, price_in_words
from tests.unit.test_tariff_parsing import a_tariff

ALT = [{"language": "en", "text": "2.00 per hour. Excl. 10% VAT."}]


def test_the_operators_words_are_its_description() -> None:
    tariff = parse_tariff(a_tariff(tariff_alt_text=ALT)).tariff
    assert describe_tariff(tariff) == "2.00 per hour. Excl. 10% VAT."


def test_the_price_in_words_is_incl_vat_whatever_the_alt_text_says() -> None:
    tariff = parse_tariff(a_tariff(tariff_alt_text=ALT)).tariff
    # 2.00 x 1.10 = 2.20 per hour
    assert price_in_words(tariff) == "charging EUR 2.20/h. Incl. VAT."
    assert describe_tariff(parse_tariff(a_tariff()).tariff) == "charging EUR 2.20/h. Incl. VAT."
