"""``evbill rate``: price OCPI CDRs against a tariff, one file or a JSONL stream.

    evbill rate --tariff tariff.json --cdr cdr.json --tz Europe/Amsterdam --explain
    evbill rate --tariff tariff.json --cdrs cdrs.jsonl --tz Europe/Amsterdam > priced.jsonl

A batch never stops at a bad line: the line's number and problems go to stderr, the rest is priced,
and the exit status is 1 if any line was bad. Progress (bytes read, CDRs/s) is shown on stderr.
Lines are priced 2,000 at a time, by the fast path (``CdrPricer.price_line``: byte for byte what
``price`` writes); a file of 8 MB or more is priced by one forked process per CPU this process may
use (at most 4), and written in input order. ``--explain`` prices line by line with ``price``.

Which time zone the tariff's restrictions are checked in, for each CDR: ``--tz`` when given; else
the CDR's own ``cdr_location.time_zone`` (an IANA name, as OCPI's Location carries it; OCPI 2.2.1's
CdrLocation has no such field, so evbill reads it as an extension when present); else
EVBILL_TIME_ZONE (default UTC), and stderr says so once, since a country or coordinates do not name
one zone.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import orjson

from evbill.domain.errors import DomainError, InvalidInput, Problem
from evbill.domain.money import RoundingMode
from evbill.entrypoints.cli.output import (
    EXIT_INVALID,
    dumps,
    exit_with,
    fail,
    fail_domain,
    read_json_file,
    say,
    write_json,
)

if TYPE_CHECKING:
    from multiprocessing.pool import AsyncResult

    from rich.progress import Progress

    from evbill.application.rating.cdrs import CdrPricer, PricedCdr
    from evbill.bootstrap import Container

PROGRESS_EVERY = 2000
CHUNK_LINES = 2000  # lines priced (and written) together: about 2 MB of CDRs
PARALLEL_FROM_BYTES = 8_000_000  # a file this large is priced by one process per CPU (order kept)
MAX_WORKERS = 4
PART_BYTES = 2_000_000  # what one worker reads and prices at a time


def load_zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        fail(f"--tz: {name!r} is not an IANA time zone (e.g. Europe/Amsterdam, America/New_York, UTC)")


def run(
    container: Container,
    *,
    tariff: Path,
    cdr: Path | None = None,
    cdrs: Path | None = None,
    tz: str | None = None,
    explain: bool = False,
    rounding: RoundingMode | None = None,
) -> None:
    """The command with its options read: from Typer, or from ``main.batch_options`` (a batch)."""
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
        self.say: Callable[[str], None] = say
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
            self.say(
                f"note: times are in {self._fallback.key}: the CDR has no cdr_location.time_zone and no "
                "--tz was given (default: EVBILL_TIME_ZONE or UTC)"
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
        say(f"  {warning}")
    write_json(_output(priced, explain))
    if explain and priced.explanation is not None:
        say(priced.explanation.as_text())


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
    if explain:
        _explain_lines(pricer, stream, size)
        return
    out = sys.stdout.buffer
    tariff_json = dumps(pricer.tariff_document)  # the same on every line: encoded once, embedded
    workers = _workers(size)
    if size is not None and size >= PARALLEL_FROM_BYTES:
        _keep_freed_memory()
    priced_count = bad = read = before = 0  # before: the lines in the chunks before this one
    noted = False
    started = time.perf_counter()
    with _progress(size) as progress:
        task = progress.add_task("pricing", total=size)
        for done in _priced_chunks(pricer, stream, tariff_json, workers):
            out.write(done.out)
            for number, text in done.messages:
                if not number:  # each worker notes the fallback zone once: say it once
                    if noted:
                        continue
                    noted = True
                say(f"line {before + number}: {text}" if number else text)
            priced_count += done.priced
            bad += done.bad
            read += done.read
            before += done.lines
            progress.update(task, completed=read, description=f"priced {priced_count:,}")
    out.flush()
    _summary(priced_count, bad, time.perf_counter() - started)


class _Done(NamedTuple):
    out: bytes  # the priced CDRs, one JSON document a line
    # What to say on stderr, in line order: (the line's number within its chunk, counted from 1,
    # and what is wrong with it), or (0, a note that concerns no line).
    messages: list[tuple[int, str]]
    priced: int
    bad: int
    read: int  # bytes
    lines: int  # lines in the chunk
    # A worker's part not yet written to stdout: the file holding its lines ("": they are in ``out``,
    # the spool was full); None when there is nothing left to write but ``out``.
    spooled: str | None = None


def _chunks(stream: BinaryIO) -> Iterator[list[bytes]]:
    lines: list[bytes] = []
    for line in stream:
        lines.append(line)
        if len(lines) == CHUNK_LINES:
            yield lines
            lines = []
    if lines:
        yield lines


# glibc's mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_KEEP_BYTES = 256 * 1024 * 1024  # free memory at the heap's top kept for reuse, not given back
_MMAP_FROM_BYTES = 32 * 1024 * 1024  # glibc's largest mmap threshold: a part's buffers stay on the heap


def _keep_freed_memory() -> None:
    """Let malloc keep what a part freed for the next part instead of returning it to the kernel.

    Every part allocates and frees a few MB (the part read, its documents, the priced lines joined);
    glibc's defaults hand that memory back (an mmap per large buffer, the heap's top trimmed) and the
    next part takes it again page by page: a quarter of a million page faults for 100,000 CDRs, a
    seventh of the CPU time. A no-op where the C library has no ``mallopt`` (not glibc).
    """
    try:
        import ctypes

        mallopt = ctypes.CDLL(None).mallopt
    except (ImportError, OSError, AttributeError):
        return
    mallopt(_M_MMAP_THRESHOLD, _MMAP_FROM_BYTES)
    mallopt(_M_TRIM_THRESHOLD, _KEEP_BYTES)


def _workers(size: int | None) -> int:
    """Processes to price in: the CPUs this process may use (at most 4) for a large file, else 1."""
    if size is None or size < PARALLEL_FROM_BYTES or not hasattr(os, "sched_getaffinity"):
        return 1
    return min(len(os.sched_getaffinity(0)), MAX_WORKERS)


def _priced_chunks(pricer: Pricers, stream: BinaryIO, tariff_json: bytes, workers: int) -> Iterator[_Done]:
    """Each chunk priced, in input order: here, or by ``workers`` forked processes.

    The workers take the parts one at a time as they become free (a pool's queue of byte ranges:
    ``_parts``, smaller towards the end so the workers finish together) and read them themselves
    (``os.pread`` on the inherited descriptor): only offsets go to them and only counts and
    messages come back. When stdout is a file or a pipe, a worker whose part is next in line writes
    it there itself; a part finished ahead of its turn is spooled to a file (``_SPOOL_ROOTS``) and
    the worker goes on with the next part at once, and this process copies the spooled part to
    stdout (``os.sendfile``) when its turn comes. This process reads only where a part ends, so the
    workers have the CPUs to themselves.
    """
    if workers < 2:
        for chunk in _chunks(stream):
            yield _price_chunk(pricer, chunk, tariff_json)
        return
    import multiprocessing  # only for a large file: not on every start-up
    import tempfile

    context = multiprocessing.get_context("fork")
    out: int | None
    try:
        sys.stdout.buffer.flush()  # nothing buffered here may be written twice by the forks
        out = sys.stdout.buffer.fileno()
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is an OSError
        out = None  # stdout is not a file (a test's capture): the parts come back here
    turn = context.Value("q", 0, lock=False)  # the part whose turn it is to be written
    lock = context.Lock()  # held while a part is written to stdout and the turn moved on
    global _INHERITED  # the forked workers inherit the compiled tariff, the files and the turn
    pending: deque[AsyncResult[_Done]] = deque()
    with tempfile.TemporaryDirectory(prefix="evbill-rate-", dir=_spool_root()) as spool:
        _INHERITED = _Inherited(pricer, tariff_json, stream.fileno(), out, turn, lock, spool)
        with context.Pool(workers) as pool:
            for part in _parts(stream.fileno(), workers):
                pending.append(pool.apply_async(_price_part, (part,)))
                if len(pending) >= 4 * workers:  # bounded read-ahead: a few parts spooled at most
                    yield _written(pending.popleft().get(), _INHERITED)
            while pending:
                yield _written(pending.popleft().get(), _INHERITED)


_SPOOL_ROOTS = ("/dev/shm",)  # memory-backed where there is one; else the default temp directory


def _spool_root() -> str | None:
    for root in _SPOOL_ROOTS:
        if os.path.isdir(root) and os.access(root, os.W_OK | os.X_OK):
            return root
    return None


def _written(done: _Done, inherited: _Inherited) -> _Done:
    """A part's result with its spooled lines (if any) written to stdout, in their turn.

    Called in input order: every part before this one is written, so it is this part's turn."""
    if done.spooled is None:
        return done
    assert inherited.out is not None
    with inherited.lock:
        if not done.spooled:
            _write_all(inherited.out, done.out)
        else:
            source = os.open(done.spooled, os.O_RDONLY)
            try:
                _copy(source, inherited.out, os.fstat(source).st_size)
            finally:
                os.close(source)
                os.unlink(done.spooled)
        inherited.turn.value += 1
    return done._replace(out=b"", spooled=None)


