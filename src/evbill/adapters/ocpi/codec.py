"""The OCPI 2.2.1 codec: the ``OcpiCodec`` port over this package's readers and writers."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from evbill.adapters.ocpi.cdr_lines import PricedLineWriter, read_cdr_periods
from evbill.adapters.ocpi.cdrs import (
    CdrPlace,
    ParsedCdr,
    parse_cdr,
    priced_cdr_line,
    read_cdr_usage,
    render_priced_cdr,
    session_cdr,
)
from evbill.adapters.ocpi.tariffs import ParsedTariff, parse_tariff, render_tariff
from evbill.domain.metering.usage import SessionUsage
from evbill.domain.money import RoundingMode
from evbill.domain.rating import RatedSession
from evbill.domain.rating.fast import FastTotals
from evbill.domain.tariffs.model import Tariff


class Ocpi221Codec:
    def read_tariff(self, document: object) -> ParsedTariff:
        return parse_tariff(document)

    def write_tariff(self, tariff: Tariff) -> dict[str, Any]:
        return render_tariff(tariff)

    def read_cdr(self, document: object) -> ParsedCdr:
        return parse_cdr(document)

    def read_cdr_usage(self, document: object) -> SessionUsage:
        return read_cdr_usage(document)

    def write_session_cdr(
        self,
        *,
        cdr_id: str,
        country_code: str,
        party_id: str,
        token_uid: str | None,
        contract_id: str | None,
        place: Mapping[str, Any],
        usage: SessionUsage,
        rated: RatedSession,
        tariff_document: Mapping[str, Any],
        rounding: RoundingMode,
        last_updated: datetime,
    ) -> dict[str, Any]:
        return session_cdr(
            cdr_id=cdr_id,
            country_code=country_code,
            party_id=party_id,
            token_uid=token_uid,
            contract_id=contract_id,
            place=CdrPlace(**place),
            usage=usage,
            rated=rated,
            tariff_document=tariff_document,
            rounding=rounding,
            last_updated=last_updated,
        )

    def write_priced_cdr(
        self,
        document: Mapping[str, Any],
        rated: RatedSession,
        *,
        tariff_document: Mapping[str, Any] | None,
        rounding: RoundingMode,
    ) -> dict[str, Any]:
        return render_priced_cdr(document, rated, tariff_document=tariff_document, rounding=rounding)

    def write_priced_cdr_line(
        self,
        document: Mapping[str, Any],
        totals: FastTotals,
        *,
        currency: str,
        tariff_json: bytes,
        rounding: RoundingMode,
    ) -> bytes:
        return priced_cdr_line(
            document, totals, currency=currency, tariff_json=tariff_json, rounding=rounding
        )

    # the function itself, not a method calling it: this is called for every CDR of a batch
    read_cdr_periods = staticmethod(read_cdr_periods)

    def priced_line_writer(
        self, *, currency: str, tariff_json: bytes, rounding: RoundingMode
    ) -> PricedLineWriter:
        return PricedLineWriter(currency=currency, tariff_json=tariff_json, rounding=rounding)
