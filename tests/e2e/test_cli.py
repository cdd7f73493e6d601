"""End to end: the installed ``evbill`` console script, run as a user runs it, in a fresh folder.

Each test writes its input files, runs ``evbill`` in a subprocess and asserts the exact output: the
priced OCPI CDR on stdout with every amount written as an exact decimal (``13.50``, never ``13.5``),
plain ``error:`` lines on stderr, and the exit status (0 fine, 1 bad input, never a traceback).

The demo evening session, worked by hand (Tuesday 17 November 2026, Amsterdam = UTC+1, tariff
TOU-2026: 0.35 start fee, energy 0.49/kWh weekdays 17:00-21:00 else 0.39/kWh, idle 6.00/h 07:00-23:00,
all plus 21% VAT):

    16:20-17:00  7.215 kWh x 0.39   = 2.81385
    17:00-18:05  11.902 kWh x 0.49  = 5.83198
    18:05-18:50  45 min parked x 6/h = 4.50      incl. VAT 5.445     -> 4.50 / 5.45
    start fee                        = 0.35      incl. VAT 0.4235    -> 0.35 / 0.42
    energy                             8.64583   incl. VAT 10.461454 -> 8.65 / 10.46
    total                             13.49583   incl. VAT 16.329954 -> 13.50 / 16.33
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.support import EXAMPLES, REPO

EVBILL = Path(sys.executable).with_name("evbill")
DEMO = REPO / "src" / "evbill" / "demo"
DEMO_TARIFF = DEMO / "tariff_time_of_use.json"
DEMO_CDRS = DEMO / "cdrs.jsonl"
EVENING_CDR = DEMO / "cdr_evening.json"
AMSTERDAM = "Europe/Amsterdam"

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_INTERNAL_ERROR = 70

# --- helpers -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    """What one ``evbill`` invocation did."""

    status: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        """Stdout as one JSON document, numbers read as exact decimals."""
        return json.loads(self.stdout, parse_float=Decimal)

    def json_lines(self) -> list[Any]:
        return [json.loads(line, parse_float=Decimal) for line in self.stdout.splitlines()]

    @property
    def stderr_lines(self) -> list[str]:
        return self.stderr.splitlines()


@dataclass(frozen=True)
class Workspace:
    """A fresh folder to write input files into and run ``evbill`` from."""

    folder: Path

    def write(self, name: str, content: object) -> Path:
        """Write ``content`` as is when it is text, else as JSON; return its path from the folder."""
        (self.folder / name).write_text(content if isinstance(content, str) else json.dumps(content))
        return Path(name)

    def write_lines(self, name: str, lines: list[str]) -> Path:
        return self.write(name, "".join(f"{line}\n" for line in lines))

    def run(self, *arguments: object, stdin: str | None = None, env: Mapping[str, str] = {}) -> Run:
        # The user's own EVBILL_* settings must not leak into the tests; a wide terminal keeps rich
        # from wrapping the demo's lines.
        environment = {key: value for key, value in os.environ.items() if not key.startswith("EVBILL_")}
        environment.update({"COLUMNS": "160", **env})
        completed = subprocess.run(
            [str(EVBILL), *map(str, arguments)],
            cwd=self.folder,
            input=stdin,
            capture_output=True,
            text=True,
            env=environment,
            timeout=60,
            check=False,
        )
        return Run(completed.returncode, completed.stdout, completed.stderr)

    def rate(self, tariff: object, cdr: object, *options: object, env: Mapping[str, str] = {}) -> Run:
        return self.run("rate", "--tariff", tariff, "--cdr", cdr, *options, env=env)


@pytest.fixture
def cli(tmp_path: Path) -> Workspace:
    return Workspace(tmp_path)


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(), parse_float=Decimal)


def evening_cdr() -> dict[str, Any]:
    """The demo's evening session (DEMO-0001) as a fresh document to change."""
    return json.loads(EVENING_CDR.read_text())


def changed(document: dict[str, Any], change: Callable[[dict[str, Any]], object]) -> dict[str, Any]:
    copied = copy.deepcopy(document)
    change(copied)
    return copied


