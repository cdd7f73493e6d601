"""`evbill import customers|tokens` as an operator runs it: every row of a CSV file, or none."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

EVBILL = Path(sys.executable).with_name("evbill")

GOOD = """kind,name,email,language,currency,country,address,city,postal_code,vat_id,parent_email
BUSINESS,Acme Logistics B.V.,fleet@acme.example,nl,EUR,NL,Damrak 1,Amsterdam,1012 LG,nl 0044.95.445.B01,
INDIVIDUAL,Piet Fleet,piet@acme.example,nl,EUR,NL,,,,,fleet@acme.example
INDIVIDUAL,"Jansen, Jan",jan@example.nl,nl,EUR,NL,Keizersgracht 1,Amsterdam,1015 CJ,,
"""
BAD = """kind,name,email,language,currency,country,vat_id
INDIVIDUAL,Anna,anna@example.nl,nl,EUR,NL,
INDIVIDUAL,Bram,not-an-email,nl,EUR,NL,
BUSINESS,Duits GmbH,info@duits.example,de,EUR,DE,DE136695977
"""


def run(*args, env):
    return subprocess.run([str(EVBILL), *args], capture_output=True, text=True, env=env, timeout=120)


@pytest.fixture
def operator(tmp_path):
    """A migrated SQLite database with one operator: (environment, operator id)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVBILL_")}
    env["EVBILL_DATABASE_URL"] = f"sqlite:///{tmp_path / 'evbill.db'}"
    run("db", "upgrade", env=env)
    created = run("operator", "create", "--name", "CLI Op", "--country", "NL", "--currency", "EUR", env=env)
    return env, created.stdout.strip()


def customers(env, operator_id):
    listed = run("customer", "list", "--operator", operator_id, "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    return json.loads(listed.stdout)


def test_a_file_with_bad_rows_is_reported_line_by_line_and_nothing_is_imported(operator, tmp_path):
    env, operator_id = operator
    (tmp_path / "customers.csv").write_text(BAD)

    result = run("import", "customers", str(tmp_path / "customers.csv"), "--operator", operator_id, env=env)

    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"error: {tmp_path / 'customers.csv'}: 2 problem(s); nothing was imported",
        "  line 3, email: 'not-an-email' is not an e-mail address",
        "  line 4, vat_id: DE136695977 is not a valid DE VAT number: "
        "The number's checksum or check digit is invalid.",
    ]
    assert customers(env, operator_id) == []


def test_a_good_file_is_imported_whole(operator, tmp_path):
    env, operator_id = operator
    (tmp_path / "customers.csv").write_text(GOOD)

    result = run("import", "customers", str(tmp_path / "customers.csv"), "--operator", operator_id, env=env)

    assert result.returncode == 0, result.stderr
    assert result.stdout == "imported 3 customers\n"
    stored = {c["email"]: c for c in customers(env, operator_id)}
    assert sorted(stored) == ["fleet@acme.example", "jan@example.nl", "piet@acme.example"]
    assert stored["fleet@acme.example"]["vat_id"] == "NL004495445B01"
    assert stored["piet@acme.example"]["parent_id"] == stored["fleet@acme.example"]["id"]


def test_the_report_is_machine_readable_with_json(operator, tmp_path):
    env, operator_id = operator
    (tmp_path / "tokens.csv").write_text("uid,type,contract_id,customer_email\nT-1,CARD,NL-EVB-1,x@y.nl\n")

    result = run(
        "import", "tokens", str(tmp_path / "tokens.csv"), "--operator", operator_id, "--json", env=env
    )

    assert result.returncode == 1
    assert json.loads(result.stdout) == {
        "imported": 0,
        "problems": [
            {
                "line": 2,
                "column": "type",
                "message": "'CARD' is not one of AD_HOC_USER, APP_USER, OTHER, RFID",
            },
            {"line": 2, "column": "customer_email", "message": "no customer with e-mail 'x@y.nl'"},
        ],
    }


def test_a_missing_file_or_an_unknown_operator_is_a_plain_error(operator, tmp_path):
    env, operator_id = operator
    (tmp_path / "customers.csv").write_text(GOOD)

    missing = run("import", "customers", str(tmp_path / "nope.csv"), "--operator", operator_id, env=env)
    unknown = run("import", "customers", str(tmp_path / "customers.csv"), "--operator", "nope", env=env)

    assert (missing.returncode, unknown.returncode) == (1, 1)
    assert missing.stderr == f"error: CSV file {str(tmp_path / 'nope.csv')!r} does not exist\n"
    assert unknown.stderr == "error: operator 'nope': operator not found [not_found]\n"
    assert "Traceback" not in missing.stderr + unknown.stderr
