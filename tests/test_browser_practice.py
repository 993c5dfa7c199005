"""A practice day in a real browser (issue 13, "Done when"), on SQLite and on PostgreSQL.

A real `mgadvisor serve` process on a free port and Debian's Chromium driven by Playwright:
an admin (made with `mgadvisor users add`) logs in with password and TOTP and makes a
practitioner; the practitioner logs in with the temporary password, chooses an own one, sets
up two-step verification from the page, makes a client with consent, records a visit, downloads the
handout, finds the client on the follow-up list eight weeks later (`as_of`), records a second
visit with new labs, sees the trend and the comparison, exports and erases the client. A second
practitioner cannot see the client. `mgadvisor audit verify` passes, and fails once a row is
deleted (by the database owner, with the append-only trigger dropped).
"""

from __future__ import annotations

import io
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pyotp
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

ADMIN = "beheer@zuid.example"
ANNA = "anna@zuid.example"
BOB = "bob@zuid.example"
PRACTICE = "Praktijk Zuid"
FIRST_VISIT = date(2026, 9, 1)
KEY = "a2V5LWZvci10aGUtcHJhY3RpY2UtZGF5LXRlc3QtLS0="  # base64 of 32 bytes, this test only


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(records_url: str, data_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        MGADVISOR_DATABASE_URL=records_url,
        MGADVISOR_DATA_DIR=str(data_dir),
        MGADVISOR_RECORDS_KEY=KEY,
        MGADVISOR_SECRET="practice-day-secret-0123456789",
    )
    return env