def one_line(document: object) -> str:
    return json.dumps(document)


def money(excl_vat: str, incl_vat: str) -> dict[str, Decimal]:
    return {"excl_vat": Decimal(excl_vat), "incl_vat": Decimal(incl_vat)}


def pretty_money(field: str, excl_vat: str, incl_vat: str) -> str:
    """How an amount reads in ``evbill rate --cdr`` output (indented JSON), digits exactly as written."""
    return f'"{field}": {{\n    "excl_vat": {excl_vat},\n    "incl_vat": {incl_vat}\n  }}'


def compact_money(field: str, excl_vat: str, incl_vat: str) -> str:
    """How an amount reads in ``evbill rate --cdrs`` output (one compact JSON document a line)."""
    return f'"{field}":{{"excl_vat":{excl_vat},"incl_vat":{incl_vat}}}'


def totals(cdr: Mapping[str, Any]) -> dict[str, Any]:
    return {field: value for field, value in cdr.items() if field.startswith("total_")}


def assert_refused(result: Run, *expected_stderr: str) -> None:
    """Bad input: exit status 1, nothing on stdout, exactly these plain lines on stderr."""
    assert result.stderr_lines == list(expected_stderr)
    assert result.stdout == ""
    assert result.status == EXIT_INVALID
    assert "Traceback" not in result.stderr


def assert_refused_cleanly(result: Run) -> None:
    """Bad input, whatever the wording: exit status 1 with an ``error:`` line, no crash."""
    assert "Traceback" not in result.stderr
    assert "internal error" not in result.stderr
    assert result.stderr.startswith("error: ")
    assert result.status == EXIT_INVALID


# A tariff and CDR whose exact total ends in a half cent: 22.5 kWh x 0.25/kWh = 5.625 excl. VAT
# (5.63 half up, 5.62 half even), 5.625 x 1.10 = 6.1875 incl. VAT (6.19 either way).
HALF_CENT_TARIFF = {
    "country_code": "NL",
    "party_id": "EVB",
    "id": "HALF-CENT",
    "currency": "EUR",
    "elements": [{"price_components": [{"type": "ENERGY", "price": 0.25, "vat": 10.0, "step_size": 1}]}],
    "last_updated": "2026-01-01T00:00:00Z",
}
HALF_CENT_CDR = {
    "id": "HALF-CENT-1",
    "currency": "EUR",
    "start_date_time": "2026-03-02T10:00:00Z",
    "end_date_time": "2026-03-02T12:00:00Z",
    "charging_periods": [
        {"start_date_time": "2026-03-02T10:00:00Z", "dimensions": [{"type": "ENERGY", "volume": 22.5}]}
    ],
}


# --- evbill rate --cdr ---------------------------------------------------------------------------


def test_rate_prints_the_priced_cdr_with_every_total_as_an_exact_decimal(cli: Workspace) -> None:
    # Given the demo time-of-use tariff and the evening session (worked out in the module docstring)
    # When
    result = cli.rate(DEMO_TARIFF, EVENING_CDR, "--tz", AMSTERDAM)
    # Then every total is there, to the cent, written with both decimals
    assert (result.status, result.stderr) == (EXIT_OK, "")
    assert totals(result.json()) == {
        "total_cost": money("13.50", "16.33"),
        "total_fixed_cost": money("0.35", "0.42"),
        "total_energy": Decimal("19.117"),
        "total_energy_cost": money("8.65", "10.46"),
        "total_time": Decimal("2.5"),
        "total_time_cost": money("0.00", "0.00"),
        "total_parking_time": Decimal("0.75"),
        "total_parking_cost": money("4.50", "5.45"),
        "total_reservation_cost": money("0.00", "0.00"),
    }
    assert pretty_money("total_cost", "13.50", "16.33") in result.stdout
    assert pretty_money("total_parking_cost", "4.50", "5.45") in result.stdout
    assert pretty_money("total_fixed_cost", "0.35", "0.42") in result.stdout
    assert pretty_money("total_time_cost", "0.00", "0.00") in result.stdout
    assert '"total_energy": 19.117,' in result.stdout


