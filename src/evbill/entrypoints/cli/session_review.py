"""``evbill session``: operators' decisions on a stuck or faulty session, audited, with a reason.

    evbill session review SESSION_ID --operator 0190...   # why it awaits review, what was decided
    evbill session close  SESSION_ID --operator 0190... --reason "stop never came" \
        [--ended-at 2026-11-17T10:30:00Z]
    evbill session rerate SESSION_ID --operator 0190... --reason "checked with the driver"
    evbill session void   SESSION_ID --operator 0190... --reason "test session"

Each command acts as the platform for the operator and prints the session (``--json`` for machines).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, TypeVar

import typer

from evbill.application.access.keys import get_operator, platform_actor
from evbill.application.charging import review as use_cases
from evbill.application.records import snapshot
from evbill.bootstrap import Container
from evbill.domain.access.operators import Actor
from evbill.domain.charging.sessions import ChargingSession
from evbill.domain.errors import DomainError
from evbill.entrypoints.cli.output import fail, fail_domain, write_json

T = TypeVar("T")
SessionId = Annotated[str, typer.Argument(help="The session's id.")]
OperatorId = Annotated[
    str, typer.Option("--operator", help="The operator's id (act as the platform for it).")
]
Reason = Annotated[str, typer.Option("--reason", help="Why: kept with the decision and in the audit log.")]
EndedAt = Annotated[
    str | None,
    typer.Option("--ended-at", help="Where the session ends (RFC 3339); default: its last sample."),
]
Json = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def register(app: typer.Typer, container: Container) -> None:
    app.add_typer(build(container), name="session")


def build(container: Container) -> typer.Typer:
    app = typer.Typer(help="Sessions under review: close, re-rate or void one.", no_args_is_help=True)

    @app.command()
    def review(session_id: SessionId, operator_id: OperatorId, json: Json = False) -> None:
        """Why a session awaits review, and every decision taken on it."""
        who = _acting(container, operator_id)
        found = _call(lambda: use_cases.review_of(container.services, who, session_id))
        events = [snapshot(event) for event in found.events]
        if json:
            write_json({"session": snapshot(found.session), "reasons": list(found.reasons), "events": events})
            return
        _show(found.session)
        for reason in found.reasons:
            typer.echo(f"  review: {reason}")
        for event in events:
            typer.echo(f"  {event['at']} {event['action']} by {event['actor']}: {event['reason']}")

    @app.command()
    def close(
        session_id: SessionId,
        operator_id: OperatorId,
        reason: Reason,
        ended_at: EndedAt = None,
        json: Json = False,
    ) -> None:
        """Close a session whose stop never came, priced from the data received."""
        who = _acting(container, operator_id)
        end = _moment(ended_at)
        _done(
            _call(
                lambda: use_cases.close_session(
                    container.services, who, session_id, reason=reason, ended_at=end
                )
            ),
            json,
        )

    @app.command()
    def rerate(
        session_id: SessionId,
        operator_id: OperatorId,
        reason: Reason,
        ended_at: EndedAt = None,
        json: Json = False,
    ) -> None:
        """Price a closed session again from its stored samples and accept it for billing."""
        who = _acting(container, operator_id)
        end = _moment(ended_at)
        _done(
            _call(
                lambda: use_cases.rerate_session(
                    container.services, who, session_id, reason=reason, ended_at=end
                )
            ),
            json,
        )

    @app.command()
    def void(session_id: SessionId, operator_id: OperatorId, reason: Reason, json: Json = False) -> None:
        """Close a session at no charge (its evidence stays)."""
        who = _acting(container, operator_id)
        _done(_call(lambda: use_cases.void_session(container.services, who, session_id, reason=reason)), json)

    return app


def _acting(container: Container, operator_id: str) -> Actor:
    try:
        current = container.schema_is_current()
    except Exception as error:  # an unreachable database: a plain message, not a traceback
        fail(f"cannot reach the database at {container.settings.database_url}: {error}")
    if not current:
        fail("the database schema is not current; run `evbill db upgrade` first")
    who = platform_actor(operator_id)
    _call(lambda: get_operator(container.services, who))
    return who


def _call(action: Callable[[], T]) -> T:
    try:
        return action()
    except DomainError as error:
        fail_domain(error)


def _moment(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        value = None
    if value is None or value.tzinfo is None:
        fail(f"--ended-at {text!r} is not an RFC 3339 date-time with an offset, e.g. 2026-11-17T10:30:00Z")
    return value


def _done(session: ChargingSession, json: bool) -> None:
    if json:
        write_json(snapshot(session))
    else:
        _show(session)


def _show(session: ChargingSession) -> None:
    total: Any = (
        "-" if session.total_incl_vat is None else f"{session.total_incl_vat} {session.currency} incl. VAT"
    )
    typer.echo(f"{session.id} {session.status.value} {session.energy_wh} Wh {total}")
