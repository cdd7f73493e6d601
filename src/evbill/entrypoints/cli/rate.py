"""``evbill rate``: price OCPI CDRs against a tariff, one file or a JSONL stream.

    evbill rate --tariff tariff.json --cdr cdr.json --tz Europe/Amsterdam --explain
    evbill rate --tariff tariff.json --cdrs cdrs.jsonl --tz Europe/Amsterdam > priced.jsonl

A batch never stops at a bad line: the line's number and problems go to stderr, the rest is priced,
and the exit status is 1 if any line was bad. Progress (bytes read, CDRs/s) is shown on stderr.

Which time zone the tariff's restrictions are checked in, for each CDR: ``--tz`` when given; else
the CDR's own ``cdr_location.time_zone`` (an IANA name, as OCPI's Location carries it; OCPI 2.2.1's
CdrLocation has no such field, so evbill reads it as an extension when present); else
EVBILL_TIME_ZONE (default UTC), and stderr says so once, since a country or coordinates do not name
one zone.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, BinaryIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import orjson
import typer

from evbill.domain.errors import DomainError, InvalidInput, Problem
from evbill.domain.money import RoundingMode
from evbill.entrypoints.cli.output import EXIT_INVALID, dumps, fail, fail_domain, read_json_file, write_json

if TYPE_CHECKING:
    from rich.progress import Progress

    from evbill.application.rating.cdrs import CdrPricer, PricedCdr
    from evbill.bootstrap import Container

PROGRESS_EVERY = 2000
WRITE_EVERY = 2000  # lines (about 2 MB) per write to stdout


def load_zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        fail(f"--tz: {name!r} is not an IANA time zone (e.g. Europe/Amsterdam, America/New_York, UTC)")


def register(app: typer.Typer, container: Container) -> None:
    @app.command()
    def rate(
        tariff: Annotated[Path, typer.Option(help="OCPI 2.2.1 Tariff JSON file.")],
        cdr: Annotated[Path | None, typer.Option(help="One OCPI CDR JSON file.")] = None,
        cdrs: Annotated[
            Path | None, typer.Option(help="JSONL file, one OCPI CDR per line ('-' for stdin).")
        ] = None,
        tz: Annotated[
            str | None,
            typer.Option(help="IANA time zone of the location [default: EVBILL_TIME_ZONE or UTC]."),
        ] = None,
        explain: Annotated[
            bool, typer.Option(help="Add the price explanation (JSON; text on stderr).")
        ] = False,
        rounding: Annotated[
            RoundingMode | None, typer.Option(help="Rounding of document totals (default: settings).")
        ] = None,
    ) -> None:
        """Price OCPI CDRs against a tariff and print the priced CDRs as OCPI JSON."""
        if (cdr is None) == (cdrs is None):
            fail("give exactly one of --cdr FILE.json or --cdrs FILE.jsonl")
        from evbill.application.rating.cdrs import CdrPricer  # loaded when a CDR is priced

        forced = load_zone(tz) if tz is not None else None
        fallback = load_zone(container.settings.default_time_zone)
        tariff_document = read_json_file(tariff, "tariff")
        try:
            pricer = Pricers(
                lambda zone: CdrPricer.for_tariff(
                    codec=container.ocpi,
                    tariff_document=tariff_document,
                    zone=zone,
                    rounding=rounding or container.settings.rounding_mode,
                ),
                forced=forced,
                fallback=fallback,
            )
        except DomainError as error:
            fail_domain(error, f"tariff {str(tariff)!r}")
        if cdr is not None:
            _rate_one(pricer, cdr, explain)
        else:
            assert cdrs is not None
            _rate_stream(pricer, cdrs, explain)


class Pricers:
    """The tariff compiled once per time zone, and the zone each CDR is priced in.

    The tariff is compiled at once in the first zone it may need, so a bad tariff is reported
    before any CDR is read.
    """

    def __init__(
        self, compile_for: Callable[[ZoneInfo], CdrPricer], *, forced: ZoneInfo | None, fallback: ZoneInfo
    ) -> None:
        self._compile_for = compile_for
        self._forced = forced
        self._fallback = fallback
        self._compiled: dict[str, CdrPricer] = {}
        self._fallback_said = False
        first = forced or fallback
        self._compiled[first.key] = compile_for(first)

    def price(self, document: Any, *, explain_price: bool) -> PricedCdr:
        return self.for_document(document).price(document, explain_price=explain_price)

    @property
    def tariff_document(self) -> Any:
        return next(iter(self._compiled.values())).tariff_document

    def for_document(self, document: Any) -> CdrPricer:
        zone = self._forced or document_zone(document) or self._use_fallback()
        if zone.key not in self._compiled:
            self._compiled[zone.key] = self._compile_for(zone)
        return self._compiled[zone.key]

    def _use_fallback(self) -> ZoneInfo:
        if not self._fallback_said:
            typer.echo(
                f"note: times are in {self._fallback.key}: the CDR has no cdr_location.time_zone and no "
                "--tz was given (default: EVBILL_TIME_ZONE or UTC)",
                err=True,
            )
            self._fallback_said = True
        return self._fallback


def document_zone(document: Any) -> ZoneInfo | None:
    """The IANA zone in the CDR's ``cdr_location.time_zone``, None when there is none."""
    location = document.get("cdr_location") if isinstance(document, dict) else None
    name = location.get("time_zone") if isinstance(location, dict) else None
    if name is None:
        return None
    try:
        if not isinstance(name, str):
            raise ValueError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        problem = Problem("$.cdr_location.time_zone", f"{name!r} is not an IANA time zone")
        raise InvalidInput("the CDR's time zone is unknown", (problem,)) from None