def test_rate_changes_only_the_totals_and_embeds_the_tariff(cli: Workspace) -> None:
    # Given / When
    result = cli.rate(DEMO_TARIFF, EVENING_CDR, "--tz", AMSTERDAM)
    # Then the priced CDR is the CDR given, its totals filled in and the tariff it was priced with
    priced = result.json()
    assert priced == {**read_json(EVENING_CDR), **totals(priced), "tariffs": [read_json(DEMO_TARIFF)]}


def test_rate_prices_the_cdr_example_of_the_ocpi_spec(cli: Workspace) -> None:
    # Given the spec's CDR and the tariff it embeds: TIME at 2.00/h + 10% VAT in steps of 300 s
    cdr = json.loads((EXAMPLES / "cdr_example.json").read_text())
    tariff = cli.write("tariff_12.json", cdr["tariffs"][0])
    # When
    result = cli.rate(tariff, EXAMPLES / "cdr_example.json", "--tz", "UTC")
    # Then 1.973 h charging, billed in 5-minute steps, is 2 h: 4.00 excl., 4.40 incl. VAT
    assert (result.status, result.stderr) == (EXIT_OK, "")
    priced = result.json()
    assert priced["total_cost"] == money("4.00", "4.40")
    assert priced["total_time_cost"] == money("4.00", "4.40")
    assert priced["total_time"] == Decimal("1.9731")  # 21:39:09 to 23:37:32 is 7103 s
    assert pretty_money("total_cost", "4.00", "4.40") in result.stdout


# --- evbill rate --explain -----------------------------------------------------------------------


def test_explain_adds_the_explanation_as_json_and_its_text_on_stderr(cli: Workspace) -> None:
    # Given / When
    result = cli.rate(DEMO_TARIFF, EVENING_CDR, "--tz", AMSTERDAM, "--explain")
    # Then stdout is one JSON document: the priced CDR and, beside it, why each line costs what it does
    assert result.status == EXIT_OK
    output = result.json()
    assert set(output) == {"cdr", "explanation"}
    assert output["cdr"]["total_cost"] == money("13.50", "16.33")
    explanation = output["explanation"]
    assert (explanation["tariff_id"], explanation["time_zone"]) == ("TOU-2026", AMSTERDAM)
    assert [
        (line["period_index"], line["dimension"], line["element_index"], line["why"], line["excl_vat"])
        for line in explanation["lines"]
    ] == [
        (0, "FLAT", 0, ["no restrictions"], Decimal("0.35")),
        (0, "ENERGY", 3, ["no restrictions"], Decimal("2.81385")),
        (
            1,
            "ENERGY",
            1,
            [
                "local time 17:00 is within 17:00-21:00",
                "TUESDAY is one of MONDAY, TUESDAY, WEDNESDAY, THURSDAY, FRIDAY",
            ],
            Decimal("5.83198"),
        ),
        (2, "PARKING_TIME", 4, ["local time 18:05 is within 07:00-23:00"], Decimal("4.5")),
    ]
    assert explanation["lines"][1]["passed_over"] == [
        "element 1 does not apply: local time 16:20 is not within 17:00-21:00",
        "element 2 does not apply: local time 16:20 is not within 23:00-07:00",
    ]
    assert explanation["total_cost"] == {"excl_vat": Decimal("13.49583"), "incl_vat": Decimal("16.3299543")}
    # and the human text goes to stderr, the same lines as in the JSON
    assert result.stderr_lines == explanation["text"]
    assert result.stderr_lines[0] == "Tariff TOU-2026 (EUR), times in Europe/Amsterdam"
    assert "  #3 Tue 2026-11-17 18:05-18:50  parking  45 min x 6.00/h = 4.50  (+21% VAT = 5.445)" in (
        result.stderr_lines
    )


# --- evbill rate --cdrs (JSONL batches) ----------------------------------------------------------


