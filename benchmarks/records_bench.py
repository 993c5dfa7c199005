"""Practice records at size (issue 13 §6): 10,000 clients and 50,000 visits, on SQLite and on
PostgreSQL; the server time of the client list and the client page, and the audit write.

Generated data (bulk inserts, not timed): one practice, 10 practitioners with 1,000 clients
each (one in ten shared with a colleague), 5 visits per client over a year whose intake and
advice are real documents (the example and the clinical cases through the engine, ~20-40 KB of
advice each; each visit's copy names its own date), and a `client.create` audit record per
client (hash-chained, written by `audit.record`).

Measured, after warm-up:

* client list `GET /clients` and client page `GET /clients/{id}` (a random client of the
  practitioner) through the whole app in-process with a logged-in session, timed by the app's
  own Server-Timing header: routing, session check, repository queries, the audit record each
  page writes, the template. Until those pages exist, the row says so and only the repository
  rows below are measured;
* the repository calls under them (`Records.clients`, all of the practitioner's clients;
  `Records.search_clients`, the first 50 by name, which is what the list page asks;
  `Records.client` + `Records.visits`);
* one audit write: `audit.record` (chain lock, last link, hash, INSERT; on PostgreSQL one
  round trip while this process wrote the chain's last record) inside a transaction, without
  the commit it shares with the request's data.

On PostgreSQL every measurement connects as a login role in `mgadvisor_app`, so row-level
security (migrations 0003, 0005 and 0006) filters every query, as in production. Run alone:
`python benchmarks/records_bench.py` (BENCH_QUICK=1: 500 clients, 2,500 visits).
"""

from __future__ import annotations

import json
import random
import secrets
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from harness import AS_OF, raw_intakes, row, scaled, value_row

PRACTITIONERS = 10
VISITS_PER_CLIENT = 5
CHUNK = 500
LIST_GOAL = "p99 ≤ 50 ms"
PAGE_GOAL = "p99 ≤ 100 ms"
AUDIT_GOAL = "≤ 1 ms"
PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"


def documents() -> list[tuple[str, str]]:
    """(intake JSON, advice JSON) of the example and the cases the engine accepts."""
    from mgadvisor.intake import parse_intake
    from mgadvisor.kb import load_knowledge
    from mgadvisor.pipeline import advice_document

    kb = load_knowledge()
    found = []
    for raw in raw_intakes():
        try:
            advice = advice_document(parse_intake(raw, kb), kb, as_of=AS_OF, lang="nl")
        except Exception:
            continue
        found.append((_json(raw), _json(advice)))
    return found


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


# -- the databases ----------------------------------------------------------------------------


