"""The API's OpenAPI description renders in Chromium from our own files, under our CSP."""

from __future__ import annotations

import pytest

from tests.conftest import screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_api_docs_render_without_any_outside_request(live_server, page, phone_page):
    for pg, name in ((page, "api-docs-desktop"), (phone_page, "api-docs-phone")):
        outside, refused = [], []
        pg.on(
            "request",
            lambda r, seen=outside: (
                seen.append(r.url)
                if not r.url.startswith(live_server.url) and not r.url.startswith("data:")
                else None
            ),
        )
        pg.on("console", lambda m, seen=refused: seen.append(m.text) if m.type == "error" else None)
        pg.goto(f"{live_server.url}/api/docs/")
        pg.locator(".opblock-summary-path", has_text="/api/v1/people/").first.wait_for()
        screenshot(pg, name)
        assert outside == []
        assert [m for m in refused if "Content Security Policy" in m] == []
