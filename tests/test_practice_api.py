"""The practice API with a real bearer token (from /api/v1/auth/token), on SQLite and
PostgreSQL: clients, visits with their stored advice, follow-ups, the export, errors."""

from __future__ import annotations

import io
import uuid
import zipfile
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from auth_support import PASSWORD, code_at, make_user, records_app
from mgadvisor.records.database import session_scope
from mgadvisor.records.models import AuditEvent

ANNA, BRAM, DIRK = "anna@zuid.example", "bram@zuid.example", "dirk@zuid.example"
CLIENT = {
    "name": "Meneer Jansen",
    "birth_date": "1960-05-04",
    "sex": "male",
    "consent": {"method": "digital", "scope": ["records", "advice"]},
}
INTAKE = {
    "person": {"age": 50, "sex": "female"},
    "complaints": ["muscle_cramps"],
    "labs": [{"analyte": "serum_magnesium", "value": 1.6, "unit": "mg/dL"}],
}


@pytest.fixture
def api(engine: Engine) -> tuple[TestClient, dict[str, dict[str, str]]]:
    """A client of the app and a bearer header per user."""
    app, clock = records_app(engine)
    client = TestClient(app)
    headers = {}
    for email, role in ((ANNA, "practitioner"), (BRAM, "practitioner"), (DIRK, "admin")):
        secret = make_user(engine, email, role)
        got = client.post(
            "/api/v1/auth/token",
            json={"email": email, "password": PASSWORD, "totp": code_at(secret, clock())},
        )
        assert got.status_code == 200, got.text
        headers[email] = {"Authorization": f"Bearer {got.json()['access_token']}"}
        clock.advance(seconds=30)
    return client, headers


def audits(engine: Engine, code: str) -> list[AuditEvent]:
    with session_scope(engine) as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.event_code == code)))


def test_clients_are_created_listed_and_read(
    api: tuple[TestClient, dict[str, dict[str, str]]], engine: Engine
) -> None:
    client, h = api
    made = client.post("/api/v1/clients", json=CLIENT, headers=h[ANNA])
    assert made.status_code == 201, made.text
    body = made.json()
    assert uuid.UUID(body["id"]).version == 4
    assert body["consent"]["version"] == "2026-12" and body["consent"]["scope"] == [
        "records",
        "advice",
    ]
    assert body["consent"]["method"] == "digital" and body["consent"]["captured_at"]
    assert [c["id"] for c in client.get("/api/v1/clients", headers=h[ANNA]).json()] == [body["id"]]
    assert client.get("/api/v1/clients?q=JANS", headers=h[ANNA]).json()[0]["name"] == (
        "Meneer Jansen"
    )
    assert client.get("/api/v1/clients?q=vries", headers=h[ANNA]).json() == []
    assert client.get(f"/api/v1/clients/{body['id']}", headers=h[ANNA]).json() == body
    assert client.get("/api/v1/clients", headers=h[BRAM]).json() == []
    assert len(audits(engine, "client.create")) == 1


def test_bad_client_input_gets_422_with_the_field(
    api: tuple[TestClient, dict[str, dict[str, str]]],
) -> None:
    client, h = api
    no_consent = client.post("/api/v1/clients", json={"name": "X"}, headers=h[ANNA])
    assert no_consent.status_code == 422
    assert any("consent" in e["loc"] for e in no_consent.json()["errors"])
    bad_sex = client.post("/api/v1/clients", json={**CLIENT, "sex": "x"}, headers=h[ANNA])
    assert bad_sex.status_code == 422 and bad_sex.json()["errors"][0]["loc"][-1] == "sex"
    future = client.post(
        "/api/v1/clients", json={**CLIENT, "birth_date": "2999-01-01"}, headers=h[ANNA]
    )
    assert future.status_code == 422
    assert future.json()["errors"][0]["loc"] == ["body", "birth_date"]


def test_a_visit_stores_the_advice_and_feeds_the_follow_ups(
    api: tuple[TestClient, dict[str, dict[str, str]]], engine: Engine
) -> None:
    client, h = api
    cid = client.post("/api/v1/clients", json=CLIENT, headers=h[ANNA]).json()["id"]
    made = client.post(
        f"/api/v1/clients/{cid}/visits",
        json={"intake": INTAKE, "date": "2026-10-01"},
        headers=h[ANNA],
    )
    assert made.status_code == 201, made.text
    visit = made.json()
    assert visit["intake"]["person"]["sex"] == "male"  # from the client
    assert visit["intake"]["person"]["age"] == 66  # from the birth date, on the visit date
    advice = visit["advice"]
    assert advice["kb_version"] == visit["kb_version"] and advice["as_of"] == "2026-10-01"
    weeks = advice["follow_up_weeks"]
    assert weeks
    from datetime import date, timedelta

    due = date(2026, 10, 1) + timedelta(weeks=weeks)
    assert visit["follow_up_date"] == due.isoformat()
    listed = client.get(f"/api/v1/clients/{cid}/visits", headers=h[ANNA]).json()
    assert [v["id"] for v in listed] == [visit["id"]] and listed[0]["advice"] is None
    one = client.get(f"/api/v1/clients/{cid}/visits/{visit['id']}", headers=h[ANNA]).json()
    assert one["advice"] == advice
    ups = client.get(
        f"/api/v1/followups?due_before={(due + timedelta(days=1)).isoformat()}", headers=h[ANNA]
    ).json()
    assert [(u["client_id"], u["due"]) for u in ups] == [(cid, due.isoformat())]
    assert (
        client.get(f"/api/v1/followups?due_before={due.isoformat()}", headers=h[ANNA]).json() == []
    )
    [created] = audits(engine, "visit.create")
    assert created.client_id == uuid.UUID(cid)


