"""Backtest a candidate tariff on past sessions: re-rate, settle, compare with what was billed.

``backtest_report`` adds the margin difference (revenue minus costs, ``backtest_margin``) next to
the revenue difference.

Re-rating uses the fast path (``rating.fast``: the engine's arithmetic to totals only, equal to
``rate`` on every session, tested); the sessions it leaves to the scalar engine are counted in
``Backtest.scalar_fallbacks``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any
from zoneinfo import ZoneInfo

from evbill.application.analytics.reports import rounding_of
from evbill.application.records import Services, require
from evbill.domain.access.operators import Actor, Permission
from evbill.domain.analytics.backtest import Backtest, Rerated, StoredSession, rerate_fast, summarise_backtest
from evbill.domain.analytics.backtest_margin import BacktestMargin, backtest_margin, backtest_margin_text
from evbill.domain.analytics.facts import SessionFilter
from evbill.domain.analytics.tables import backtest_text
from evbill.domain.money import RoundingMode
from evbill.domain.rating.fast import FastTariff
from evbill.domain.tariffs.model import Tariff

NO_PERIODS = "no stored periods"
OTHER_CURRENCY = "another currency"


def run_backtest(
    services: Services, actor: Actor, *, candidate: dict[str, Any], query: SessionFilter, top: int = 10
) -> Backtest:
    """The candidate (an OCPI 2.2.1 tariff document) against the sessions of the filter."""
    return _backtest(services, actor, candidate=candidate, query=query, top=top, with_margin=False)[0]


def backtest_report(
    services: Services, actor: Actor, *, candidate: dict[str, Any], query: SessionFilter, top: int = 10
) -> dict[str, object]:
    """The backtest as text, with its margin difference (``margin``) next to the revenue difference."""
    result, margin = _backtest(services, actor, candidate=candidate, query=query, top=top, with_margin=True)
    shown = backtest_text(result)
    assert margin is not None
    shown["margin"] = backtest_margin_text(margin, rounding_of(services, actor))
    return shown


def _backtest(
    services: Services,
    actor: Actor,
    *,
    candidate: dict[str, Any],
    query: SessionFilter,
    top: int,
    with_margin: bool,
) -> tuple[Backtest, BacktestMargin | None]:
    require(actor, Permission.READ)
    tariff = services.ocpi.read_tariff(candidate).tariff
    rounding = rounding_of(services, actor)
    left_out: dict[str, int] = {}
    margin = None
    compiled: dict[str, FastTariff] = {}
    with services.uow(read_only=True) as uow:
        stored = uow.analytics.stored_sessions(actor.operator_id, query)
        rerated = list(rerate_sessions(stored, tariff, rounding, left_out, compiled))
        if with_margin:
            book = uow.analytics.fee_book(actor.operator_id, [item.session_id for item in rerated])
            margin = backtest_margin(tariff.currency, rerated, book)
    fallbacks = sum(fast.fallbacks for fast in compiled.values())
    result = summarise_backtest(
        tariff.currency, rerated, left_out=left_out, top=top, scalar_fallbacks=fallbacks
    )
    return result, margin


def rerate_sessions(
    stored: Iterable[StoredSession],
    tariff: Tariff,
    rounding: RoundingMode,
    left_out: dict[str, int],
    compiled: dict[str, FastTariff],
) -> Iterator[Rerated]:
    """Each session re-rated under ``tariff`` in its zone (compiled once per zone into ``compiled``)."""
    for session in stored:
        reason = (
            OTHER_CURRENCY
            if session.currency != tariff.currency
            else NO_PERIODS
            if session.usage is None
            else None
        )
        if reason is not None or session.usage is None:
            left_out[reason or NO_PERIODS] = left_out.get(reason or NO_PERIODS, 0) + 1
            continue
        fast = compiled.get(session.zone)
        if fast is None:
            fast = compiled[session.zone] = FastTariff.of(tariff, ZoneInfo(session.zone))
        yield rerate_fast(session, session.usage, fast, rounding)
