"""``evbill rate --cdrs``'s fast batch path writes exactly what the previous implementation wrote.

The previous implementation priced each line with ``CdrPricer.price`` (``parse_cdr``, ``rate``,
``render_priced_cdr``) and wrote it with the CLI's JSON writer; it is still the ``--explain`` path,
and ``previous_batch`` below is its loop, verbatim. The batch now reads well-formed CDRs with a fast
reader, rates them to totals (``rating.fast``) and writes the JSON line directly. For several tariffs
(every feature, step sizes, min/max price, with and without VAT), every rounding mode and a sample of
generated CDRs plus the ugly lines (bad JSON, missing and wrong fields, negative or huge volumes,
periods out of order, another currency, volumes as strings or integers, local offsets, a CDR's own
time zone), stdout must be byte-identical and stderr must name the same lines and problems.
"""

from __future__ import annotations

import io
import random
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest
import typer

from evbill.adapters.ocpi.cdrs import render_periods
from evbill.adapters.ocpi.codec import Ocpi221Codec
from evbill.adapters.ocpi.tariffs import render_tariff
from evbill.application.rating.cdrs import CdrPricer
from evbill.domain.errors import DomainError
from evbill.domain.money import RoundingMode
from evbill.entrypoints.cli import rate as rate_command
from evbill.entrypoints.cli.output import dumps
from tests.rating_samples import random_session, random_tariff, random_unrestricted_tariff

BERLIN = ZoneInfo("Europe/Berlin")


def pricers(tariff_document: dict[str, Any], rounding: RoundingMode, forced: ZoneInfo | None) -> Any:
    codec = Ocpi221Codec()
    return rate_command.Pricers(
        lambda zone: CdrPricer.for_tariff(
            codec=codec, tariff_document=tariff_document, zone=zone, rounding=rounding
        ),
        forced=forced,
        fallback=ZoneInfo("UTC"),
    )


def previous_batch(pricer: Any, content: bytes) -> tuple[bytes, list[str]]:
    """The loop of ``_price_lines`` before the fast path (without progress and summary)."""
    tariff_fragment = orjson.Fragment(dumps(pricer.tariff_document))
    out: list[bytes] = []
    err: list[str] = []
    pricer.say = err.append  # the fallback zone's note, in order (it was echoed to stderr at once)
    for number, line in enumerate(io.BytesIO(content), start=1):
        if not line.strip():
            continue
        try:
            priced = pricer.price(orjson.loads(line), explain_price=False)
        except orjson.JSONDecodeError as error:
            err.append(f"line {number}: not valid JSON: {error}")
            continue
        except DomainError as error:
            problems = getattr(error, "problems", ())
            if not problems:
                err.append(f"line {number}: {error.message} [{error.code}]")
            err.extend(f"line {number}: {problem}" for problem in problems)
            continue
        except Exception as error:
            err.append(f"line {number}: internal error: {type(error).__name__}: {error}")
            continue
        priced.document["tariffs"] = [tariff_fragment]
        out.append(dumps(priced.document) + b"\n")
    return b"".join(out), err


def current_batch(pricer: Any, content: bytes, capsysbinary: Any) -> tuple[bytes, list[str]]:
    capsysbinary.readouterr()
    try:
        rate_command._price_lines(pricer, io.BytesIO(content), None, False)
    except typer.Exit:
        pass
    captured = capsysbinary.readouterr()
    err = captured.err.decode().splitlines()
    assert err[-1].startswith("priced ")  # the summary
    return captured.out, err[:-1]


def cdr_document(usage: Any, number: int, rng: random.Random) -> dict[str, Any]:
    periods = render_periods(usage.periods, "T")
    for period in periods:  # OCPI's 4 decimals now and then, and integers
        for dimension in period["dimensions"]:
            if rng.random() < 0.3:
                dimension["volume"] = round(float(dimension["volume"]), 4)
            elif rng.random() < 0.1:
                dimension["volume"] = int(dimension["volume"])
            else:
                dimension["volume"] = float(dimension["volume"])
    document = {
        "id": f"CDR-{number}",
        "start_date_time": usage.start.isoformat().replace("+00:00", "Z"),
        "end_date_time": usage.end.isoformat(),
        "currency": "EUR",
        "charging_periods": periods,
        "total_cost": {"excl_vat": 0},
    }
    if rng.random() < 0.2:
        document["cdr_location"] = {"time_zone": rng.choice(["Europe/Berlin", "America/New_York", "UTC"])}
    return document