def test_batch_prints_one_priced_cdr_a_line(cli: Workspace) -> None:
    # Given the demo's three sessions, one JSON document a line
    # When
    result = cli.run("rate", "--tariff", DEMO_TARIFF, "--cdrs", DEMO_CDRS, "--tz", AMSTERDAM)
    # Then
    assert result.status == EXIT_OK
    priced = result.json_lines()
    assert [(cdr["id"], cdr["total_cost"]) for cdr in priced] == [
        ("DEMO-0001", money("13.50", "16.33")),
        ("DEMO-0002", money("15.14", "18.31")),  # 15.135 exactly: half up
        ("DEMO-0003", money("9.50", "11.49")),
    ]
    assert all(cdr["tariffs"] == [read_json(DEMO_TARIFF)] for cdr in priced)
    assert compact_money("total_cost", "13.50", "16.33") in result.stdout.splitlines()[0]
    assert result.stderr_lines[0].startswith("priced 3 CDRs, 0 bad lines, in ")
    assert len(result.stderr_lines) == 1


def test_batch_reports_each_bad_line_by_number_and_path_and_prices_the_rest(cli: Workspace) -> None:
    # Given a batch with good lines around bad ones
    good = evening_cdr()
    batch = cli.write_lines(
        "cdrs.jsonl",
        [
            one_line(good),
            "{not json",
            one_line(changed(good, lambda cdr: cdr.pop("end_date_time"))),
            one_line(
                changed(good, lambda cdr: cdr["charging_periods"][1]["dimensions"][0].update(volume=-1))
            ),
            one_line({**good, "currency": "USD"}),
            one_line({**good, "id": "DEMO-0006"}),
        ],
    )
    # When
    result = cli.run("rate", "--tariff", DEMO_TARIFF, "--cdrs", batch, "--tz", AMSTERDAM)
    # Then the good lines are priced, each bad one is named on stderr, and the exit status says so
    assert [cdr["id"] for cdr in result.json_lines()] == ["DEMO-0001", "DEMO-0006"]
    not_json, *problems, summary = result.stderr_lines
    assert not_json.startswith("line 2: not valid JSON: ")
    assert problems == [
        "line 3: error: $.end_date_time: is required",
        "line 4: error: $.charging_periods[1].dimensions[0].volume: "
        "ENERGY volume must not be negative, got -1",
        "line 5: the session is in USD but tariff 'TOU-2026' is in EUR [currency_mismatch]",
    ]
    assert summary.startswith("priced 2 CDRs, 4 bad lines, in ")
    assert result.status == EXIT_INVALID
    assert "Traceback" not in result.stderr


def test_batch_skips_blank_lines(cli: Workspace) -> None:
    # Given
    batch = cli.write_lines("cdrs.jsonl", ["", one_line(evening_cdr()), "   ", "", one_line(evening_cdr())])
    # When
    result = cli.run("rate", "--tariff", DEMO_TARIFF, "--cdrs", batch, "--tz", AMSTERDAM)
    # Then
    assert [cdr["id"] for cdr in result.json_lines()] == ["DEMO-0001", "DEMO-0001"]
    assert result.stderr_lines[0].startswith("priced 2 CDRs, 0 bad lines, in ")
    assert result.status == EXIT_OK


def test_batch_reads_stdin_when_the_file_is_a_dash(cli: Workspace) -> None:
    # Given / When
    result = cli.run(
        "rate", "--tariff", DEMO_TARIFF, "--cdrs", "-", "--tz", AMSTERDAM, stdin=DEMO_CDRS.read_text()
    )
    # Then
    assert [cdr["id"] for cdr in result.json_lines()] == ["DEMO-0001", "DEMO-0002", "DEMO-0003"]
    assert result.status == EXIT_OK


def test_batch_with_explain_pairs_each_cdr_with_its_explanation(cli: Workspace) -> None:
    # Given / When
    result = cli.run("rate", "--tariff", DEMO_TARIFF, "--cdrs", DEMO_CDRS, "--tz", AMSTERDAM, "--explain")
    # Then
    lines = result.json_lines()
    assert [set(line) for line in lines] == [{"cdr", "explanation"}] * 3
    assert [line["explanation"]["total_cost"]["excl_vat"] for line in lines] == [
        Decimal("13.49583"),
        Decimal("15.135"),
        Decimal("9.49784"),
    ]
    assert result.status == EXIT_OK


