"""``evbill serve``, ``evbill db``, ``evbill operator``, ``evbill apikey``: run and administer the service.

``evbill serve --demo`` is the one-command start: an embedded SQLite database (``evbill.db`` here
unless EVBILL_DATABASE_URL says otherwise), migrated, filled with demo data on first start, and an
admin API key printed for each demo operator. Without ``--demo``, ``serve`` refuses to start on a
database whose schema is not current and says which command fixes it.
"""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from evbill.application.access.keys import create_api_key, create_operator, list_operators
from evbill.application.charging import central_system as central_system
from evbill.bootstrap import Container
from evbill.domain.access.operators import Role
from evbill.domain.errors import DomainError
from evbill.domain.money import RoundingMode
from evbill.entrypoints.cli.output import fail, fail_domain, write_json

SHUTDOWN_GRACE_SECONDS = 10


def register(app: typer.Typer, container: Container) -> None:
    @app.command()
    def serve(
        host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
        port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
        demo: Annotated[
            bool, typer.Option(help="Migrate, load demo data on first start, print API keys.")
        ] = False,
        workers: Annotated[int, typer.Option(min=1, max=64, help="Worker processes (stateless).")] = 1,
        ssl_certfile: Annotated[
            str | None, typer.Option(help="TLS certificate (PEM): serve https and wss.")
        ] = None,
        ssl_keyfile: Annotated[str | None, typer.Option(help="TLS private key (PEM).")] = None,
    ) -> None:
        """Run the REST API (OpenAPI at /openapi.json, docs at /docs) and the OCPP endpoint (/ocpp/{id}).

        With --ssl-certfile/--ssl-keyfile evbill terminates TLS itself (OCPP security profile 2);
        behind a TLS-terminating proxy, the proxy's X-Forwarded-Proto: https marks connections secure.
        """
        if (ssl_certfile is None) != (ssl_keyfile is None):
            fail("give both --ssl-certfile and --ssl-keyfile, or neither")
        tls = {"ssl_certfile": ssl_certfile, "ssl_keyfile": ssl_keyfile} if ssl_certfile else {}
        if demo and container.settings.production:
            fail("serve --demo is refused in production: its API keys and station passwords are published")
        if demo:
            _prepare_demo(container, f"{host}:{port}")
        elif not _schema_current(container):
            fail(
                f"the database at {container.settings.database_url} is not at the current schema; "
                "run `evbill db upgrade` first"
            )
        typer.echo(f"evbill API on http://{host}:{port}/api/v1  (docs: http://{host}:{port}/docs)", err=True)
        # On SIGTERM uvicorn waits for open connections to end; a station that never answers the
        # close would hold the shutdown for ever (a service manager then kills it): give up after 10 s.
        common: dict[str, Any] = {
            "host": host, "port": port, "log_level": "info", "proxy_headers": True,
            "timeout_graceful_shutdown": SHUTDOWN_GRACE_SECONDS,
            "ws_max_size": container.settings.websocket_max_bytes, **tls,
        }  # fmt: skip
        # The server's own packages (uvicorn, FastAPI, the OCPP server) load only when it runs.
        import uvicorn

        from evbill.entrypoints.api.app import create_app
        from evbill.entrypoints.cli.listening import WorkerPerSocket, worker_sockets
        from evbill.entrypoints.collector import settle_for_serving

        if workers == 1:
            app = create_app(container.settings, container=container)
            settle_for_serving()
            uvicorn.run(app, **common)
        else:
            os.environ.setdefault("EVBILL_DATABASE_URL", container.settings.database_url)
            config = uvicorn.Config(
                "evbill.entrypoints.api.asgi:build", factory=True, workers=workers, **common
            )
            try:
                listeners = worker_sockets(config)
            except OSError as error:
                fail(f"cannot listen on {host}:{port}: {error}")
            WorkerPerSocket(config, listeners).run()

    db = typer.Typer(help="The database: migrate and inspect.", no_args_is_help=True)
    app.add_typer(db, name="db")

    @db.command("upgrade")
    def db_upgrade() -> None:
        """Apply every pending migration (safe to run again)."""
        container.upgrade_schema()
        typer.echo(f"database at {container.settings.database_url} is at the current schema")

    @db.command("grant")
    def db_grant(
        role: Annotated[str, typer.Option(help="The existing PostgreSQL role the app connects as.")],
    ) -> None:
        """Let the app's PostgreSQL role read and write evbill's tables, nothing more (run as owner)."""
        try:
            container.grant_app_role(role)
        except ValueError as error:
            fail(str(error))
        typer.echo(f"{role} may read and write evbill's tables; it cannot alter them or their triggers")

    @db.command("status")
    def db_status() -> None:
        """Say whether the database schema is current."""
        current = _schema_current(container)
        typer.echo("current" if current else "out of date: run `evbill db upgrade`")
        if not current:
            raise typer.Exit(1)

    operator = typer.Typer(help="Operators (tenants).", no_args_is_help=True)
    app.add_typer(operator, name="operator")

    @operator.command("create")
    def operator_create(
        name: Annotated[str, typer.Option(help="Display name.")],
        country: Annotated[str, typer.Option(help="ISO 3166-1 alpha-2, e.g. NL.")],
        currency: Annotated[str, typer.Option(help="ISO 4217 default currency, e.g. EUR.")],
        legal_name: Annotated[str | None, typer.Option(help="Legal entity (default: the name).")] = None,
        rounding: Annotated[
            RoundingMode, typer.Option(help="Rounding of document totals.")
        ] = RoundingMode.HALF_UP,
        json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    ) -> None:
        """Create an operator; prints its id."""
        _require_schema(container)
        try:
            created = create_operator(
                container.services, name=name, legal_name=legal_name or name, country=country,
                default_currency=currency, rounding_mode=rounding,
            )  # fmt: skip
        except DomainError as error:
            fail_domain(error)
        if json:
            write_json({"id": created.id, "name": created.name})
        else:
            typer.echo(created.id)

    @operator.command("list")
    def operator_list() -> None:
        """List every operator (id, name, country, currency)."""
        _require_schema(container)
        for item in list_operators(container.services):
            typer.echo(f"{item.id}  {item.name}  {item.country}  {item.default_currency}")

    station = typer.Typer(help="Charging stations (platform view).", no_args_is_help=True)
    app.add_typer(station, name="station")

    @station.command("requests")
    def station_requests() -> None:
        """Unknown stations that connected under EVBILL_OCPP_UNKNOWN_STATIONS=pending, waiting to be added."""
        _require_schema(container)
        requests = central_system.station_requests(container.services)
        if not requests:
            typer.echo("no unknown station has asked to connect")
        for request in requests:
            described = " ".join(filter(None, (request.vendor, request.model, request.serial_number)))
            typer.echo(
                f"{request.charge_point_id}  {request.subprotocol}  {request.attempts} attempt(s)  "
                f"last {request.last_seen:%Y-%m-%d %H:%M} UTC  {described}"
            )

    apikey = typer.Typer(help="API keys.", no_args_is_help=True)
    app.add_typer(apikey, name="apikey")

    @apikey.command("create")
    def apikey_create(
        operator_id: Annotated[str, typer.Option("--operator", help="The operator's id.")],
        role: Annotated[Role, typer.Option(help="admin, billing, support or read_only.")],
        name: Annotated[str, typer.Option(help="What the key is for.")] = "cli",
    ) -> None:
        """Create an API key; it is printed once and never shown again."""
        _require_schema(container)
        try:
            _, presented = create_api_key(container.services, operator_id=operator_id, role=role, name=name)
        except DomainError as error:
            fail_domain(error)
        typer.echo(presented)
        typer.echo("store this key now: evbill keeps only its hash", err=True)


