"""CDS Hooks feedback stored in the records database (SQLite and PostgreSQL) and counted per
card type; every service call written to the audit log."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, select

from mgadvisor.records.database import session_scope
from mgadvisor.records.models import AuditEvent, CdsFeedback
from mgadvisor.web.app import create_app

CDS = Path(__file__).parent / "fixtures" / "cds"
SANDBOX_KEY = (CDS / "sandbox-private-key.pem").read_text()
BASE = "http://testserver/cds-services/mg-depletion"


def auth(aud: str) -> dict[str, str]:
    now = int(time.time())
    payload = {
        "iss": "https://sandbox.cds-hooks.org",
        "aud": aud,
        "exp": now + 300,
        "iat": now,
        "jti": str(uuid.uuid4()),
    }
    headers = {"kid": "44823f3d-0b01-4a6c-a80e-b9d3e8a7226f", "typ": "JWT"}
    signed = jwt.encode(payload, SANDBOX_KEY, algorithm="ES384", headers=headers)
    return {"Authorization": f"Bearer {signed}"}


@pytest.fixture
def client(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    monkeypatch.setenv("MGADVISOR_CDS_PROFILE", "development")
    app = create_app()
    app.state.records_engine = engine
    return TestClient(app)


def cards(client: TestClient) -> list[dict[str, Any]]:
    body = {
        "hook": "patient-view",
        "hookInstance": str(uuid.uuid4()),
        "context": {"userId": "Practitioner/example", "patientId": "mg72"},
        "prefetch": json.loads((CDS / "prefetch-72.json").read_text()),
    }
    answer = client.post("/cds-services/mg-depletion?lang=en", json=body, headers=auth(BASE))
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json()["cards"]
    return found


def feedback(client: TestClient, items: list[dict[str, Any]]) -> Any:
    return client.post(
        "/cds-services/mg-depletion/feedback?lang=en",
        json={"feedback": items},
        headers=auth(f"{BASE}/feedback"),
    )


def test_feedback_is_stored_and_counted_per_card_type(client: TestClient, engine: Engine) -> None:
    shown = cards(client)
    risk = next(c for c in shown if c["source"]["topic"]["code"] == "risk.deficiency")
    referral = next(c for c in shown if c["source"]["topic"]["code"] == "referral.serum_low")
    reason = risk["overrideReasons"][1]
    items = [
        {
            "card": risk["uuid"],
            "outcome": "overridden",
            "overrideReason": {"reason": reason, "userComment": "not stored"},
            "outcomeTimestamp": "2026-12-01T10:05:31Z",
        },
        {
            "card": referral["uuid"],
            "outcome": "accepted",
            "outcomeTimestamp": "2026-12-01T10:06:00Z",
        },
        {"card": "unknown-card", "outcome": "accepted", "outcomeTimestamp": "2026-12-01T10:07:00Z"},
    ]
    assert feedback(client, items).status_code == 200
    with session_scope(engine) as session:
        rows = session.scalars(select(CdsFeedback).order_by(CdsFeedback.outcome_at)).all()
        stored = [(r.card_type, r.outcome, r.override_reason, r.client_iss) for r in rows]
    iss = "https://sandbox.cds-hooks.org"
    assert stored == [
        ("risk.deficiency", "overridden", reason["code"], iss),
        ("referral.serum_low", "accepted", None, iss),
        (None, "accepted", None, iss),
    ]
    summary = client.get(
        "/cds-services/mg-depletion/feedback/summary", headers=auth(f"{BASE}/feedback/summary")
    )
    assert summary.status_code == 200
    counts = {c["card_type"]: c for c in summary.json()["card_types"]}
    assert counts["risk.deficiency"]["overridden"] == 1
    assert counts["risk.deficiency"]["override_reasons"] == {reason["code"]: 1}
    assert counts["referral.serum_low"]["accepted"] == 1
    assert counts["unknown"]["accepted"] == 1


def test_feedback_needs_a_token_and_valid_items(client: TestClient, engine: Engine) -> None:
    item = {"card": "x", "outcome": "accepted", "outcomeTimestamp": "2026-12-01T10:05:31Z"}
    bare = client.post("/cds-services/mg-depletion/feedback", json={"feedback": [item]})
    assert bare.status_code == 401
    for bad, field in (
        ({**item, "outcome": "ignored"}, "outcome"),
        ({**item, "outcomeTimestamp": "yesterday"}, "outcomeTimestamp"),
        ({"outcome": "accepted"}, "card"),
    ):
        answer = feedback(client, [bad])
        assert answer.status_code == 400
        assert field in answer.json()["errors"][0]["loc"]
    assert feedback(client, []).status_code == 400
    summary = client.get("/cds-services/mg-depletion/feedback/summary")
    assert summary.status_code == 401
    with session_scope(engine) as session:
        assert session.scalars(select(CdsFeedback)).all() == []


def test_feedback_and_its_token_use_commit_together(client: TestClient, engine: Engine) -> None:
    """The token's use is stored with the feedback (one transaction): a token used at another
    instance stores nothing; a token sent with a bad body is used up all the same."""
    other = TestClient(create_app())
    other.app.state.records_engine = engine  # type: ignore[attr-defined]
    item = {"card": "x", "outcome": "accepted", "outcomeTimestamp": "2026-12-01T10:05:31Z"}
    url = "/cds-services/mg-depletion/feedback?lang=en"
    headers = auth(f"{BASE}/feedback")
    commits: list[object] = []

    def committed(connection: object) -> None:
        commits.append(connection)

    event.listen(engine, "commit", committed)
    try:
        assert client.post(url, json={"feedback": [item]}, headers=headers).status_code == 200
    finally:
        event.remove(engine, "commit", committed)
    assert len(commits) == 1
    replayed = other.post(url, json={"feedback": [item, item]}, headers=headers)
    assert replayed.status_code == 401
    assert replayed.json()["errors"][0]["msg"] == "token already used (jti seen before)"
    headers = auth(f"{BASE}/feedback")
    assert client.post(url, json={"feedback": []}, headers=headers).status_code == 400
    assert other.post(url, json={"feedback": [item]}, headers=headers).status_code == 401
    with session_scope(engine) as session:
        assert len(session.scalars(select(CdsFeedback)).all()) == 1


def test_every_call_is_audited_without_patient_data_in_details(
    client: TestClient, engine: Engine
) -> None:
    cards(client)
    with session_scope(engine) as session:
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.event_code == "cds.call")
        ).all()
        assert len(events) == 1
        event = events[0]
        assert (event.action, event.outcome, event.object_type) == ("E", "success", "Patient")
        assert event.authorisation_protocol == "cds-client"
        assert event.object_id == "mg72"
        details = json.loads(event.details or "{}")
    assert details["iss"] == "https://sandbox.cds-hooks.org"
    assert details["hook"] == "patient-view"
    assert "1954" not in json.dumps(details)  # no birth date, no lab values


def _cli(*args: str, url: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MGADVISOR_DATA_DIR": str(data_dir), "MGADVISOR_LANG": "en"}
    env["MGADVISOR_DATABASE_URL"] = url
    return subprocess.run(
        [sys.executable, "-m", "mgadvisor", "cds", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def test_cli_counts_the_feedback(client: TestClient, records_url: str, tmp_path: Path) -> None:
    empty = _cli("feedback", url=records_url, data_dir=tmp_path)
    assert empty.returncode == 0, empty.stderr
    assert "No feedback yet." in empty.stdout
    risk = next(c for c in cards(client) if c["source"]["topic"]["code"] == "risk.deficiency")
    reason = risk["overrideReasons"][0]
    item = {
        "card": risk["uuid"],
        "outcome": "overridden",
        "outcomeTimestamp": "2026-12-01T10:00:00Z",
    }
    assert feedback(client, [{**item, "overrideReason": {"reason": reason}}]).status_code == 200
    shown = _cli("feedback", "--format", "json", url=records_url, data_dir=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout) == [
        {
            "service": "mg-depletion",
            "card_type": "risk.deficiency",
            "accepted": 0,
            "overridden": 1,
            "override_reasons": {reason["code"]: 1},
        }
    ]
    table = _cli("feedback", "--service", "mg-depletion", url=records_url, data_dir=tmp_path)
    assert f"mg-depletion\trisk.deficiency\t0\t1\t{reason['code']} 1" in table.stdout
    bad = _cli("feedback", "--format", "xml", url=records_url, data_dir=tmp_path)
    assert bad.returncode == 2
    assert bad.stderr.strip().count("\n") == 0 and "--format" in bad.stderr


def test_the_advice_link_needs_a_login(client: TestClient, engine: Engine) -> None:
    """Without a login the link goes to the login and nothing is read (the audited read by a
    logged-in practitioner: tests/test_cds_instances.py)."""
    url = cards(client)[0]["links"][0]["url"].removeprefix("http://testserver")
    assert client.get(url, follow_redirects=False).status_code == 303
    with session_scope(engine) as session:
        opened = session.scalars(
            select(AuditEvent).where(AuditEvent.event_code == "cds.open")
        ).all()
        assert opened == []
