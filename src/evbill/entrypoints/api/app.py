"""The FastAPI application: ``create_app(settings)`` builds it; nothing is built at import time.

    app = create_app(Settings(database_url="sqlite:///evbill.db"))

REST under /api/v1, OpenAPI at /openapi.json, interactive docs at /docs and a page that says what
is here at / (``pages``: Swagger UI served from evbill's own files, no CDN). Errors are
application/problem+json (``problems``); every request but /health needs an API key (``security``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from evbill import __version__
from evbill.bootstrap import Container, bootstrap
from evbill.config import Settings
from evbill.entrypoints.api import (
    access,
    analytics,
    analytics_costs,
    backtests,
    billing_runs,
    bills,
    collection,
    contracts,
    customers,
    health,
    invoices,
    ledger,
    ocpp,
    pages,
    pay,
    payments,
    plans,
    problems,
    promotions,
    session_review,
    sessions,
    sites,
    statements,
    tariffs,
    utilisation,
    wallets,
    webhooks,
)
from evbill.entrypoints.api.idempotency import IdempotencyRecorder, Replayed, replay
from evbill.entrypoints.api.security import BodySizeLimit, KeyCache, Limits

API_PREFIX = "/api/v1"


def create_app(settings: Settings, *, container: Container | None = None) -> FastAPI:
    container = container or bootstrap(settings)
    built = container

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        built.start()
        yield
        await built.stop()  # background work ends with the app, before its database is taken away

    app = FastAPI(
        lifespan=lifespan,
        title="evbill",
        version=__version__,
        description=(
            "Billing for EV charging operators: sites, OCPI 2.2.1 tariffs, sessions, customers, "
            "plans, contracts, promotions, bills, access."
        ),
        openapi_url="/openapi.json",
        docs_url=None,  # pages.install serves /docs from packaged assets (off in production unless asked)
        redoc_url=None,
    )
    app.state.container = container
    app.state.services = container.services
    app.state.limits = Limits(
        container.limiter, settings.rate_limit_per_minute, settings.auth_failures_per_minute
    )
    app.state.key_cache = KeyCache(settings.api_key_cache_seconds)
    problems.install(app)
    pages.install(app, api_prefix=API_PREFIX, docs=settings.docs)
    app.add_exception_handler(Replayed, replay)
    app.add_middleware(IdempotencyRecorder, container=container)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.include_router(health.router, prefix=API_PREFIX)
    app.include_router(access.router, prefix=API_PREFIX)
    app.include_router(sites.build_router(), prefix=API_PREFIX)
    app.include_router(tariffs.router, prefix=API_PREFIX)
    app.include_router(sessions.router, prefix=API_PREFIX)
    app.include_router(session_review.router, prefix=API_PREFIX)
    app.include_router(ocpp.router)
    app.include_router(customers.build_router(), prefix=API_PREFIX)
    app.include_router(plans.build_router(), prefix=API_PREFIX)
    app.include_router(contracts.build_router(), prefix=API_PREFIX)
    app.include_router(bills.router, prefix=API_PREFIX)
    app.include_router(invoices.router, prefix=API_PREFIX)
    app.include_router(promotions.build_router(), prefix=API_PREFIX)
    app.include_router(analytics.router, prefix=API_PREFIX)
    app.include_router(analytics_costs.router, prefix=API_PREFIX)
    app.include_router(backtests.router, prefix=API_PREFIX)
    app.include_router(utilisation.router, prefix=API_PREFIX)
    app.include_router(ledger.router, prefix=API_PREFIX)
    app.include_router(statements.router, prefix=API_PREFIX)  # before /payments/{payment_id}
    app.include_router(collection.router, prefix=API_PREFIX)  # before /payments/{payment_id} too
    app.include_router(payments.router, prefix=API_PREFIX)
    app.include_router(wallets.router, prefix=API_PREFIX)
    app.include_router(pay.router, prefix=API_PREFIX)
    app.include_router(pay.public)
    app.include_router(billing_runs.router, prefix=API_PREFIX)
    app.include_router(webhooks.router)
    return app
