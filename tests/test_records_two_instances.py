"""More than one machine (issue 13 §1): the app keeps no login state of its own (sessions and
tokens are rows in the database), so two `mgadvisor serve` processes on one database are
interchangeable: a login on one works on the other, a logout on one ends the session on both.

On PostgreSQL both servers connect as a login role in `mgadvisor_app` (owning no table, under
row-level security), as in production; on SQLite both open the same file.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pyotp
import pytest
import requests
from sqlalchemy import Engine

from auth_support import PASSWORD, START, cipher
from mgadvisor.records import accounts
from mgadvisor.records.database import make_engine, session_scope, upgrade
from server_support import app_role_url, server

EMAIL = "anna@zuid.example"


@pytest.fixture
def app_url(records_url: str) -> Iterator[str]:
    """The database migrated by its owner; the URL the app uses (PostgreSQL: the app role)."""
    owner = make_engine(records_url)
    upgrade(owner)
    owner.dispose()
    with app_role_url(records_url) as url:
        yield url


def _practitioner(records_url: str) -> tuple[str, list[str]]:
    """Anna, with her second factor set up; returns her TOTP secret and recovery codes."""
    engine: Engine = make_engine(records_url)
    try:
        with session_scope(engine) as session:
            place = accounts.practice_named(session, "Praktijk Zuid", create=True)
            assert place is not None
            user, secret = accounts.create_user(
                session, place, EMAIL, "practitioner", PASSWORD, accounts.system_actor(), cipher()
            )
            user.totp_confirmed_at = START
            codes = accounts.new_recovery_codes(session, user)
        return secret, codes
    finally:
        engine.dispose()


def _get(browser: requests.Session, url: str) -> requests.Response:
    return browser.get(url, allow_redirects=False, timeout=30)


def _post(browser: requests.Session, url: str, **kwargs: object) -> requests.Response:
    return browser.post(url, allow_redirects=False, timeout=30, **kwargs)  # type: ignore[arg-type]


def _csrf(browser: requests.Session, base: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', _get(browser, base + "/login").text)
    assert found
    return found.group(1)


def _web_login(browser: requests.Session, base: str, secret: str) -> None:
    token = _csrf(browser, base)
    form = {"csrf_token": token, "email": EMAIL, "password": PASSWORD}
    first = _post(browser, base + "/login", data=form)
    assert first.status_code == 303 and "/login/totp" in first.headers["location"], first.text
    code = pyotp.TOTP(secret).now()
    second = _post(browser, base + "/login/totp", data={"csrf_token": token, "code": code})
    assert second.status_code == 303, second.text[:300]


def test_a_login_on_one_instance_works_on_the_other(
    records_url: str, app_url: str, tmp_path: Path
) -> None:
    secret, codes = _practitioner(records_url)
    with ExitStack() as stack:
        one, _ = stack.enter_context(server(app_url, tmp_path / "one"))
        two, _ = stack.enter_context(server(app_url, tmp_path / "two"))
        browser = stack.enter_context(requests.Session())

        assert _get(browser, two + "/account").status_code == 303  # not logged in yet
        _web_login(browser, one, secret)  # cookies are per host, not per port: one jar
        cookie = browser.cookies.get("mg_session")
        assert cookie
        page = _get(browser, two + "/account")
        assert page.status_code == 200 and EMAIL in page.text

        made = _post(  # an API login on two (this TOTP step is used: a recovery code)
            browser,
            two + "/api/v1/auth/token",
            json={"email": EMAIL, "password": PASSWORD, "totp": codes[0]},
        )
        assert made.status_code == 200, made.text
        bearer = {"Authorization": f"Bearer {made.json()['access_token']}"}
        assert requests.get(one + "/api/v1/auth/tokens", headers=bearer, timeout=30).ok

        new = {"name": "Mevrouw Jansen", "birth_date": "1950-03-01", "sex": "female"}
        new["consent"] = {"method": "written", "scope": ["records", "advice"]}
        made = requests.post(one + "/api/v1/clients", json=new, headers=bearer, timeout=30)
        assert made.status_code == 201, made.text  # written through one (PostgreSQL: RLS)
        client_id = made.json()["id"]
        read = requests.get(f"{two}/api/v1/clients/{client_id}", headers=bearer, timeout=30)
        assert read.status_code == 200 and read.json()["name"] == "Mevrouw Jansen"
        page = _get(browser, f"{two}/clients/{client_id}")  # the web session, on the other
        assert page.status_code == 200 and "Mevrouw Jansen" in page.text

        token = _csrf(browser, two)  # a form token of two is good on one (the same secret)
        assert _post(browser, one + "/logout", data={"csrf_token": token}).status_code == 303
        browser.cookies.set("mg_session", cookie)  # the old cookie, kept by an attacker
        assert _get(browser, two + "/account").status_code == 303  # ended on both
