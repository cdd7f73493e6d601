"""`evbill billing run` and `evbill worker` as real processes, on SQLite and PostgreSQL.

* the command bills, renders and summarises; run again it issues nothing; a dry run stores nothing;
* kill -9 mid-run, then run again: every contract invoiced exactly once, numbers 1..N without gap,
  no draft or half-made document, and the ledger still balances;
* `--queue` with two `evbill worker` processes on Redis: one job per contract, every cycle issued
  once and each invoice's PDF and Factur-X rendered once and kept.

Amounts (``tests.billing_data``): 9.99 a month + 21 % VAT, and sessions of 0.35 + 0.39/kWh + 21 % VAT
with 10 + n % 20 kWh for the run's n-th session.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from sqlalchemy import func, select, update

from evbill.adapters.db.billing.tables import bills
from evbill.adapters.db.invoicing.tables import invoices
from evbill.adapters.db.offers.tables import contract_terms
from evbill.adapters.db.runs.tables import document_files
from evbill.application.access.keys import platform_actor
from evbill.application.collection.charges import save_card
from evbill.application.invoicing.documents import save_profile
from evbill.application.payments.reconciliation import check_books
from evbill.bootstrap import Container, bootstrap
from evbill.config import Settings
from evbill.domain.invoicing.profiles import InvoicingProfile
from tests.billing_data import SELLER, build_contracts

EVBILL = Path(sys.executable).with_name("evbill")
PERIOD = "2026-10"
REDIS = os.environ.get("EVBILL_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
def container(database_url: str) -> Iterator[Container]:
    built = bootstrap(Settings(database_url=database_url))
    yield built
    built.dispose()


def _environment(database_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVBILL_")}
    env["EVBILL_DATABASE_URL"] = database_url
    env.update(extra)
    return env


def evbill(*args: str, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(EVBILL), *args], capture_output=True, text=True, env=env, timeout=timeout)


def _invoice_rows(container: Container, operator_id: str) -> list[tuple[str, int | None, str | None]]:
    with container.engine.connect() as connection:
        query = (
            select(invoices.c.status, invoices.c.sequence, invoices.c.bill_id)
            .where(invoices.c.operator_id == operator_id)
            .order_by(invoices.c.sequence)
        )
        return [(row.status, row.sequence, row.bill_id) for row in connection.execute(query)]


def _count(container: Container, table: object, operator_id: str) -> int:
    with container.engine.connect() as connection:
        return int(
            connection.scalar(
                select(func.count()).select_from(table).where(table.c.operator_id == operator_id)  # type: ignore[attr-defined]
            )
            or 0
        )


def test_the_command_bills_summarises_and_a_second_run_issues_nothing(
    container: Container, database_url: str, tmp_path: Path
) -> None:
    # Given two contracts with one October session each
    # 9.99 + 0.35 + 3.90 = 14.24, VAT 2.9904 -> 2.99, 17.23 incl. VAT;
    # 9.99 + 0.35 + 4.29 = 14.63, VAT 3.0723 -> 3.07, 17.70 incl. VAT
    built = build_contracts(database_url, contracts=2, sessions_per_contract=1, period=PERIOD)
    env = _environment(database_url)
    # When a dry run, a run, and a second run go through the command
    dry = evbill("billing", "run", "--period", PERIOD, "--operator", built.operator_id, "--dry-run", env=env)
    stored_after_dry_run = _count(container, bills, built.operator_id)
    first = evbill("billing", "run", "--period", PERIOD, "--operator", built.operator_id, "--quiet", env=env)
    second = evbill("billing", "run", "--period", PERIOD, "--operator", built.operator_id, "--json", env=env)
    # Then the dry run showed both and stored nothing
    assert dry.returncode == 0, dry.stderr
    assert "2 cycle(s) due" in dry.stdout
    assert sorted(line.split(": ")[-1] for line in dry.stdout.splitlines()[1:]) == [
        "would issue EUR 14.24 excl. VAT", "would issue EUR 14.63 excl. VAT",
    ]  # fmt: skip
    assert stored_after_dry_run == 0
    # And the run issued both (17.23 + 17.70 = 34.93) and rendered their PDF and Factur-X once
    assert first.returncode == 0, first.stderr
    assert "  issued                2" in first.stdout
    assert "  issued incl. VAT: EUR 34.93" in first.stdout
    assert _count(container, document_files, built.operator_id) == 4
    # And the second run found both issued: nothing new
    assert second.returncode == 0, second.stderr
    [report] = orjson.loads(second.stdout)
    assert (report["issued"], report["already_issued"], report["totals_incl_vat"]) == (0, 2, {})
    assert [row[:2] for row in _invoice_rows(container, built.operator_id)] == [("issued", 1), ("issued", 2)]


def test_the_command_charges_the_cards_on_file_and_its_summary_says_how_much(
    container: Container, database_url: str
) -> None:
    # Given the two contracts paying by card on file: the first customer's card is authorised, the
    # second's declined (17.23 and 17.70 incl. VAT, as above)
    built = build_contracts(database_url, contracts=2, sessions_per_contract=1, period=PERIOD)
    with container.engine.begin() as connection:
        connection.execute(
            update(contract_terms)
            .where(contract_terms.c.operator_id == built.operator_id)
            .values(payment_method="CARD_ON_FILE")
        )
    who = platform_actor(built.operator_id)
    with container.services.uow(read_only=True) as uow:
        named = {c.name: c.id for c in uow.customers.list(built.operator_id, filters={}, after=None, limit=9)}
    for name, token in (("Driver 0", "tok_visa"), ("Driver 1", "tok_declined")):
        save_card(container.services, who, named[name], gateway="sandbox", payment_method=token)
    env = _environment(database_url)
    # When October is billed by the command, then again
    first = evbill("billing", "run", "--period", PERIOD, "--operator", built.operator_id, "--quiet", env=env)
    second = evbill("billing", "run", "--period", PERIOD, "--operator", built.operator_id, "--json", env=env)
    # Then the summary says one was charged (17.23) and one declined (17.70), and the rerun charged
    # nothing more: its report counts only its own charges (an outside tester saw a rerun claim the
    # first run's "charged to the card on file: 2")
    assert first.returncode == 0, first.stderr
    assert "  charged to the card on file: 1 (EUR 17.23)" in first.stdout
    assert "  declined: 1 (EUR 17.70)" in first.stdout
    [report] = orjson.loads(second.stdout)
    assert (report["charged"], report["charged_amounts"], report["declined"], report["declined_amounts"]) == (
        0, {}, 0, {},
    )  # fmt: skip
    assert [row[0] for row in _invoice_rows(container, built.operator_id)] == ["paid", "issued"]
    with container.services.uow(read_only=True) as uow:
        assert len(uow.payments.of_operator(built.operator_id)) == 2  # one each, none twice
    assert check_books(container.services).ok


def test_a_bad_period_is_refused_naming_the_option(database_url: str) -> None:
    result = evbill("billing", "run", "--period", "2026-13", env=_environment(database_url))

    assert result.returncode == 1
    assert result.stderr.strip() == "error: --period '2026-13' is not a month like 2026-10"


def test_killed_mid_run_then_run_again_every_contract_is_invoiced_exactly_once(
    container: Container, database_url: str
) -> None:
    # Given 150 contracts, and a run killed (SIGKILL) as soon as some invoices are issued, twice
    contracts = 150
    built = build_contracts(database_url, contracts=contracts, sessions_per_contract=2, period=PERIOD)
    env = _environment(database_url)
    command = [str(EVBILL), "billing", "run", "--period", PERIOD, "--operator", built.operator_id, "--quiet",
               "--no-render"]  # fmt: skip
    killed_at = []
    for _ in range(2):
        threshold = (killed_at[-1] if killed_at else 0) + 5
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            if len(_invoice_rows(container, built.operator_id)) >= threshold:
                break
            time.sleep(0.005)
        process.send_signal(signal.SIGKILL)
        process.wait()
        killed_at.append(len(_invoice_rows(container, built.operator_id)))
    # When the run is started once more and finishes
    final = evbill("billing", "run", "--period", PERIOD, "--operator", built.operator_id, "--quiet", "--json",
                   "--no-render", env=env)  # fmt: skip
    # Then it was killed part way, each time
    assert all(0 < count < contracts for count in killed_at), killed_at
    assert final.returncode == 0, final.stderr
    # And every contract has exactly one issued invoice, numbered 1..150 without gap, none half-made
    rows = _invoice_rows(container, built.operator_id)
    assert [(status, sequence) for status, sequence, _ in rows] == [
        ("issued", n) for n in range(1, contracts + 1)
    ]
    assert len({bill_id for _, _, bill_id in rows}) == contracts
    with container.engine.connect() as connection:
        states = connection.execute(
            select(bills.c.state, func.count())
            .where(bills.c.operator_id == built.operator_id)
            .group_by(bills.c.state)
        ).all()
    assert [tuple(state) for state in states] == [("INVOICED", contracts)]
    [report] = orjson.loads(final.stdout)
    assert report["issued"] + killed_at[-1] == contracts
    # And the ledger has one entry per invoice and balances
    assert check_books(container.services, operator_ids=[built.operator_id]).ok


@pytest.fixture
def redis_url() -> str:
    import redis

    try:
        redis.Redis.from_url(REDIS, socket_connect_timeout=1).ping()
    except redis.RedisError:
        pytest.skip(f"no Redis at {REDIS}")
    return REDIS


def _workers(env: dict[str, str], count: int) -> list[subprocess.Popen[bytes]]:
    return [
        subprocess.Popen([str(EVBILL), "worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for _ in range(count)
    ]


def _stop(workers: list[subprocess.Popen[bytes]]) -> None:
    for worker in workers:
        worker.send_signal(signal.SIGINT)
    for worker in workers:
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


def _queued_run(container: Container, database_url: str, queue_env: dict[str, str], contracts: int) -> None:
    built = build_contracts(database_url, contracts=contracts, sessions_per_contract=2, period=PERIOD)
    env = _environment(database_url, **queue_env)
    workers = _workers(env, 2)
    try:
        result = evbill("billing", "run", "--period", PERIOD, "--operator", built.operator_id, "--queue",
                        "--json", env=env, timeout=240)  # fmt: skip
        deadline = time.monotonic() + 240
        while (
            time.monotonic() < deadline
            and _count(container, document_files, built.operator_id) < 2 * contracts
        ):
            time.sleep(0.2)
        alive = [worker.poll() is None for worker in workers]
    finally:
        _stop(workers)
    assert result.returncode == 0, result.stderr
    [report] = orjson.loads(result.stdout)
    assert (report["status"], report["issued"], report["failed"]) == ("done", contracts, 0)
    assert alive == [True, True]
    rows = _invoice_rows(container, built.operator_id)
    assert [(status, sequence) for status, sequence, _ in rows] == [
        ("issued", n) for n in range(1, contracts + 1)
    ]
    assert _count(container, document_files, built.operator_id) == 2 * contracts  # PDF + Factur-X, once each
    assert check_books(container.services, operator_ids=[built.operator_id]).ok


def test_two_worker_processes_on_redis_run_the_queued_billing_run(
    container: Container, database_url: str, redis_url: str
) -> None:
    name = f"evbill-test-{secrets.token_hex(6)}"
    _queued_run(container, database_url, {"EVBILL_QUEUE_URL": redis_url, "EVBILL_QUEUE_NAME": name}, 12)


def test_the_embedded_default_queue_is_an_sqlite_file_beside_the_database(tmp_path: Path) -> None:
    from evbill.adapters.db.migrate import upgrade

    database_url = f"sqlite:///{tmp_path / 'evbill.db'}"
    upgrade(database_url)
    built = bootstrap(Settings(database_url=database_url))
    try:
        _queued_run(built, database_url, {}, 4)
    finally:
        built.dispose()
    assert (tmp_path / "evbill.queue.sqlite3").exists()


def test_without_the_sellers_legal_data_the_command_fails_saying_why_once_and_takes_no_number(
    container: Container, database_url: str
) -> None:
    # Given five contracts of an operator that never saved its invoicing profile
    built = build_contracts(database_url, contracts=5, sessions_per_contract=1, period=PERIOD, seller=False)
    env = _environment(database_url)
    run = ["billing", "run", "--period", PERIOD, "--operator", built.operator_id, "--quiet"]
    # When a dry run and a run go through the command
    dry = evbill(*run, "--dry-run", env=env)
    refused = evbill(*run, env=env)
    rows_refused = _invoice_rows(container, built.operator_id)
    # And, once the profile is saved, the run again
    who = platform_actor(built.operator_id)
    profile = InvoicingProfile(who.operator_id, SELLER, time_zone="Europe/Amsterdam")
    save_profile(container.services, who, profile, ibans=container.ibans)
    issued = evbill(*run, env=env)
    # Then the dry run warned, naming each missing field
    assert dry.returncode == 0, dry.stderr
    assert "  warning: no invoice can be issued: the seller's legal data is incomplete" in dry.stdout
    assert "    $.seller.vat_id: the seller's VAT id is required to charge VAT (BR-S-02" in dry.stdout
    # And the run failed (exit 1), saying why once for the five cycles, and took no number
    assert refused.returncode == 1
    assert "  failed                5" in refused.stdout
    assert refused.stdout.count("the seller's legal data is incomplete") == 1
    assert "    failed: 5 cycles (contracts " in refused.stdout
    assert "and 2 more): cannot make the invoice: the seller's legal data is incomplete" in refused.stdout
    assert [row[:2] for row in rows_refused] == [("failed", None)] * 5
    # And after the profile was saved the next run issued all five, numbered 1..5
    assert issued.returncode == 0, issued.stderr
    assert "  issued                5" in issued.stdout
    assert [row[:2] for row in _invoice_rows(container, built.operator_id)] == [
        ("issued", n) for n in range(1, 6)
    ]


def _runs(container: Container, operator_id: str) -> list[tuple[str, bool, str | None]]:
    from evbill.adapters.db.runs.tables import billing_runs

    with container.engine.connect() as connection:
        query = (
            select(billing_runs.c.status, billing_runs.c.queued, billing_runs.c.owner)
            .where(billing_runs.c.operator_id == operator_id)
            .order_by(billing_runs.c.id)
        )
        return [(row.status, row.queued, row.owner) for row in connection.execute(query)]


def _kill_when_issued(
    command: list[str], env: dict[str, str], container: Container, operator_id: str, at_least: int
) -> int:
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and process.poll() is None:
        if len(_invoice_rows(container, operator_id)) >= at_least:
            break
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    process.wait()
    return len(_invoice_rows(container, operator_id))


def test_a_run_killed_mid_way_is_marked_interrupted_by_the_next_run_which_finishes_the_work(
    container: Container, database_url: str
) -> None:
    # Given 60 contracts and `evbill billing run` killed (SIGKILL) once some invoices are issued
    contracts = 60
    built = build_contracts(database_url, contracts=contracts, sessions_per_contract=2, period=PERIOD)
    env = _environment(database_url)
    run = ["billing", "run", "--period", PERIOD, "--operator", built.operator_id, "--quiet", "--no-render"]
    killed_at = _kill_when_issued([str(EVBILL), *run], env, container, built.operator_id, 5)
    killed = _runs(container, built.operator_id)
    # When the run is started again
    final = evbill(*run, "--json", env=env)
    # Then the killed run was shown running, with this machine's process as its owner
    assert 0 < killed_at < contracts, killed_at
    assert [(status, queued) for status, queued, _ in killed] == [("running", False)]
    assert (killed[0][2] or "").rpartition(":")[2].isdigit()
    # And the new run marked it interrupted, said so, and finished the work: each contract once
    assert final.returncode == 0, final.stderr
    assert "was interrupted (its process is gone)" in final.stderr
    assert [(status, queued) for status, queued, _ in _runs(container, built.operator_id)] == [
        ("interrupted", False), ("done", False),
    ]  # fmt: skip
    [report] = orjson.loads(final.stdout)
    assert (report["status"], report["issued"] + killed_at, report["pending"]) == ("done", contracts, 0)
    rows = _invoice_rows(container, built.operator_id)
    assert [(status, sequence) for status, sequence, _ in rows] == [
        ("issued", n) for n in range(1, contracts + 1)
    ]
    assert check_books(container.services, operator_ids=[built.operator_id]).ok


def test_a_queued_run_whose_worker_was_killed_is_finished_by_the_restarted_worker(
    container: Container, database_url: str, tmp_path: Path
) -> None:
    # Given a queued run of 300 contracts (chunks of 256: the second chunk is still queued) on the
    # embedded SQLite queue, and its worker killed (SIGKILL) in the middle of the first chunk
    contracts = 300
    built = build_contracts(database_url, contracts=contracts, sessions_per_contract=1, period=PERIOD)
    env = _environment(database_url, EVBILL_QUEUE_URL=f"sqlite:///{tmp_path / 'queue.sqlite3'}")
    queue_run = subprocess.Popen(
        [str(EVBILL), "billing", "run", "--period", PERIOD, "--operator", built.operator_id, "--queue",
         "--quiet"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        killed_at = _kill_when_issued([str(EVBILL), "worker"], env, container, built.operator_id, 3)
        # When the worker is started again (a run is stalled after 2 s without progress)
        worker = subprocess.Popen([str(EVBILL), "worker", "--stale-after", "2"], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
        try:
            queue_run.wait(timeout=300)
        finally:
            _stop([worker])
    finally:
        if queue_run.poll() is None:
            queue_run.kill()
            queue_run.wait()
    # Then the run finished: every contract issued exactly once, numbered without gap
    assert 0 < killed_at < contracts, killed_at
    assert queue_run.returncode == 0
    assert [(status, queued) for status, queued, _ in _runs(container, built.operator_id)] == [("done", True)]
    rows = _invoice_rows(container, built.operator_id)
    assert [(status, sequence) for status, sequence, _ in rows] == [
        ("issued", n) for n in range(1, contracts + 1)
    ]
    assert check_books(container.services, operator_ids=[built.operator_id]).ok
