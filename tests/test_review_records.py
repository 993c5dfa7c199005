"""Independent review of the records speed changes (migration 0006, audit append, sessions).

- The downgrade 0006 -> 0005 restores exactly 0005's policies and functions.
- Many concurrent writers of the audit chain (threads, two engines standing for two instances,
  some transactions rolled back) leave one unbroken chain that `verify` accepts.
- The HMAC key of the chain never reaches the database.
- The RLS settings of one transaction never reach the next one on a pooled connection.
- (a finding, fixed by 0007) a SQL function of 0006's insert check resolved its tables by the
  caller's search_path, so the app's role could shadow them with temporary tables: now the role
  may create none, and the functions name the schema (tested with the right given back).
- The downgrade 0007 -> 0006 restores exactly 0006's policies and functions.
"""

from __future__ import annotations

import itertools
import random
import secrets
import threading
import uuid
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import DBAPIError

from mgadvisor.records import audit
from mgadvisor.records.audit import SYSTEM, record, verify
from mgadvisor.records.database import APP_ROLE, make_engine, session_scope, upgrade
from mgadvisor.records.repository import Records
from mgadvisor.records.rls import scoped_session
from records_support import drop_role, login_role


@pytest.fixture
def app(app_as: Any) -> Engine:
    """PostgreSQL only: the app's role, one pooled connection (so every transaction reuses it)."""
    engine: Engine = app_as(pool_size=1, max_overflow=0)
    return engine


@pytest.fixture
def world(owner: Engine) -> dict[str, Any]:
    """South: Anna (A1), Bram (B1, not shared, no grant); North: Carla (C1)."""
    with session_scope(owner) as session:
        repo = Records(session)
        south, north = repo.add_practice("Zuid"), repo.add_practice("Noord")
        anna = repo.add_user(south, "anna@zuid.example", "practitioner")
        bram = repo.add_user(south, "bram@zuid.example", "practitioner")
        carla = repo.add_user(north, "carla@noord.example", "practitioner")
        a1 = repo.add_client(anna, name="A1")
        b1 = repo.add_client(bram, name="B1")
        c1 = repo.add_client(carla, name="C1")
        return {"anna": anna, "bram": bram, "carla": carla, "ids": (a1.id, b1.id, c1.id)}


# -- migration 0006 down to 0005 --------------------------------------------------------------

_POLICIES = (
    "SELECT tablename, policyname, permissive, roles::text, cmd, qual, with_check "
    "FROM pg_policies WHERE schemaname = 'public' ORDER BY tablename, policyname"
)
_FUNCTIONS = (
    "SELECT p.oid::regprocedure::text, pg_get_functiondef(p.oid), p.proacl::text "
    "FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
    "WHERE n.nspname = 'public' ORDER BY 1"
)


def _catalog(engine: Engine) -> tuple[list[Any], list[Any]]:
    with engine.connect() as connection:
        return (
            [tuple(r) for r in connection.execute(text(_POLICIES))],
            [tuple(r) for r in connection.execute(text(_FUNCTIONS))],
        )


@pytest.mark.parametrize(("before", "after"), [("0005", "0006"), ("0006", "0007")])
def test_a_downgrade_restores_the_catalog_exactly(
    records_url: str, before: str, after: str
) -> None:
    """0006 and 0007 change PostgreSQL's policies and functions only: their downgrade gives
    back exactly the catalog of the revision before."""
    if not records_url.startswith("postgresql"):
        pytest.skip(f"{after} changes PostgreSQL only")
    from alembic import command

    from mgadvisor.records.database import _alembic_config

    engine = make_engine(records_url)
    try:
        upgrade(engine, before)
        earlier = _catalog(engine)
        assert upgrade(engine, after) == after
        assert _catalog(engine) != earlier
        command.downgrade(_alembic_config(engine), before)
        assert _catalog(engine) == earlier
    finally:
        engine.dispose()


# -- the audit chain under concurrent writers -------------------------------------------------


