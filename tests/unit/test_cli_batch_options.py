"""``main.batch_options``: which ``evbill rate`` command lines are read without Typer (a plain batch)."""

from __future__ import annotations

import pytest

from evbill.domain.money import RoundingMode
from evbill.entrypoints.cli import main


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["rate", "--tariff", "t.json", "--cdrs", "c.jsonl"], {"--tariff": "t.json", "--cdrs": "c.jsonl"}),
        (
            ["rate", "--cdrs=c.jsonl", "--tz", "Europe/Berlin", "--tariff=t.json", "--rounding", "half_even"],
            {"--cdrs": "c.jsonl", "--tz": "Europe/Berlin", "--tariff": "t.json", "--rounding": "half_even"},
        ),
        (["rate", "--tariff", "a=b.json", "--cdrs", "c"], {"--tariff": "a=b.json", "--cdrs": "c"}),
    ],
)
def test_a_plain_batch_is_read_here(args: list[str], expected: dict[str, str]) -> None:
    assert main.batch_options(args) == expected


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--help"],
        ["tariff", "check", "t.json"],
        ["rate"],
        ["rate", "--help"],
        ["rate", "--tariff", "t.json"],  # no --cdrs: Typer's command says what is missing
        ["rate", "--cdrs", "c.jsonl"],
        ["rate", "--tariff", "t.json", "--cdr", "c.json"],
        ["rate", "--tariff", "t.json", "--cdrs", "c.jsonl", "--explain"],
        ["rate", "--tariff", "t.json", "--cdrs", "c.jsonl", "--tz"],  # a value missing
        ["rate", "--tariff", "t.json", "--cdrs", "c.jsonl", "--tz="],
        ["rate", "--tariff", "t.json", "--cdrs", "-"],  # stdin: Typer reads it
        ["rate", "--tariff", "t.json", "--cdrs", "c.jsonl", "--cdrs", "d.jsonl"],  # twice
        ["rate", "--tariff", "t.json", "--cdrs", "c.jsonl", "--rounding", "HALF_UP"],  # not a mode
        ["rate", "--tariff", "t.json", "--cdrs", "c.jsonl", "extra"],
        ["rate", "-h", "--tariff", "t.json", "--cdrs", "c.jsonl"],
    ],
)
def test_anything_else_is_left_to_typer(args: list[str]) -> None:
    assert main.batch_options(args) is None


def test_shell_completion_is_left_to_typer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("_EVBILL_COMPLETE", "bash_complete")
    assert main.batch_options(["rate", "--tariff", "t.json", "--cdrs", "c.jsonl"]) is None


def test_the_rounding_modes_read_here_are_the_settings_modes() -> None:
    assert main._ROUNDING_MODES == {mode.value for mode in RoundingMode}
