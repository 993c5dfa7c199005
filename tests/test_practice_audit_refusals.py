"""What the audit log keeps of refused and partial reads (security findings 8 and 9), on
SQLite and PostgreSQL: text typed where an id belongs is stored as "malformed" (it may be a
name or a birth date); role refusals and requests without a token are audited; visit lists,
the new-visit form (the last intake) and the preview are audited as reads."""

from __future__ import annotations

import json
import re
import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from auth_support import PASSWORD, code_at, csrf, login, make_user, records_app
from mgadvisor.records.database import session_scope
from mgadvisor.records.models import AuditEvent

ANNA, BRAM, DIRK = "anna@zuid.example", "bram@zuid.example", "dirk@zuid.example"
TYPED = ("Jan de Vries 1950-03-01", "Piet Pietersen")
CLIENT = {"name": "Meneer Jansen", "consent": {"method": "digital", "scope": ["records"]}}
INTAKE = {"person": {"age": 50, "sex": "female"}, "complaints": ["muscle_cramps"]}


class Site:
    """Anna and Bram (practitioners) and Dirk (admin), in the browser and with a token."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.app, self.clock = records_app(engine)
        self.secrets = {
            e: make_user(engine, e, r)
            for e, r in ((ANNA, "practitioner"), (BRAM, "practitioner"), (DIRK, "admin"))
        }

    def browser(self, email: str) -> TestClient:
        client = TestClient(self.app)
        login(client, self.clock, email, self.secrets[email])
        return client

    def bearer(self, email: str) -> dict[str, str]:
        got = TestClient(self.app).post(
            "/api/v1/auth/token",
            json={
                "email": email,
                "password": PASSWORD,
                "totp": code_at(self.secrets[email], self.clock()),
            },
        )
        assert got.status_code == 200, got.text
        self.clock.advance(seconds=30)
        return {"Authorization": f"Bearer {got.json()['access_token']}"}

    def events(self, code: str | None = None) -> list[AuditEvent]:
        with session_scope(self.engine) as s:
            query = select(AuditEvent).order_by(AuditEvent.seq)
            if code is not None:
                query = query.where(AuditEvent.event_code == code)
            return list(s.scalars(query))


@pytest.fixture
def site(engine: Engine) -> Site:
    return Site(engine)


def test_typed_text_in_an_id_never_reaches_the_audit_log(site: Site) -> None:
    anna = site.browser(ANNA)
    api = TestClient(site.app)
    headers = site.bearer(BRAM)
    before = len(site.events())
    for typed in TYPED:
        assert anna.get(f"/clients/{typed}").status_code == 404
        assert anna.get(f"/clients/{typed}/visits/{typed}").status_code == 404
        preview = anna.post(f"/clients/{typed}/visits/preview", data={"csrf_token": csrf(anna)})
        assert preview.status_code == 404
        glass = anna.post(
            "/clients/break-glass",
            data={
                "csrf_token": csrf(anna),
                "client_id": typed,
                "justification": "Client fainted in the waiting room",
            },
        )
        assert glass.status_code == 404
        assert api.get(f"/api/v1/clients/{typed}", headers=headers).status_code == 404
        assert api.get(f"/api/v1/clients/{typed}/visits", headers=headers).status_code == 404
    refused = [e for e in site.events()[before:] if e.outcome == "denied"]
    assert len(refused) == 12
    stored = json.dumps([[e.object_id, e.details, e.object_type, e.event_code] for e in refused])
    for typed in TYPED:
        for word in typed.split():
            assert word not in stored
    assert {e.object_id for e in refused} == {"malformed"}
    assert {e.client_id for e in refused} == {None}
    unknown = uuid.uuid4()
    assert anna.get(f"/clients/{unknown}").status_code == 404
    assert site.events()[-1].object_id == str(unknown)  # a real id is kept: it says nothing


def test_role_refusals_and_missing_tokens_are_audited(site: Site) -> None:
    anna = site.browser(ANNA)
    cid = TestClient(site.app).post("/api/v1/clients", json=CLIENT, headers=site.bearer(ANNA))
    client_id = cid.json()["id"]
    dirk = site.browser(DIRK)
    assert dirk.get(f"/clients/{client_id}").status_code == 403
    assert (
        TestClient(site.app)
        .get(f"/api/v1/clients/{client_id}", headers=site.bearer(DIRK))
        .status_code
        == 403
    )
    assert anna.get("/admin/users").status_code == 403
    anonymous = TestClient(site.app).get(f"/api/v1/clients/{client_id}")
    assert anonymous.status_code == 401
    wrong = TestClient(site.app).get(
        "/api/v1/clients", headers={"Authorization": "Bearer not-a-token"}
    )
    assert wrong.status_code == 401
    forbidden = site.events("auth.forbidden")
    assert [(e.object_id, e.outcome, e.user_role) for e in forbidden] == [
        ("/clients/{client_id}", "denied", "admin"),
        ("/api/v1/clients/{client_id}", "denied", "admin"),
        ("/admin/users", "denied", "practitioner"),
    ]
    assert [e.authorisation_protocol for e in forbidden] == ["login", "api-token", "login"]
    assert all(e.client_id is None and client_id not in (e.details or "") for e in forbidden)
    unauthorized = site.events("auth.unauthorized")
    assert [(e.object_id, e.user_id, e.outcome) for e in unauthorized] == [
        ("/api/v1/clients/{client_id}", None, "denied"),
        ("/api/v1/clients", None, "denied"),
    ]
    assert all("not-a-token" not in (e.details or "") for e in unauthorized)


def test_visit_lists_the_new_visit_form_and_the_preview_are_audited(site: Site) -> None:
    headers = site.bearer(ANNA)
    api = TestClient(site.app)
    client_id = api.post("/api/v1/clients", json=CLIENT, headers=headers).json()["id"]
    made = api.post(f"/api/v1/clients/{client_id}/visits", json={"intake": INTAKE}, headers=headers)
    assert made.status_code == 201
    assert api.get(f"/api/v1/clients/{client_id}/visits", headers=headers).status_code == 200
    [listed] = site.events("visit.read")
    assert listed.client_id == uuid.UUID(client_id) and listed.outcome == "success"
    assert json.loads(listed.details or "{}") == {"list": True, "count": 1}
    anna = site.browser(ANNA)
    form = anna.get(f"/clients/{client_id}/visits/new")
    assert form.status_code == 200
    read = site.events("visit.read")
    assert len(read) == 2 and read[-1].object_id == made.json()["id"]
    reads_before = len(site.events("client.read"))
    preview = anna.post(
        f"/clients/{client_id}/visits/preview",
        data={
            "csrf_token": csrf(anna),
            "person.age": "60",
            "person.sex": "male",
            "as_of": "2026-11-02",
            "complaints": ["muscle_cramps"],
        },
    )
    assert preview.status_code == 200
    assert re.search(r'name="intake_json"', preview.text)
    client_reads = site.events("client.read")
    assert len(client_reads) == reads_before + 1
    assert client_reads[-1].client_id == uuid.UUID(client_id)