@contextmanager
def databases() -> Iterator[list[tuple[str, str, str]]]:
    """(name, owner URL, app URL) of a new SQLite file and, when reachable, a new PostgreSQL
    database with a login role in mgadvisor_app; all removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="mgadvisor-records-bench-") as folder:
        sqlite = f"sqlite:///{Path(folder) / 'records.sqlite3'}"
        found = [("SQLite", sqlite, sqlite)]
        with _postgresql() as pg:
            if pg is not None:
                found.append(("PostgreSQL", *pg))
            yield found


@contextmanager
def _postgresql() -> Iterator[tuple[str, str] | None]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import OperationalError

    from mgadvisor.records.database import APP_ROLE, make_engine, upgrade

    admin = create_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT")
    suffix = secrets.token_hex(4)
    name, login = f"mgadvisor_bench_{suffix}", f"mgadvisor_bench_{suffix}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f"CREATE DATABASE {name}"))
    except OperationalError:
        admin.dispose()
        yield None
        return
    try:
        owner = make_engine(f"{PG_SERVER}/{name}")
        upgrade(owner)  # migrated here, so that the role exists before the login is made
        owner.dispose()
        with admin.connect() as connection:
            connection.execute(text(f"CREATE ROLE {login} LOGIN IN ROLE {APP_ROLE}"))
        yield f"{PG_SERVER}/{name}", f"postgresql+psycopg://{login}@127.0.0.1:5432/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            connection.execute(text(f"DROP ROLE IF EXISTS {login}"))
        admin.dispose()


# -- generating the records -------------------------------------------------------------------


def generate(url: str, clients: int, docs: list[tuple[str, str]]) -> list[uuid.UUID]:
    """Migrate and fill the database; returns the practitioners' ids."""
    from sqlalchemy import insert

    from mgadvisor.records.database import make_engine, session_scope, upgrade
    from mgadvisor.records.models import CareRelationship, Client, Practice, User, Visit

    engine = make_engine(url)
    upgrade(engine)
    rng = random.Random(13)
    now = datetime.now(UTC)
    practice = uuid.uuid4()
    staff = [uuid.uuid4() for _ in range(PRACTITIONERS)]
    with session_scope(engine) as session:
        session.execute(insert(Practice), [{"id": practice, "name": "Bench", "created_at": now}])
        session.execute(insert(User), [_user(i, uid, practice, now) for i, uid in enumerate(staff)])
    for start in range(0, clients, CHUNK):
        people, links, visits = [], [], []
        for n in range(start, min(start + CHUNK, clients)):
            cid, owner = uuid.uuid4(), staff[n % PRACTITIONERS]
            people.append(_client(n, cid, practice, owner, rng, now))
            links.append(_link(owner, cid, "primary", owner, now))
            if n % 10 == 0:  # one in ten shared with the next colleague
                colleague = staff[(n + 1) % PRACTITIONERS]
                links.append(_link(colleague, cid, "shared", owner, now))
            visits += _visits(cid, owner, rng, docs, now)
        with session_scope(engine) as session:
            session.execute(insert(Client), people)
            session.execute(insert(CareRelationship), links)
            session.execute(insert(Visit), visits)
    _audit_prefill(engine, clients)
    with engine.connect() as connection:
        connection.exec_driver_sql("ANALYZE")  # fresh statistics, as autovacuum would give
        connection.commit()
        # the bulk load's ~1 GB written out now, not by a checkpoint in the middle of the
        # measurements (a practice's database is not measured seconds after such a load)
        if engine.dialect.name == "postgresql":  # (SQLite checkpoints its WAL at each commit)
            connection.exec_driver_sql("CHECKPOINT")
            connection.commit()
    engine.dispose()
    return staff


def _user(i: int, uid: uuid.UUID, practice: uuid.UUID, now: datetime) -> dict[str, Any]:
    return {
        "id": uid,
        "practice_id": practice,
        "email": f"practitioner{i}@bench.example",
        "role": "practitioner",
        "disabled": False,
        "failed_logins": 0,
        "created_at": now,
    }


def _client(
    n: int, cid: uuid.UUID, practice: uuid.UUID, owner: uuid.UUID, rng: random.Random, now: datetime
) -> dict[str, Any]:
    return {
        "id": cid,
        "practice_id": practice,
        "name": f"Cliënt {rng.randrange(10**6):06d}-{n}",
        "pseudonymous": n % 7 == 0,
        "birth_date": date(1930, 1, 1) + timedelta(days=rng.randrange(30_000)),
        "sex": rng.choice(("female", "male", "other")),
        "contact": f"06-{rng.randrange(10**8):08d}",
        "consent_version": "2026-1",
        "consent_scope": "records,advice",
        "consent_method": "written",
        "consent_captured_by": owner,
        "consent_captured_at": now,
        "created_at": now,
    }


def _link(
    who: uuid.UUID, cid: uuid.UUID, kind: str, by: uuid.UUID, now: datetime
) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "practitioner_id": who,
        "client_id": cid,
        "kind": kind,
        "created_by": by,
        "created_at": now,
    }


