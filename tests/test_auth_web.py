"""The login pages on SQLite and PostgreSQL through the real app: first-run set-up, password
then TOTP, enrolment, session cookie and its flags, expiry, logout, open redirects, roles."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from auth_support import PASSWORD, Clock, code_at, csrf, login, make_user, records_app
from mgadvisor.records.database import session_scope
from mgadvisor.records.models import AuditEvent, User, WebSession
from mgadvisor.web.auth import Principal, practitioner_page_user
from mgadvisor.web.first_run import setup_code


@pytest.fixture
def site(engine: Engine) -> tuple[FastAPI, Clock]:
    app, clock = records_app(engine)

    @app.get("/test-practitioner")
    def only_practitioners(
        principal: Annotated[Principal, Depends(practitioner_page_user)],
    ) -> dict[str, str]:
        return {"role": principal.role}

    return app, clock


def _count(engine: Engine, code: str) -> int:
    with session_scope(engine) as session:
        query = select(func.count()).select_from(AuditEvent).where(AuditEvent.event_code == code)
        return int(session.scalar(query) or 0)


def test_setup_is_404_without_the_code_and_after_first_use(
    site: tuple[FastAPI, Clock], engine: Engine
) -> None:
    app, _ = site
    client = TestClient(app)
    assert client.get("/setup").status_code == 404
    assert client.get("/setup?code=guessed").status_code == 404
    code = setup_code(app)
    assert code and client.get(f"/setup?code={code}").status_code == 200
    token = csrf(client)
    form = {
        "csrf_token": token,
        "code": code,
        "practice": "Praktijk Zuid",
        "email": "admin@zuid.example",
        "password": PASSWORD,
        "repeat": PASSWORD + "x",
    }
    mismatch = client.post("/setup", data=form)
    assert mismatch.status_code == 400 and "admin@zuid.example" in mismatch.text
    assert 'value="Praktijk Zuid"' in mismatch.text  # what was typed is kept …
    assert PASSWORD not in mismatch.text  # … but not the password
    done = client.post("/setup", data={**form, "repeat": PASSWORD}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"].startswith("/login")
    assert client.get(f"/setup?code={code}").status_code == 404
    assert client.post("/setup", data={**form, "repeat": PASSWORD}).status_code == 404
    assert setup_code(app) is None
    with session_scope(engine) as session:
        admin = session.scalar(select(User))
        assert admin is not None and admin.role == "admin" and admin.totp_confirmed_at is None
    assert _count(engine, "user.create") == 1


@pytest.mark.parametrize(
    ("target", "landing"),
    [
        ("/account?tab=tokens", "/account?tab=tokens"),
        (None, "/admin/users"),  # a set-up link without a target: the admin's users
        ("https://evil.example/", "/admin/users"),  # only a local path is carried
    ],
)
def test_setup_carries_next_through_the_login_and_the_second_factor(
    site: tuple[FastAPI, Clock], target: str | None, landing: str
) -> None:
    from urllib.parse import quote

    app, clock = site
    client = TestClient(app)
    code = setup_code(app)
    query = f"&next={quote(target)}" if target is not None else ""
    form_page = client.get(f"/setup?code={code}{query}")
    found = re.search(r'name="next" value="([^"]*)"', form_page.text)
    assert found, form_page.text[:500]
    form = {
        "csrf_token": csrf(client),
        "code": code,
        "practice": "Praktijk Zuid",
        "email": "admin@zuid.example",
        "password": PASSWORD,
        "repeat": PASSWORD,
        "next": found.group(1).replace("&amp;", "&"),
    }
    done = client.post("/setup", data=form, follow_redirects=False)
    assert done.status_code == 303
    login_page = client.get(done.headers["location"])
    found = re.search(r'name="next" value="([^"]*)"', login_page.text)
    assert found
    first = client.post(
        "/login",
        data={
            "csrf_token": form["csrf_token"],
            "email": "admin@zuid.example",
            "password": PASSWORD,
            "next": found.group(1).replace("&amp;", "&"),
        },
        follow_redirects=False,
    )
    assert first.headers["location"].startswith("/login/enrol")
    enrol = client.get(first.headers["location"])
    secret = re.search(r'class="secret"[^>]*>([^<]+)<', enrol.text)
    found = re.search(r'name="next" value="([^"]*)"', enrol.text)
    assert secret and found
    codes = client.post(
        "/login/enrol",
        data={
            "csrf_token": form["csrf_token"],
            "code": code_at(secret.group(1).replace(" ", ""), clock()),
            "next": found.group(1).replace("&amp;", "&"),
        },
    )
    assert codes.status_code == 200
    assert f'href="{landing}"' in codes.text  # the recovery codes page continues there
    clock.advance(seconds=30)
    # the next login (password, then the code): the same target when asked for it
    again = login(
        TestClient(app),
        clock,
        "admin@zuid.example",
        secret.group(1).replace(" ", ""),
        next_path=target or "/",
    )
    assert again == landing


def test_first_login_enrols_then_logs_in_with_the_code(
    site: tuple[FastAPI, Clock], engine: Engine
) -> None:
    app, clock = site
    make_user(engine, "anna@zuid.example", enrolled=False)
    client = TestClient(app)
    token = csrf(client)
    first = client.post(
        "/login",
        data={"csrf_token": token, "email": "anna@zuid.example", "password": PASSWORD},
        follow_redirects=False,
    )
    assert first.headers["location"].startswith("/login/enrol")
    page = client.get(first.headers["location"])
    assert page.status_code == 200 and "<svg" in page.text and 'class="qr"' in page.text
    found = re.search(r'class="secret"[^>]*>([^<]+)<', page.text)
    assert found
    secret = found.group(1).replace(" ", "")
    wrong = client.post("/login/enrol", data={"csrf_token": token, "code": "12345"})
    assert wrong.status_code == 400 and 'aria-invalid="true"' in wrong.text
    assert client.get("/account", follow_redirects=False).status_code == 303  # not yet
    done = client.post("/login/enrol", data={"csrf_token": token, "code": code_at(secret, clock())})
    assert done.status_code == 200
    assert len(re.findall(r"<li><code>[0-9a-f-]{23}</code></li>", done.text)) == 10
    assert client.get("/account").status_code == 200
    assert _count(engine, "auth.totp_enrol") == 1 and _count(engine, "auth.login") == 1


def test_login_gives_a_new_session_id_and_logout_ends_it(
    site: tuple[FastAPI, Clock], engine: Engine
) -> None:
    app, clock = site
    secret = make_user(engine, "anna@zuid.example")
    client = TestClient(app)
    client.cookies.set("mg_session", "planted-by-an-attacker")
    token = csrf(client)
    first = client.post(
        "/login",
        data={"csrf_token": token, "email": "anna@zuid.example", "password": PASSWORD},
        follow_redirects=False,
    )
    partial = first.cookies["mg_session"]
    assert partial != "planted-by-an-attacker"
    assert client.get("/account", follow_redirects=False).status_code == 303  # password only
    second = client.post(
        "/login/totp",
        data={"csrf_token": token, "code": code_at(secret, clock()), "next": "/account"},
        follow_redirects=False,
    )
    full = second.cookies["mg_session"]
    assert second.headers["location"] == "/account" and full != partial
    page = client.get("/account")
    assert page.status_code == 200 and "anna@zuid.example" in page.text
    assert 'action="/logout"' in page.text  # the header's logout button
    out = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert out.status_code == 303
    # the server ended the session: the old cookie does not work any more
    client.cookies.set("mg_session", full)
    assert client.get("/account", follow_redirects=False).status_code == 303
    with session_scope(engine) as session:
        rows = session.scalars(select(WebSession)).all()
        assert len(rows) == 2 and all(row.ended_at is not None for row in rows)
    assert _count(engine, "auth.logout") == 1


def test_wrong_password_and_wrong_code_are_refused_and_audited(
    site: tuple[FastAPI, Clock], engine: Engine
) -> None:
    app, clock = site
    secret = make_user(engine, "anna@zuid.example")
    client = TestClient(app)
    token = csrf(client)
    data = {"csrf_token": token, "email": "anna@zuid.example", "password": "not the password"}
    bad = client.post("/login", data=data)
    assert bad.status_code == 400 and 'value="anna@zuid.example"' in bad.text
    client.post("/login", data={**data, "password": PASSWORD}, follow_redirects=False)
    code = code_at(secret, clock())
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    refused = client.post("/login/totp", data={"csrf_token": token, "code": wrong})
    assert refused.status_code == 400 and 'id="e-code"' in refused.text
    ok = client.post(
        "/login/totp", data={"csrf_token": token, "code": code}, follow_redirects=False
    )
    assert ok.status_code == 303
    assert _count(engine, "auth.login_failed") == 2 and _count(engine, "auth.login") == 1


def _code_error(page: str) -> str:
    found = re.search(r'<p class="error" id="e-code">([^<]+)</p>', page)
    assert found, page[:800]
    return found.group(1)


@pytest.mark.parametrize("lang", ["en", "nl"])
def test_a_wrong_code_says_what_to_check_and_the_lock_out_stays(
    site: tuple[FastAPI, Clock], engine: Engine, lang: str
) -> None:
    """A refused code names what to check (the 6 digits the app shows now, a new code every 30
    seconds, the phone's clock), the same words for a wrong and for a used code; the fifth
    failure still locks the account, as before."""
    from mgadvisor.records.accounts import MAX_FAILURES

    app, clock = site
    secret = make_user(engine, "anna@zuid.example")
    login(TestClient(app), clock, "anna@zuid.example", secret)  # uses one code
    clock.now -= timedelta(seconds=30)  # back within that code's step: it is a used code now
    used = code_at(secret, clock())
    client = TestClient(app, cookies={"lang": lang})
    token = csrf(client)
    form = {"csrf_token": token, "email": "anna@zuid.example", "password": PASSWORD}
    client.post(f"/login?lang={lang}", data=form, follow_redirects=False)
    replayed = client.post(f"/login/totp?lang={lang}", data={"csrf_token": token, "code": used})
    wrong = f"{(int(used) + 1) % 1_000_000:06d}"
    refused = client.post(f"/login/totp?lang={lang}", data={"csrf_token": token, "code": wrong})
    assert replayed.status_code == refused.status_code == 400
    message = _code_error(refused.text)
    assert _code_error(replayed.text) == message  # nothing about why, or about the account
    words = {
        "en": ["6-digit code", "every 30 seconds", "clock of your phone", "recovery codes"],
        "nl": ["6 cijfers", "elke 30 seconden", "klok van uw telefoon", "herstelcodes"],
    }[lang]
    assert all(word in message for word in words), message
    for _ in range(MAX_FAILURES - 3):
        last = client.post(f"/login/totp?lang={lang}", data={"csrf_token": token, "code": wrong})
        assert _code_error(last.text) == message
    locked = client.post(f"/login/totp?lang={lang}", data={"csrf_token": token, "code": wrong})
    assert _code_error(locked.text) != message and "30 seconds" not in locked.text
    clock.advance(seconds=30)  # a code not used before
    right = client.post(
        f"/login/totp?lang={lang}", data={"csrf_token": token, "code": code_at(secret, clock())}
    )
    assert right.status_code == 400  # locked: even the right code waits for the lock to end


def test_a_replayed_code_is_refused(site: tuple[FastAPI, Clock], engine: Engine) -> None:
    app, clock = site
    secret = make_user(engine, "anna@zuid.example")
    code = code_at(secret, clock())
    login(TestClient(app), clock, "anna@zuid.example", secret)
    clock.now -= timedelta(seconds=30)  # back within the code's step
    other = TestClient(app)
    token = csrf(other)
    other.post(
        "/login",
        data={"csrf_token": token, "email": "anna@zuid.example", "password": PASSWORD},
        follow_redirects=False,
    )
    replay = other.post("/login/totp", data={"csrf_token": token, "code": code})
    assert replay.status_code == 400


def test_session_idle_and_absolute_expiry(site: tuple[FastAPI, Clock], engine: Engine) -> None:
    app, clock = site
    secret = make_user(engine, "anna@zuid.example")
    client = TestClient(app)
    login(client, clock, "anna@zuid.example", secret)
    clock.advance(minutes=14)
    assert client.get("/account").status_code == 200  # and the idle timer starts again
    clock.advance(minutes=14)
    assert client.get("/account").status_code == 200
    clock.advance(minutes=15)
    gone = client.get("/account", follow_redirects=False)
    assert gone.status_code == 303 and gone.headers["location"] == "/login?next=/account"
    started = clock()
    login(client, clock, "anna@zuid.example", secret)
    for _ in range(12 * 5):  # active every 14 minutes: ends after 12 hours all the same
        clock.advance(minutes=14)
        if client.get("/account", follow_redirects=False).status_code == 303:
            break
    lived = clock() - started
    assert timedelta(hours=12) <= lived < timedelta(hours=12, minutes=14)


def test_session_limits_come_from_the_environment(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MGADVISOR_SESSION_IDLE_MINUTES", "5")
    app, clock = records_app(engine)
    secret = make_user(engine, "anna@zuid.example")
    client = TestClient(app)
    login(client, clock, "anna@zuid.example", secret)
    clock.advance(minutes=5)
    assert client.get("/account", follow_redirects=False).status_code == 303


def test_cookie_flags_over_http_and_https(site: tuple[FastAPI, Clock], engine: Engine) -> None:
    app, clock = site
    secret = make_user(engine, "anna@zuid.example")
    for base, name in (("http://testserver", "mg_session"), ("https://testserver", "__Host-")):
        client = TestClient(app, base_url=base)
        token = csrf(client)
        response = client.post(
            "/login",
            data={"csrf_token": token, "email": "anna@zuid.example", "password": PASSWORD},
            follow_redirects=False,
        )
        header = next(
            h for h in response.headers.get_list("set-cookie") if "session" in h.split("=")[0]
        )
        flags = [part.strip().lower() for part in header.split(";")]
        assert header.startswith(name) and "httponly" in flags and "path=/" in flags
        assert "samesite=strict" in flags and not any(f.startswith("domain") for f in flags)
        assert ("secure" in flags) == base.startswith("https")
        assert "max-age" not in header.lower()  # a browser session cookie
    del secret, clock


@pytest.mark.parametrize(
    "target",
    ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"],
)
def test_next_must_be_a_local_path(
    site: tuple[FastAPI, Clock], engine: Engine, target: str
) -> None:
    app, clock = site
    secret = make_user(engine, "anna@zuid.example")
    # a foreign target is replaced by the practitioner's own start page, the follow-up list
    landed = login(TestClient(app), clock, "anna@zuid.example", secret, next_path=target)
    assert landed == "/practice"


def test_a_login_without_a_target_ends_on_the_users_start_page(
    site: tuple[FastAPI, Clock], engine: Engine
) -> None:
    app, clock = site
    anna = make_user(engine, "anna@zuid.example")
    admin = make_user(engine, "beheer@zuid.example", "admin")
    assert login(TestClient(app), clock, "anna@zuid.example", anna, next_path="/") == "/practice"
    assert login(TestClient(app), clock, "beheer@zuid.example", admin, next_path="/") == (
        "/admin/users"
    )
    clock.advance(seconds=30)  # a new TOTP code: the last one may not be used twice
    assert login(TestClient(app), clock, "anna@zuid.example", anna, next_path="/clients") == (
        "/clients"
    )


def test_pages_need_a_login_and_keep_where_to_go(site: tuple[FastAPI, Clock]) -> None:
    app, _ = site
    client = TestClient(app)
    response = client.get("/admin/users?x=1", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/admin/users%3Fx%3D1"
    assert client.get("/").status_code == 200  # the intake stays open


def test_an_admin_gets_403_on_practitioner_pages_and_the_reverse(
    site: tuple[FastAPI, Clock], engine: Engine
) -> None:
    app, clock = site
    admin_secret = make_user(engine, "admin@zuid.example", "admin")
    anna_secret = make_user(engine, "anna@zuid.example")
    admin = TestClient(app)
    login(admin, clock, "admin@zuid.example", admin_secret)
    assert admin.get("/test-practitioner").status_code == 403
    assert admin.get("/admin/users").status_code == 200
    anna = TestClient(app)
    login(anna, clock, "anna@zuid.example", anna_secret)
    assert anna.get("/test-practitioner").json() == {"role": "practitioner"}
    assert anna.get("/admin/users").status_code == 403


def test_admin_creates_disables_and_resets_a_practitioner(
    site: tuple[FastAPI, Clock], engine: Engine
) -> None:
    app, clock = site
    admin_secret = make_user(engine, "admin@zuid.example", "admin")
    make_user(engine, "carla@noord.example", practice="Praktijk Noord")
    admin = TestClient(app)
    login(admin, clock, "admin@zuid.example", admin_secret)
    token = csrf(admin)
    bad = admin.post("/admin/users", data={"csrf_token": token, "email": "not an address"})
    assert bad.status_code == 400 and 'value="not an address"' in bad.text
    made = admin.post("/admin/users", data={"csrf_token": token, "email": "Bram@Zuid.example"})
    assert made.status_code == 200
    found = re.search(r'<code class="secret">([^<]+)</code>', made.text)
    assert found
    temporary = found.group(1)
    assert "carla@noord.example" not in made.text  # only the admin's own practice
    with session_scope(engine) as session:
        bram = session.scalar(select(User).where(User.email == "bram@zuid.example"))
        carla = session.scalar(select(User).where(User.email == "carla@noord.example"))
        assert bram is not None and carla is not None
        bram_id, carla_id = bram.id, carla.id
    # Bram's first login asks for a password of his own (then the enrolment)
    bram_client = TestClient(app)
    bram_token = csrf(bram_client)
    first = bram_client.post(
        "/login",
        data={"csrf_token": bram_token, "email": "bram@zuid.example", "password": temporary},
        follow_redirects=False,
    )
    assert first.headers["location"].startswith("/login/password")
    other = admin.post(f"/admin/users/{carla_id}/disable", data={"csrf_token": token})
    assert other.status_code == 400  # another practice's user
    assert (
        admin.post(f"/admin/users/{bram_id}/disable", data={"csrf_token": token}).status_code == 200
    )
    assert (
        admin.post(f"/admin/users/{bram_id}/reset-2fa", data={"csrf_token": token}).status_code
        == 200
    )
    with session_scope(engine) as session:
        bram = session.get(User, bram_id)
        carla = session.get(User, carla_id)
        assert bram is not None and bram.disabled and carla is not None and not carla.disabled
    assert _count(engine, "user.create") == 3 and _count(engine, "user.disable") == 1
    assert _count(engine, "user.reset_2fa") == 1


def test_personal_token_is_shown_once_and_stored_hashed(
    site: tuple[FastAPI, Clock], engine: Engine
) -> None:
    app, clock = site
    secret = make_user(engine, "anna@zuid.example")
    client = TestClient(app)
    login(client, clock, "anna@zuid.example", secret)
    token = csrf(client)
    bad = client.post("/account/tokens", data={"csrf_token": token, "name": "x", "days": "0"})
    assert bad.status_code == 400 and 'id="e-days"' in bad.text
    again = {"token_password": PASSWORD, "token_code": code_at(secret, clock())}
    form = {"csrf_token": token, "name": "Excel", "days": "30", **again}
    made = client.post("/account/tokens", data=form)
    found = re.search(r'<code class="secret">(mga_[^<]+)</code>', made.text)
    assert made.status_code == 200 and found
    bearer = found.group(1)
    page = client.get("/account")
    assert "Excel" in page.text and bearer not in page.text
    with session_scope(engine) as session:
        assert bearer not in str(session.execute(select(User)).all())
    api = TestClient(app).get("/api/v1/auth/tokens", headers={"Authorization": f"Bearer {bearer}"})
    assert api.status_code == 200 and api.json()[0]["name"] == "Excel"
    token_id = api.json()[0]["id"]
    revoked = client.post(f"/account/tokens/{token_id}/revoke", data={"csrf_token": token})
    assert revoked.status_code == 200 and "Excel" in revoked.text
    again = TestClient(app).get(
        "/api/v1/auth/tokens", headers={"Authorization": f"Bearer {bearer}"}
    )
    assert again.status_code == 401
    assert _count(engine, "auth.token") == 2


def test_account_page_changes_the_password_and_makes_recovery_codes(
    site: tuple[FastAPI, Clock], engine: Engine
) -> None:
    app, clock = site
    secret = make_user(engine, "anna@zuid.example")
    client = TestClient(app)
    login(client, clock, "anna@zuid.example", secret)
    token = csrf(client)
    wrong = client.post(
        "/account/recovery-codes", data={"csrf_token": token, "codes_password": "not it"}
    )
    assert wrong.status_code == 400 and 'id="e-codes_password"' in wrong.text
    again = {"codes_password": PASSWORD, "codes_code": code_at(secret, clock())}
    codes = client.post("/account/recovery-codes", data={"csrf_token": token, **again})
    clock.advance(seconds=30)  # that code is used; the next login takes the next one
    assert len(re.findall(r"<li><code>[0-9a-f-]{23}</code></li>", codes.text)) == 10
    new = "a brand new passphrase"
    form = {"csrf_token": token, "current": PASSWORD, "new": new, "repeat": new + "!"}
    assert client.post("/account/password", data=form).status_code == 400
    short = {**form, "new": "short", "repeat": "short"}
    refused = client.post("/account/password", data=short)
    assert refused.status_code == 400 and 'id="e-new"' in refused.text
    assert client.post("/account/password", data={**form, "repeat": new}).status_code == 200
    client.post("/logout", data={"csrf_token": token})
    assert login(client, clock, "anna@zuid.example", secret, password=new) == "/account"
    assert _count(engine, "auth.password_change") == 1
    assert _count(engine, "auth.recovery_codes") == 1


def test_start_migrates_sqlite_and_refuses_postgresql_behind(
    records_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from auth_support import KEY
    from mgadvisor.records.database import current, head
    from mgadvisor.web.app import create_app
    from mgadvisor.web.first_run import start

    monkeypatch.setenv("MGADVISOR_DATABASE_URL", records_url)
    monkeypatch.setenv("MGADVISOR_RECORDS_KEY", KEY)
    monkeypatch.setenv("MGADVISOR_LANG", "en")  # the console's language (Dutch: test_records_cli)
    app = create_app()
    if records_url.startswith("sqlite"):
        start(app)
        assert current(app.state.records_engine) == head()
        err = capsys.readouterr().err
        assert f"/setup?code={app.state.setup_code}" in err
        app.state.records_engine.dispose()
        return
    with pytest.raises(SystemExit):
        start(app)
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "run 'mgadvisor db upgrade'" in lines[0]


@pytest.mark.parametrize("lang", ["en", "nl"])
def test_the_setup_line_at_start_is_a_full_link(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], lang: str
) -> None:
    """`mgadvisor serve` / `make run` print the set-up link with host and port (a terminal
    makes it clickable), in either language."""
    from auth_support import KEY
    from mgadvisor.web.first_run import start
    from mgadvisor.web.server import config
    from mgadvisor.web.settings import WebSettings

    monkeypatch.setenv("MGADVISOR_DATABASE_URL", f"sqlite:///{tmp_path / 'records.db'}")
    monkeypatch.setenv("MGADVISOR_RECORDS_KEY", KEY)
    monkeypatch.setenv("MGADVISOR_LANG", lang)
    app = config(WebSettings(secret=b"test-secret-" * 3), "0.0.0.0", 8123).app
    start(app)
    try:
        link = f"http://127.0.0.1:8123/setup?code={app.state.setup_code}"
        assert re.search(rf"(^|\s){re.escape(link)}(\s|$)", capsys.readouterr().err)
    finally:
        app.state.records_engine.dispose()


def test_a_live_update_without_login_sends_the_page_to_the_login(
    site: tuple[FastAPI, Clock],
) -> None:
    app, _ = site
    response = TestClient(app).get("/account", headers={"HX-Request": "true"})
    assert response.status_code == 401 and response.headers["hx-redirect"] == "/login?next=/account"
