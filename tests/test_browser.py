"""The web app in a real browser: Debian's Chromium driven by Playwright, as a practitioner uses it.

A real uvicorn server runs on a free local port. `make test` and `.ci/run` install Chromium;
outside CI the tests skip (with the reason) when /usr/bin/chromium is missing.
Set MGADVISOR_SCREENSHOTS=1 to refresh docs/screenshots/ (`make screenshots`).
"""

from __future__ import annotations

import io
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parents[1] / "docs" / "screenshots"

if not CHROMIUM.exists():
    if os.environ.get("CI"):
        raise RuntimeError("CI must install Debian's chromium (apt-get install chromium)")
    pytest.skip(
        "Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True
    )

from playwright.sync_api import Browser, Page, expect, sync_playwright  # noqa: E402


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    import uvicorn

    from mgadvisor.web.app import create_app

    port = _free_port()
    config = uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the web server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as play:
        instance = play.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--no-sandbox",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-gpu",
            ],
        )
        yield instance
        instance.close()


@pytest.fixture
def page(browser: Browser, server: str) -> Iterator[Page]:
    context = browser.new_context(base_url=server, locale="nl-NL", accept_downloads=True)
    tab = context.new_page()
    yield tab
    context.close()


def shoot(page: Page, name: str) -> None:
    if os.environ.get("MGADVISOR_SCREENSHOTS"):
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def fill_basic(page: Page, age: str = "72") -> None:
    page.get_by_label("Leeftijd (jaren)").fill(age)
    page.get_by_label("Geslacht").select_option("female")


def test_fill_an_intake_and_read_the_advice(page: Page) -> None:
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Magnesium-intake")
    fill_basic(page)
    page.get_by_label("Slaap", exact=True).check()
    page.get_by_label("Geneesmiddel 1").fill("Thyrax")
    page.locator("#f-med\\.0\\.time").fill("07:00")
    shoot(page, "intake")
    page.get_by_role("button", name="Toon het advies").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Magnesiumadvies")
    advice = page.locator("section.advice")
    expect(advice).to_contain_text("Magnesiumbisglycinaat")
    expect(advice).to_contain_text("levothyroxine")  # Thyrax resolved to its generic name
    expect(advice).to_contain_text("Literatuur")
    times = page.locator("tr.magnesium td:first-child").all_inner_texts()
    assert times and all(t >= "11:00" for t in times), times  # 4 h after levothyroxine at 07:00
    shoot(page, "advice")


def test_a_red_flag_brings_the_referral_live(page: Page) -> None:
    page.goto("/")
    fill_basic(page, "60")
    live = page.locator("#live")
    expect(live).to_contain_text("mg elementair magnesium per dag", timeout=10_000)
    expect(live.locator(".referral")).to_have_count(0)
    page.locator("#f-lab\\.egfr\\.value").fill("25")
    page.locator("#f-lab\\.egfr\\.value").blur()
    expect(live.locator(".referral")).to_contain_text("Verwijs naar een arts", timeout=10_000)
    expect(live).to_contain_text("gecontra-indiceerd")


def test_switch_language(page: Page) -> None:
    page.goto("/")
    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Magnesium intake")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.goto("/kb")  # the choice sticks (cookie)
    expect(page.get_by_role("heading", level=1)).to_have_text("Knowledge base")


def test_download_the_client_pdf(page: Page) -> None:
    from pypdf import PdfReader

    page.goto("/")
    fill_basic(page, "45")
    page.get_by_label("Energie", exact=True).check()
    page.get_by_role("button", name="Toon het advies").click()
    with page.expect_download() as info:
        page.locator("section.advice").get_by_role("button", name="PDF downloaden").click()
    data = Path(info.value.path()).read_bytes()
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
    assert "Uw magnesiumadvies" in text and "mg magnesium per dag" in text


def test_the_handout_page(page: Page) -> None:
    page.goto("/")
    fill_basic(page, "45")
    page.get_by_role("button", name="Toon het advies").click()
    page.locator("section.advice").get_by_role("button", name="Folder voor de cliënt").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Uw magnesiumadvies")
    expect(page.locator("article.handout")).to_contain_text("Dit neemt u in")
    shoot(page, "handout")


def test_keyboard_only(page: Page) -> None:
    page.goto("/")
    for _ in range(40):  # Tab from the top until the age field has focus
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement && document.activeElement.id") == "f-person.age":
            break
    else:
        pytest.fail("the age field cannot be reached with Tab")
    page.keyboard.type("45")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "f-person.sex"
    page.keyboard.press("ArrowDown")  # "—" -> female
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Enter")  # implicit submission from a text field
    expect(page.get_by_role("heading", level=1)).to_have_text("Magnesiumadvies")


def _serious(results: Any) -> list[str]:
    found = []
    for violation in results.response.get("violations", []):
        if violation.get("impact") in ("serious", "critical"):
            found.append(
                f"{violation['id']}: {violation['help']} ({len(violation['nodes'])} nodes)"
            )
    return found


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/kb",
        "/kb/magnesium_taurate",
        "/tools?compound=magnesium_citrate&mass=500",
        "/references",
    ],
)
def test_no_serious_accessibility_violations(page: Page, path: str) -> None:
    from axe_playwright_python.sync_playwright import Axe

    page.goto(path)
    assert not _serious(Axe().run(page)), path
    shoot(
        page,
        {"/": "intake-empty", "/kb": "knowledge-base", "/references": "references"}.get(
            path, path.strip("/").split("?")[0].replace("/", "-")
        ),
    )


def test_no_serious_accessibility_violations_on_the_advice(page: Page) -> None:
    from axe_playwright_python.sync_playwright import Axe

    page.goto("/")
    fill_basic(page)
    page.get_by_role("button", name="Toon het advies").click()
    assert not _serious(Axe().run(page))


def test_api_documentation_renders_offline(page: Page) -> None:
    page.goto("/docs")
    expect(page.locator("#swagger-ui")).to_contain_text("/api/v1/advice", timeout=15_000)
