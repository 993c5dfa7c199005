"""Durability (issue 13 §1): a process saving a stream of visits is killed with SIGKILL in the
middle of it; every visit it acknowledged is there afterwards, the audit chain still verifies
and SQLite's `PRAGMA integrity_check` says ok.

Two writers: the real server (`mgadvisor serve`, `POST /api/v1/clients/{id}/visits`: a 201 is
the acknowledgement; on PostgreSQL as the app role, under row-level security), and a small
process calling `Records.add_visit` and `audit.record` in one transaction that prints a visit's
id only after the commit returned (many more writes per second, so the kill is more likely to
land inside a commit).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import requests
import yaml
from sqlalchemy import Engine, select, text

from mgadvisor.records import sessions
from mgadvisor.records.audit import verify
from mgadvisor.records.database import make_engine, session_scope
from mgadvisor.records.models import User, Visit
from mgadvisor.records.repository import Records
from server_support import app_role_url, server

ACKNOWLEDGED_BEFORE_KILL = 150

WRITER = """
import sys, uuid
from datetime import UTC, date, datetime
from pathlib import Path
from mgadvisor.records.audit import Actor, record
from mgadvisor.records.database import make_engine, session_scope
from mgadvisor.records.models import User
from mgadvisor.records.repository import Records

url, user_id, client_id = sys.argv[1], uuid.UUID(sys.argv[2]), uuid.UUID(sys.argv[3])
engine = make_engine(url)
advice = {"kb_version": "1", "kb_hash": "abc", "engine_version": "1", "text": "x" * 4000}
actor = Actor(user_id, "practitioner", "127.0.0.1")
n = 0
while True:
    with session_scope(engine) as session:
        user = session.get(User, user_id)
        visit = Records(session).add_visit(user, client_id, date(2026, 11, 1), {"n": n}, advice)
        record(session, actor, "visit.create", "C", object_type="visit",
               object_id=str(visit.id), client_id=client_id)
        visit_id = visit.id
    sys.stdout.write(f"{visit_id}\\n")  # only after the commit: acknowledged
    sys.stdout.flush()
    n += 1
"""


def _practitioner_and_client(engine: Engine) -> tuple[uuid.UUID, uuid.UUID]:
    with session_scope(engine) as session:
        repo = Records(session)
        practice = repo.add_practice("Zuid")
        anna = repo.add_user(practice, "anna@zuid.example", "practitioner")
        client = repo.add_client(anna, name="C1", birth_date=date(1950, 1, 1))
        return anna.id, client.id


def test_every_acknowledged_visit_survives_a_sigkill(engine: Engine, records_url: str) -> None:
    user_id, client_id = _practitioner_and_client(engine)
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, records_url, str(user_id), str(client_id)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    acknowledged: list[str] = []
    try:
        assert writer.stdout is not None
        while len(acknowledged) < ACKNOWLEDGED_BEFORE_KILL:
            line = writer.stdout.readline()
            if not line:  # the writer died on its own: show why
                writer.wait(timeout=10)
                pytest.fail(f"writer stopped: {writer.stderr.read() if writer.stderr else ''}")
            acknowledged.append(line.strip())
        os.kill(writer.pid, signal.SIGKILL)  # mid-stream: it is inside a transaction or a write
        rest, _ = writer.communicate(timeout=30)
        acknowledged += rest.split()  # printed before the kill: acknowledged too
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.wait()
    assert writer.returncode == -signal.SIGKILL

    engine.dispose()  # "restart": new connections to the database left behind
    reopened = make_engine(records_url)
    try:
        if records_url.startswith("sqlite"):
            with reopened.connect() as connection:
                assert connection.execute(text("PRAGMA integrity_check")).scalar() == "ok"
        with session_scope(reopened) as session:
            stored = {str(i) for i in session.scalars(select(Visit.id))}
            missing = set(acknowledged) - stored
            assert not missing, f"{len(missing)} acknowledged visits lost"
            assert len(stored) - len(acknowledged) in (0, 1)  # at most the unanswered one
            assert verify(session).ok
            anna = session.get(User, user_id)
            assert anna is not None
            visits = Records(session).visits(anna, client_id)  # readable through the repository
            assert len(visits) == len(stored)
    finally:
        reopened.dispose()


CASE = Path(__file__).parent / "cases" / "01_example_elderly_woman.yaml"
ACKNOWLEDGED_OVER_HTTP = 12


def _api_token(engine: Engine, user_id: uuid.UUID) -> str:
    """A personal API token of the practitioner (her login is tested elsewhere)."""
    with session_scope(engine) as session:
        user = session.get(User, user_id)
        assert user is not None
        _, token = sessions.issue_token(session, user, "personal", datetime.now(UTC), None, "t")
        return token


def _post_visits(base: str, token: str, client_id: uuid.UUID, acknowledged: list[str]) -> None:
    """Save visits one after another until the server stops answering."""
    intake = yaml.safe_load(CASE.read_text(encoding="utf-8"))["intake"]
    headers = {"Authorization": f"Bearer {token}"}
    url = f"{base}/api/v1/clients/{client_id}/visits"
    with requests.Session() as http:
        while True:
            try:
                answer = http.post(url, json={"intake": intake}, headers=headers, timeout=30)
            except requests.RequestException:
                return  # killed: this request was never acknowledged
            if answer.status_code != 201:
                acknowledged.append(f"error {answer.status_code}: {answer.text[:300]}")
                return
            acknowledged.append(answer.json()["id"])


def test_every_visit_the_server_acknowledged_survives_a_sigkill(
    engine: Engine, records_url: str, tmp_path: Path
) -> None:
    user_id, client_id = _practitioner_and_client(engine)
    token = _api_token(engine, user_id)
    acknowledged: list[str] = []
    with app_role_url(records_url) as app_url:
        with server(app_url, tmp_path / "one") as (base, process):
            sender = threading.Thread(
                target=_post_visits, args=(base, token, client_id, acknowledged)
            )
            sender.start()
            while len(acknowledged) < ACKNOWLEDGED_OVER_HTTP and sender.is_alive():
                sender.join(timeout=0.05)
            os.kill(process.pid, signal.SIGKILL)  # a request is in flight
            sender.join(timeout=60)
            process.wait(timeout=10)
        assert not sender.is_alive()
        assert all(not a.startswith("error") for a in acknowledged), acknowledged[-1]
        assert len(acknowledged) >= ACKNOWLEDGED_OVER_HTTP

        engine.dispose()
        if records_url.startswith("sqlite"):
            with engine.connect() as connection:
                assert connection.execute(text("PRAGMA integrity_check")).scalar() == "ok"
        with session_scope(engine) as session:
            stored = {str(i) for i in session.scalars(select(Visit.id))}
            assert set(acknowledged) <= stored
            assert len(stored) - len(acknowledged) in (0, 1)  # at most the unanswered one
            assert verify(session).ok
        with server(app_url, tmp_path / "two") as (base, _):  # restarted: all readable
            listed = requests.get(
                f"{base}/api/v1/clients/{client_id}/visits",
                headers={"Authorization": f"Bearer {token}"},
                timeout=30,
            )
            assert listed.status_code == 200
            assert {v["id"] for v in listed.json()} == stored
