"""Use cases of rating: check a tariff, price a CDR (one or a stream), with an explanation on demand.

``CdrPricer`` holds a tariff compiled once for one time zone, so a batch of a hundred thousand CDRs
parses and indexes the tariff a single time:

    pricer = CdrPricer.for_tariff(codec=codec, tariff_document=doc, zone=ZoneInfo("Europe/Berlin"))
    priced = pricer.price(cdr_document, explain=True)
    priced.document["total_cost"], priced.explanation.as_text()
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from evbill.domain.errors import InvalidInput, Problem, Severity
from evbill.domain.metering.usage import SessionUsage
from evbill.domain.money import RoundingMode
from evbill.domain.rating import CompiledTariff, RatedSession, compile_tariff, rate
from evbill.domain.rating.fast import FastTariff
from evbill.domain.rating.fixed_point import FixedPointTariff

# Imported where used: a batch of CDRs (``evbill rate --cdrs``) needs none of them, and they are a
# few hundredths of a second of the command's start-up.
if TYPE_CHECKING:
    from evbill.application.ports import OcpiCodec, PricedLineWriting
    from evbill.domain.metering.cleaning import Anomaly, MeterSample
    from evbill.domain.rating.explanation import Explanation


@dataclass(frozen=True, slots=True)
class TariffReport:
    """Everything wrong or suspicious with a tariff document; ``ok`` when there is no error."""

    problems: tuple[Problem, ...]

    @property
    def ok(self) -> bool:
        return not any(problem.severity is Severity.ERROR for problem in self.problems)


def check_tariff_document(*, codec: OcpiCodec, document: object) -> TariffReport:
    """Validate a tariff document and, when it is valid, look for elements that cannot work."""
    from evbill.domain.tariffs.checks import check_tariff

    try:
        reading = codec.read_tariff(document)
    except InvalidInput as error:
        return TariffReport(error.problems or (Problem("$", error.message),))
    return TariffReport(reading.warnings + check_tariff(reading.tariff))


@dataclass(frozen=True, slots=True)
class PricedCdr:
    document: dict[str, Any]
    rated: RatedSession
    explanation: Explanation | None
    warnings: tuple[Problem, ...]


@dataclass(frozen=True, slots=True)
class CdrPricer:
    codec: OcpiCodec
    compiled: CompiledTariff
    tariff_document: Mapping[str, Any]
    rounding: RoundingMode
    fast: FastTariff
    fixed_point: FixedPointTariff | None = None  # None: the tariff is priced with Decimal only
    writers: dict[bytes, PricedLineWriting] = field(default_factory=dict)  # by the tariff's JSON

    @classmethod
    def for_tariff(
        cls,
        *,
        codec: OcpiCodec,
        tariff_document: Mapping[str, Any],
        zone: ZoneInfo,
        rounding: RoundingMode = RoundingMode.HALF_UP,
    ) -> CdrPricer:
        """Read and compile the tariff once; InvalidInput if the tariff has errors."""
        tariff = codec.read_tariff(tariff_document).tariff
        compiled = compile_tariff(tariff, zone)
        fast = FastTariff(compiled)
        return cls(codec, compiled, tariff_document, rounding, fast, FixedPointTariff.of(compiled))

    def price(self, cdr_document: object, *, explain_price: bool = False) -> PricedCdr:
        """Price one CDR document; InvalidInput (every problem) or CurrencyMismatch if it cannot be."""
        from evbill.domain.rating.explanation import explain

        reading = self.codec.read_cdr(cdr_document)
        rated = rate(reading.usage, self.compiled)
        priced = self.codec.write_priced_cdr(
            cdr_document,  # type: ignore[arg-type]  # read_cdr accepted it, so it is a mapping
            rated,
            tariff_document=self.tariff_document,
            rounding=self.rounding,
        )
        explanation = explain(reading.usage, self.compiled, rated) if explain_price else None
        return PricedCdr(priced, rated, explanation, reading.warnings)

    def price_line(self, cdr_document: object, *, tariff_json: bytes) -> bytes:
        """``price`` for a batch: the priced CDR as one JSON line, byte for byte what ``price`` writes.

        Where the tariff allows (``rating.fixed_point``: every session component applies to every
        period, no min/max price), a well-formed CDR is read to integer volumes and rated in integer
        fixed point; any other CDR, or a line the integers leave to Decimal, is read by the codec's
        fast reader (any doubtful CDR is read by ``read_cdr``, with the same problems) and rated to
        totals by the fast path (``rating.fast``, equal to ``rate``).
        """
        fixed_point = self.fixed_point
        if fixed_point is not None:
            read = self.codec.read_cdr_periods(cdr_document, self.fast.currency)
            if read is not None:
                fixed_totals = fixed_point.totals(*read)
                if fixed_totals is not None:
                    writer = self.writers.get(tariff_json)
                    if writer is None:
                        writer = self.writers[tariff_json] = self.codec.priced_line_writer(
                            currency=self.fast.currency, tariff_json=tariff_json, rounding=self.rounding
                        )
                    return writer.line(cdr_document, fixed_totals)  # type: ignore[arg-type]
        usage = self.codec.read_cdr_usage(cdr_document)
        totals = self.fast.totals(usage)
        return self.codec.write_priced_cdr_line(
            cdr_document,  # type: ignore[arg-type]  # read_cdr_usage accepted it, so it is a mapping
            totals,
            currency=self.compiled.tariff.currency,
            tariff_json=tariff_json,
            rounding=self.rounding,
        )


@dataclass(frozen=True, slots=True)
class MeteredPrice:
    """A session priced from its meter series: the periods built, the price, and what was odd."""

    usage: SessionUsage
    rated: RatedSession
    anomalies: tuple[Anomaly, ...]


def price_metered_session(
    *,
    samples: Iterable[MeterSample],
    compiled: CompiledTariff,
    start: datetime,
    until: datetime,
    currency: str,
) -> MeteredPrice:
    """Clean the samples, cut charging periods at every price boundary, and rate them.

    ``until`` is the session's end, or "now" for the running cost of a session in progress: the
    same function gives the cost shown on the charger, the final total and the CDR.
    """
    from evbill.domain.metering.cleaning import clean_series
    from evbill.domain.metering.periods import build_periods

    series = clean_series(samples)
    periods = build_periods(series, compiled.tariff, zone=compiled.zone, start=start, end=until)
    usage = SessionUsage(start, until, currency, periods)
    return MeteredPrice(usage, rate(usage, compiled), series.anomalies)
