"""Durability (issue 13 §1): a process saving a stream of visits is killed with SIGKILL in the
middle of it; every visit it acknowledged (printed after its commit) is there afterwards, the
audit chain still verifies and SQLite's `PRAGMA integrity_check` says ok.

The writer is a separate Python process using the records' own code path (`Records.add_visit`
and `audit.record` in one transaction, as the web app does); it prints a visit's id only after
the commit returned, like a server answering 201 only after the commit.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import date

import pytest
from sqlalchemy import Engine, select, text

from mgadvisor.records.audit import verify
from mgadvisor.records.database import make_engine, session_scope, upgrade
from mgadvisor.records.models import User, Visit
from mgadvisor.records.repository import Records

ACKNOWLEDGED_BEFORE_KILL = 150

WRITER = """
import sys, uuid
from datetime import date
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


@pytest.fixture
def engine(records_url: str) -> Iterator[Engine]:
    engine = make_engine(records_url)
    upgrade(engine)
    yield engine
    engine.dispose()


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
