"""Migration 0006 (issue 13 §6, speed): the read policies of care relationships and break-glass
grants check the practice with a set hashed once per statement instead of a function per row;
the insert check of care relationships calls functions of the same text (no recursion); the
audit chain's lock and last link come in one round trip (`mgadvisor_audit_tail`). The same rows
stay visible to the same users, and writers of the chain stay serialised."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from mgadvisor.records import audit
from mgadvisor.records.audit import SYSTEM, record, verify
from mgadvisor.records.database import session_scope, upgrade
from mgadvisor.records.models import User
from mgadvisor.records.repository import Records
from mgadvisor.records.rls import scoped_session

ADVICE = {"kb_version": "1", "kb_hash": "abc", "engine_version": "1", "advice": []}


@pytest.fixture
def app(app_as: Any) -> Engine:
    """PostgreSQL only: an engine logged in as a user in the app's role."""
    engine: Engine = app_as()
    return engine


@pytest.fixture
def world(owner: Engine) -> dict[str, Any]:
    """South: Anna (A1, shared with Bram), Bram (B1), a break-glass grant of Anna to B1;
    North: Carla (C1). Written as the superuser, whom row-level security never filters."""
    now = datetime.now(UTC)
    with session_scope(owner) as session:
        repo = Records(session)
        south, north = repo.add_practice("Zuid"), repo.add_practice("Noord")
        anna = repo.add_user(south, "anna@zuid.example", "practitioner")
        bram = repo.add_user(south, "bram@zuid.example", "practitioner")
        carla = repo.add_user(north, "carla@noord.example", "practitioner")
        a1 = repo.add_client(anna, name="A1", consent_scope="records,sharing")
        b1 = repo.add_client(bram, name="B1")
        c1 = repo.add_client(carla, name="C1")
        repo.share_client(anna, a1.id, bram)
        repo.grant_break_glass(anna, b1.id, "unconscious in the waiting room", now=now)
        for who, client in ((anna, a1), (bram, b1), (carla, c1)):
            repo.add_visit(who, client.id, date(2026, 11, 1), {"age": 50}, ADVICE)
        return {"anna": anna, "bram": bram, "carla": carla, "clients": (a1.id, b1.id, c1.id)}