# --- bad input: a plain error, exit status 1, never a traceback ----------------------------------


@pytest.mark.parametrize(
    ("arguments", "expected_error"),
    [
        pytest.param(
            ["--tariff", "missing.json", "--cdr", EVENING_CDR],
            "error: tariff file 'missing.json' does not exist",
            id="missing tariff file",
        ),
        pytest.param(
            ["--tariff", ".", "--cdr", EVENING_CDR],
            "error: tariff file '.' is a directory",
            id="tariff is a directory",
        ),
        pytest.param(
            ["--tariff", DEMO_TARIFF, "--cdr", "missing.json"],
            "error: CDR file 'missing.json' does not exist",
            id="missing CDR file",
        ),
        pytest.param(
            ["--tariff", DEMO_TARIFF, "--cdr", "."],
            "error: CDR file '.' is a directory",
            id="CDR is a directory",
        ),
        pytest.param(
            ["--tariff", DEMO_TARIFF, "--cdrs", "missing.jsonl"],
            "error: cannot read CDR file 'missing.jsonl': No such file or directory",
            id="missing JSONL file",
        ),
        pytest.param(
            ["--tariff", DEMO_TARIFF, "--cdr", EVENING_CDR, "--tz", "Mars/Olympus_Mons"],
            "error: --tz: 'Mars/Olympus_Mons' is not an IANA time zone "
            "(e.g. Europe/Amsterdam, America/New_York, UTC)",
            id="unknown time zone",
        ),
        pytest.param(
            ["--tariff", DEMO_TARIFF, "--cdr", EVENING_CDR, "--cdrs", DEMO_CDRS],
            "error: give exactly one of --cdr FILE.json or --cdrs FILE.jsonl",
            id="both --cdr and --cdrs",
        ),
        pytest.param(
            ["--tariff", DEMO_TARIFF],
            "error: give exactly one of --cdr FILE.json or --cdrs FILE.jsonl",
            id="neither --cdr nor --cdrs",
        ),
    ],
)
def test_rate_refuses_a_bad_command_line(
    cli: Workspace, arguments: list[object], expected_error: str
) -> None:
    assert_refused(cli.run("rate", *arguments), expected_error)


def test_rate_refuses_a_tariff_that_is_not_json(cli: Workspace) -> None:
    # Given
    tariff = cli.write("tariff.json", '{"id": ')
    # When
    result = cli.rate(tariff, EVENING_CDR)
    # Then
    assert result.stderr.startswith("error: tariff file 'tariff.json' is not valid JSON: ")
    assert (result.status, result.stdout) == (EXIT_INVALID, "")
    assert "Traceback" not in result.stderr


def test_rate_refuses_a_cdr_that_is_not_json(cli: Workspace) -> None:
    # Given
    cdr = cli.write("cdr.json", "{not json")
    # When
    result = cli.rate(DEMO_TARIFF, cdr)
    # Then
    assert result.stderr.startswith("error: CDR file 'cdr.json' is not valid JSON: ")
    assert (result.status, result.stdout) == (EXIT_INVALID, "")
    assert "Traceback" not in result.stderr


def test_rate_refuses_an_invalid_tariff_with_every_problem(cli: Workspace) -> None:
    # Given
    tariff = cli.write("tariff.json", {**HALF_CENT_TARIFF, "currency": "EURO", "elements": {}})
    # When / Then
    assert_refused(
        cli.rate(tariff, EVENING_CDR),
        "error: tariff 'tariff.json': tariff is invalid [invalid_input]",
        "  error: $.currency: 'EURO' is not an ISO 4217 currency code",
        "  error: $.elements: must be a list, not an object",
    )


