"""Findings of the security review on the login, on SQLite and PostgreSQL through the real app:
a temporary password from an admin is changed at the first login (before the enrolment), a
locked account answers like a wrong password, a token or new recovery codes need the password
and a TOTP code, wrong current passwords on /account count towards the lock-out, and a password
change ends the other sessions and the tokens."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from auth_support import PASSWORD, Clock, code_at, csrf, login, make_user, records_app
from mgadvisor.records import accounts
from mgadvisor.records.database import session_scope
from mgadvisor.records.models import AuditEvent, User


@pytest.fixture
def site(engine: Engine) -> tuple[FastAPI, Clock]:
    return records_app(engine)


def _count(engine: Engine, code: str, outcome: str | None = None) -> int:
    with session_scope(engine) as session:
        query = select(func.count()).select_from(AuditEvent).where(AuditEvent.event_code == code)
        if outcome is not None:
            query = query.where(AuditEvent.outcome == outcome)
        return int(session.scalar(query) or 0)


def _user(engine: Engine, email: str) -> dict[str, Any]:
    with session_scope(engine) as session:
        user = session.scalar(select(User).where(User.email == email))
        assert user is not None
        return {
            "id": user.id,
            "must_change_password": user.must_change_password,
            "failed_logins": user.failed_logins,
            "locked_until": user.locked_until,
        }


def _form_error(html: str) -> str:
    found = re.search(r'<p class="error" role="alert" id="e-form">([^<]+)</p>', html)
    assert found, html[:500]
    return found.group(1)


class CountingHasher(PasswordHasher):
    """The real Argon2 hasher, counting its verifications."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        self.calls += 1
        return super().verify(hash, password)


# -- finding 6: a locked account answers like a wrong password -------------------------------


