"""Helpers for tests that need logged-in users: an app on a test database with a clock, users
made directly in the database, and a login through the real pages (password, then TOTP).

    app, clock = records_app(engine)
    secret = make_user(engine, "anna@zuid.example", "practitioner", "Praktijk Zuid")
    client = TestClient(app)
    login(client, clock, "anna@zuid.example", secret)   # client now has a full session
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pyotp
from cryptography.fernet import Fernet, MultiFernet
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from mgadvisor.records import accounts
from mgadvisor.records.database import session_scope
from mgadvisor.web.app import create_app
from mgadvisor.web.auth import use_records
from mgadvisor.web.settings import WebSettings

PASSWORD = "correct horse battery staple"
KEY = base64.urlsafe_b64encode(b"k" * 32).decode()  # MGADVISOR_RECORDS_KEY of the tests
START = datetime(2026, 12, 1, 9, 0, 0, tzinfo=UTC)


def cipher() -> MultiFernet:
    return MultiFernet([Fernet(KEY.encode())])


@dataclass
class Clock:
    """A clock the test moves: `clock.advance(minutes=16)`."""

    now: datetime = field(default=START)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def records_app(engine: Engine) -> tuple[FastAPI, Clock]:
    """The web app on `engine` (migrated), with a test clock."""
    app = create_app(WebSettings(secret=b"test-secret-" * 3))
    use_records(app, engine, cipher())
    clock = Clock()
    app.state.clock = clock
    return app, clock


def make_user(
    engine: Engine,
    email: str,
    role: str = "practitioner",
    practice: str = "Praktijk Zuid",
    *,
    enrolled: bool = True,
    password: str = PASSWORD,
) -> str:
    """A user (practice made when missing); returns the TOTP secret. `enrolled`: the second
    factor is confirmed already (else the first login goes to the enrolment page)."""
    with session_scope(engine) as session:
        place = accounts.practice_named(session, practice, create=True)
        assert place is not None
        user, secret = accounts.create_user(
            session, place, email, role, password, accounts.system_actor(), cipher()
        )
        if enrolled:
            user.totp_confirmed_at = START - timedelta(days=1)
    return secret


def csrf(client: TestClient) -> str:
    """The form token of the client's CSRF cookie (from a page's hidden field)."""
    page = client.get("/login")
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, page.text[:500]
    return found.group(1)


def code_at(secret: str, when: datetime) -> str:
    return pyotp.TOTP(secret).at(when)


def login(
    client: TestClient,
    clock: Clock,
    email: str,
    secret: str,
    password: str = PASSWORD,
    next_path: str = "/account",
) -> str:
    """Log in through /login and /login/totp; returns where the login sent the browser."""
    token = csrf(client)
    first = client.post(
        "/login",
        data={"csrf_token": token, "email": email, "password": password, "next": next_path},
        follow_redirects=False,
    )
    assert first.status_code == 303, first.text[:500]
    assert first.headers["location"].startswith("/login/totp")
    second = client.post(
        "/login/totp",
        data={"csrf_token": token, "code": code_at(secret, clock()), "next": next_path},
        follow_redirects=False,
    )
    assert second.status_code == 303, second.text[:500]
    clock.advance(seconds=30)  # the next login's code is of a new time step
    return str(second.headers["location"])
