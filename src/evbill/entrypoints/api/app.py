"""The FastAPI application: ``create_app(settings)`` builds it; nothing is built at import time.

    app = create_app(Settings(database_url="sqlite:///evbill.db"))

REST under /api/v1, OpenAPI at /openapi.json, interactive docs at /docs. Errors are
application/problem+json (``problems``); every request but /health needs an API key (``security``).
"""

from __future__ import annotations

from fastapi import FastAPI

from evbill import __version__
from evbill.bootstrap import Container, bootstrap
from evbill.config import Settings
from evbill.entrypoints.api import (
    access,
    analytics,
    analytics_costs,
    backtests,
    customers,
    health,
    ocpp,
    offers,
    problems,
    sessions,
    sites,
    tariffs,
)
from evbill.entrypoints.api.security import BodySizeLimit, KeyCache, RateLimiter

API_PREFIX = "/api/v1"


def create_app(settings: Settings, *, container: Container | None = None) -> FastAPI:
    container = container or bootstrap(settings)
    app = FastAPI(
        title="evbill",
        version=__version__,
        description=(
            "Billing for EV charging operators: sites, OCPI 2.2.1 tariffs, sessions, customers, "
            "plans, contracts, promotions, bills, access."
        ),
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.container = container
    app.state.services = container.services
    app.state.rate_limiter = RateLimiter(settings.rate_limit_per_minute)
    app.state.key_cache = KeyCache(settings.api_key_cache_seconds)
    problems.install(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.include_router(health.router, prefix=API_PREFIX)
    app.include_router(access.router, prefix=API_PREFIX)
    app.include_router(sites.build_router(), prefix=API_PREFIX)
    app.include_router(tariffs.router, prefix=API_PREFIX)
    app.include_router(sessions.router, prefix=API_PREFIX)
    app.include_router(ocpp.router)
    app.include_router(customers.build_router(), prefix=API_PREFIX)
    app.include_router(offers.router, prefix=API_PREFIX)
    app.include_router(analytics.router, prefix=API_PREFIX)
    app.include_router(analytics_costs.router, prefix=API_PREFIX)
    app.include_router(backtests.router, prefix=API_PREFIX)
    return app