def test_a_locked_account_answers_like_an_unknown_one_and_runs_argon2(
    site: tuple[FastAPI, Clock], engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, _ = site
    make_user(engine, "anna@zuid.example")
    client = TestClient(app)
    token = csrf(client)
    form = {"csrf_token": token, "email": "anna@zuid.example", "password": "not the password"}
    for _ in range(accounts.MAX_FAILURES):
        assert client.post("/login", data=form).status_code == 400
    assert _user(engine, "anna@zuid.example")["locked_until"] is not None
    unknown = client.post("/login", data={**form, "email": "nobody@zuid.example"})
    hasher = CountingHasher()
    monkeypatch.setattr(accounts, "_hasher", hasher)
    locked = client.post("/login", data={**form, "password": PASSWORD})
    assert locked.status_code == unknown.status_code == 400
    assert _form_error(locked.text) == _form_error(unknown.text)
    assert hasher.calls == 1  # as long as a wrong password
    assert _count(engine, "auth.login_failed", "denied") == 1  # the log says it was locked
    body = {"email": "anna@zuid.example", "password": PASSWORD, "totp": "123456"}
    api_locked = client.post("/api/v1/auth/token", json=body)
    api_unknown = client.post("/api/v1/auth/token", json={**body, "email": "nobody@zuid.example"})
    assert api_locked.status_code == api_unknown.status_code == 401
    assert api_locked.json() == api_unknown.json()


# -- finding 3: a token needs the password and a code, lives at most 90 days; a password change
# ends the other sessions and the tokens -----------------------------------------------------


def _secret_code(html: str) -> str:
    found = re.search(r'<code class="secret">(mga_[^<]+)</code>', html)
    assert found, html[:500]
    return found.group(1)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_token_needs_password_and_code_and_lives_at_most_90_days(
    site: tuple[FastAPI, Clock], engine: Engine
) -> None:
    app, clock = site
    secret = make_user(engine, "anna@zuid.example")
    client = TestClient(app)
    login(client, clock, "anna@zuid.example", secret)
    token = csrf(client)
    form = {"csrf_token": token, "name": "Excel", "days": ""}
    bare = client.post("/account/tokens", data=form)
    assert (
        bare.status_code == 400 and "mga_" not in bare.text and 'id="e-token_password"' in bare.text
    )
    no_code = client.post("/account/tokens", data={**form, "token_password": PASSWORD})
    assert no_code.status_code == 400 and 'id="e-token_code"' in no_code.text
    code = code_at(secret, clock())
    again = {"token_password": PASSWORD, "token_code": code}
    too_long = client.post("/account/tokens", data={**form, **again, "days": "91"})
    assert too_long.status_code == 400 and 'id="e-days"' in too_long.text
    made = client.post("/account/tokens", data={**form, **again})
    assert made.status_code == 200
    listed = client.get("/api/v1/auth/tokens", headers=_bearer(_secret_code(made.text))).json()
    expires = listed[0]["expires_at"]
    assert expires.startswith((clock() + timedelta(days=90)).date().isoformat())
    replayed = client.post("/account/tokens", data={**form, **again})  # the same code again
    assert replayed.status_code == 400 and 'id="e-token_code"' in replayed.text
    assert _count(engine, "auth.login_failed", "failure") == 3  # no password, no code, replay
    # the API: at most 90 days, 90 without a number
    clock.advance(seconds=30)
    body = {"email": "anna@zuid.example", "password": PASSWORD, "totp": code_at(secret, clock())}
    access = client.post("/api/v1/auth/token", json=body).json()["access_token"]
    long = client.post(
        "/api/v1/auth/tokens", json={"name": "x", "expires_in_days": 91}, headers=_bearer(access)
    )
    assert long.status_code == 422 and long.json()["errors"][0]["loc"][-1] == "expires_in_days"
    default = client.post("/api/v1/auth/tokens", json={"name": "x"}, headers=_bearer(access))
    assert default.status_code == 201
    assert default.json()["expires_at"].startswith(expires[:10])


def test_a_password_change_ends_other_sessions_and_the_tokens(
    site: tuple[FastAPI, Clock], engine: Engine
) -> None:
    app, clock = site
    secret = make_user(engine, "anna@zuid.example")
    here, there = TestClient(app), TestClient(app)
    login(here, clock, "anna@zuid.example", secret)
    login(there, clock, "anna@zuid.example", secret)
    token = csrf(here)
    again = {"token_password": PASSWORD, "token_code": code_at(secret, clock())}
    made = here.post("/account/tokens", data={"csrf_token": token, "name": "sync", **again})
    personal = _secret_code(made.text)
    clock.advance(seconds=30)
    body = {"email": "anna@zuid.example", "password": PASSWORD, "totp": code_at(secret, clock())}
    access = here.post("/api/v1/auth/token", json=body).json()["access_token"]
    for bearer in (personal, access):
        assert here.get("/api/v1/auth/tokens", headers=_bearer(bearer)).status_code == 200
    new = "a brand new passphrase"
    same = {"csrf_token": token, "current": PASSWORD, "new": PASSWORD, "repeat": PASSWORD}
    refused = here.post("/account/password", data=same)
    assert refused.status_code == 400 and 'id="e-new"' in refused.text
    form = {"csrf_token": token, "current": PASSWORD, "new": new, "repeat": new}
    assert here.post("/account/password", data=form).status_code == 200
    assert here.get("/account", follow_redirects=False).status_code == 200  # this one stays
    assert there.get("/account", follow_redirects=False).status_code == 303  # the other ended
    for bearer in (personal, access):
        assert here.get("/api/v1/auth/tokens", headers=_bearer(bearer)).status_code == 401


# -- finding 7: wrong current passwords on /account count and are audited; new recovery codes
# need a code ----------------------------------------------------------------------------------


@pytest.mark.parametrize("form", ["password", "recovery-codes"])
def test_wrong_current_passwords_on_the_account_page_lock_the_account(
    site: tuple[FastAPI, Clock], engine: Engine, form: str
) -> None:
    app, clock = site
    secret = make_user(engine, "anna@zuid.example")
    client = TestClient(app)
    login(client, clock, "anna@zuid.example", secret)
    token = csrf(client)
    field = "current" if form == "password" else "codes_password"
    data = {"csrf_token": token, field: "not the password", "new": "x" * 20, "repeat": "x" * 20}
    for _ in range(accounts.MAX_FAILURES):
        wrong = client.post(f"/account/{form}", data=data)
        assert wrong.status_code == 400 and f'id="e-{field}"' in wrong.text
    assert _user(engine, "anna@zuid.example")["locked_until"] is not None
    assert _count(engine, "auth.login_failed", "failure") == accounts.MAX_FAILURES
    # locked: the right password does not help either, and the login is refused
    right = {**data, field: PASSWORD, "codes_code": code_at(secret, clock())}
    assert client.post(f"/account/{form}", data=right).status_code == 400
    assert _count(engine, "auth.login_failed", "denied") == 1
    other = TestClient(app)
    form_login = {"csrf_token": csrf(other), "email": "anna@zuid.example", "password": PASSWORD}
    assert other.post("/login", data=form_login, follow_redirects=False).status_code == 400


def test_new_recovery_codes_need_a_code_of_the_app(
    site: tuple[FastAPI, Clock], engine: Engine
) -> None:
    app, clock = site
    secret = make_user(engine, "anna@zuid.example")
    client = TestClient(app)
    login(client, clock, "anna@zuid.example", secret)
    data = {"csrf_token": csrf(client), "codes_password": PASSWORD}
    refused = client.post("/account/recovery-codes", data={**data, "codes_code": "000000x"})
    assert refused.status_code == 400 and 'id="e-codes_code"' in refused.text
    assert not re.findall(r"<li><code>[0-9a-f-]{23}</code></li>", refused.text)
    made = client.post(
        "/account/recovery-codes", data={**data, "codes_code": code_at(secret, clock())}
    )
    assert len(re.findall(r"<li><code>[0-9a-f-]{23}</code></li>", made.text)) == 10
    assert _count(engine, "auth.recovery_codes") == 1
    assert _count(engine, "auth.login_failed", "failure") == 1


# -- finding 1: a temporary password from an admin is replaced before the enrolment -----------


def _made_by_admin(app: FastAPI, clock: Clock, engine: Engine) -> tuple[TestClient, str, str]:
    """An admin (logged in) makes bram@zuid.example: (admin client, its csrf, temporary)."""
    admin_secret = make_user(engine, "admin@zuid.example", "admin")
    admin = TestClient(app)
    login(admin, clock, "admin@zuid.example", admin_secret)
    token = csrf(admin)
    made = admin.post("/admin/users", data={"csrf_token": token, "email": "bram@zuid.example"})
    found = re.search(r'<code class="secret">([^<]+)</code>', made.text)
    assert made.status_code == 200 and found
    return admin, token, found.group(1)


def _first_step(client: TestClient, token: str, password: str) -> str:
    form = {"csrf_token": token, "email": "bram@zuid.example", "password": password}
    response = client.post("/login", data=form, follow_redirects=False)
    assert response.status_code == 303, response.text[:300]
    return str(response.headers["location"])


def test_a_temporary_password_is_changed_before_the_enrolment(
    site: tuple[FastAPI, Clock], engine: Engine
) -> None:
    app, clock = site
    _, _, temporary = _made_by_admin(app, clock, engine)
    assert _user(engine, "bram@zuid.example")["must_change_password"]
    bram = TestClient(app)
    token = csrf(bram)
    assert _first_step(bram, token, temporary).startswith("/login/password")
    # no enrolment, no second step, no page with the temporary password alone
    for path in ("/login/enrol", "/login/totp", "/account"):
        response = bram.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/login")
    enrol = bram.post("/login/enrol", data={"csrf_token": token, "code": "123456"})
    assert "/login/enrol" not in str(enrol.url)
    api = bram.post(
        "/api/v1/auth/token",
        json={"email": "bram@zuid.example", "password": temporary, "totp": "123456"},
    )
    assert api.status_code == 403 and api.json()["errors"][0]["loc"] == ["body", "password"]
    assert _first_step(bram, token, temporary).startswith("/login/password")
    assert bram.get("/login/password").status_code == 200
    form = {"csrf_token": token, "new": temporary, "repeat": temporary}
    same = bram.post("/login/password", data=form)
    assert same.status_code == 400 and 'id="e-new"' in same.text
    short = bram.post("/login/password", data={**form, "new": "short", "repeat": "short"})
    assert short.status_code == 400 and 'id="e-new"' in short.text
    new = "bram's own passphrase"
    mismatch = bram.post("/login/password", data={**form, "new": new, "repeat": new + "!"})
    assert mismatch.status_code == 400 and 'id="e-repeat"' in mismatch.text
    done = bram.post(
        "/login/password", data={**form, "new": new, "repeat": new}, follow_redirects=False
    )
    assert done.status_code == 303 and done.headers["location"].startswith("/login/enrol")
    page = bram.get(done.headers["location"])
    found = re.search(r'class="secret"[^>]*>([^<]+)<', page.text)
    assert page.status_code == 200 and found
    secret = found.group(1).replace(" ", "")
    enrolled = bram.post(
        "/login/enrol", data={"csrf_token": token, "code": code_at(secret, clock())}
    )
    assert enrolled.status_code == 200 and bram.get("/account").status_code == 200
    assert not _user(engine, "bram@zuid.example")["must_change_password"]
    assert _count(engine, "auth.password_change") == 1
    # the temporary password is gone
    other = TestClient(app)
    form_login = {"csrf_token": csrf(other), "email": "bram@zuid.example", "password": temporary}
    assert other.post("/login", data=form_login, follow_redirects=False).status_code == 400


def test_a_reset_by_the_admin_asks_for_a_new_password_and_ends_sessions(
    site: tuple[FastAPI, Clock], engine: Engine
) -> None:
    app, clock = site
    admin, admin_token, temporary = _made_by_admin(app, clock, engine)
    bram = TestClient(app)
    token = csrf(bram)
    _first_step(bram, token, temporary)
    new = "bram's own passphrase"
    form = {"csrf_token": token, "new": new, "repeat": new}
    bram.post("/login/password", data=form, follow_redirects=False)
    secret = re.search(r'class="secret"[^>]*>([^<]+)<', bram.get("/login/enrol").text)
    assert secret
    code = code_at(secret.group(1).replace(" ", ""), clock())
    bram.post("/login/enrol", data={"csrf_token": token, "code": code})
    assert bram.get("/account", follow_redirects=False).status_code == 200
    bram_id = _user(engine, "bram@zuid.example")["id"]
    reset = admin.post(f"/admin/users/{bram_id}/reset-2fa", data={"csrf_token": admin_token})
    assert reset.status_code == 200
    assert _user(engine, "bram@zuid.example")["must_change_password"]
    assert bram.get("/account", follow_redirects=False).status_code == 303  # session ended
    # neither the admin's first temporary password nor Bram's own works any more (whoever
    # knew it cannot enrol a phone of their own); the new temporary password, shown once to
    # the admin, asks for a new password first
    fresh = re.search(r'class="secret"[^>]*>([^<]+)<', reset.text)
    assert fresh and fresh.group(1) not in (temporary, new)
    other = TestClient(app)
    other_token = csrf(other)
    for old in (temporary, new):
        refused = {"csrf_token": other_token, "email": "bram@zuid.example", "password": old}
        assert other.post("/login", data=refused, follow_redirects=False).status_code == 400
        clock.advance(seconds=1)
    assert _first_step(other, other_token, fresh.group(1)).startswith("/login/password")
    assert other.get("/login/enrol", follow_redirects=False).status_code == 303
