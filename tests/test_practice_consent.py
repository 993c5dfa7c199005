"""Consent is enforced (security finding 2), on SQLite and PostgreSQL: after a withdrawal no
visit is added and the client is not shared; sharing needs the 'sharing' scope and a visit the
'records' or 'advice' scope. The repository refuses; the API answers 409, the pages say why."""

from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from auth_support import PASSWORD, code_at, csrf, login, make_user, records_app
from mgadvisor.records.errors import ConsentRefused
from mgadvisor.records.models import User
from mgadvisor.records.repository import Records

ANNA, BRAM = "anna@zuid.example", "bram@zuid.example"
PINS = {"kb_version": "1.0", "kb_hash": "abc", "engine_version": "1.0"}
NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
INTAKE = {"person": {"age": 50, "sex": "female"}, "complaints": ["muscle_cramps"]}


def test_the_repository_refuses_what_the_consent_does_not_cover(engine: Engine) -> None:
    with Session(engine) as session:
        repo = Records(session)
        south = repo.add_practice("Praktijk Zuid")
        anna = repo.add_user(south, ANNA, "practitioner")
        bram = repo.add_user(south, BRAM, "practitioner")

        def client(scope: str) -> str:
            made = repo.add_client(
                anna, name=scope, consent_version="1", consent_scope=scope, consent_method="written"
            )
            return str(made.id)

        advice_only, records_only, sharing_only = (
            client("advice"),
            client("records"),
            client("sharing"),
        )
        repo.add_visit(anna, advice_only, date(2026, 11, 2), INTAKE, PINS)
        repo.add_visit(anna, records_only, date(2026, 11, 2), INTAKE, PINS)
        with pytest.raises(ConsentRefused) as refused:
            repo.add_visit(anna, sharing_only, date(2026, 11, 2), INTAKE, PINS)
        assert refused.value.field == "consent.scope"
        assert refused.value.given == "'sharing'"
        with pytest.raises(ConsentRefused) as refused:
            repo.share_client(anna, advice_only, bram)
        assert refused.value.expected == "consent for sharing"
        assert repo.share_client(anna, sharing_only, bram).kind == "shared"

        everything = client("records,advice,sharing")
        repo.withdraw_consent(anna, everything, now=NOW)
        with pytest.raises(ConsentRefused) as refused:
            repo.add_visit(anna, everything, date(2026, 12, 2), INTAKE, PINS)
        assert refused.value.field == "consent.withdrawn_at"
        with pytest.raises(ConsentRefused):
            repo.share_client(anna, everything, bram)
        assert repo.visits(anna, everything) == []


def test_the_api_answers_409_after_a_withdrawal(engine: Engine) -> None:
    app, clock = records_app(engine)
    api = TestClient(app)
    secret = make_user(engine, ANNA)
    got = api.post(
        "/api/v1/auth/token",
        json={"email": ANNA, "password": PASSWORD, "totp": code_at(secret, clock())},
    )
    headers = {"Authorization": f"Bearer {got.json()['access_token']}"}
    body = {"name": "Meneer Jansen", "consent": {"method": "digital", "scope": ["records"]}}
    cid = api.post("/api/v1/clients", json=body, headers=headers).json()["id"]
    visit = {"intake": INTAKE, "date": "2026-11-02"}
    assert api.post(f"/api/v1/clients/{cid}/visits", json=visit, headers=headers).status_code == 201
    with Session(engine) as session:
        repo = Records(session)
        user = session.scalars(select(User).where(User.email == ANNA)).one()
        repo.withdraw_consent(user, cid, now=NOW)
        session.commit()
    refused = api.post(f"/api/v1/clients/{cid}/visits", json=visit, headers=headers)
    assert refused.status_code == 409, refused.text
    [error] = refused.json()["errors"]
    assert error["loc"] == ["client", "consent.withdrawn_at"]
    assert "withdrawn" in error["msg"]
    listed = api.get(f"/api/v1/clients/{cid}/visits", headers=headers).json()
    assert len(listed) == 1


def test_the_pages_show_why_sharing_and_a_new_visit_are_refused(engine: Engine) -> None:
    app, clock = records_app(engine)
    anna = TestClient(app, headers={"Accept-Language": "en"})
    login(anna, clock, ANNA, make_user(engine, ANNA))
    make_user(engine, BRAM)
    made = anna.post(
        "/clients",
        data={
            "csrf_token": csrf(anna),
            "name": "Mevrouw de Vries",
            "consent_method": "written",
            "consent_scope": ["records", "advice"],
        },
        follow_redirects=False,
    )
    cid = made.headers["location"].rsplit("/", 1)[1]
    shared = anna.post(f"/clients/{cid}/share", data={"csrf_token": csrf(anna), "email": BRAM})
    assert shared.status_code == 422
    assert "consent for sharing with a colleague of the practice" in html.unescape(shared.text)
    preview = anna.post(
        f"/clients/{cid}/visits/preview",
        data={
            "csrf_token": csrf(anna),
            "person.age": "76",
            "person.sex": "female",
            "as_of": "2026-11-02",
            "complaints": ["muscle_cramps"],
        },
    )
    intake_json = re.search(r'name="intake_json" value="([^"]*)"', preview.text)
    assert intake_json, preview.text[:2000]
    withdrawn = anna.post(
        f"/clients/{cid}/consent/withdraw",
        data={"csrf_token": csrf(anna), "confirm": "1"},
        follow_redirects=False,
    )
    assert withdrawn.status_code == 303
    saved = anna.post(
        f"/clients/{cid}/visits",
        data={
            "csrf_token": csrf(anna),
            "intake_json": html.unescape(intake_json.group(1)),
            "visit_date": "2026-11-02",
            "decision": "accepted",
        },
        follow_redirects=False,
    )
    assert saved.status_code == 422
    assert "consent that was not withdrawn" in html.unescape(saved.text)
    dutch = anna.post(
        f"/clients/{cid}/share",
        data={"csrf_token": csrf(anna), "email": BRAM},
        headers={"Accept-Language": "nl"},
    )
    assert dutch.status_code == 422 and "ingetrokken" in html.unescape(dutch.text)
