"""A hook call's token use and audit record in ONE transaction (issue 14 §3), on SQLite and
PostgreSQL: the use is still refused a second time at any instance, before any card leaves;
a refused replay leaves no audit record and no advice link; a call with a bad body or a busy
engine uses the token up too; `Verifier.check` leaves the database alone; the parsed public
keys are cached per key content (a key set that changes under the same kid is followed)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from auth_support import records_app
from mgadvisor.interop.cds_security import (
    SANDBOX_ISS,
    CdsAuthError,
    SharedReplays,
    Verifier,
    load_clients,
)
from mgadvisor.records.database import make_engine, session_scope, upgrade
from mgadvisor.records.models import AuditEvent, CdsTokenUse

CDS = Path(__file__).parent / "fixtures" / "cds"
SANDBOX_KEY = (CDS / "sandbox-private-key.pem").read_text()
SANDBOX_KID = "44823f3d-0b01-4a6c-a80e-b9d3e8a7226f"
URL = "/cds-services/mg-depletion?lang=en"
AUD = "http://testserver/cds-services/mg-depletion"


def signed(key: Any = SANDBOX_KEY, kid: str = SANDBOX_KID, aud: str = AUD) -> str:
    now = int(time.time())
    payload = {"iss": SANDBOX_ISS, "aud": aud, "exp": now + 300, "iat": now}
    payload["jti"] = str(uuid.uuid4())
    return jwt.encode(payload, key, algorithm="ES384", headers={"kid": kid})


def patient_view() -> dict[str, Any]:
    return {
        "hook": "patient-view",
        "hookInstance": str(uuid.uuid4()),
        "context": {"userId": "Practitioner/example", "patientId": "mg72"},
        "prefetch": json.loads((CDS / "prefetch-72.json").read_text()),
    }


@pytest.fixture
def engine(records_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    monkeypatch.setenv("MGADVISOR_CDS_PROFILE", "development")
    monkeypatch.delenv("MGADVISOR_CDS_CLIENTS", raising=False)
    engine = make_engine(records_url)
    upgrade(engine)
    yield engine
    engine.dispose()


def count(engine: Engine, model: Any) -> int:
    with session_scope(engine) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def refusals(engine: Engine) -> list[str]:
    with session_scope(engine) as session:
        events = session.scalars(select(AuditEvent).where(AuditEvent.event_code == "cds.call"))
        return [
            json.loads(e.details or "{}").get("refused") for e in events if e.outcome != "success"
        ]


def calls_audited(engine: Engine) -> list[tuple[str, int]]:
    with session_scope(engine) as session:
        events = session.scalars(select(AuditEvent).where(AuditEvent.event_code == "cds.call"))
        return [(e.outcome, json.loads(e.details or "{}")["cards"]) for e in events]


def test_a_replay_at_another_instance_gets_no_card_no_link_and_is_audited(engine: Engine) -> None:
    first_app, second_app = records_app(engine)[0], records_app(engine)[0]
    first, second = TestClient(first_app), TestClient(second_app)
    headers = {"Authorization": f"Bearer {signed()}"}
    answer = first.post(URL, json=patient_view(), headers=headers)
    assert answer.status_code == 200
    made = len(answer.json()["cards"])
    assert made > 0
    replayed = second.post(URL, json=patient_view(), headers=headers)
    assert replayed.status_code == 401
    assert "cards" not in replayed.json()
    assert replayed.json()["errors"][0]["msg"] == "token already used (jti seen before)"
    assert count(engine, CdsTokenUse) == 1
    # the call's own record is rolled back with the use; the refusal is on record
    assert calls_audited(engine) == [("success", made), ("failure", 0)]
    assert refusals(engine) == ["replay"]
    refused_at = second_app.state.cds  # it keeps nothing of the call
    assert not refused_at.links._intakes and not refused_at.issued._cards


def test_a_replayed_token_never_reaches_the_ehrs_fhir_server(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without prefetch the service fetches from fhirServer with the call's access token: the
    token's use is stored first, so a replay at another instance is refused before any fetch
    (found in review: the engine ran, and could fetch, before the replay was found)."""
    from mgadvisor.interop import cds_hooks
    from mgadvisor.web import cds

    prefetch = patient_view()["prefetch"]
    fetched: list[str] = []

    keys = {
        "Patient/": "patient",
        "MedicationRequest?": "medications",
        "MedicationStatement?": "statements",
        "Observation?": "labs",
        "Condition?": "conditions",
    }

    def fetch(server: str, query: str, token: str | None) -> Any:  # the EHR's FHIR server
        fetched.append(query)
        return prefetch[next(key for start, key in keys.items() if query.startswith(start))]

    monkeypatch.setattr(cds_hooks, "fetch_fhir", fetch)
    monkeypatch.setattr(cds, "fhir_server_allowed", lambda client, url: True)
    body = patient_view()
    del body["prefetch"]
    body["fhirServer"] = "https://ehr.example/fhir"
    body["fhirAuthorization"] = {"access_token": "ehr-token", "token_type": "Bearer"}
    first, second = TestClient(records_app(engine)[0]), TestClient(records_app(engine)[0])
    headers = {"Authorization": f"Bearer {signed()}"}
    assert first.post(URL, json=body, headers=headers).status_code == 200
    asked = len(fetched)
    assert asked > 0
    assert count(engine, CdsTokenUse) == 1  # stored before the first fetch
    assert second.post(URL, json=body, headers=headers).status_code == 401
    assert len(fetched) == asked  # the replay asked the EHR nothing
    assert [outcome for outcome, _ in calls_audited(engine)] == ["success", "failure"]
    assert refusals(engine) == ["replay"]