@pytest.mark.parametrize(
    ("change", "expected_stderr"),
    [
        pytest.param(
            lambda cdr: cdr.update(currency="USD"),
            [
                "error: CDR 'cdr.json': the session is in USD but tariff 'TOU-2026' is in EUR "
                "[currency_mismatch]"
            ],
            id="USD CDR against a EUR tariff",
        ),
        pytest.param(
            lambda cdr: cdr["charging_periods"][1].update(start_date_time="2026-11-17T15:10:00Z"),
            [
                "error: CDR 'cdr.json': CDR is invalid [invalid_input]",
                "  error: $.charging_periods[1].start_date_time: "
                "periods must be in time order, each after the last",
            ],
            id="periods out of order",
        ),
        pytest.param(
            lambda cdr: cdr["charging_periods"][0]["dimensions"][0].update(volume=-7.215),
            [
                "error: CDR 'cdr.json': CDR is invalid [invalid_input]",
                "  error: $.charging_periods[0].dimensions[0].volume: "
                "ENERGY volume must not be negative, got -7.215",
            ],
            id="negative ENERGY",
        ),
        pytest.param(
            lambda cdr: cdr.update(end_date_time="2026-11-17T15:00:00Z"),
            [
                "error: CDR 'cdr.json': CDR is invalid [invalid_input]",
                "  error: $.end_date_time: is before start_date_time",
                "  error: $.charging_periods[2].start_date_time: is after the CDR's end_date_time",
            ],
            id="ends before it starts",
        ),
        pytest.param(
            lambda cdr: cdr["charging_periods"][0]["dimensions"][0].update(volume="lots"),
            [
                "error: CDR 'cdr.json': CDR is invalid [invalid_input]",
                "  error: $.charging_periods[0].dimensions[0].volume: 'lots' is not a number",
            ],
            id="volume not a number",
        ),
    ],
)
def test_rate_refuses_a_cdr_it_cannot_price_naming_the_field(
    cli: Workspace, change: Callable[[dict[str, Any]], object], expected_stderr: list[str]
) -> None:
    # Given the evening session with one thing wrong
    cdr = cli.write("cdr.json", changed(evening_cdr(), change))
    # When / Then
    assert_refused(cli.rate(DEMO_TARIFF, cdr, "--tz", AMSTERDAM), *expected_stderr)


# --- evbill tariff check -------------------------------------------------------------------------

BROKEN_TARIFF = {
    "country_code": "NL",
    "party_id": "EVB",
    "id": "BROKEN",
    "currency": "EURO",
    "elements": [
        {"price_components": [{"type": "ENERGY", "price": -0.25, "vat": 10.0, "step_size": 0}]},
        {
            "price_components": [{"type": "WATTS", "price": 1, "step_size": 1}],
            "restrictions": {"start_time": "25:00"},
        },
    ],
    "last_updated": "2026-01-01T00:00:00Z",
}
BROKEN_TARIFF_PROBLEMS = [
    ("$.currency", "'EURO' is not an ISO 4217 currency code"),
    (
        "$.elements[0].price_components[0].price",
        "must not be negative (-0.25): evbill refuses negative unit prices; "
        "give discounts through plans or promotions",
    ),
    ("$.elements[0].price_components[0].step_size", "must be a positive integer, not 0"),
    (
        "$.elements[1].price_components[0].type",
        "'WATTS' is not a TariffDimension; allowed: ENERGY, FLAT, PARKING_TIME, TIME",
    ),
    (
        "$.elements[1].restrictions.start_time",
        "must be a time of day from 00:00 to 23:59 (HH:MM, 24-hour), not '25:00'",
    ),
]


def test_tariff_check_passes_a_spec_tariff(cli: Workspace) -> None:
    # Given
    tariff = EXAMPLES / "tariff_1_simple_2hour.json"
    # When
    result = cli.run("tariff", "check", tariff)
    # Then
    assert result.stdout == f"{tariff}: valid: 0 error(s), 0 warning(s)\n"
    assert result.status == EXIT_OK


def test_tariff_check_lists_every_error_with_its_json_path(cli: Workspace) -> None:
    # Given
    tariff = cli.write("broken.json", BROKEN_TARIFF)
    # When
    result = cli.run("tariff", "check", tariff)
    # Then
    assert result.stdout.splitlines() == [
        *(f"error: {path}: {message}" for path, message in BROKEN_TARIFF_PROBLEMS),
        f"{tariff}: invalid: 5 error(s), 0 warning(s)",
    ]
    assert result.status == EXIT_INVALID


