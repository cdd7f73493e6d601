"""The pages a person opens in a browser: ``/`` (what is here) and ``/docs`` (Swagger UI).

Swagger UI's JavaScript, CSS and icon come from evbill itself, under ``/docs/assets``: they are
the files packaged in the pinned ``fastapi-offline`` wheel (Swagger UI 5, which reads the OpenAPI
3.1 document FastAPI writes), so the docs work on a machine with no internet and send nothing to a
CDN. The Authorize button comes from the security schemes ``security.actor`` declares (a bearer
API key, or the ``X-API-Key`` header): paste an ``evb_...`` key once and every "Try it out" sends it.

    install(app, api_prefix="/api/v1")
"""

# No `from __future__ import annotations`: FastAPI resolves these signatures at runtime.

from html import escape
from importlib.resources import files

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.staticfiles import StaticFiles
from starlette.responses import HTMLResponse

from evbill import __version__

DOCS_URL = "/docs"
ASSETS_URL = "/docs/assets"
SWAGGER_UI_FILES = files("fastapi_offline") / "static"
SWAGGER_UI_PARAMETERS = {
    # Swagger UI would otherwise send the document to validator.swagger.io for a badge.
    "validatorUrl": None,
    # Keep the key pasted into Authorize across reloads of /docs (in this browser's local storage).
    "persistAuthorization": True,
}


def install(app: FastAPI, *, api_prefix: str, docs: bool = True) -> None:
    """Add ``/`` and, with ``docs``, ``/docs`` and its assets to ``app`` (built with ``docs_url=None``)."""
    home = HTMLResponse(home_page(title=app.title, api_prefix=api_prefix, docs=docs))

    # async: the pages are built once here; answering them needs no thread
    @app.get("/", include_in_schema=False)
    async def index() -> HTMLResponse:
        return home

    if not docs:
        return
    app.mount(ASSETS_URL, StaticFiles(directory=str(SWAGGER_UI_FILES)), name="docs-assets")
    swagger = get_swagger_ui_html(
        openapi_url=app.openapi_url or "/openapi.json",
        title=f"{app.title} API - Swagger UI",
        swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
        swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
        swagger_favicon_url=f"{ASSETS_URL}/favicon.png",
        oauth2_redirect_url=None,
        swagger_ui_parameters=SWAGGER_UI_PARAMETERS,
    )

    @app.get(DOCS_URL, include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return swagger


def home_page(*, title: str, api_prefix: str, docs: bool = True) -> str:
    """A small static page: where the API, its docs and its health are, and what to try first.
    Without ``docs`` (production, unless asked) it names no page that is not served."""
    health = f"{api_prefix}/health"
    icon = f'<link rel="icon" href="{ASSETS_URL}/favicon.png">\n' if docs else ""
    docs_item = (
        f'<li><a href="{DOCS_URL}">{DOCS_URL}</a>: the interactive API docs. Press <b>Authorize</b>, '
        'paste an\nAPI key (<code>evb_...</code>), then "Try it out" on any call.</li>'
        if docs
        else "<li>The interactive API docs are off here (production); "
        "<code>EVBILL_DOCS=on</code> serves them.</li>"
    )
    sessions = f"{api_prefix}/sessions"
    name = escape(title)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{name}</title>
{icon}<style>
body {{ font-family: system-ui, sans-serif; max-width: 46rem; margin: 2rem auto; padding: 0 1rem;
       line-height: 1.5; color: #1b1b1b; }}
code, pre {{ background: #f3f3f3; border-radius: 3px; }}
pre {{ padding: .6rem; overflow-x: auto; }}
</style>
</head>
<body>
<h1>{name} {escape(__version__)}</h1>
<p>Billing for operators of EV charging stations: OCPI 2.2.1 tariffs priced exactly, an OCPP
central system, customers, plans, contracts, promotions and bills.</p>

<h2>What is here</h2>
<ul>
{docs_item}
<li><a href="/openapi.json">/openapi.json</a>: the OpenAPI document of the REST API.</li>
<li><a href="{health}">{health}</a>: is the service up, and is its database current (no key needed).</li>
<li><code>{api_prefix}/...</code>: the REST API. Every call but health needs
<code>Authorization: Bearer evb_...</code>.</li>
<li><code>ws://&lt;this host&gt;/ocpp/&lt;charge point id&gt;</code>: the OCPP 1.6J / 2.0.1 / 2.1
central system for chargers.</li>
</ul>

<h2>First steps</h2>
<p>The admin API key was printed when the server first started with <code>--demo</code> (a restart
shows its prefix). Lost it? <code>evbill operator list</code>, then
<code>evbill apikey create --operator &lt;id&gt; --role admin</code>.</p>
<pre>curl -H "Authorization: Bearer evb_..." '{sessions}?limit=5'
curl -H "Authorization: Bearer evb_..." {sessions}/&lt;id&gt;/cdr
curl -H "Authorization: Bearer evb_..." {sessions}/&lt;id&gt;/evidence</pre>
<p>Each session has its OCPI CDR and its evidence: the raw OCPP frames, the cleaned meter values,
the tariff snapshot and a price explanation that says why each amount is what it is. On the command
line, <code>evbill rate --tariff T.json --cdr C.json --explain</code> prices an OCPI CDR and
explains it, and <code>evbill simulate</code> runs chargers against this server.</p>
</body>
</html>
"""