def _instance(owner: Engine, records_url: str, name: str) -> Engine:
    """Another engine on the same database, as a second instance: on PostgreSQL its URL differs
    (application_name), so it keeps its own guess of the chain's end, as another process would."""
    if records_url.startswith("postgresql"):
        return make_engine(owner.url.update_query_dict({"application_name": name}))
    return make_engine(records_url)


def test_many_writers_on_two_instances_leave_one_unbroken_chain(
    records_url: str, owner: Engine
) -> None:
    engines = [owner, _instance(owner, records_url, "second")]
    threads_per_engine, writes = 4, 25
    errors: list[BaseException] = []
    committed: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(threads_per_engine * len(engines))

    class RollbackError(Exception):
        pass

    def writer(engine: Engine, seed: int) -> None:
        chance = random.Random(seed)
        try:
            start.wait()
            for i in range(writes):
                try:
                    with session_scope(engine) as session:
                        seqs = [
                            record(session, SYSTEM, "review.stress", "E").seq
                            for _ in range(chance.randint(1, 3))
                        ]
                        if i % 7 == 3:  # a write that rolls back: the guess is now ahead
                            raise RollbackError
                    with lock:
                        committed.extend(int(s or 0) for s in seqs)
                except RollbackError:
                    pass
        except BaseException as exc:
            errors.append(exc)

    threads = [
        threading.Thread(target=writer, args=(engine, n * 100 + t))
        for n, engine in enumerate(engines)
        for t in range(threads_per_engine)
    ]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=300)
        assert errors == []
        assert sorted(committed) == list(range(1, len(committed) + 1))  # no gap, no duplicate
        with session_scope(owner) as session:
            result = verify(session)
            rows = session.execute(
                text("SELECT seq, prev_hash, hash FROM audit_events ORDER BY seq")
            ).all()
        assert (result.ok, result.count) == (True, len(committed)), result
        for before, after in itertools.pairwise(rows):
            assert after.prev_hash == before.hash and after.seq == before.seq + 1
    finally:
        engines[1].dispose()