def test_tariff_check_json_gives_the_verdict_and_the_problems(cli: Workspace) -> None:
    # Given
    tariff = cli.write("broken.json", BROKEN_TARIFF)
    # When
    result = cli.run("tariff", "check", "--json", tariff)
    # Then
    assert result.json() == {
        "ok": False,
        "problems": [
            {"severity": "error", "path": path, "message": message}
            for path, message in BROKEN_TARIFF_PROBLEMS
        ],
    }
    assert result.status == EXIT_INVALID


def test_tariff_check_json_of_a_valid_tariff(cli: Workspace) -> None:
    # When
    result = cli.run("tariff", "check", "--json", EXAMPLES / "tariff_1_simple_2hour.json")
    # Then
    assert result.json() == {"ok": True, "problems": []}
    assert result.status == EXIT_OK


def test_tariff_check_refuses_a_missing_file(cli: Workspace) -> None:
    assert_refused(
        cli.run("tariff", "check", "missing.json"), "error: tariff file 'missing.json' does not exist"
    )


# --- evbill demo ---------------------------------------------------------------------------------


def test_demo_explains_and_tabulates_the_three_sample_sessions(cli: Workspace) -> None:
    # When
    result = cli.run("demo")
    # Then
    assert result.status == EXIT_OK
    lines = result.stdout.splitlines()
    assert [line.strip("─ ") for line in lines if line.startswith("─")] == [
        "CDR DEMO-0001",
        "CDR DEMO-0002",
        "CDR DEMO-0003",
    ]
    assert "│ DEMO-0001 │     19.117 │    2.5 │ 13.50 EUR │ 16.33 EUR │" in lines
    assert "│ DEMO-0002 │       37.5 │ 9.3333 │ 15.14 EUR │ 18.31 EUR │" in lines
    assert "│ DEMO-0003 │     23.456 │ 0.4833 │  9.50 EUR │ 11.49 EUR │" in lines


def test_demo_table_names_the_rounding_it_used(cli: Workspace) -> None:
    # When
    result = cli.run("demo", env={"EVBILL_ROUNDING_MODE": "down"})
    # Then the totals are rounded down, and the title must not claim otherwise
    assert "│ DEMO-0001 │     19.117 │    2.5 │ 13.49 EUR │ 16.32 EUR │" in result.stdout.splitlines()
    assert "half up" not in result.stdout


# --- rounding ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "options", "expected_excl_vat"),
    [
        pytest.param({}, [], "5.63", id="half up by default"),
        pytest.param({"EVBILL_ROUNDING_MODE": "half_even"}, [], "5.62", id="EVBILL_ROUNDING_MODE=half_even"),
        pytest.param({}, ["--rounding", "half_even"], "5.62", id="--rounding half_even"),
        pytest.param(
            {"EVBILL_ROUNDING_MODE": "half_even"},
            ["--rounding", "half_up"],
            "5.63",
            id="--rounding wins over the environment",
        ),
    ],
)
def test_a_half_cent_total_is_rounded_by_the_chosen_mode(
    cli: Workspace, env: dict[str, str], options: list[str], expected_excl_vat: str
) -> None:
    # Given 5.625 excl. VAT, 6.1875 incl. VAT
    tariff = cli.write("tariff.json", HALF_CENT_TARIFF)
    cdr = cli.write("cdr.json", HALF_CENT_CDR)
    # When
    result = cli.rate(tariff, cdr, *options, env=env)
    # Then
    assert result.status == EXIT_OK
    assert pretty_money("total_cost", expected_excl_vat, "6.19") in result.stdout
    assert pretty_money("total_energy_cost", expected_excl_vat, "6.19") in result.stdout