def _count(session: Any, table: str) -> int:
    return int(session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def test_relationships_and_grants_are_visible_within_the_practice_only(
    app: Engine, world: dict[str, Any]
) -> None:
    # South has 3 relationships (Anna-A1, Bram-A1, Bram-B1) and Anna's grant; North 1 and none
    expected = {"anna": (3, 1, {"A1", "B1"}), "bram": (3, 1, {"A1", "B1"}), "carla": (1, 0, {"C1"})}
    for name, (relationships, grants, clients) in expected.items():
        with scoped_session(app, world[name]) as session:
            found = (
                _count(session, "care_relationships"),
                _count(session, "break_glass"),
                set(session.scalars(text("SELECT name FROM clients"))),
            )
            assert found == (relationships, grants, clients), name
    with scoped_session(app, None) as session:  # nobody: nothing
        assert (_count(session, "care_relationships"), _count(session, "break_glass")) == (0, 0)


def test_the_read_policies_call_no_function_per_row(app: Engine, owner: Engine) -> None:
    with owner.connect() as connection:
        found = connection.execute(
            text(
                "SELECT policyname, qual FROM pg_policies WHERE policyname IN "
                "('care_relationships_read', 'break_glass_read')"
            )
        ).all()
    rows = {str(name): str(qual) for name, qual in found}
    assert set(rows) == {"care_relationships_read", "break_glass_read"}
    for name, qual in rows.items():
        assert "mgadvisor_in_practice" not in qual and "users" in qual, name


def test_the_new_relationship_check_still_refuses_a_self_grant(
    app: Engine, world: dict[str, Any]
) -> None:
    from sqlalchemy.exc import DBAPIError

    anna, bram = world["anna"], world["bram"]
    _, b1, c1 = world["clients"]
    sql = (
        "INSERT INTO care_relationships (id, practitioner_id, client_id, kind, created_by, "
        "created_at) VALUES (:id, :who, :client, :kind, :by, now())"
    )

    def refused(who: User, client: uuid.UUID, kind: str = "shared", by: User = anna) -> bool:
        params = {"id": uuid.uuid4(), "who": who.id, "client": client, "kind": kind, "by": by.id}
        try:
            with session.begin_nested():
                session.execute(text(sql), params)
        except DBAPIError as exc:
            assert getattr(exc.orig, "sqlstate", None) == "42501"
            return True
        return False

    with scoped_session(app, anna) as session:
        assert refused(anna, b1)  # break-glass shows B1, but gives no relationship
        assert refused(anna, b1, "primary")
        assert refused(anna, c1)  # another practice
        assert refused(bram, b1)  # for a colleague, of a client Anna does not treat
    with scoped_session(app, world["carla"]) as session:  # a new client: the primary one only
        new = session.execute(
            text(
                "INSERT INTO clients (id, practice_id, name, pseudonymous, created_at) "
                "VALUES (:id, :p, 'N1', false, now()) RETURNING id"
            ),
            {"id": uuid.uuid4(), "p": world["carla"].practice_id},
        ).scalar_one()
        assert refused(world["carla"], new, "shared", world["carla"])
        assert not refused(world["carla"], new, "primary", world["carla"])


def test_a_waiting_writer_links_to_the_record_committed_before_it(
    records_url: str, owner: Engine
) -> None:
    """Writer 1 holds the chain's lock with a record not yet committed; writer 2 waits (on
    PostgreSQL in mgadvisor_audit_tail, on SQLite in BEGIN IMMEDIATE) and, once writer 1
    commits, reads that record (PostgreSQL: a new snapshot after the lock), so the chain stays
    one line."""
    first = owner.connect()
    transaction = first.begin()
    holder = Session(bind=first)
    mine = record(holder, SYSTEM, "test.first", "E")
    done: list[int | None] = []
    errors: list[BaseException] = []

    def second() -> None:
        try:
            with session_scope(owner) as session:
                done.append(record(session, SYSTEM, "test.second", "E").seq)
        except BaseException as exc:  # reported in the test's thread
            errors.append(exc)

    thread = threading.Thread(target=second)
    thread.start()
    _until_waiting(records_url, owner)
    assert done == [] and errors == []  # still waiting
    transaction.commit()
    holder.close()
    first.close()
    thread.join(timeout=30)
    assert errors == []
    assert done == [(mine.seq or 0) + 1]
    with session_scope(owner) as session:
        result = verify(session)
    assert result.ok and result.last_seq == done[0]


def _until_waiting(records_url: str, owner: Engine) -> None:
    """Until the second writer waits for the chain's lock (PostgreSQL: seen in pg_locks; SQLite
    has no such view: a pause well within its busy timeout of 5 s)."""
    if not records_url.startswith("postgresql"):
        time.sleep(0.5)
        return
    waiting = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
    with owner.connect() as watcher:
        for _ in range(200):  # at most ~10 s
            if watcher.execute(text(waiting)).scalar_one():
                return
            time.sleep(0.05)
    pytest.fail("the second writer never waited for the chain's lock")


def test_migration_0006_goes_down_and_up(records_url: str, owner: Engine) -> None:
    if not records_url.startswith("postgresql"):
        pytest.skip("the migration changes PostgreSQL only")
    from alembic import command

    from mgadvisor.records.database import _alembic_config

    def state() -> tuple[str, bool]:
        with owner.connect() as connection:
            qual = connection.execute(
                text("SELECT qual FROM pg_policies WHERE policyname = 'care_relationships_read'")
            ).scalar_one()
            tail = connection.execute(
                text("SELECT count(*) FROM pg_proc WHERE proname = 'mgadvisor_audit_tail'")
            ).scalar_one()
        return str(qual), bool(tail)

    assert "mgadvisor_in_practice" not in state()[0] and state()[1]
    command.downgrade(_alembic_config(owner), "0005")
    assert "mgadvisor_in_practice" in state()[0] and not state()[1]
    assert upgrade(owner, "0006") == "0006"
    assert "mgadvisor_in_practice" not in state()[0] and state()[1]


def test_a_stale_guess_of_the_chains_end_still_links_right(owner: Engine) -> None:
    """PostgreSQL appends to the end this process wrote last; when that guess is wrong (another
    writer came in between, or the transaction that wrote it rolled back) the database says so
    and the record is linked to the real end. SQLite reads the end each time."""
    with session_scope(owner) as session:
        first = record(session, SYSTEM, "test.first", "E")
    where = owner.url.render_as_string(hide_password=True)
    audit._last_written[where] = (0, audit.GENESIS)  # as if another process wrote `first`
    with session_scope(owner) as session:
        second = record(session, SYSTEM, "test.second", "E")
    assert (second.seq, second.prev_hash) == ((first.seq or 0) + 1, first.hash)
    with owner.connect() as connection:  # written, then rolled back: the guess is ahead
        gone = connection.begin()
        record(Session(bind=connection), SYSTEM, "test.rolled-back", "E")
        gone.rollback()
    with session_scope(owner) as session:
        third = record(session, SYSTEM, "test.third", "E")
    assert (third.seq, third.prev_hash) == ((second.seq or 0) + 1, second.hash)
    with session_scope(owner) as session:
        result = verify(session)
    assert (result.ok, result.count) == (True, 3)