def test_the_audit_key_never_reaches_the_database(
    owner: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = "review-" + secrets.token_hex(24)
    monkeypatch.setenv(audit.ENV_KEY, key)
    sent: list[str] = []

    def spy(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        sent.append(statement + repr(parameters))

    event.listen(owner, "before_cursor_execute", spy)
    try:
        for _ in range(3):  # the first guess, a good guess, then a stale one
            with session_scope(owner) as session:
                record(session, SYSTEM, "review.key", "E")
        audit._last_written.clear()
        with session_scope(owner) as session:
            record(session, SYSTEM, "review.key", "E")
            assert verify(session).ok
    finally:
        event.remove(owner, "before_cursor_execute", spy)
    assert sent and not any(key in s or key.encode().hex() in s for s in sent)


# -- no settings leak between transactions on one pooled connection --------------------------

_WHO = (
    "SELECT coalesce(current_setting('mgadvisor.user_id', true), ''), "
    "coalesce(current_setting('mgadvisor.practice_id', true), ''), pg_backend_pid()"
)


def test_settings_never_outlive_their_transaction(app: Engine, world: dict[str, Any]) -> None:
    anna = world["anna"]
    with scoped_session(app, anna) as session:
        user, practice, pid = session.execute(text(_WHO)).one()
        assert (user, practice) == (str(anna.id), str(anna.practice_id))
        assert {n for (n,) in session.execute(text("SELECT name FROM clients"))} == {"A1"}
    with session_scope(app) as session:  # same connection, nobody
        user, practice, again = session.execute(text(_WHO)).one()
        assert again == pid and (user, practice) == ("", "")
        assert session.execute(text("SELECT count(*) FROM clients")).scalar_one() == 0
    with pytest.raises(RuntimeError), scoped_session(app, anna) as session:  # rolled back
        session.execute(text("SELECT 1 FROM clients"))
        raise RuntimeError
    with scoped_session(app, None) as session:
        user, practice, again = session.execute(text(_WHO)).one()
        assert again == pid and (user, practice) == ("", "")
        assert session.execute(text("SELECT count(*) FROM clients")).scalar_one() == 0
    with app.connect() as connection:  # a plain connection from the pool
        assert connection.execute(text(_WHO)).one()[:2] == ("", "")


def test_interleaved_sessions_in_threads_see_only_their_own_rows(
    records_url: str, owner: Engine, world: dict[str, Any]
) -> None:
    if not records_url.startswith("postgresql"):
        pytest.skip("row-level security exists on PostgreSQL only")
    login, engine = login_role(owner, f"IN ROLE {APP_ROLE}", pool_size=1, max_overflow=0)
    engine.dispose()
    engine = create_engine(engine.url, pool_size=2, max_overflow=0)
    expected = {"anna": {"A1"}, "bram": {"B1"}, "carla": {"C1"}, None: set()}
    errors: list[BaseException] = []

    def reader(name: str | None) -> None:
        try:
            for _ in range(40):
                who = None if name is None else world[name]
                with scoped_session(engine, who) as session:
                    found = {n for (n,) in session.execute(text("SELECT name FROM clients"))}
                    assert found == expected[name], (name, found)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=reader, args=(n,)) for n in expected for _ in range(2)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert errors == []
    finally:
        drop_role(owner, login, engine)


# -- finding: the insert check's functions follow the caller's search_path -------------------


def test_the_apps_role_may_create_no_temporary_table(app: Engine, world: dict[str, Any]) -> None:
    with scoped_session(app, world["anna"]) as session, pytest.raises(DBAPIError) as refused:
        session.execute(text("CREATE TEMP TABLE clients (id uuid, practice_id uuid)"))
    assert getattr(refused.value.orig, "sqlstate", None) == "42501"


def test_a_temporary_table_cannot_shadow_the_insert_checks_tables(
    app: Engine, owner: Engine, world: dict[str, Any]
) -> None:
    """Even where the right to create temporary tables is given back (a database whose owner
    did not run 0007's REVOKE), the checks read the real tables."""
    anna = world["anna"]
    _, b1, _ = world["ids"]
    with owner.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        database = connection.execute(text("SELECT current_database()")).scalar_one()
        connection.execute(text(f'GRANT TEMPORARY ON DATABASE "{database}" TO {app.url.username}'))
    with scoped_session(app, anna) as session:
        assert (
            session.execute(text("SELECT count(*) FROM clients WHERE id = :c"), {"c": b1}).one()[0]
            == 0
        )
        session.execute(text("CREATE TEMP TABLE clients (id uuid, practice_id uuid)"))
        session.execute(
            text("CREATE TEMP TABLE care_relationships (client_id uuid, practitioner_id uuid)")
        )
        session.execute(
            text("INSERT INTO pg_temp.clients VALUES (:c, :p)"), {"c": b1, "p": anna.practice_id}
        )
        session.execute(
            text("INSERT INTO pg_temp.care_relationships VALUES (:c, :u)"), {"c": b1, "u": anna.id}
        )
        try:
            with session.begin_nested():
                session.execute(
                    text(
                        "INSERT INTO public.care_relationships (id, practitioner_id, client_id, "
                        "kind, created_by, created_at) "
                        "VALUES (:id, :u, :c, 'shared', :u, now())"
                    ),
                    {"id": uuid.uuid4(), "u": anna.id, "c": b1},
                )
        except DBAPIError as exc:
            assert getattr(exc.orig, "sqlstate", None) == "42501"
            return  # refused, as under 0005
        session.execute(text("DROP TABLE pg_temp.clients, pg_temp.care_relationships"))
        seen = session.execute(text("SELECT name FROM public.clients WHERE id = :c"), {"c": b1})
        pytest.fail(f"self-grant accepted: Anna now reads {seen.scalars().all()} of Bram's")