def test_a_call_with_a_bad_body_uses_the_token_up(engine: Engine) -> None:
    first, second = TestClient(records_app(engine)[0]), TestClient(records_app(engine)[0])
    headers = {"Authorization": f"Bearer {signed()}"}
    bad = {**patient_view(), "hook": "order-sign"}
    assert first.post(URL, json=bad, headers=headers).status_code == 400
    assert count(engine, CdsTokenUse) == 1
    again = second.post(URL, json=patient_view(), headers=headers)  # fine body, used token
    assert again.status_code == 401
    other = {"Authorization": f"Bearer {signed()}"}
    assert first.post(URL, json=patient_view(), headers=other).status_code == 200
    assert second.post(URL, json=bad, headers=other).status_code == 401  # a replay first
    # the replay with a fine body is audited as refused; a bad body is no call of a patient
    assert [outcome for outcome, _ in calls_audited(engine)] == ["failure", "success"]
    assert refusals(engine) == ["replay"]


def test_a_missing_prefetch_is_audited_as_a_failure_with_the_use(engine: Engine) -> None:
    client = TestClient(records_app(engine)[0])
    body = patient_view()
    del body["prefetch"]
    headers = {"Authorization": f"Bearer {signed()}"}
    assert client.post(URL, json=body, headers=headers).status_code == 412
    assert count(engine, CdsTokenUse) == 1
    assert calls_audited(engine) == [("failure", 0)]
    other = TestClient(records_app(engine)[0])
    assert other.post(URL, json=patient_view(), headers=headers).status_code == 401


def test_a_busy_engine_uses_the_token_up(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    from mgadvisor.web import cds
    from mgadvisor.web.workers import ServerBusy

    def busy(*args: Any) -> Any:
        raise ServerBusy

    monkeypatch.setattr(cds, "_answer", busy)
    headers = {"Authorization": f"Bearer {signed()}"}
    answer = TestClient(records_app(engine)[0]).post(URL, json=patient_view(), headers=headers)
    assert answer.status_code == 503
    assert count(engine, CdsTokenUse) == 1
    assert calls_audited(engine) == []
    monkeypatch.undo()
    other = TestClient(records_app(engine)[0])
    assert other.post(URL, json=patient_view(), headers=headers).status_code == 401


def test_the_use_counts_only_with_its_transaction(engine: Engine) -> None:
    shared = SharedReplays(engine)
    now = time.time()
    with pytest.raises(RuntimeError), session_scope(engine) as session:
        shared.use(session, SANDBOX_ISS, "rolled-back", now + 300, now)
        raise RuntimeError("the audit record could not be written")
    assert count(engine, CdsTokenUse) == 0  # nothing acted on: the token may come again
    with session_scope(engine) as session:
        shared.use(session, SANDBOX_ISS, "rolled-back", now + 300, now)
    with pytest.raises(CdsAuthError) as caught, session_scope(engine) as session:
        shared.use(session, SANDBOX_ISS, "rolled-back", now + 300, now)
    assert caught.value.msgid == "token already used (jti seen before)"
    assert count(engine, CdsTokenUse) == 1


def test_check_leaves_the_database_to_the_caller(engine: Engine) -> None:
    clients = load_clients({"MGADVISOR_CDS_PROFILE": "development"})
    verifier = Verifier(clients, SharedReplays(engine))
    token = f"Bearer {signed()}"
    claims = verifier.check(token, AUD)
    assert count(engine, CdsTokenUse) == 0
    with pytest.raises(CdsAuthError):  # this process remembers it all the same
        verifier.check(token, AUD)
    assert verifier.shared is not None
    with session_scope(engine) as session:
        verifier.shared.use(session, claims.iss, claims.jti, claims.exp, time.time())
    with pytest.raises(CdsAuthError):  # and another instance, once the use is stored
        Verifier(clients, SharedReplays(engine)).verify(token, AUD)


def test_a_key_set_that_changes_under_the_same_kid_is_followed(tmp_path: Path) -> None:
    url = "https://keys.example.org/jwks.json"
    path = tmp_path / "clients.json"
    path.write_text(json.dumps({SANDBOX_ISS: {"jku": url}}))
    verifier = Verifier(load_clients({"MGADVISOR_CDS_CLIENTS": str(path)}))
    old, new = ec.generate_private_key(ec.SECP384R1()), ec.generate_private_key(ec.SECP384R1())

    def jwk(key: ec.EllipticCurvePrivateKey) -> dict[str, Any]:
        found: dict[str, Any] = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
        return {**found, "kid": "k1"}

    now = time.time()
    verifier.key_sets.cache[url] = (now, (jwk(old),))  # as fetched
    assert verifier.verify(f"Bearer {signed(old, 'k1')}", AUD).iss == SANDBOX_ISS
    assert verifier.verify(f"Bearer {signed(old, 'k1')}", AUD).iss == SANDBOX_ISS  # cached key
    verifier.key_sets.cache[url] = (now, (jwk(new),))  # the client rotated its key
    with pytest.raises(CdsAuthError) as caught:
        verifier.verify(f"Bearer {signed(old, 'k1')}", AUD)
    assert "signature" in caught.value.msgid
    assert verifier.verify(f"Bearer {signed(new, 'k1')}", AUD).iss == SANDBOX_ISS
