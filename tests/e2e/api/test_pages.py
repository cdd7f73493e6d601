"""The pages a person opens first: ``/`` says what is here, ``/docs`` is Swagger UI from evbill's own
files with an Authorize button for an API key. (The real browser clicks through them in
tests/e2e/browser/test_docs_page.py.)"""

from __future__ import annotations

import re

import pytest

from tests.e2e.api.conftest import Api, build_api


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory):  # SQLite alone: these pages read no database
    from evbill.adapters.db.migrate import upgrade

    url = f"sqlite:///{tmp_path_factory.mktemp('pages') / 'evbill.sqlite3'}"
    upgrade(url)
    yield from build_api(url)


def test_the_home_page_links_to_the_docs_the_openapi_document_and_health(api: Api):
    page = api.client.get("/")

    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    links = set(re.findall(r'href="([^"]+)"', page.text))
    assert {"/docs", "/openapi.json", "/api/v1/health"} <= links
    # what the README's tour shows: the sessions, their CDR and evidence, and evbill rate
    assert "/api/v1/sessions/&lt;id&gt;/cdr" in page.text
    assert "/api/v1/sessions/&lt;id&gt;/evidence" in page.text
    assert "evbill rate" in page.text
    for link in links:
        assert api.client.get(link).status_code == 200, link


def test_the_docs_page_loads_swagger_ui_from_evbill_itself(api: Api):
    page = api.client.get("/docs")

    assert page.status_code == 200
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sorted(assets) == [
        "/docs/assets/favicon.png",
        "/docs/assets/swagger-ui-bundle.js",
        "/docs/assets/swagger-ui.css",
    ]
    assert "http://" not in page.text  # no CDN
    assert "https://" not in page.text
    for asset in assets:
        assert api.client.get(asset).status_code == 200, asset
    bundle = api.client.get("/docs/assets/swagger-ui-bundle.js").text
    assert re.search(r'PACKAGE_VERSION:"5\.', bundle)  # Swagger UI 5 reads OpenAPI 3.1


def test_the_openapi_document_declares_the_api_key_so_docs_has_an_authorize_button(api: Api):
    document = api.client.get("/openapi.json").json()

    assert document["components"]["securitySchemes"] == {
        "APIKey": {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "evb_<prefix>_<secret>",
            "description": "An evbill API key: `Authorization: Bearer evb_...`",
        },
        "XAPIKey": {
            "type": "apiKey",
            "in": "header",
            "name": "X-API-Key",
            "description": "The same API key in the X-API-Key header, as an alternative",
        },
    }
    sessions = document["paths"]["/api/v1/sessions"]["get"]
    assert sessions["security"] == [{"APIKey": []}, {"XAPIKey": []}]
    # the key is no longer a plain header parameter, which OpenAPI tools ignore
    headers = [field["name"].lower() for field in sessions["parameters"] if field["in"] == "header"]
    assert "authorization" not in headers
    assert "security" not in document["paths"]["/api/v1/health"]["get"]


def test_either_way_of_presenting_the_key_still_works(api: Api):
    alpha = api.tenant("Alpha")

    by_bearer = api.anonymous("GET", "/sessions", headers={"Authorization": f"Bearer {alpha.key}"})
    by_header = api.anonymous("GET", "/sessions", headers={"X-API-Key": alpha.key})
    by_basic = api.anonymous("GET", "/sessions", headers={"Authorization": f"Basic {alpha.key}"})
    without = api.anonymous("GET", "/sessions")

    assert (by_bearer.status_code, by_header.status_code) == (200, 200)
    assert (by_basic.status_code, without.status_code) == (401, 401)
    assert without.headers["content-type"] == "application/problem+json"