def simple_tariff() -> dict[str, Any]:
    """Start fee, energy and parking (step 900 s), 19 % VAT (the batch benchmark's tariff)."""
    components = [("FLAT", 0.5, 1), ("ENERGY", 0.39, 1), ("PARKING_TIME", 4.8, 900)]
    elements = [
        {"price_components": [{"type": t, "price": p, "vat": 19.0, "step_size": s}]} for t, p, s in components
    ]
    return {"country_code": "DE", "party_id": "EVB", "id": "SIMPLE", "currency": "EUR", "elements": elements,
            "last_updated": "2026-01-01T00:00:00Z"}  # fmt: skip


def hourly_tariff() -> dict[str, Any]:
    """An energy and time price per local hour, weekdays and weekends apart (48 elements)."""
    elements = []
    for hour in range(24):
        for days, cents in (
            (["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY"], 30),
            (["SATURDAY", "SUNDAY"], 25),
        ):
            restrictions = {
                "start_time": f"{hour:02d}:00",
                "end_time": f"{(hour + 1) % 24:02d}:00",
                "day_of_week": days,
            }
            energy = {"type": "ENERGY", "price": (cents + hour) / 100, "vat": 20.0, "step_size": 1}
            time = {"type": "TIME", "price": 0.5 + hour / 100, "vat": 20.0, "step_size": 60}
            components = [energy, time]
            elements.append({"price_components": components, "restrictions": restrictions})
    return {"country_code": "DE", "party_id": "EVB", "id": "HOURLY", "currency": "EUR", "elements": elements,
            "last_updated": "2026-01-01T00:00:00Z"}  # fmt: skip


def ugly_lines() -> list[bytes]:
    good = cdr_document(random_session(random.Random(5), 1), 1, random.Random(5))
    good["charging_periods"][0]["dimensions"].insert(0, {"type": "ENERGY", "volume": 12.5})
    good["charging_periods"][0]["dimensions"] = good["charging_periods"][0]["dimensions"][:1]
    good["end_date_time"] = good["end_date_time"].replace("+00:00", "Z")

    def changed(change: Any) -> bytes:
        document = orjson.loads(orjson.dumps(good))
        change(document)
        return orjson.dumps(document)

    def period(document: dict[str, Any]) -> dict[str, Any]:
        return document["charging_periods"][0]  # type: ignore[no-any-return]

    return [
        b"",
        b"   ",
        b"{not json",
        b"[1, 2]",
        b'"a string"',
        changed(lambda d: d.pop("start_date_time")),
        changed(lambda d: d.update(end_date_time="yesterday")),
        changed(lambda d: d.update(currency="EURO")),
        changed(lambda d: d.update(currency="CHF")),  # the tariff is in EUR
        changed(lambda d: d.update(currency=None)),
        changed(lambda d: d.update(charging_periods=[])),
        changed(lambda d: d.update(charging_periods="none")),
        changed(lambda d: d["charging_periods"].append(d["charging_periods"][0])),  # out of order
        changed(lambda d: d["charging_periods"].insert(0, 7)),
        changed(lambda d: period(d).update(start_date_time="2020-01-01T00:00:00Z")),  # before start
        changed(lambda d: period(d).update(start_date_time="2030-01-01T00:00:00Z")),  # after end
        changed(lambda d: period(d).update(start_date_time=12)),
        changed(lambda d: period(d).update(dimensions=[])),
        changed(lambda d: period(d)["dimensions"].append({"type": "ENERGY", "volume": 1})),  # twice
        changed(lambda d: period(d)["dimensions"].append({"type": "VOLTAGE", "volume": 1})),
        changed(lambda d: period(d)["dimensions"].append("ENERGY")),
        changed(lambda d: period(d)["dimensions"].__setitem__(0, {"type": "ENERGY", "volume": -1.5})),
        changed(lambda d: period(d)["dimensions"].__setitem__(0, {"type": "ENERGY", "volume": 1e12})),
        changed(lambda d: period(d)["dimensions"].__setitem__(0, {"type": "ENERGY", "volume": "12.25"})),
        changed(lambda d: period(d)["dimensions"].__setitem__(0, {"type": "ENERGY", "volume": "x"})),
        changed(lambda d: period(d)["dimensions"].__setitem__(0, {"type": "ENERGY", "volume": True})),
        changed(lambda d: period(d)["dimensions"].__setitem__(0, {"type": "ENERGY", "volume": 12})),
        changed(lambda d: period(d)["dimensions"].__setitem__(0, {"type": "ENERGY"})),
        changed(lambda d: period(d)["dimensions"].append({"type": "STATE_OF_CHARGE", "volume": "?"})),
        changed(lambda d: period(d)["dimensions"].append({"type": "POWER", "volume": 11.04})),
        changed(lambda d: period(d)["dimensions"].append({"type": "MIN_CURRENT", "volume": -3})),
        changed(lambda d: period(d)["dimensions"].append({"type": "PARKING_TIME", "volume": 0.25})),
        changed(lambda d: period(d).update(tariff_id=5)),
        changed(lambda d: d.update(start_date_time=d["start_date_time"].replace("Z", "+02:00"))),
        changed(lambda d: d.update(start_date_time=d["start_date_time"].replace("Z", ""))),
        changed(lambda d: d.update(end_date_time=d["end_date_time"].replace("Z", ".123456Z"))),
        changed(lambda d: d.update(tariffs=[{"id": "OLD"}], total_energy=99)),
        changed(lambda d: d.update(id=7)),
        changed(lambda d: d.update(cdr_location={"time_zone": "Mars/Base"})),
        changed(lambda d: d.update(cdr_location={"time_zone": "America/New_York"})),
    ]


