"""The API's login on SQLite and PostgreSQL: an access token for e-mail, password and TOTP;
bearer tokens that work, expire and are revoked; personal tokens; the error shape; audit."""

from __future__ import annotations

from typing import Annotated, Any

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from auth_support import PASSWORD, Clock, code_at, make_user, records_app
from mgadvisor.records.database import session_scope
from mgadvisor.records.models import ApiToken, AuditEvent
from mgadvisor.web.auth import Principal, practitioner_api_user


@pytest.fixture
def site(engine: Engine) -> tuple[FastAPI, Clock]:
    app, clock = records_app(engine)

    @app.get("/api/v1/test-practitioner")
    def only_practitioners(
        principal: Annotated[Principal, Depends(practitioner_api_user)],
    ) -> dict[str, str]:
        return {"email": principal.email}

    return app, clock


def _token(client: TestClient, clock: Clock, email: str, secret: str) -> str:
    body = {"email": email, "password": PASSWORD, "totp": code_at(secret, clock())}
    response = client.post("/api/v1/auth/token", json=body)
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["token_type"] == "bearer" and data["expires_in"] == 15 * 60
    clock.advance(seconds=30)
    return str(data["access_token"])


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _count(engine: Engine, code: str, outcome: str = "success") -> int:
    with session_scope(engine) as session:
        query = (
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.event_code == code, AuditEvent.outcome == outcome)
        )
        return int(session.scalar(query) or 0)


def test_access_token_works_then_expires(site: tuple[FastAPI, Clock], engine: Engine) -> None:
    app, clock = site
    secret = make_user(engine, "anna@zuid.example")
    client = TestClient(app)
    token = _token(client, clock, "anna@zuid.example", secret)
    assert client.get("/api/v1/test-practitioner", headers=_bearer(token)).json() == {
        "email": "anna@zuid.example"
    }
    clock.advance(minutes=15)
    expired = client.get("/api/v1/test-practitioner", headers=_bearer(token))
    assert expired.status_code == 401 and expired.headers["www-authenticate"].startswith("Bearer")
    body = expired.json()
    assert body["error"] and body["errors"][0]["loc"] == ["header", "Authorization"]
    assert _count(engine, "auth.login") == 1 and _count(engine, "auth.token") == 1


@pytest.mark.parametrize(
    "header", [None, "Bearer", "Basic YTpi", "Bearer mga_made-up", "Bearer " + "x" * 300]
)
def test_missing_or_unknown_token_is_401(site: tuple[FastAPI, Clock], header: str | None) -> None:
    app, _ = site
    headers = {"Authorization": header} if header else {}
    response = TestClient(app).get("/api/v1/auth/tokens", headers=headers)
    assert response.status_code == 401 and "WWW-Authenticate" in response.headers
    assert set(response.json()) == {"error", "errors"}


def test_wrong_credentials_are_401_throttled_and_audited(
    site: tuple[FastAPI, Clock], engine: Engine
) -> None:
    app, clock = site
    secret = make_user(engine, "anna@zuid.example")
    client = TestClient(app)
    good = {"email": "anna@zuid.example", "password": PASSWORD, "totp": code_at(secret, clock())}
    for body in ({**good, "password": "wrong password"}, {**good, "totp": "000000x"}):
        response = client.post("/api/v1/auth/token", json=body)
        assert response.status_code == 401 and "wrong password" not in response.text
    invalid = client.post("/api/v1/auth/token", json={"email": "a"})
    assert invalid.status_code == 422 and invalid.json()["errors"]
    for _ in range(3):  # five failures in all: locked, even with the right code
        client.post("/api/v1/auth/token", json={**good, "password": "wrong password"})
    locked = client.post("/api/v1/auth/token?lang=en", json=good)
    assert locked.status_code == 401 and "locked" in locked.json()["errors"][0]["msg"]
    assert _count(engine, "auth.login_failed", "failure") == 5
    assert _count(engine, "auth.login_failed", "denied") == 1


def test_an_address_with_too_many_failures_waits(
    site: tuple[FastAPI, Clock], engine: Engine
) -> None:
    app, _ = site
    client = TestClient(app)
    body = {"email": "nobody@zuid.example", "password": "wrong password", "totp": "123456"}
    statuses = [client.post("/api/v1/auth/token", json=body).status_code for _ in range(21)]
    assert statuses[:20] == [401] * 20 and statuses[20] == 429


def test_not_enrolled_is_told_to_use_the_website(
    site: tuple[FastAPI, Clock], engine: Engine
) -> None:
    app, clock = site
    secret = make_user(engine, "anna@zuid.example", enrolled=False)
    body = {"email": "anna@zuid.example", "password": PASSWORD, "totp": code_at(secret, clock())}
    response = TestClient(app).post("/api/v1/auth/token", json=body)
    assert response.status_code == 403 and response.json()["errors"][0]["loc"] == ["body", "totp"]


def test_an_admin_token_gets_403_on_practitioner_routes(
    site: tuple[FastAPI, Clock], engine: Engine
) -> None:
    app, clock = site
    secret = make_user(engine, "admin@zuid.example", "admin")
    client = TestClient(app)
    token = _token(client, clock, "admin@zuid.example", secret)
    response = client.get("/api/v1/test-practitioner", headers=_bearer(token))
    assert response.status_code == 403 and set(response.json()) == {"error", "errors"}


def test_personal_tokens_made_listed_and_revoked(
    site: tuple[FastAPI, Clock], engine: Engine
) -> None:
    app, clock = site
    secret = make_user(engine, "anna@zuid.example")
    client = TestClient(app)
    access = _token(client, clock, "anna@zuid.example", secret)
    made = client.post(
        "/api/v1/auth/tokens", json={"name": "sync", "expires_in_days": 7}, headers=_bearer(access)
    )
    assert made.status_code == 201, made.text
    personal: dict[str, Any] = made.json()
    assert personal["token"].startswith("mga_") and personal["expires_at"]
    with session_scope(engine) as session:
        hashes = [row.token_hash for row in session.scalars(select(ApiToken))]
        assert personal["token"] not in hashes and len(hashes) == 2
    listed = client.get("/api/v1/auth/tokens", headers=_bearer(personal["token"])).json()
    assert [t["name"] for t in listed] == ["sync"] and "token" not in listed[0]
    # a personal token cannot make more tokens
    more = client.post(
        "/api/v1/auth/tokens", json={"name": "x"}, headers=_bearer(personal["token"])
    )
    assert more.status_code == 403
    bad = client.post("/api/v1/auth/tokens", json={"name": ""}, headers=_bearer(access))
    assert bad.status_code == 422 and bad.json()["errors"][0]["loc"][-1] == "name"
    gone = client.delete(f"/api/v1/auth/tokens/{personal['id']}", headers=_bearer(access))
    assert gone.status_code == 204
    after = client.get("/api/v1/auth/tokens", headers=_bearer(personal["token"]))
    assert after.status_code == 401
    unknown = client.delete(
        "/api/v1/auth/tokens/00000000-0000-4000-8000-000000000000", headers=_bearer(access)
    )
    assert unknown.status_code == 404
    assert _count(engine, "auth.token") == 3  # access, personal, revoke