def _output(priced: PricedCdr, explain: bool) -> Any:
    if not explain or priced.explanation is None:
        return priced.document
    explanation = priced.explanation.as_dict()
    explanation["text"] = priced.explanation.as_text().splitlines()
    return {"cdr": priced.document, "explanation": explanation}


def _rate_one(pricer: Pricers, path: Path, explain: bool) -> None:
    document = read_json_file(path, "CDR")
    try:
        priced = pricer.price(document, explain_price=explain)
    except DomainError as error:
        fail_domain(error, f"CDR {str(path)!r}")
    for warning in priced.warnings:
        typer.echo(f"  {warning}", err=True)
    write_json(_output(priced, explain))
    if explain and priced.explanation is not None:
        typer.echo(priced.explanation.as_text(), err=True)


def _rate_stream(pricer: Pricers, path: Path, explain: bool) -> None:
    if str(path) == "-":
        _price_lines(pricer, sys.stdin.buffer, None, explain)
        return
    try:
        size = path.stat().st_size
        stream = path.open("rb")
    except OSError as error:
        fail(f"cannot read CDR file {str(path)!r}: {error.strerror}")
    with stream:
        _price_lines(pricer, stream, size, explain)


def _price_lines(pricer: Pricers, stream: BinaryIO, size: int | None, explain: bool) -> None:
    out = sys.stdout.buffer
    # The tariff is the same on every line: encode it once and embed the bytes.
    tariff_json = dumps(pricer.tariff_document)
    tariff_fragment = orjson.Fragment(tariff_json)
    priced_count = bad = read = 0
    written: list[bytes] = []  # priced lines, written WRITE_EVERY at a time
    started = time.perf_counter()
    with _progress(size) as progress:
        task = progress.add_task("pricing", total=size)
        for number, line in enumerate(stream, start=1):
            read += len(line)
            if number % PROGRESS_EVERY == 0:
                progress.update(task, completed=read, description=f"priced {priced_count:,}")
                if len(written) >= WRITE_EVERY:
                    out.write(b"".join(written))
                    written.clear()
            if not line.strip():
                continue
            try:
                document = orjson.loads(line)
                if explain:
                    priced = pricer.price(document, explain_price=True)
                    priced.document["tariffs"] = [tariff_fragment]
                    written.append(dumps(_output(priced, explain)) + b"\n")
                else:
                    written.append(
                        pricer.for_document(document).price_line(document, tariff_json=tariff_json)
                    )
                    written.append(b"\n")
            except orjson.JSONDecodeError as error:
                bad += 1
                typer.echo(f"line {number}: not valid JSON: {error}", err=True)
                continue
            except DomainError as error:
                bad += 1
                _report_line(number, error)
                continue
            except Exception as error:  # a bug must not cost the rest of the batch: report and go on
                bad += 1
                typer.echo(f"line {number}: internal error: {type(error).__name__}: {error}", err=True)
                continue
            priced_count += 1
        out.write(b"".join(written))
        progress.update(task, completed=read, description=f"priced {priced_count:,}")
    out.flush()
    _summary(priced_count, bad, time.perf_counter() - started)


def _report_line(number: int, error: DomainError) -> None:
    problems = getattr(error, "problems", ())
    if not problems:
        typer.echo(f"line {number}: {error.message} [{error.code}]", err=True)
    for problem in problems:
        typer.echo(f"line {number}: {problem}", err=True)


def _progress(size: int | None) -> Progress:
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeRemainingColumn(),
        transient=True,
        disable=size is None or not sys.stderr.isatty(),
        console=None,
    )


def _summary(priced: int, bad: int, seconds: float) -> None:
    rate = priced / seconds if seconds > 0 else 0.0
    typer.echo(
        f"priced {priced:,} CDRs, {bad:,} bad line{'s' if bad != 1 else ''}, "
        f"in {seconds:.2f} s ({rate:,.0f} CDRs/s)",
        err=True,
    )
    if bad:
        raise typer.Exit(EXIT_INVALID)
