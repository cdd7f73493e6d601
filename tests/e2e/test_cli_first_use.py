"""First use of the command line: the README's own example prices as documented without ``--tz``,
the time zone used is never silent, and ``evbill --help`` starts without the server's packages.

The evening session (see tests/e2e/test_cli.py) costs 13.50 EUR excl. VAT in Amsterdam time and
12.31 in UTC: the evening peak (17:00-21:00 local) moves by an hour.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.support import REPO

EVBILL = Path(sys.executable).with_name("evbill")
DEMO = REPO / "src" / "evbill" / "demo"
DEMO_TARIFF = DEMO / "tariff_time_of_use.json"
EVENING_CDR = DEMO / "cdr_evening.json"


def evbill(
    *arguments: object, folder: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("EVBILL_")}
    environment.update(env or {})
    return subprocess.run(
        [str(EVBILL), *map(str, arguments)],
        cwd=folder, capture_output=True, text=True, env=environment, timeout=60, check=False,
    )  # fmt: skip


def total_cost(stdout: str) -> dict[str, Decimal]:
    document: Any = json.loads(stdout, parse_float=Decimal)
    return document["total_cost"]


def evening_without_zone(folder: Path) -> Path:
    document = json.loads(EVENING_CDR.read_text())
    del document["cdr_location"]["time_zone"]
    path = folder / "evening.json"
    path.write_text(json.dumps(document))
    return path


def test_the_readme_example_without_tz_prices_in_the_cdrs_own_time_zone(tmp_path: Path) -> None:
    # Given the README's evening CDR, whose location says Europe/Amsterdam
    # When it is rated with no --tz
    result = evbill("rate", "--tariff", DEMO_TARIFF, "--cdr", EVENING_CDR, folder=tmp_path)
    # Then it is priced in Amsterdam time, as documented, and nothing needs saying
    assert (result.returncode, result.stderr) == (0, "")
    assert total_cost(result.stdout) == {"excl_vat": Decimal("13.50"), "incl_vat": Decimal("16.33")}


def test_a_cdr_without_a_time_zone_is_priced_in_the_default_zone_and_stderr_says_which(
    tmp_path: Path,
) -> None:
    # Given a CDR whose location names no time zone
    cdr = evening_without_zone(tmp_path)
    # When it is rated with no --tz and no EVBILL_TIME_ZONE
    result = evbill("rate", "--tariff", DEMO_TARIFF, "--cdr", cdr, folder=tmp_path)
    # Then it is priced in UTC, and stderr says so
    assert result.returncode == 0
    assert total_cost(result.stdout) == {"excl_vat": Decimal("12.31"), "incl_vat": Decimal("14.89")}
    assert result.stderr.splitlines() == [
        "note: times are in UTC: the CDR has no cdr_location.time_zone and no --tz was given "
        "(default: EVBILL_TIME_ZONE or UTC)"
    ]


def test_tz_overrides_the_cdrs_time_zone(tmp_path: Path) -> None:
    # Given the evening CDR in Amsterdam / When rated with --tz UTC
    result = evbill("rate", "--tariff", DEMO_TARIFF, "--cdr", EVENING_CDR, "--tz", "UTC", folder=tmp_path)
    # Then the option wins
    assert (result.returncode, result.stderr) == (0, "")
    assert total_cost(result.stdout) == {"excl_vat": Decimal("12.31"), "incl_vat": Decimal("14.89")}


def test_a_batch_prices_each_cdr_in_its_own_zone_and_says_once_where_it_fell_back(tmp_path: Path) -> None:
    # Given two CDRs in Amsterdam and two without a zone
    with_zone = json.loads(EVENING_CDR.read_text())
    without_zone = json.loads(evening_without_zone(tmp_path).read_text())
    lines = [with_zone, without_zone, without_zone, with_zone]
    (tmp_path / "cdrs.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    # When
    result = evbill("rate", "--tariff", DEMO_TARIFF, "--cdrs", "cdrs.jsonl", folder=tmp_path)
    # Then
    assert result.returncode == 0
    excl_vat = [total_cost(line)["excl_vat"] for line in result.stdout.splitlines()]
    assert excl_vat == [Decimal("13.50"), Decimal("12.31"), Decimal("12.31"), Decimal("13.50")]
    assert result.stderr.count("note: times are in UTC") == 1


def test_an_unknown_time_zone_in_the_cdr_is_refused_naming_the_field(tmp_path: Path) -> None:
    document = json.loads(EVENING_CDR.read_text())
    document["cdr_location"]["time_zone"] = "Mars/Olympus"
    (tmp_path / "mars.json").write_text(json.dumps(document))
    result = evbill("rate", "--tariff", DEMO_TARIFF, "--cdr", "mars.json", folder=tmp_path)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "error: CDR 'mars.json': the CDR's time zone is unknown [invalid_input]",
        "  error: $.cdr_location.time_zone: 'Mars/Olympus' is not an IANA time zone",
    ]


SERVER_PACKAGES = ("fastapi", "sqlalchemy", "alembic", "uvicorn", "ocpp", "websockets", "argon2")


@pytest.mark.parametrize(
    "arguments",
    [["--help"], ["rate", "--tariff", str(DEMO_TARIFF), "--cdr", str(EVENING_CDR)]],
    ids=["help", "rate"],
)
def test_the_commands_that_need_no_server_do_not_import_its_packages(
    tmp_path: Path, arguments: list[str]
) -> None:
    # Given the evbill command run in a fresh interpreter
    probe = (
        "import sys\n"
        f"sys.argv = ['evbill', *{arguments!r}]\n"
        "from evbill.entrypoints.cli.main import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        f"loaded = [name for name in {SERVER_PACKAGES!r} if name in sys.modules]\n"
        "sys.stderr.write('loaded: ' + ','.join(loaded))\n"
    )
    # When
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False
    )
    # Then none of the server's packages was imported
    assert result.stderr.splitlines()[-1] == "loaded: "


def test_help_lists_every_command_without_loading_any_area(tmp_path: Path) -> None:
    # Given the evbill command run in a fresh interpreter
    probe = (
        "import sys\n"
        "sys.argv = ['evbill', '--help']\n"
        "from evbill.entrypoints.cli.main import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "watched = ('evbill.entrypoints', 'evbill.bootstrap', 'evbill.application', 'pydantic', 'rich')\n"
        "loaded = sorted(name for name in sys.modules if name.startswith(watched))\n"
        "sys.stderr.write('loaded: ' + ','.join(loaded))\n"
    )
    # When it prints its help
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False
    )
    # Then every command is listed, and no area, no container, no rich help and no validators were loaded
    listed = result.stdout.split("Commands:\n")[1].splitlines()
    assert [line.split()[0] for line in listed if line[:3].strip()] == [
        "rate", "demo", "serve", "simulate", "tariff", "db", "operator", "station", "apikey",
        "customer", "token", "import", "plan", "contract", "promotion", "session", "frames", "ledger",
        "invoice", "billing", "worker", "payments", "analytics", "report", "backtest",
    ]  # fmt: skip
    assert result.stderr.splitlines()[-1] == (
        "loaded: evbill.entrypoints,evbill.entrypoints.cli,evbill.entrypoints.cli.group,"
        "evbill.entrypoints.cli.main,evbill.entrypoints.cli.output"
    )  # cli.group: the top-level click group, apart from main so that a plain batch loads no Typer


def test_each_summary_in_help_is_the_commands_own_help_and_every_command_is_listed() -> None:
    from evbill.bootstrap import bootstrap
    from evbill.config import Settings
    from evbill.entrypoints.cli.main import COMMANDS, load_area

    # Given every area loaded as the commands it registers
    container = bootstrap(Settings(database_url="sqlite://"))
    registered = {}
    for register in {command.register for command in COMMANDS.values()}:
        registered.update(load_area(register, container).commands)
    # Then --help lists exactly those, each with the first line of its own help
    assert sorted(registered) == sorted(COMMANDS)
    for name, command in COMMANDS.items():
        assert command.summary == registered[name].get_short_help_str(limit=200), name


@pytest.mark.parametrize(
    "command",
    [("ledger", "check"), ("billing", "run", "--period", "2026-09"), ("worker",), ("db", "status"),
     ("invoice", "list", "--operator", "x")],
)  # fmt: skip
def test_a_command_where_there_is_no_database_says_so_and_creates_no_file(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    # Given a folder without evbill.db and no EVBILL_DATABASE_URL (the default sqlite:///evbill.db)
    # When a command that reads the database is run there
    result = evbill(*command, folder=tmp_path)
    # Then it says there is no database, where, and how to make one; and leaves no file behind
    assert result.returncode == 1
    assert f"no database at {tmp_path / 'evbill.db'}" in result.stderr
    assert "run `evbill db upgrade` first (it creates it)" in result.stderr
    assert "schema is not current" not in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_db_upgrade_creates_the_database_and_then_commands_find_it(tmp_path: Path) -> None:
    assert evbill("db", "upgrade", folder=tmp_path).returncode == 0
    result = evbill("ledger", "check", folder=tmp_path)
    assert (result.returncode, result.stdout) == (0, "ledger: 0 entries of 0 operator(s): sound\n")


def test_a_plain_batch_does_not_import_typer_and_a_bad_one_still_fails_as_before(tmp_path: Path) -> None:
    # Given a batch whose second line is not JSON, run in a fresh interpreter
    lines = EVENING_CDR.read_text().replace("\n", " ") + "\n{not json\n"
    (tmp_path / "cdrs.jsonl").write_text(lines)
    probe = (
        "import sys\n"
        f"sys.argv = ['evbill', 'rate', '--tariff', {str(DEMO_TARIFF)!r}, '--cdrs', 'cdrs.jsonl']\n"
        "import evbill.entrypoints.cli.main as main\n"
        "import evbill.entrypoints.cli.output as output\n"
        "def exit_with(code):\n"
        "    sys.stderr.write('typer before the exit: ' + str('typer' in sys.modules) + '\\n')\n"
        "    real(code)\n"
        "real, output.exit_with = output.exit_with, exit_with\n"
        "import evbill.entrypoints.cli.rate as rate\n"
        "rate.exit_with = exit_with\n"
        "main.main()\n"
    )
    # When
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False
    )
    # Then the good line is priced, the bad one named, Typer loaded only to end with exit status 1
    assert result.returncode == 1
    assert result.stdout.count("\n") == 1
    said = result.stderr.splitlines()
    assert (
        said[0]
        == "line 2: not valid JSON: unexpected character, expected a string key: line 1 column 2 (char 1)"
    )
    assert said[1].startswith("priced 1 CDRs, 1 bad line, in ")
    assert said[2:] == ["typer before the exit: False"]
