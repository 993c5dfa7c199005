"""Issue 12 in a real browser: the interaction checker, references, focus ring, console, /docs,
transfer (compression, cached static files), compound facts and evidence levels, and axe-core
with no violation of any impact on every page, at desktop and at phone width.

The server and Chromium come from `test_browser.py` (skipped there when Chromium is missing).
MGADVISOR_SCREENSHOTS=1 (`make screenshots`) writes docs/screenshots/desktop-*.png and
phone-*.png from the pages axe checks.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, ViewportSize, expect

from test_browser import SHOTS, browser, server  # noqa: F401  (the fixtures, and the skip)

DESKTOP: ViewportSize = {"width": 1366, "height": 900}
PHONE: ViewportSize = {"width": 390, "height": 844}
SHOT_HEIGHT = 3000  # a screenshot shows at most this many pixels from the top of the page
SHOOTING = bool(os.environ.get("MGADVISOR_SCREENSHOTS"))

TOOLS = (
    "/tools?compound=magnesium_citrate&mass=500&value=0,8&from=mmol/L&to=mg/dL"
    "&creatinine=80&crea_unit=umol/L&age=60&sex=female"
    "&medicines=omeprazol, hydrochloorthiazide, Thyrax, amoxicilline, xyz"
)
PAGES = {  # screenshot name -> address
    "intake-empty": "/",
    "knowledge-base": "/kb?q=slaap",
    "kb-compound": "/kb/magnesium_citrate",
    "kb-application": "/kb/sleep",
    "kb-interaction": "/kb/levothyroxine",
    "kb-depleting": "/kb/ppi",
    "kb-reference": "/kb/peikert1996",
    "tools": TOOLS,
    "references": "/references",
    "references-search": "/references?q=kohne",
    "not-found": "/no-such-page",
}


def _context_page(instance: Browser, base: str, viewport: ViewportSize) -> Iterator[Page]:
    context = instance.new_context(base_url=base, locale="nl-NL", viewport=viewport)
    tab = context.new_page()
    yield tab
    context.close()


@pytest.fixture
def page(browser: Browser, server: str) -> Iterator[Page]:  # noqa: F811
    yield from _context_page(browser, server, DESKTOP)


@pytest.fixture
def phone(browser: Browser, server: str) -> Iterator[Page]:  # noqa: F811
    yield from _context_page(browser, server, PHONE)


def shoot(page: Page, name: str) -> None:
    """docs/screenshots/desktop-NAME.png or phone-NAME.png, when SHOOTING."""
    if SHOOTING:
        SHOTS.mkdir(parents=True, exist_ok=True)
        width = page.viewport_size["width"] if page.viewport_size else DESKTOP["width"]
        height = min(page.evaluate("document.documentElement.scrollHeight"), SHOT_HEIGHT)
        page.screenshot(
            path=str(SHOTS / f"{'phone' if width < 600 else 'desktop'}-{name}.png"),
            full_page=True,
            clip={"x": 0, "y": 0, "width": width, "height": height},
        )


def violations(page: Page) -> list[str]:
    """Every axe-core violation on the page, of any impact."""
    from axe_playwright_python.sync_playwright import Axe

    found = Axe().run(page).response.get("violations", [])
    return [
        f"{v['id']} ({v['impact']}): {v['help']}: {[n['target'] for n in v['nodes'][:3]]}"
        for v in found
    ]


def console_errors(page: Page) -> list[str]:
    """Errors and warnings the page writes to the console (collected from now on)."""
    found: list[str] = []

    def keep(message: ConsoleMessage) -> None:
        # A 404 page reports its own status: that is the page, not a missing resource.
        if message.type in ("error", "warning") and message.location.get("url") != page.url:
            found.append(f"{message.type}: {message.text} ({message.location.get('url')})")

    page.on("console", keep)
    page.on("pageerror", lambda error: found.append(f"script error: {error}"))
    return found


def fill_intake(page: Page) -> None:
    page.goto("/")
    page.get_by_label("Leeftijd (jaren)").fill("58")
    page.get_by_label("Geslacht").select_option("female")
    page.get_by_label("Slaap", exact=True).check()
    page.get_by_label("Geneesmiddel 1").fill("omeprazol")
    expect(page.locator("#live")).to_contain_text("Magnesium", timeout=10_000)


# --- Defect 2: the interaction checker shows depletion, as the API does -----------------------


def test_interaction_checker_shows_what_lowers_magnesium(page: Page, server: str) -> None:  # noqa: F811
    page.goto(TOOLS)
    rows = page.locator("ul.checked > li")
    expect(rows).to_have_count(5)
    api = page.request.get(
        f"{server}/api/v1/interactions",
        params={"medicine": "omeprazol", "lang": "nl"},
    ).json()
    assert api[0]["depletes_magnesium"] == "ppi"  # the API's fact, which the page must show
    for name in ("omeprazol", "hydrochloorthiazide"):
        row = rows.filter(has_text=f"{name} →")
        expect(row).to_contain_text("Kan magnesium doen dalen")
        expect(row).not_to_contain_text("geen bekende interactie")
        expect(row.locator(".cite a").first).to_have_attribute(
            "href", re.compile("^/references#ref-")
        )
    expect(rows.filter(has_text="Thyrax →")).to_contain_text("minstens 4 uur")
    amoxicillin = rows.filter(has_text="amoxicilline →")
    expect(amoxicillin).to_contain_text("geen bekende interactie met magnesium")
    expect(amoxicillin).not_to_contain_text("magnesium doen dalen")
    expect(rows.filter(has_text="xyz →")).to_contain_text("niet herkend")
    for text in rows.all_inner_texts():
        assert not ("geen bekende interactie" in text and "dalen" in text), text


# --- Defect 7: references ---------------------------------------------------------------------


def _links_resolve(page: Page) -> int:
    """Every citation link on the page leads to a reference on this page or on /references."""
    targets, missing = page.evaluate(
        """() => { const links = [...document.querySelectorAll('.cite a')];
            const hrefs = links.map(a => a.getAttribute('href'));
            const missing = hrefs.filter(h => h.startsWith('#') &&
                document.querySelectorAll('[id="' + CSS.escape(h.slice(1)) + '"]').length !== 1);
            return [hrefs, missing]; }"""
    )
    elsewhere = {t for t in targets if not t.startswith("#")}
    assert all(t.startswith("/references#ref-") for t in elsewhere), elsewhere
    assert not missing, missing
    return len(targets)


def test_references_read_cleanly_link_their_dois_and_can_be_searched(page: Page) -> None:
    from mgadvisor.kb import load_knowledge

    kb = load_knowledge()
    with_doi = [
        key for key, ref in kb.references.items() if ref.model_dump(by_alias=True).get("DOI")
    ]
    page.goto("/references")
    refs = page.locator("ol.refs > li")
    expect(refs).to_have_count(len(kb.references))
    text = page.locator("main").inner_text()
    assert "&amp;" not in text and "&#" not in text
    assert text.count(" & ") > 50  # "Smith, A., & Lee, B." as APA writes it
    dois = page.locator("ol.refs a[href^='https://doi.org/']")
    expect(dois).to_have_count(len(with_doi))
    for key in with_doi[:5]:
        link = page.locator(f"#ref-{key} a[href^='https://doi.org/']")
        expect(link).to_have_text(re.compile(r"^https://doi\.org/10\.\d+/"))
    expect(page.locator("#ref-peikert1996 a.cite")).to_have_attribute("href", "#ref-peikert1996")

    page.get_by_label("Zoek in de literatuur").fill("kohne migraine")
    page.get_by_label("Zoek in de literatuur").press("Enter")
    expect(refs).to_have_count(1)
    expect(refs.first).to_contain_text("Köhne-Volland")
    expect(page.get_by_role("status")).to_contain_text("1 van de")


def test_every_citation_key_links_to_its_reference(page: Page) -> None:
    for address in ("/kb/magnesium_citrate", "/kb/ppi", "/kb/levothyroxine", TOOLS):
        page.goto(address)
        assert _links_resolve(page) > 0, address
    fill_intake(page)
    assert _links_resolve(page) > 10  # the live advice beside the form
    page.get_by_role("button", name="Toon het advies").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Magnesiumadvies")
    assert _links_resolve(page) > 10
    first = page.locator("section.advice .cite a:visible").first
    key = (first.get_attribute("href") or "")[1:]
    first.click()
    expect(page.locator(f"[id='{key}']")).to_be_in_viewport()


# --- Defect 11: focus ring, console, /docs --------------------------------------------------


def _luminance(rgb: tuple[float, ...]) -> float:
    def channel(c: float) -> float:
        c /= 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    """WCAG contrast ratio of two CSS colours as the browser gives them ("rgb(r, g, b)")."""
    la, lb = (_luminance(tuple(float(x) for x in re.findall(r"[\d.]+", c))) for c in (a, b))
    return (max(la, lb) + 0.05) / (min(la, lb) + 0.05)


def test_the_focus_ring_stands_out(page: Page) -> None:
    page.goto("/tools")
    for _ in range(6):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            """() => { const e = document.activeElement, s = getComputedStyle(e);
                let p = e.parentElement, bg = 'rgba(0, 0, 0, 0)';
                while (p && (bg = getComputedStyle(p).backgroundColor) === 'rgba(0, 0, 0, 0)')
                  p = p.parentElement;
                return {tag: e.tagName, style: s.outlineStyle, width: s.outlineWidth,
                        ring: s.outlineColor, around: p ? bg : 'rgb(255, 255, 255)'}; }"""
        )
        assert focused["style"] == "solid" and focused["width"] == "3px", focused
        ratio = contrast(focused["ring"], focused["around"])
        assert ratio >= 3, f"{focused}: {ratio:.2f}:1"


def open_api_docs(page: Page) -> None:
    """/docs with the advice and the health operations open: the advice's request-body editor
    shown, a health request sent and its answer shown."""
    page.goto("/docs")
    page.locator(".opblock-summary-control").first.wait_for(timeout=15_000)
    advice = page.locator("#operations-api-advice_api_v1_advice_post")
    health = page.locator("#operations-api-health_api_v1_health_get")
    for operation in (advice, health):
        operation.locator(".opblock-summary-control").click()
    health.locator(".try-out__btn").click()
    health.locator(".execute").click()
    expect(health.locator(".live-responses-table")).to_contain_text("200")
    advice.locator(".try-out__btn").click()
    expect(page.locator("textarea.body-param__text")).to_have_attribute(
        "aria-label", re.compile(".")
    )


def test_api_docs_have_a_heading_and_no_accessibility_violations(page: Page) -> None:
    errors = console_errors(page)
    open_api_docs(page)
    expect(page.get_by_role("heading", level=1)).to_contain_text("API")
    assert not violations(page)
    assert not errors, errors
    shoot(page, "api-docs")
    page.set_viewport_size(PHONE)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shoot(page, "api-docs")


# --- Defect 12: transfer ----------------------------------------------------------------------


def test_pages_are_compressed_and_static_files_cached_for_long(page: Page) -> None:
    statics: list[Any] = []
    page.on("response", lambda r: statics.append(r) if "/static/" in r.url else None)
    response = page.goto("/")
    assert response is not None and response.headers.get("content-encoding") == "gzip"
    sizes = page.evaluate(
        "(() => { const n = performance.getEntriesByType('navigation')[0];"
        " return [n.encodedBodySize, n.decodedBodySize]; })()"
    )
    assert sizes[0] * 3 < sizes[1], sizes  # the intake page: about a fifth on the wire
    page.wait_for_load_state("networkidle")
    hashed = [r for r in statics if re.search(r"/static/[\w.-]+\.[0-9a-f]{10}\.\w+$", r.url)]
    names = {r.url.rsplit("/", 1)[1].split(".")[0] for r in hashed}
    assert {"style", "htmx", "app"} <= names, [r.url for r in statics]
    for r in hashed:
        assert "max-age=31536000" in r.headers.get("cache-control", ""), r.url
        assert "immutable" in r.headers.get("cache-control", ""), r.url
    css = next(r for r in hashed if ".css" in r.url)
    assert css.headers.get("content-encoding") == "gzip"
    assert "no-store" in (response.headers.get("cache-control") or "")  # client data: never kept


# --- Knowledge-base compound facts and evidence levels -----------------------------------------


def test_compound_page_shows_formula_and_percent_magnesium(page: Page) -> None:
    page.goto("/kb/magnesium_citrate")
    facts = page.locator("dl.compound")
    expect(facts).to_contain_text("C12H10Mg3O14")
    expect(facts).to_contain_text("16,16 % Mg")
    expect(facts).to_contain_text("451,12 g/mol")
    page.goto("/kb/magnesium_oxide?lang=en")
    expect(page.locator("dl.compound")).to_contain_text("60.30 % Mg")


def test_compound_reasons_show_their_evidence_level(page: Page) -> None:
    fill_intake(page)
    page.get_by_role("button", name="Toon het advies").click()
    reasons = page.locator("ol.compounds details li")
    expect(reasons.first).to_be_attached()
    badges = page.locator("ol.compounds details li .evidence")
    assert badges.count() == reasons.count() > 0
    assert all(b.startswith("bewijs: ") for b in badges.all_text_contents())


# --- axe-core on every page, at desktop and phone width ----------------------------------------

PHONE_PAGES = ("intake-empty", "tools", "kb-compound", "references-search")


@pytest.mark.parametrize("name", PAGES)
def test_no_accessibility_violations_nor_console_errors(page: Page, name: str) -> None:
    errors = console_errors(page)
    page.goto(PAGES[name])
    assert not violations(page), name
    page.wait_for_load_state("networkidle")
    assert not errors, errors
    shoot(page, name)


def test_no_accessibility_violations_at_phone_width(phone: Page) -> None:
    for name in PAGES if SHOOTING else PHONE_PAGES:  # every page for the screenshots
        phone.goto(PAGES[name])
        assert not violations(phone), name
        shoot(phone, name)


@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_no_accessibility_violations_nor_console_errors_along_an_intake(
    browser: Browser,  # noqa: F811
    server: str,  # noqa: F811
    width: str,
) -> None:
    """The intake with its live advice, the advice with every "Why?" open, the handout; at
    phone width axe checks the advice page (and the others when taking screenshots)."""
    for tab in _context_page(browser, server, DESKTOP if width == "desktop" else PHONE):
        every = width == "desktop" or SHOOTING
        errors = console_errors(tab)
        fill_intake(tab)
        assert not (every and violations(tab))
        shoot(tab, "intake-live-advice")
        tab.get_by_role("button", name="Toon het advies").click()
        expect(tab.get_by_role("heading", level=1)).to_have_text("Magnesiumadvies")
        for summary in tab.locator("section.advice summary").all():
            summary.click()  # every "Why?" open: the reasons, the evidence, the rule trace
        assert not violations(tab)
        shoot(tab, "advice")
        tab.locator("section.advice").get_by_role("button", name="Folder voor de cliënt").click()
        expect(tab.get_by_role("heading", level=1)).to_have_text("Uw magnesiumadvies")
        assert not (every and violations(tab))
        shoot(tab, "handout")
        tab.wait_for_load_state("networkidle")
        assert not errors, errors


# --- Without the browser: the static files' names and the references' markup ------------------


def test_hashed_static_names_stay_inside_their_folder() -> None:
    from fastapi.testclient import TestClient

    from mgadvisor.web.app import create_app

    client = TestClient(create_app())
    css = re.search(r"/static/style\.[0-9a-f]{10}\.css", client.get("/tools").text)
    assert css, "the stylesheet under its hashed name"
    assert "immutable" in client.get(css.group()).headers["cache-control"]
    old = client.get("/static/style.0123456789.css")  # a page from before the last release
    assert old.status_code == 200 and old.headers["cache-control"] == "no-cache"
    for path in ("/static/..%2Fapp.0123456789.py", "/static/../app.py", "/static/%2e%2e/app.py"):
        assert client.get(path).status_code == 404, path


def test_reference_markup_keeps_italics_links_dois_and_escapes_the_rest() -> None:
    from mgadvisor.render.apa import apa_markup

    html = apa_markup(
        "A, B., &amp; C, D. (2020). <i>T &lt;script&gt;</i> <script>x</script>. "
        "https://doi.org/10.1000/a(b)1."
    )
    assert html.startswith("A, B., &amp; C, D. (2020). <i>T &lt;script&gt;</i> &lt;script&gt;x")
    assert html.endswith(
        '<a href="https://doi.org/10.1000/a(b)1">https://doi.org/10.1000/a(b)1</a>.'
    )
    assert "&amp;amp;" not in html and "<script" not in html
    assert (
        apa_markup("javascript:alert(1) & <b>", html=False) == "javascript:alert(1) &amp; &lt;b&gt;"
    )
