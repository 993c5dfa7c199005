"""CDS Hooks with more than one app instance and with the EHR's FHIR server (security
finding 4), on SQLite and PostgreSQL: a token's jti is accepted once across instances (table
cds_token_uses), and the service fetches only from the fhirServer prefixes the issuer may name."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from auth_support import login, make_user, records_app
from mgadvisor.interop.cds_security import (
    SANDBOX_ISS,
    CdsAuthError,
    Client,
    SharedReplays,
    Verifier,
    fhir_server_allowed,
    load_clients,
)
from mgadvisor.records.database import make_engine, session_scope, upgrade
from mgadvisor.records.models import AuditEvent, CdsTokenUse, User

CDS = Path(__file__).parent / "fixtures" / "cds"
SANDBOX_KEY = (CDS / "sandbox-private-key.pem").read_text()
SANDBOX_KID = "44823f3d-0b01-4a6c-a80e-b9d3e8a7226f"
BASE = "http://testserver/cds-services"


def signed(aud: str, **claims: Any) -> str:
    now = int(time.time())
    payload = {"iss": SANDBOX_ISS, "aud": aud, "exp": now + 300, "iat": now, **claims}
    payload.setdefault("jti", str(uuid.uuid4()))
    return jwt.encode(payload, SANDBOX_KEY, algorithm="ES384", headers={"kid": SANDBOX_KID})


def patient_view(prefetch: dict[str, Any] | None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "hook": "patient-view",
        "hookInstance": str(uuid.uuid4()),
        "context": {"userId": "Practitioner/example", "patientId": "mg72"},
    }
    if prefetch is not None:
        body["prefetch"] = prefetch
    return body


def prefetch_72() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((CDS / "prefetch-72.json").read_text())
    return data


@pytest.fixture
def engine(records_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    monkeypatch.setenv("MGADVISOR_CDS_PROFILE", "development")
    monkeypatch.delenv("MGADVISOR_CDS_CLIENTS", raising=False)
    engine = make_engine(records_url)
    upgrade(engine)
    yield engine
    engine.dispose()


def uses(engine: Engine) -> int:
    with session_scope(engine) as session:
        return int(session.scalar(select(func.count()).select_from(CdsTokenUse)) or 0)


def test_two_instances_accept_a_token_once(engine: Engine) -> None:
    first, second = TestClient(records_app(engine)[0]), TestClient(records_app(engine)[0])
    headers = {"Authorization": f"Bearer {signed(f'{BASE}/mg-depletion')}"}
    body = patient_view(prefetch_72())
    url = "/cds-services/mg-depletion?lang=en"
    assert first.post(url, json=body, headers=headers).status_code == 200
    replayed = second.post(url, json=body, headers=headers)
    assert replayed.status_code == 401
    assert replayed.json()["errors"][0]["msg"] == "token already used (jti seen before)"
    assert first.post(url, json=body, headers=headers).status_code == 401  # and its own cache
    assert uses(engine) == 1


def test_the_shared_cache_refuses_a_replay_and_forgets_expired_uses(engine: Engine) -> None:
    clients = load_clients({"MGADVISOR_CDS_PROFILE": "development"})
    one = Verifier(clients, SharedReplays(engine))
    other = Verifier(clients, SharedReplays(engine))
    aud = f"{BASE}/mg-depletion"
    token = signed(aud)
    assert one.verify(f"Bearer {token}", aud).iss == SANDBOX_ISS
    with pytest.raises(CdsAuthError) as caught:
        other.verify(f"Bearer {token}", aud)
    assert caught.value.msgid == "token already used (jti seen before)"
    long_jti = "j" * 500  # longer than the column: stored as its hash, still refused twice
    assert one.verify(f"Bearer {signed(aud, jti=long_jti)}", aud).jti == long_jti
    with pytest.raises(CdsAuthError):
        other.verify(f"Bearer {signed(aud, jti=long_jti)}", aud)
    assert uses(engine) == 2
    shared = SharedReplays(engine)
    later = time.time() + 3600  # both tokens expired an hour from now: the first use cleans up
    assert shared.first_use(SANDBOX_ISS, "fresh", later + 300, later)
    with session_scope(engine) as session:
        left = list(session.scalars(select(CdsTokenUse.jti)))
        expires = session.scalars(select(CdsTokenUse.expires_at)).one()
    assert left == ["fresh"]
    assert expires > datetime.fromtimestamp(later, UTC)


def test_fhir_server_prefixes_match_at_a_path_boundary() -> None:
    client = Client("x", fhir_servers=("https://ehr.example/fhir", "https://other.example/"))
    assert fhir_server_allowed(client, "https://ehr.example/fhir")
    assert fhir_server_allowed(client, "https://ehr.example/fhir/r4")
    assert fhir_server_allowed(client, "https://other.example/any/path")
    for url in (
        "https://ehr.example/fhirx",
        "https://ehr.example.evil.example/fhir",
        "https://ehr.example/fhir@evil.example/",
        "https://ehr.example/fhir/../admin",
        "http://ehr.example/fhir",
        "https://evil.example/?https://ehr.example/fhir",
    ):
        assert not fhir_server_allowed(client, url), url
    assert not fhir_server_allowed(None, "https://ehr.example/fhir")
    sandbox = load_clients({"MGADVISOR_CDS_PROFILE": "development"})[SANDBOX_ISS]
    assert fhir_server_allowed(sandbox, "https://launch.smarthealthit.org/v/r4/fhir")
    assert not fhir_server_allowed(sandbox, "https://ehr.example/fhir")


def test_a_clients_file_names_its_fhir_servers(tmp_path: Path) -> None:
    keys = [{"kty": "EC", "crv": "P-384", "x": "a", "y": "b", "kid": "k"}]
    path = tmp_path / "clients.json"
    path.write_text(json.dumps({"https://ehr.example": {"keys": keys, "fhir_servers": ["x"]}}))
    with pytest.raises(CdsAuthError) as caught:
        load_clients({"MGADVISOR_CDS_CLIENTS": str(path)})
    assert "fhir_servers" in caught.value.msgid
    fine = {"keys": keys, "fhir_servers": ["https://ehr.example/fhir"]}
    path.write_text(json.dumps({"https://ehr.example": fine}))
    loaded = load_clients({"MGADVISOR_CDS_CLIENTS": str(path)})["https://ehr.example"]
    assert loaded.fhir_servers == ("https://ehr.example/fhir",)


def test_an_unlisted_fhir_server_gets_no_request_and_no_access_token(engine: Engine) -> None:
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    asked: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.headers.get("Authorization") or "")
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        app = TestClient(records_app(engine)[0])
        body = patient_view({"patient": prefetch_72()["patient"]})
        body["fhirServer"] = f"http://127.0.0.1:{server.server_address[1]}/fhir"
        body["fhirAuthorization"] = {"access_token": "secret-ehr-token", "token_type": "Bearer"}
        headers = {"Authorization": f"Bearer {signed(f'{BASE}/mg-depletion')}"}
        answer = app.post("/cds-services/mg-depletion?lang=en", json=body, headers=headers)
    finally:
        server.shutdown()
        server.server_close()
    assert answer.status_code == 412
    assert "fhirServer is not on this CDS client's list" in answer.json()["error"]
    assert asked == []


def test_the_advice_link_is_for_a_logged_in_practitioner_and_audited(engine: Engine) -> None:
    app, clock = records_app(engine)
    ehr = TestClient(app)
    headers = {"Authorization": f"Bearer {signed(f'{BASE}/mg-depletion')}"}
    answer = ehr.post(
        "/cds-services/mg-depletion?lang=en", json=patient_view(prefetch_72()), headers=headers
    )
    link = answer.json()["cards"][0]["links"][0]["url"].removeprefix("http://testserver")
    anonymous = ehr.get(link, follow_redirects=False)
    assert anonymous.status_code == 303 and "72" not in anonymous.text
    assert anonymous.headers["location"].startswith("/login?next=/cds/advice/")
    anna = TestClient(app)
    landed = login(
        anna, clock, "anna@zuid.example", make_user(engine, "anna@zuid.example"), next_path=link
    )
    assert landed == link  # the login comes back to the link
    page = anna.get(link)
    assert page.status_code == 200 and 'value="72"' in page.text  # the EHR's data
    admin = TestClient(app)
    login(admin, clock, "dirk@zuid.example", make_user(engine, "dirk@zuid.example", "admin"))
    assert admin.get(link).status_code == 403  # an admin reads no patient data
    with session_scope(engine) as session:
        opened = list(
            session.scalars(select(AuditEvent).where(AuditEvent.event_code == "cds.open"))
        )
        anna_id = session.scalars(select(User.id).where(User.email == "anna@zuid.example")).one()
    assert [(e.action, e.object_type, e.object_id, e.authorisation_protocol) for e in opened] == [
        ("R", "Patient", "mg72", "cds-client")
    ]
    assert opened[0].user_id is not None and opened[0].user_id == anna_id
