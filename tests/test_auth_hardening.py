"""Findings of the security review on the login, on SQLite and PostgreSQL through the real app:
a temporary password from an admin is changed at the first login (before the enrolment), a
locked account answers like a wrong password, a token or new recovery codes need the password
and a TOTP code, wrong current passwords on /account count towards the lock-out, and a password
change ends the other sessions and the tokens."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from auth_support import PASSWORD, Clock, code_at, csrf, login, make_user, records_app
from mgadvisor.records import accounts
from mgadvisor.records.database import make_engine, session_scope, upgrade
from mgadvisor.records.models import AuditEvent, User


@pytest.fixture
def engine(records_url: str) -> Iterator[Engine]:
    engine = make_engine(records_url)
    upgrade(engine)
    yield engine
    engine.dispose()


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

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:  # noqa: A002
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