def _copy(source: int, target: int, size: int) -> None:
    """``size`` bytes of ``source`` appended to ``target``: in the kernel, else read and written."""
    sent = 0
    try:
        while sent < size:
            count = os.sendfile(target, source, sent, size - sent)
            if count == 0:
                break
            sent += count
    except OSError as error:
        if sent or error.errno not in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
            raise
        _write_all(target, os.pread(source, size, 0))


def _write_all(target: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(target, view) :]


class _Inherited(NamedTuple):
    pricer: Pricers
    tariff_json: bytes
    source: int  # the CDR file's descriptor
    out: int | None  # stdout's descriptor (None: return the lines)
    turn: Any  # multiprocessing Value: the index of the part to be written next
    lock: Any  # multiprocessing Lock: held while a part is written and the turn moved on
    spool: str  # the directory of the parts finished ahead of their turn


class _Part(NamedTuple):
    index: int
    offset: int
    length: int


LOOK_BYTES = 65_536  # read at a time to find where a part's last line ends
MIN_PART_BYTES = 250_000  # the last parts shrink down to this, so the workers finish together


def _part_bytes(remaining: int, workers: int) -> int:
    """How far into the rest of the file the next part reaches (before its line ends): PART_BYTES,
    and once less than 2 x PART_BYTES per worker is left, a quarter of a worker's share of the rest
    (at least MIN_PART_BYTES): a worker that takes the last part does not price it alone long."""
    return min(PART_BYTES, max(MIN_PART_BYTES, remaining // (4 * workers)))


def _parts(source: int, workers: int = 1) -> Iterator[_Part]:
    """The file cut into parts of about ``_part_bytes``, each ending at a line's end (the last as
    it is).

    Only the bytes around each cut are read: a part ends with the first line that ends at or past
    ``_part_bytes`` into it.
    """
    size = os.fstat(source).st_size
    index = offset = 0
    while offset < size:
        cut = size
        look = offset + _part_bytes(size - offset, workers) - 1  # a line ending there ends the part
        while look < size:
            window = os.pread(source, LOOK_BYTES, look)
            if not window:
                break
            end = window.find(b"\n")
            if end >= 0:
                cut = look + end + 1
                break
            look += len(window)
        yield _Part(index, offset, cut - offset)
        index += 1
        offset = cut


_INHERITED: _Inherited | None = None


def _price_part(part: _Part) -> _Done:
    """In a worker: read the part from the inherited file and price its lines; write them to stdout
    if it is their turn, else spool them and go on (``_written`` writes them in their turn)."""
    inherited = _INHERITED
    assert inherited is not None
    pieces = []
    read = 0
    while read < part.length:
        piece = os.pread(inherited.source, part.length - read, part.offset + read)
        if not piece:
            break
        pieces.append(piece)
        read += len(piece)
    done = _price_chunk(inherited.pricer, list(io.BytesIO(b"".join(pieces))), inherited.tariff_json)
    if inherited.out is None:
        return done
    with inherited.lock:
        if inherited.turn.value == part.index:
            _write_all(inherited.out, done.out)
            inherited.turn.value = part.index + 1
            return done._replace(out=b"")
    spooled = os.path.join(inherited.spool, f"part-{part.index}")
    try:
        target = os.open(spooled, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            _write_all(target, done.out)
        finally:
            os.close(target)
    except OSError:  # the spool is full (a small /dev/shm) or not writable: send the lines back
        with contextlib.suppress(OSError):
            os.unlink(spooled)
        return done._replace(spooled="")
    return done._replace(out=b"", spooled=spooled)


def _price_chunk(pricer: Pricers, lines: list[bytes], tariff_json: bytes) -> _Done:
    """Price a chunk of lines; a bad line is counted and reported, never the end of the batch."""
    out: list[bytes] = []
    messages: list[tuple[int, str]] = []
    priced = bad = read = 0
    pricer.say = lambda text: messages.append((0, text))
    for number, line in enumerate(lines, start=1):
        read += len(line)
        if not line or line.isspace():  # ``not line.strip()`` without copying the line
            continue
        try:
            document = orjson.loads(line)
            out.append(pricer.for_document(document).price_line(document, tariff_json=tariff_json))
        except orjson.JSONDecodeError as error:
            bad += 1
            messages.append((number, f"not valid JSON: {error}"))
            continue
        except DomainError as error:
            bad += 1
            messages.extend((number, problem) for problem in _problems(error))
            continue
        except Exception as error:  # a bug must not cost the rest of the batch: report and go on
            bad += 1
            messages.append((number, f"internal error: {type(error).__name__}: {error}"))
            continue
        out.append(b"\n")
        priced += 1
    return _Done(b"".join(out), messages, priced, bad, read, len(lines))


def _explain_lines(pricer: Pricers, stream: BinaryIO, size: int | None) -> None:
    """The batch with explanations: each priced CDR with its explanation, one line each."""
    out = sys.stdout.buffer
    tariff_fragment = orjson.Fragment(dumps(pricer.tariff_document))
    priced_count = bad = read = 0
    started = time.perf_counter()
    with _progress(size) as progress:
        task = progress.add_task("pricing", total=size)
        for number, line in enumerate(stream, start=1):
            read += len(line)
            if number % PROGRESS_EVERY == 0:
                progress.update(task, completed=read, description=f"priced {priced_count:,}")
            if not line.strip():
                continue
            try:
                priced = pricer.price(orjson.loads(line), explain_price=True)
            except orjson.JSONDecodeError as error:
                bad += 1
                say(f"line {number}: not valid JSON: {error}")
                continue
            except DomainError as error:
                bad += 1
                _report_line(number, error)
                continue
            except Exception as error:  # a bug must not cost the rest of the batch: report and go on
                bad += 1
                say(f"line {number}: internal error: {type(error).__name__}: {error}")
                continue
            priced.document["tariffs"] = [tariff_fragment]
            out.write(dumps(_output(priced, True)) + b"\n")
            priced_count += 1
        progress.update(task, completed=read, description=f"priced {priced_count:,}")
    out.flush()
    _summary(priced_count, bad, time.perf_counter() - started)


def _problems(error: DomainError) -> list[str]:
    problems = getattr(error, "problems", ())
    if not problems:
        return [f"{error.message} [{error.code}]"]
    return [str(problem) for problem in problems]


def _line_problems(number: int, error: DomainError) -> list[str]:
    return [f"line {number}: {problem}" for problem in _problems(error)]


def _report_line(number: int, error: DomainError) -> None:
    for message in _line_problems(number, error):
        say(message)


class _NoProgress:
    """What ``_progress`` gives when no bar is shown: rich's ``Progress`` (disabled) does nothing more."""

    def __enter__(self) -> _NoProgress:
        return self

    def __exit__(self, *exception: object) -> None:
        return None

    def add_task(self, description: str, total: float | None = None) -> int:
        return 0

    def update(self, task: int, *, completed: float, description: str) -> None:
        return None


def _progress(size: int | None) -> Progress | _NoProgress:
    """A progress bar on stderr when it is a terminal and the size is known; else nothing (and rich,
    a twentieth of a second of imports, is not loaded)."""
    if size is None or not sys.stderr.isatty():
        return _NoProgress()
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeRemainingColumn(),
        transient=True,
        console=None,
    )


def _summary(priced: int, bad: int, seconds: float) -> None:
    rate = priced / seconds if seconds > 0 else 0.0
    say(
        f"priced {priced:,} CDRs, {bad:,} bad line{'s' if bad != 1 else ''}, "
        f"in {seconds:.2f} s ({rate:,.0f} CDRs/s)"
    )
    if bad:
        exit_with(EXIT_INVALID)