def tariff_documents() -> list[dict[str, Any]]:
    """The simple and hourly tariffs, 4 random ones and 4 random ones without restrictions (those
    without restrictions are priced in integer fixed point, the others with Decimal)."""
    rng = random.Random(7)
    documents = [simple_tariff(), hourly_tariff()]
    tariffs = [random_tariff(rng, number) for number in range(4)]
    tariffs += [random_unrestricted_tariff(rng, number) for number in range(4)]
    for tariff in tariffs:
        document = orjson.loads(dumps(render_tariff(tariff)))
        document.update(country_code="DE", party_id="EVB", last_updated="2026-01-01T00:00:00Z")
        documents.append(document)
    return documents


FIXED_POINT_TARIFFS = (0, 2, 6, 7, 8, 9)  # the random tariff 2 has no restrictions either


def test_the_tariffs_without_restrictions_are_priced_in_fixed_point() -> None:
    for number, document in enumerate(tariff_documents()):
        pricer = pricers(document, RoundingMode.HALF_UP, BERLIN).for_document({})
        assert (pricer.fixed_point is not None) is (number in FIXED_POINT_TARIFFS), number


@pytest.mark.parametrize("rounding", list(RoundingMode))
@pytest.mark.parametrize("tariff_number", range(10))
def test_batch_output_is_byte_identical_to_the_previous_implementation(
    tariff_number: int, rounding: RoundingMode, capsysbinary: Any
) -> None:
    tariff_document = tariff_documents()[tariff_number]
    rng = random.Random(tariff_number * 10 + len(rounding.value))
    lines = [orjson.dumps(cdr_document(random_session(rng, n), n, rng)) for n in range(250)]
    lines += ugly_lines()
    rng.shuffle(lines)
    content = b"\n".join(lines) + b"\n"
    for forced in (BERLIN, None):
        expected_out, expected_err = previous_batch(pricers(tariff_document, rounding, forced), content)
        out, err = current_batch(pricers(tariff_document, rounding, forced), content, capsysbinary)
        assert out == expected_out
        assert err == expected_err
        assert len(expected_err) > 20  # the ugly lines were reported, not priced
        assert out.count(b"\n") >= 200


