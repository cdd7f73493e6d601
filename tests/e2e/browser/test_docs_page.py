"""/docs in a real browser: Swagger UI loads from evbill alone, and a key given to Authorize is
what "Try it out" sends."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.browser.conftest import Server


@pytest.fixture
def page(browser: Any, server: Server) -> Iterator[tuple[Any, list[str]]]:
    """A fresh browser page and every URL it requests."""
    context = browser.new_context()
    page = context.new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    yield page, requested
    context.close()


def test_the_docs_page_loads_with_no_request_leaving_the_server(page, server: Server):
    browser_page, requested = page

    browser_page.goto(f"{server.url}/docs")
    browser_page.wait_for_selector(".opblock-summary-path[data-path='/api/v1/sessions']", timeout=30_000)

    assert browser_page.locator("button.authorize").count() == 1
    assert f"{server.url}/openapi.json" in requested
    assert [url for url in requested if not url.startswith(f"{server.url}/")] == []


def test_authorize_with_a_key_then_try_it_out_lists_sessions(page, server: Server):
    browser_page, requested = page
    browser_page.goto(f"{server.url}/docs")
    browser_page.wait_for_selector("button.authorize", timeout=30_000)

    # given: the key entered once in Authorize (the bearer scheme)
    browser_page.click("button.authorize")
    dialog = browser_page.locator(".dialog-ux")
    dialog.locator("input").first.fill(server.key)
    dialog.locator("button.authorize").first.click()
    dialog.locator("button.btn-done").first.click()
    # when: "Try it out" on GET /api/v1/sessions, then Execute
    operation = browser_page.locator(".opblock-get").filter(
        has=browser_page.locator(".opblock-summary-path[data-path='/api/v1/sessions']")
    )
    operation.locator(".opblock-summary-control").click()
    operation.locator("button.try-out__btn").click()
    with browser_page.expect_response(lambda response: "/api/v1/sessions" in response.url) as answer:
        operation.locator("button.execute").click()

    # then: the call carried the key and was answered 200 with an (empty) page of sessions
    response = answer.value
    assert response.request.headers["authorization"] == f"Bearer {server.key}"
    assert response.status == 200
    assert response.json() == {"items": [], "next_cursor": None}
    shown_status = operation.locator(".live-responses-table tbody .response-col_status").first
    shown_status.wait_for()
    assert shown_status.inner_text().strip() == "200"
    assert [url for url in requested if not url.startswith(f"{server.url}/")] == []