def test_a_changed_decision_needs_a_reason(
    api: tuple[TestClient, dict[str, dict[str, str]]],
) -> None:
    client, h = api
    cid = client.post("/api/v1/clients", json=CLIENT, headers=h[ANNA]).json()["id"]
    url = f"/api/v1/clients/{cid}/visits"
    changed: dict[str, Any] = {"decision": "changed", "elemental_mg": 100}
    refused = client.post(url, json={"intake": INTAKE, "decision": changed}, headers=h[ANNA])
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["loc"] == ["body", "decision", "reason"]
    ok = client.post(
        url,
        json={"intake": INTAKE, "decision": {**changed, "reason": "Kidney function borderline"}},
        headers=h[ANNA],
    )
    assert ok.status_code == 201
    assert ok.json()["changes"] == {"elemental_mg": 100.0}
    assert ok.json()["reason"] == "Kidney function borderline"


def test_a_bad_intake_gets_422_with_its_location(
    api: tuple[TestClient, dict[str, dict[str, str]]],
) -> None:
    client, h = api
    cid = client.post("/api/v1/clients", json=CLIENT, headers=h[ANNA]).json()["id"]
    bad = {**INTAKE, "labs": [{"analyte": "serum_magnesium", "value": -3, "unit": "mmol/L"}]}
    response = client.post(f"/api/v1/clients/{cid}/visits", json={"intake": bad}, headers=h[ANNA])
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert errors and errors[0]["loc"][:2] == ["body", "intake"]
    assert "labs[0]" in errors[0]["loc"][2] and errors[0]["msg"]
    no_intake = client.post(f"/api/v1/clients/{cid}/visits", json={}, headers=h[ANNA])
    assert no_intake.status_code == 422 and no_intake.json()["errors"][0]["loc"][-1] == "intake"


def test_another_practitioner_gets_404_and_an_admin_403(
    api: tuple[TestClient, dict[str, dict[str, str]]], engine: Engine
) -> None:
    client, h = api
    cid = client.post("/api/v1/clients", json=CLIENT, headers=h[ANNA]).json()["id"]
    vid = client.post(
        f"/api/v1/clients/{cid}/visits", json={"intake": INTAKE}, headers=h[ANNA]
    ).json()["id"]
    for method, path in (
        ("get", f"/api/v1/clients/{cid}"),
        ("get", f"/api/v1/clients/{cid}/visits"),
        ("get", f"/api/v1/clients/{cid}/visits/{vid}"),
        ("get", f"/api/v1/clients/{cid}/export"),
        ("post", f"/api/v1/clients/{cid}/visits"),
    ):
        kwargs: dict[str, Any] = {"json": {"intake": INTAKE}} if method == "post" else {}
        response = getattr(client, method)(path, headers=h[BRAM], **kwargs)
        assert response.status_code == 404, path
        assert "Jansen" not in response.text and response.json()["errors"]
        admin = getattr(client, method)(path, headers=h[DIRK], **kwargs)
        assert admin.status_code == 403, path
    with session_scope(engine) as s:
        denied = list(s.scalars(select(AuditEvent).where(AuditEvent.outcome == "denied")))
    refused = [e for e in denied if e.event_code != "auth.forbidden"]  # Bram's
    assert len(refused) == 5 and {e.client_id for e in refused} == {uuid.UUID(cid)}
    assert len(denied) == 10  # and the admin's five role refusals (security finding 9)
    assert client.get(f"/api/v1/clients/{uuid.uuid4()}", headers=h[ANNA]).status_code == 404
    assert client.get("/api/v1/clients/nonsense", headers=h[ANNA]).status_code == 404
    anonymous = client.get("/api/v1/clients")
    assert anonymous.status_code == 401 and "Bearer" in anonymous.headers["www-authenticate"]


def test_the_export_is_a_zip_with_the_visits_and_their_handouts(
    api: tuple[TestClient, dict[str, dict[str, str]]], engine: Engine
) -> None:
    client, h = api
    cid = client.post("/api/v1/clients", json=CLIENT, headers=h[ANNA]).json()["id"]
    client.post(f"/api/v1/clients/{cid}/visits", json={"intake": INTAKE}, headers=h[ANNA])
    response = client.get(f"/api/v1/clients/{cid}/export", headers=h[ANNA])
    assert response.status_code == 200 and response.headers["content-type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(response.content)).namelist()
    assert "client.json" in names
    pdfs = [n for n in names if n.endswith("handout.pdf")]
    assert len(pdfs) == 1
    assert zipfile.ZipFile(io.BytesIO(response.content)).read(pdfs[0]).startswith(b"%PDF")
    assert len(audits(engine, "client.export")) == 1