@pytest.mark.parametrize("capture", ["capsysbinary", "capfdbinary"])
def test_a_large_file_is_priced_by_several_processes_in_input_order(
    capture: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    # capsysbinary: stdout has no descriptor, the workers return their lines; capfdbinary: the
    # workers write to stdout's descriptor themselves, each part in its turn.
    capsysbinary = request.getfixturevalue(capture)
    monkeypatch.setattr(rate_command, "PART_BYTES", 5000)  # parts of a few lines, cut mid-line
    monkeypatch.setattr(rate_command, "_workers", lambda size: 2)
    rng = random.Random(99)
    lines = [orjson.dumps(cdr_document(random_session(rng, n), n, rng)) for n in range(600)]
    lines += ugly_lines()
    rng.shuffle(lines)
    content = b"\n".join(lines) + b"\n" + lines[0]  # the last line without its newline
    path = tmp_path / "cdrs.jsonl"
    path.write_bytes(content)
    for forced in (BERLIN, None):  # None: the fallback zone's note is said once, as before
        expected_out, expected_err = previous_batch(
            pricers(simple_tariff(), RoundingMode.HALF_UP, forced), content
        )
        capsysbinary.readouterr()
        with pytest.raises(typer.Exit), path.open("rb") as stream:  # some lines are bad: exit status 1
            rate_command._price_lines(
                pricers(simple_tariff(), RoundingMode.HALF_UP, forced), stream, len(content), False
            )
        captured = capsysbinary.readouterr()
        err = captured.err.decode().splitlines()
        assert captured.out == expected_out
        assert err[:-1] == expected_err
        assert err[-1].startswith(f"priced {len(expected_out.splitlines()):,} CDRs, ")


@pytest.mark.parametrize("part_bytes", [1, 7, 40, 41, 1000])
@pytest.mark.parametrize("look_bytes", [1, 3, 65_536])
def test_the_parts_cover_the_file_each_ending_at_a_line_end(
    part_bytes: int, look_bytes: int, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    monkeypatch.setattr(rate_command, "PART_BYTES", part_bytes)
    monkeypatch.setattr(rate_command, "LOOK_BYTES", look_bytes)  # lines longer than a look: read on
    rng = random.Random(part_bytes * 31 + look_bytes)
    lines = [b"x" * rng.randint(0, 60) for _ in range(40)]
    for content in (b"", b"\n", b"\n".join(lines) + b"\n", b"\n".join(lines)):  # the last without \n
        path = tmp_path / "cdrs.jsonl"
        path.write_bytes(content)
        with path.open("rb") as stream:
            parts = list(rate_command._parts(stream.fileno()))
        assert [part.index for part in parts] == list(range(len(parts)))
        assert b"".join(content[p.offset : p.offset + p.length] for p in parts) == content
        assert all(p.length > 0 for p in parts)
        for part in parts[:-1]:  # every part but the last ends a line, at PART_BYTES or just past it
            assert content[part.offset + part.length - 1 : part.offset + part.length] == b"\n"
            assert part.length >= part_bytes
            assert b"\n" not in content[part.offset + part_bytes - 1 : part.offset + part.length - 1]


def test_the_last_parts_shrink_so_the_workers_finish_together(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    monkeypatch.setattr(rate_command, "PART_BYTES", 1000)
    monkeypatch.setattr(rate_command, "MIN_PART_BYTES", 100)
    content = b"".join(b"x" * (n % 13) + b"\n" for n in range(3000))  # lines of 1-13 bytes
    path = tmp_path / "cdrs.jsonl"
    path.write_bytes(content)
    with path.open("rb") as stream:
        parts = list(rate_command._parts(stream.fileno(), 2))
    assert b"".join(content[p.offset : p.offset + p.length] for p in parts) == content
    lengths = [part.length for part in parts]
    assert all(1000 <= length < 1013 for length in lengths[:10])  # far from the end: PART_BYTES
    # then, once less than 8 parts are left, a quarter of a worker's share: 950, 831, ... down to 100
    tail = lengths[lengths.index(next(n for n in lengths if n < 1000)) :]
    assert tail[0] < 1000
    assert all(later <= earlier + 12 for earlier, later in zip(tail, tail[1:], strict=False))
    assert all(100 <= length < 113 for length in tail[-4:-1])
    assert sum(tail) < 8 * 1000 + 13


def test_a_part_finished_ahead_of_its_turn_is_spooled_and_written_in_its_turn(tmp_path: Any) -> None:
    import threading

    class Turn:
        value = 0

    rng = random.Random(5)
    lines = [orjson.dumps(cdr_document(random_session(rng, n), n, rng)) for n in range(40)]
    content = b"\n".join(lines) + b"\n"
    source_path, out_path, spool = tmp_path / "cdrs.jsonl", tmp_path / "out.jsonl", tmp_path / "spool"
    source_path.write_bytes(content)
    spool.mkdir()
    cut = len(b"\n".join(lines[:25])) + 1
    first = rate_command._Part(0, 0, cut)
    second = rate_command._Part(1, cut, len(content) - cut)
    pricer = pricers(simple_tariff(), RoundingMode.HALF_UP, BERLIN)
    expected, _ = previous_batch(pricers(simple_tariff(), RoundingMode.HALF_UP, BERLIN), content)
    turn = Turn()
    with source_path.open("rb") as source, out_path.open("wb") as out:
        inherited = rate_command._Inherited(
            pricer, dumps(simple_tariff()), source.fileno(), out.fileno(), turn, threading.Lock(), str(spool)
        )
        rate_command._INHERITED = inherited
        try:
            ahead = rate_command._price_part(second)  # part 0 is not written yet: spooled
            assert ahead.spooled is not None
            assert out_path.read_bytes() == b""
            assert turn.value == 0
            in_turn = rate_command._price_part(first)  # its turn: written at once
            assert in_turn.spooled is None
            assert turn.value == 1
            assert (in_turn.lines, ahead.lines) == (25, 15)
            assert in_turn.priced + ahead.priced == expected.count(b"\n") >= 35
            written = rate_command._written(ahead, inherited)
        finally:
            rate_command._INHERITED = None
    assert written.spooled is None
    assert turn.value == 2
    assert list(spool.iterdir()) == []
    assert out_path.read_bytes() == expected


def test_a_part_that_cannot_be_spooled_comes_back_and_is_written_in_its_turn(tmp_path: Any) -> None:
    import threading

    class Turn:
        value = 0

    rng = random.Random(6)
    lines = [orjson.dumps(cdr_document(random_session(rng, n), n, rng)) for n in range(30)]
    content = b"\n".join(lines) + b"\n"
    source_path, out_path = tmp_path / "cdrs.jsonl", tmp_path / "out.jsonl"
    source_path.write_bytes(content)
    cut = len(b"\n".join(lines[:10])) + 1
    parts = [rate_command._Part(0, 0, cut), rate_command._Part(1, cut, len(content) - cut)]
    expected, _ = previous_batch(pricers(simple_tariff(), RoundingMode.HALF_UP, BERLIN), content)
    turn = Turn()
    with source_path.open("rb") as source, out_path.open("wb") as out:
        inherited = rate_command._Inherited(
            pricers(simple_tariff(), RoundingMode.HALF_UP, BERLIN), dumps(simple_tariff()), source.fileno(),
            out.fileno(), turn, threading.Lock(), str(tmp_path / "no such spool"),
        )  # fmt: skip
        rate_command._INHERITED = inherited
        try:
            ahead = rate_command._price_part(parts[1])  # not its turn, and the spool cannot be written
            assert ahead.spooled == ""
            assert ahead.out != b""
            in_turn = rate_command._price_part(parts[0])
            assert rate_command._written(in_turn, inherited) == in_turn  # written by the worker
            written = rate_command._written(ahead, inherited)
        finally:
            rate_command._INHERITED = None
    assert (written.out, written.spooled, turn.value) == (b"", None, 2)
    assert out_path.read_bytes() == expected


@pytest.mark.parametrize("currency", ["JPY", "KWD", "EUR"])
def test_fixed_point_lines_in_currencies_of_0_2_and_3_decimals(currency: str, capsysbinary: Any) -> None:
    tariff_document = {**simple_tariff(), "currency": currency}
    rng = random.Random(len(currency) + ord(currency[0]))
    lines = []
    for number in range(300):
        document = cdr_document(random_session(rng, number), number, rng)
        document["currency"] = currency
        lines.append(orjson.dumps(document))
    content = b"\n".join(lines) + b"\n"
    for rounding in RoundingMode:
        expected_out, expected_err = previous_batch(pricers(tariff_document, rounding, BERLIN), content)
        out, err = current_batch(pricers(tariff_document, rounding, BERLIN), content, capsysbinary)
        assert out == expected_out
        assert err == expected_err
        assert out.count(b"\n") >= 290  # a generated period without any measured value is refused


def test_a_bad_line_under_a_fixed_point_tariff_is_named_by_its_line_and_field(capsysbinary: Any) -> None:
    rng = random.Random(8)
    good = cdr_document(random_session(rng, 1), 1, rng)
    good.pop("cdr_location", None)
    bad = orjson.loads(orjson.dumps(good))
    bad["charging_periods"][0]["dimensions"] = [{"type": "ENERGY", "volume": -1.5}]
    content = b"\n".join([orjson.dumps(good), orjson.dumps(bad), orjson.dumps(good)]) + b"\n"
    pricer = pricers(simple_tariff(), RoundingMode.HALF_UP, BERLIN)
    assert pricer.for_document(good).fixed_point is not None
    out, err = current_batch(pricer, content, capsysbinary)
    assert err == [
        "line 2: error: $.charging_periods[0].dimensions[0].volume: "
        "ENERGY volume must not be negative, got -1.5"
    ]
    assert out.count(b"\n") == 2