def test_an_unknown_rounding_mode_in_the_environment_is_refused(cli: Workspace) -> None:
    # When
    result = cli.rate(DEMO_TARIFF, EVENING_CDR, env={"EVBILL_ROUNDING_MODE": "sideways"})
    # Then
    assert_refused(
        result,
        "error: invalid settings",
        "  error: EVBILL_ROUNDING_MODE: 'sideways' is not one of half_up, half_even, down, up",
    )


# --- hostile input: never an internal error --------------------------------------------------------


def test_a_dimension_type_that_is_not_a_string_is_refused(cli: Workspace) -> None:
    # Given
    cdr = cli.write(
        "cdr.json",
        changed(
            evening_cdr(), lambda cdr: cdr["charging_periods"][0]["dimensions"][0].update(type=["ENERGY"])
        ),
    )
    # When
    result = cli.rate(DEMO_TARIFF, cdr, "--tz", AMSTERDAM)
    # Then
    assert_refused_cleanly(result)
    assert "$.charging_periods[0].dimensions[0].type" in result.stderr


def test_an_absurd_energy_volume_is_refused(cli: Workspace) -> None:
    # Given 10^30 kWh
    cdr = cli.write(
        "cdr.json",
        changed(evening_cdr(), lambda cdr: cdr["charging_periods"][0]["dimensions"][0].update(volume=1e30)),
    )
    # When / Then
    assert_refused_cleanly(cli.rate(DEMO_TARIFF, cdr, "--tz", AMSTERDAM))


def test_batch_carries_on_past_a_line_that_would_crash_the_parser(cli: Workspace) -> None:
    # Given
    good = evening_cdr()
    crashing = changed(good, lambda cdr: cdr["charging_periods"][0]["dimensions"][0].update(type=["ENERGY"]))
    batch = cli.write_lines("cdrs.jsonl", [one_line(good), one_line(crashing), one_line(good)])
    # When
    result = cli.run("rate", "--tariff", DEMO_TARIFF, "--cdrs", batch, "--tz", AMSTERDAM)
    # Then
    assert [cdr["id"] for cdr in result.json_lines()] == ["DEMO-0001", "DEMO-0001"]
    assert result.stderr_lines[0].startswith("line 2: ")
    assert result.status == EXIT_INVALID


def test_explain_does_not_crash_where_plain_rating_works(cli: Workspace) -> None:
    # Given the demo tariff with an idle fee billed in steps of 10^20 seconds
    tariff_document = json.loads(DEMO_TARIFF.read_text())
    tariff_document["elements"][4]["price_components"][0]["step_size"] = 10**20
    tariff = cli.write("tariff.json", tariff_document)
    # When
    plain = cli.rate(tariff, EVENING_CDR, "--tz", AMSTERDAM)
    explained = cli.rate(tariff, EVENING_CDR, "--tz", AMSTERDAM, "--explain")
    # Then
    assert "internal error" not in explained.stderr
    assert explained.status == plain.status


# --- evbill rate --cdrs read without Typer (main.batch_options) -----------------------------------


def test_a_plain_batch_writes_what_the_same_batch_read_by_typer_writes(cli: Workspace) -> None:
    # Given the same batch, once as a plain command line (read by main.batch_options, no Typer) and
    # once with an option Typer must read (--no-explain: the same batch, since --explain is off)
    good = evening_cdr()
    batch = cli.write_lines("cdrs.jsonl", [one_line(good), "{not json", one_line({**good, "id": "X-2"})])
    plain_args = ["rate", "--tariff", DEMO_TARIFF, "--cdrs", batch, "--tz", AMSTERDAM, "--rounding=down"]
    # When
    plain = cli.run(*plain_args)
    typer_read = cli.run(*plain_args, "--no-explain")
    # Then
    assert plain.stdout == typer_read.stdout
    assert [cdr["id"] for cdr in plain.json_lines()] == ["DEMO-0001", "X-2"]
    assert plain.stderr_lines[:-1] == typer_read.stderr_lines[:-1]
    assert plain.stderr_lines[0].startswith("line 2: not valid JSON: ")
    assert plain.stderr_lines[-1].startswith("priced 2 CDRs, 1 bad line, in ")
    assert plain.status == typer_read.status == EXIT_INVALID