def _visits(
    cid: uuid.UUID,
    owner: uuid.UUID,
    rng: random.Random,
    docs: list[tuple[str, str]],
    now: datetime,
) -> list[dict[str, Any]]:
    out = []
    first = AS_OF - timedelta(days=365)
    for k in range(VISITS_PER_CLIENT):
        day = first + timedelta(weeks=10 * k, days=rng.randrange(7))
        intake, advice = docs[rng.randrange(len(docs))]
        out.append(
            {
                "id": uuid.uuid4(),
                "client_id": cid,
                "practitioner_id": owner,
                "visit_date": day,
                "intake_json": intake,
                "advice_json": advice.replace(AS_OF.isoformat(), day.isoformat()),
                "kb_version": "bench",
                "kb_hash": "0" * 64,
                "engine_version": "bench",
                "decision": "accepted",
                "created_at": now,
                "follow_up_date": day + timedelta(weeks=8),
            }
        )
    return out


def _audit_prefill(engine: Any, clients: int) -> None:
    from mgadvisor.records.audit import SYSTEM, record
    from mgadvisor.records.database import session_scope

    for start in range(0, clients, 1000):
        with session_scope(engine) as session:
            for _ in range(start, min(start + 1000, clients)):
                record(session, SYSTEM, "client.create", "C", object_type="client")


# -- measuring --------------------------------------------------------------------------------


def _principal_ids(app_url: str, user_id: uuid.UUID) -> tuple[uuid.UUID, list[uuid.UUID]]:
    """The practitioner's practice and the ids of their clients (as the app role sees them)."""
    from mgadvisor.records.database import make_engine
    from mgadvisor.records.models import User
    from mgadvisor.records.repository import Records
    from mgadvisor.records.rls import identify, scoped_session

    engine = make_engine(app_url)
    try:
        with scoped_session(engine, None) as session:
            user = session.get(User, user_id)
            assert user is not None
            identify(session, user.id, user.practice_id)
            return user.practice_id, [c.id for c in Records(session).clients(user)]
    finally:
        engine.dispose()


def repository_samples(
    app_url: str, user_id: uuid.UUID, clients: list[uuid.UUID], rounds: int
) -> tuple[list[float], list[float], list[float]]:
    """Records.clients (all of them), Records.search_clients (the first 50 by name: the query
    of GET /clients), and Records.client + Records.visits of a random client (ms)."""
    from mgadvisor.records.database import make_engine
    from mgadvisor.records.models import User
    from mgadvisor.records.repository import Records
    from mgadvisor.records.rls import scoped_session

    engine = make_engine(app_url)
    rng = random.Random(7)
    listing, first, page = [], [], []
    try:
        with scoped_session(engine, None) as session:
            user = session.get(User, user_id)
            assert user is not None
            practice = user.practice_id
        who = _Who(user_id, practice)
        for n in range(rounds + 5):
            with scoped_session(engine, who) as session:
                user = session.get(User, user_id)
                assert user is not None
                start = time.perf_counter()
                Records(session).clients(user)
                middle = time.perf_counter()
                session.expunge_all()
                user = session.get(User, user_id)
                assert user is not None
                searched = time.perf_counter()
                Records(session).search_clients(user, "")
                listed = time.perf_counter()
                cid = clients[rng.randrange(len(clients))]
                Records(session).client(user, cid)
                Records(session).visits(user, cid)
                end = time.perf_counter()
                session.expunge_all()
            if n >= 5:
                listing.append((middle - start) * 1000)
                first.append((listed - searched) * 1000)
                page.append((end - listed) * 1000)
    finally:
        engine.dispose()
    return listing, first, page


class _Who:
    def __init__(self, user_id: uuid.UUID, practice_id: uuid.UUID) -> None:
        self.user_id, self.practice_id = user_id, practice_id


def audit_samples(
    app_url: str, user_id: uuid.UUID, practice: uuid.UUID, rounds: int
) -> tuple[list[float], list[float]]:
    """One `audit.record` inside a transaction (ms), as a page writes it; and the same with the
    commit it makes necessary (a page that only reads would otherwise commit nothing)."""
    from mgadvisor.records.audit import Actor, record
    from mgadvisor.records.database import make_engine
    from mgadvisor.records.rls import scoped_session

    engine = make_engine(app_url)
    actor = Actor(user_id, "practitioner", "127.0.0.1")
    inside, committed = [], []
    try:
        for n in range(rounds + 20):
            with scoped_session(engine, _Who(user_id, practice)) as session:
                session.connection()  # the connection and its user are the request's, not this
                start = time.perf_counter()
                record(session, actor, "client.read", "R", object_type="client")
                took = (time.perf_counter() - start) * 1000
            end = time.perf_counter()
            if n >= 20:
                inside.append(took)
                committed.append((end - start) * 1000)
    finally:
        engine.dispose()
    return inside, committed