def _schema_current(container: Container) -> bool:
    try:
        return container.schema_is_current()
    except Exception as error:  # unreachable database: a plain message, not a traceback
        fail(f"cannot reach the database at {container.settings.database_url}: {error}")


def _require_schema(container: Container) -> None:
    if not _schema_current(container):
        fail("the database schema is not current; run `evbill db upgrade` first")


def _prepare_demo(container: Container, address: str) -> None:
    """Migrate, load the demo on first start (printing its admin keys once), and say how to try it.

    A restart mints no key: the demo's admin key stays in the local database, so its prefix is
    shown with the command that makes another.
    """
    from evbill.application import demo

    container.upgrade_schema()
    services = container.services
    operators = list_operators(services)
    if operators:
        typer.echo("demo data already loaded; its admin keys (shown in full at first start):", err=True)
        for existing in operators:
            keys = demo.demo_admin_keys(services, existing.id)
            shown = ", ".join(f"evb_{key.prefix}_..." for key in keys) or "none left"
            typer.echo(f"  {existing.name}: {shown}", err=True)
        typer.echo(
            "  a new key: evbill apikey create --operator <id> --role admin   (ids: evbill operator list)",
            err=True,
        )
    else:
        typer.echo(
            "loading demo data (two operators, three locations, AC and DC stations, sessions)...", err=True
        )
        for created in demo.seed_demo(services, now=datetime.now(UTC), payments=_demo_payments(container)):
            typer.echo(
                f"  {created.name}: {created.api_key}   RFID cards: {', '.join(created.tokens)}", err=True
            )
            paid = [invoice.invoice_id for invoice in created.invoices]
            issued = _render_demo_invoices(container, created.operator_id, created.billing_run_id, paid)
            typer.echo(f"    invoices (PDF and Factur-X kept): {issued}", err=True)
            for invoice in created.invoices:
                typer.echo(f"    {invoice.number} {invoice.customer}: {invoice.how}", err=True)
    typer.echo(f"try: curl -H 'Authorization: Bearer <key>' http://{address}/api/v1/sessions", err=True)
    typer.echo(f"and watch chargers: {demo.simulate_command(_program(), address)}", err=True)


def _demo_payments(container: Container) -> Any:
    """The demo pays its invoices through the built-in sandbox gateway (its test tokens); with another
    gateway configured it leaves them unpaid."""
    from evbill.application.demo_payments import DemoPayments

    if container.payment_gateway.name != "sandbox":
        typer.echo("the demo's invoices are left unpaid: its payments need the sandbox gateway", err=True)
        return None
    return DemoPayments(container.payment_gateway, container.demo_mailer, container.statement_reader)


def _program() -> str:
    """How the user ran evbill (``.venv/bin/evbill`` from ``make run``), to repeat it in hints."""
    invoked = Path(sys.argv[0])
    if invoked.name != "evbill":
        return "evbill"
    try:
        return str(invoked.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(invoked)


def _render_demo_invoices(
    container: Container, operator_id: str, run_id: str | None, others: list[str]
) -> int:
    """Render the demo's invoices once (PDF, Factur-X): the run's, and ``others`` (the late payer's of
    the month before); how many there are."""
    from evbill.application.access.keys import platform_actor
    from evbill.application.invoicing import runs

    if run_id is None:
        return 0
    who = platform_actor(operator_id)
    in_run = [item.invoice_id for item in runs.run_items(container.services, who, run_id) if item.invoice_id]
    issued = sorted(set(in_run) | set(others))
    for document_id in issued:
        runs.render_document(container.services, who, container.documents, document_id)
    return len(issued)