def _cli(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mgadvisor", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def _secret(cli_output: str) -> str:
    uri = re.search(r"otpauth://\S+", cli_output)
    assert uri, cli_output
    return parse_qs(urlparse(uri.group(0)).query)["secret"][0]


def _code(secret: str, used: set[tuple[str, str]]) -> str:
    """The current TOTP code; waits for the next time step when this one was used already
    (the server refuses a replayed code, as it should)."""
    totp = pyotp.TOTP(secret)
    while (secret, code := totp.now()) in used:
        time.sleep(0.5)
    used.add((secret, code))
    return code


@pytest.fixture
def practice(records_url: str, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """The migrated database, the admin and a second practitioner (CLI), and a running server."""
    env = _env(records_url, tmp_path / "data")
    assert _cli(env, "db", "upgrade").returncode == 0
    admin = _cli(
        env,
        "users",
        "add",
        ADMIN,
        "--role",
        "admin",
        "--practice",
        PRACTICE,
        "--password-stdin",
        stdin="beheer-wachtwoord-2026\n",
    )
    assert admin.returncode == 0, admin.stderr
    bob = _cli(
        env,
        "users",
        "add",
        BOB,
        "--role",
        "practitioner",
        "--practice",
        PRACTICE,
        "--password-stdin",
        stdin="bob-wachtwoord-2026\n",
    )
    assert bob.returncode == 0, bob.stderr
    server_env, role = _app_role(env, records_url)
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "mgadvisor", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=server_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(base + "/api/v1/health", timeout=2) as answer:
                if answer.status == 200:
                    break
        except OSError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            raise RuntimeError("the server did not start: " + (server.stderr.read() or "")[-2000:])
        time.sleep(0.2)
    try:
        yield {
            "base": base,
            "env": env,
            "url": records_url,
            "admin_secret": _secret(admin.stdout),
            "bob_secret": _secret(bob.stdout),
            "used": set(),
        }
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        assert server.stderr is not None
        server.stderr.close()
        if role:
            _drop_role(records_url, role)


def _app_role(env: dict[str, str], url: str) -> tuple[dict[str, str], str | None]:
    """On PostgreSQL the server runs as a login in the app's role, as in a deployment: it owns
    no table, row-level security applies and the audit table is INSERT/SELECT only. The CLI
    (users, audit verify) runs as the owner."""
    if not url.startswith("postgresql"):
        return env, None
    import secrets

    from sqlalchemy import create_engine, make_url, text

    from mgadvisor.records.database import APP_ROLE

    role = f"mgadvisor_web_{secrets.token_hex(4)}"
    owner = create_engine(url, isolation_level="AUTOCOMMIT")
    with owner.connect() as connection:
        connection.execute(text(f"CREATE ROLE {role} LOGIN IN ROLE {APP_ROLE}"))
    owner.dispose()
    as_app = make_url(url).set(username=role).render_as_string(hide_password=False)
    return {**env, "MGADVISOR_DATABASE_URL": as_app}, role


def _drop_role(url: str, role: str) -> None:
    from sqlalchemy import create_engine, text

    owner = create_engine(url, isolation_level="AUTOCOMMIT")
    with owner.connect() as connection:
        connection.execute(text(f"DROP OWNED BY {role}"))
        connection.execute(text(f"DROP ROLE {role}"))
    owner.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as play:
        instance = play.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"],
        )
        yield instance
        instance.close()


def _tab(browser: Browser, base: str, width: int = 1280) -> Page:
    context = browser.new_context(
        base_url=base,
        locale="nl-NL",
        accept_downloads=True,
        viewport={"width": width, "height": 900},
    )
    return context.new_page()


def shoot(page: Page, name: str) -> None:
    if os.environ.get("MGADVISOR_SCREENSHOTS"):
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _login(page: Page, email: str, password: str, secret: str, used: set[Any]) -> str:
    """Log in with password and TOTP; after a temporary password from the admin, choose an own
    one first; at a first login, set up the second factor from the page (the key it shows) and
    check the ten recovery codes. Returns the TOTP key in use."""
    page.goto("/login")
    page.get_by_label("E-mailadres").fill(email)
    page.get_by_label("Wachtwoord").fill(password)
    page.get_by_role("button", name="Volgende").click()
    if "/login/password" in page.url:
        expect(page.get_by_role("heading", name="Kies uw eigen wachtwoord")).to_be_visible()
        own = "eigen-wachtwoord-" + password
        page.get_by_label("Nieuw wachtwoord").fill(own)
        page.get_by_label("Herhaal het nieuwe wachtwoord").fill(own)
        page.get_by_role("button", name="Wachtwoord opslaan").click()
    if "/login/enrol" in page.url:
        secret_known = bool(secret)
        expect(page.get_by_role("heading", name="Tweestapsverificatie instellen")).to_be_visible()
        assert page.locator(".qr svg").count() == 1
        secret = page.locator("code.secret").first.inner_text().replace(" ", "").strip()
        page.get_by_label("Code").fill(_code(secret, used))
        page.get_by_role("button", name="Bevestigen").click()
        codes = re.findall(r"\b[0-9a-f]{5}(?:-[0-9a-f]{5}){3}\b", page.content())
        # ten new recovery codes, unless `mgadvisor users add` printed them already
        assert len(set(codes)) == (0 if secret_known else 10)
        shoot(page, "practice-recovery-codes")
        return secret
    page.get_by_label("Code").fill(_code(secret, used))
    page.get_by_role("button", name="Inloggen").click()
    return secret


def _logout(page: Page) -> None:
    page.locator("form[action='/logout'] button").first.click()
    expect(page).to_have_url(re.compile(r"/(login)?(\?.*)?$"))


def _visit(page: Page, client_url: str, on: date, serum_mg: str, *, first: bool) -> str:
    """Record a visit through the intake form and the decision; returns the visit's URL."""
    page.goto(client_url)
    page.get_by_role("link", name="Nieuw consult").click()
    page.locator("#f-as_of").fill(on.isoformat())
    if first:
        page.locator("#f-med\\.0\\.name").fill("omeprazol 20 mg")
        page.locator("#f-med\\.1\\.name").fill("furosemide")
    page.locator("#f-lab\\.serum_magnesium\\.value").fill(serum_mg)
    page.get_by_role("button", name="Advies tonen en besluiten").click()
    expect(page.get_by_role("heading", name="Uw besluit")).to_be_visible()
    page.get_by_label("Overnemen zoals het is").check()  # the decision is not pre-selected
    page.get_by_role("button", name="Consult opslaan").click()
    expect(page).to_have_url(re.compile(r"/clients/[0-9a-f-]+/visits/[0-9a-f-]+$"))
    return page.url


def test_a_practice_day(browser: Browser, practice: dict[str, Any]) -> None:
    base, env, used = practice["base"], practice["env"], practice["used"]

    # 1. The admin logs in (password + TOTP) and makes a practitioner.
    admin = _tab(browser, base)
    _login(admin, ADMIN, "beheer-wachtwoord-2026", practice["admin_secret"], used)
    admin.goto("/admin/users")
    admin.get_by_label("E-mailadres").fill(ANNA)
    admin.get_by_role("button", name="Account aanmaken").click()
    temporary = admin.locator("code.secret").inner_text().strip()
    assert len(temporary) >= 12
    shoot(admin, "practice-admin-users")
    # the admin reads no client data
    assert admin.goto("/clients").status == 403

    # 2. Anna logs in with the temporary password, chooses her own and sets up two-step
    # verification, on a phone.
    anna = _tab(browser, base, width=390)
    _login(anna, ANNA, temporary, "", used)
    anna.goto("/practice")
    expect(anna.get_by_role("heading", name="Vervolgafspraken")).to_be_visible()

    # 3. A client with consent.
    anna.goto("/clients/new")
    anna.get_by_label("Naam of pseudoniem").fill("Mevrouw Jansen")
    anna.get_by_label("Geboortedatum").fill("1954-03-01")
    anna.get_by_label("Geslacht").select_option("female")
    anna.locator("input[name=consent_scope][value=records]").check()
    anna.locator("input[name=consent_scope][value=advice]").check()
    anna.get_by_label("Hoe de toestemming is gegeven").select_option("written")
    anna.get_by_role("button", name="Cliënt opslaan").click()
    expect(anna).to_have_url(re.compile(r"/clients/[0-9a-f-]{36}$"))
    client_url = anna.url
    client_path = urlparse(client_url).path

    # 4. The first visit, then the handout PDF of that visit.
    first = _visit(anna, client_url, FIRST_VISIT, "0,62", first=True)
    assert "0,62" in anna.content()
    with anna.expect_download() as download:
        anna.get_by_role("link", name=re.compile("PDF")).first.click()
    pdf = Path(download.value.path()).read_bytes()
    assert pdf.startswith(b"%PDF")
    from pypdf import PdfReader

    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert "Mevrouw Jansen" in text and "1 september 2026" in text  # the client's own handout
    assert "magnesium" in text.lower()

    # 5. Eight weeks later the client is on the follow-up list.
    later = FIRST_VISIT + timedelta(weeks=8)
    anna.goto(f"/practice?as_of={later.isoformat()}")
    worklist = anna.locator("main")
    expect(worklist.get_by_role("link", name="Mevrouw Jansen")).to_be_visible()
    shoot(anna, "practice-worklist-phone")

    # 6. A second visit with new labs; the trend and the comparison.
    _visit(anna, client_url, later, "0,78", first=False)
    anna.goto(client_url)
    charts = anna.locator("svg")
    assert charts.count() >= 1
    chart = anna.locator("svg", has_text=re.compile("magnesium", re.I)).first
    # both visits' serum magnesium: 0.78 inside the reference band (a circle), 0.62 below it
    # (a triangle, so that it is not told by colour alone)
    assert chart.locator(".point").count() == 2
    assert chart.locator(".point.outside").count() == 1
    anna.set_viewport_size({"width": 1280, "height": 900})
    shoot(anna, "practice-client")
    anna.get_by_role("link", name="De laatste twee consulten vergelijken").click()
    comparison = anna.locator("main").inner_text()
    assert "0,62" in comparison and "0,78" in comparison
    shoot(anna, "practice-compare")

    # 7. The second practitioner cannot see the client or the visit.
    bob = _tab(browser, base)
    _login(bob, BOB, "bob-wachtwoord-2026", practice["bob_secret"], used)
    assert bob.goto(client_path).status == 404
    assert bob.goto(urlparse(first).path).status == 404
    expect(bob.locator("main")).not_to_contain_text("Jansen")

    # 8. Export (GDPR): a zip with the records and the handout PDFs.
    with anna.expect_download() as download:
        anna.goto(client_url)
        anna.get_by_role("link", name="Exporteren (AVG)").click()
    archive = zipfile.ZipFile(io.BytesIO(Path(download.value.path()).read_bytes()))
    names = archive.namelist()
    assert sum(n.endswith(".pdf") for n in names) == 2
    assert any(
        "Jansen" in archive.read(n).decode("utf-8", "replace") for n in names if n.endswith(".json")
    )

    # 8b. Who viewed the file (the client's right to the list), at phone width; and the
    # admin's audit log with a filter: readable at 390 px, nothing wider than the screen.
    anna.set_viewport_size({"width": 390, "height": 900})
    anna.goto(client_url)
    anna.get_by_role("link", name="Wie heeft dit dossier bekeken").click()
    access = anna.locator("table.access")
    assert access.locator("tbody tr").count() >= 3  # the visits, the export, ...
    expect(access).to_contain_text(ANNA)
    assert anna.evaluate("document.documentElement.scrollWidth") <= 390
    shoot(anna, "practice-access-history")
    admin.set_viewport_size({"width": 390, "height": 900})
    admin.goto("/admin/audit")
    admin.locator("#f-code").fill("visit.")
    admin.get_by_role("button", name="Tonen").click()
    records = admin.locator("ol.audit > li")
    assert records.count() >= 2
    actions = records.locator(".audit-row dd:nth-of-type(2) code").all_inner_texts()
    assert actions and all(code.startswith("visit.") for code in actions), actions
    assert admin.evaluate("document.documentElement.scrollWidth") <= 390
    shoot(admin, "practice-audit-log")
    admin.get_by_role("button", name="Controleer de keten").click()
    expect(admin.locator("[data-chain]")).to_have_attribute("data-chain", "intact")

    # 9. Erasure: the WGBO warning, confirmation and a reason; the client is gone.
    anna.goto(client_url)
    anna.get_by_role("link", name="Wissen").click()
    expect(anna.locator("main")).to_contain_text("WGBO")
    anna.locator("#f-reason").fill("Verzoek van de cliënt, schriftelijk ontvangen")
    anna.locator("#f-confirm").check()
    anna.get_by_role("button", name="Wissen").click()  # without the WGBO confirmation: refused
    expect(anna.locator("#f-reason")).to_have_value("Verzoek van de cliënt, schriftelijk ontvangen")
    assert anna.goto(client_path).status == 200
    anna.get_by_role("link", name="Wissen").click()
    anna.locator("#f-reason").fill("Verzoek van de cliënt, schriftelijk ontvangen")
    anna.locator("#f-confirm_retention").check()
    anna.locator("#f-confirm").check()
    anna.get_by_role("button", name="Wissen").click()
    assert anna.goto(client_path).status == 404
    anna.goto("/clients")
    expect(anna.locator("main")).not_to_contain_text("Jansen")

    # 10. The audit log is intact, and a deleted row is found.
    verified = _cli(env, "audit", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    _delete_an_audit_row(practice["url"])
    broken = _cli(env, "audit", "verify")
    assert broken.returncode == 1, broken.stdout + broken.stderr
    for tab in (admin, anna, bob):
        tab.context.close()


def _delete_an_audit_row(url: str) -> None:
    """What an attacker with the owner's rights could do: drop the trigger, delete a row."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
        else:
            connection.execute(text("DROP TRIGGER audit_events_no_delete"))
        connection.execute(
            text("DELETE FROM audit_events WHERE seq = (SELECT MIN(seq) + 3 FROM audit_events)")
        )
    engine.dispose()