def page_samples(
    app_url: str, user_id: uuid.UUID, clients: list[uuid.UUID], rounds: int
) -> tuple[list[float], list[float]] | None:
    """Server-Timing of GET /clients and GET /clients/{id}; None while the pages are missing."""
    from cryptography.fernet import Fernet, MultiFernet
    from fastapi.testclient import TestClient

    from mgadvisor.records import sessions
    from mgadvisor.records.database import make_engine, session_scope
    from mgadvisor.records.models import User
    from mgadvisor.web.app import create_app
    from mgadvisor.web.auth import use_records
    from mgadvisor.web.settings import WebSettings

    engine = make_engine(app_url)
    try:
        app = create_app(WebSettings(secret=secrets.token_bytes(24)))
        use_records(app, engine, MultiFernet([Fernet(Fernet.generate_key())]))
        with session_scope(engine) as session:
            user = session.get(User, user_id)
            assert user is not None
            now = datetime.now(UTC)
            _, token = sessions.open_session(
                session, user, "full", "127.0.0.1", now, timedelta(hours=8)
            )
        client = TestClient(app, base_url="http://127.0.0.1")
        client.cookies.set("mg_session", token)
        if client.get("/clients", follow_redirects=False).status_code != 200:
            return None
        rng = random.Random(11)
        listing, page = [], []
        for n in range(rounds + 10):
            a = client.get("/clients")
            b = client.get(f"/clients/{clients[rng.randrange(len(clients))]}")
            assert a.status_code == 200 and b.status_code == 200, (a.status_code, b.status_code)
            if n >= 10:
                listing.append(_server_ms(a.headers["server-timing"]))
                page.append(_server_ms(b.headers["server-timing"]))
        return listing, page
    finally:
        engine.dispose()


def _server_ms(header: str) -> float:
    return float(header.split("dur=")[1].split(",", maxsplit=1)[0])


def measure(clients: int, rounds: int) -> list[str]:
    docs = documents()
    rows = []
    with databases() as found:
        for name, owner_url, app_url in found:
            start = time.perf_counter()
            staff = generate(owner_url, clients, docs)
            took = time.perf_counter() - start
            counts = f"{clients:,} clients, {clients * VISITS_PER_CLIENT:,} visits"
            rows.append(value_row(f"{name}: generate {counts} (bulk)", f"{took:.0f} s"))
            practice, mine = _principal_ids(app_url, staff[0])
            rows.append(value_row(f"{name}: clients of the measured practitioner", f"{len(mine)}"))
            pages = page_samples(app_url, staff[0], mine, rounds)
            if pages is None:
                rows.append(value_row(f"{name}: GET /clients, /clients/{{id}}", "not built yet"))
            else:
                rows.append(row(f"{name}: GET /clients (Server-Timing)", pages[0], LIST_GOAL))
                rows.append(
                    row(f"{name}: GET /clients/{{id}} (Server-Timing)", pages[1], PAGE_GOAL)
                )
            listing, first, page = repository_samples(app_url, staff[0], mine, rounds)
            rows.append(row(f"{name}: Records.clients (all {len(mine)}, by name)", listing))
            rows.append(row(f"{name}: Records.search_clients (the list's query: 50)", first))
            rows.append(row(f"{name}: Records.client + visits (the page's queries)", page))
            audit, committed = audit_samples(app_url, staff[0], practice, scaled(1000, 50))
            rows.append(row(f"{name}: one audit.record in a transaction", audit, AUDIT_GOAL, 2))
            rows.append(row(f"{name}: one audit.record + the commit it needs", committed, "-", 2))
    return rows


if __name__ == "__main__":
    for line in measure(clients=scaled(10_000, 500), rounds=scaled(300, 20)):
        print(line, flush=True)
