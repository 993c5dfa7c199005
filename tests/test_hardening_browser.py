"""Issue 11, item 2 in the browser: a failed live update clears the advice panel and says so,
instead of going on showing the advice for the form as it was (possibly another client's)."""

from __future__ import annotations

from playwright.sync_api import Page, Route, expect

from test_browser import browser, fill_basic, page, server  # noqa: F401  (fixtures)


def test_a_server_error_clears_the_live_advice(page: Page) -> None:  # noqa: F811
    page.goto("/")
    fill_basic(page, "60")
    live = page.locator("#live")
    expect(live).to_contain_text("mg elementair magnesium per dag", timeout=10_000)

    def fail(route: Route) -> None:
        route.fulfill(status=500, body="Internal Server Error")

    page.route("**/partials/advice", fail)
    page.get_by_label("Leeftijd (jaren)").fill("61")
    page.get_by_label("Leeftijd (jaren)").blur()
    expect(live).to_contain_text("Het vorige advies is weggehaald", timeout=10_000)
    expect(live).not_to_contain_text("mg elementair magnesium per dag")
    expect(live.get_by_role("alert")).to_have_count(1)
