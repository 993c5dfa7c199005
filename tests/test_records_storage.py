"""Records storage (issue 13, part 1): migrations, the SQLite file's settings and the
append-only audit table, each on SQLite and on PostgreSQL (see `records_url` in conftest.py)."""

from __future__ import annotations

import os
import secrets
import stat
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, inspect, text
from sqlalchemy.exc import DBAPIError, IntegrityError, ProgrammingError

from mgadvisor.records.database import (
    APP_ROLE,
    MIGRATIONS,
    database_url,
    make_engine,
    session_scope,
    upgrade,
)
from mgadvisor.records.database import current as current_revision
from mgadvisor.records.database import head as head_revision
from mgadvisor.records.errors import InvalidRecord
from mgadvisor.records.models import AuditEvent

TABLES = {"practices", "users", "clients", "care_relationships", "visits", "audit_events"}


@pytest.fixture
def engine(records_url: str) -> Iterator[Engine]:
    engine = make_engine(records_url)
    yield engine
    engine.dispose()


def _event(**overrides: object) -> AuditEvent:
    fields: dict[str, object] = {
        "event_code": "client.read",
        "action": "R",
        "outcome": "success",
        "user_id": uuid.uuid4(),
        "user_role": "practitioner",
        "authorisation_protocol": "care-relationship",
        "client_id": uuid.uuid4(),
        "object_type": "client",
        "object_id": str(uuid.uuid4()),
        "source_id": "mgadvisor-test",
        "access_point": "127.0.0.1",
    }
    fields.update(overrides)
    return AuditEvent(**fields)


def test_migrate_up_from_empty(engine: Engine) -> None:
    assert current_revision(engine) is None
    assert not TABLES & set(inspect(engine).get_table_names())
    newest = max(p.name[:4] for p in (MIGRATIONS / "versions").glob("[0-9][0-9][0-9][0-9]_*.py"))
    assert upgrade(engine) == head_revision() == newest
    assert set(inspect(engine).get_table_names()) >= TABLES
    assert upgrade(engine) == newest  # a second run changes nothing


def test_the_migrations_make_what_the_models_describe(engine: Engine) -> None:
    """Alembic's autogenerate finds no difference between the migrated schema and the models
    (a column added to one and not the other fails here)."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from mgadvisor.records.models import Base

    upgrade(engine)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": False})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_the_sqlite_file_is_private_in_wal_mode_with_foreign_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MGADVISOR_DATABASE_URL", raising=False)
    monkeypatch.setenv("MGADVISOR_DATA_DIR", str(tmp_path / "data"))
    url = database_url()
    assert url.database == str(tmp_path / "data" / "records.sqlite3")
    engine = make_engine()
    try:
        upgrade(engine)
        path = Path(str(url.database))
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        with engine.connect() as connection:
            assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
            assert connection.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
            with pytest.raises(IntegrityError):  # the key is enforced, not just declared
                connection.execute(
                    text(
                        "INSERT INTO users (id, practice_id, email, role, disabled, created_at) "
                        "VALUES (:id, :p, 'a@b.c', 'admin', 0, '2026-01-01')"
                    ),
                    {"id": uuid.uuid4().hex, "p": uuid.uuid4().hex},
                )
        for suffix in ("-wal", "-shm"):  # SQLite gives its side files the database's mode
            side = path.with_name(path.name + suffix)
            if side.exists():
                assert stat.S_IMODE(side.stat().st_mode) == 0o600
    finally:
        engine.dispose()


def test_a_wider_mode_is_narrowed_to_0600(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    path.write_bytes(b"")
    os.chmod(path, 0o644)
    make_engine(f"sqlite:///{path}").dispose()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.parametrize(
    ("given", "shown"),
    [
        ("mysql://root:secret@localhost/db", "mysql://root:***@localhost/db"),
        ("not a url at all", "not a url at all"),
        ("sqlite://", "sqlite://"),
    ],
)
def test_an_unsupported_database_url_is_named_without_its_password(given: str, shown: str) -> None:
    with pytest.raises(InvalidRecord) as caught:
        database_url(given)
    assert caught.value.field == "MGADVISOR_DATABASE_URL"
    assert shown in caught.value.given and "secret" not in str(caught.value)


def test_postgresql_urls_use_psycopg_3() -> None:
    assert database_url("postgresql://u@h/db").drivername == "postgresql+psycopg"


def test_the_audit_table_is_append_only(engine: Engine) -> None:
    upgrade(engine)
    event = _event()
    with session_scope(engine) as session:
        session.add(event)
    with session_scope(engine) as session:
        stored = session.get(AuditEvent, event.id)
        assert stored is not None and stored.action == "R" and stored.outcome == "success"
        assert stored.occurred_at.tzinfo is not None
    for statement in (
        "UPDATE audit_events SET outcome = 'altered'",
        "DELETE FROM audit_events",
    ):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
            connection.execute(text(statement))  # refused even to the tables' owner
    with engine.connect() as connection:
        assert connection.execute(text("SELECT outcome FROM audit_events")).scalar() == "success"


def test_the_audit_action_is_a_nen_7513_code(engine: Engine) -> None:
    upgrade(engine)
    with pytest.raises(IntegrityError), session_scope(engine) as session:
        session.add(_event(action="X"))


@pytest.fixture
def app_engine(records_url: str, engine: Engine) -> Iterator[Engine]:
    """PostgreSQL only: an engine logged in as a user in the app's role (owning no table)."""
    if not records_url.startswith("postgresql"):
        pytest.skip("the app role exists on PostgreSQL only (SQLite has triggers)")
    upgrade(engine)
    login = f"mgadvisor_t_{secrets.token_hex(5)}"
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text(f"CREATE ROLE {login} LOGIN IN ROLE {APP_ROLE}"))
    app = create_engine(engine.url.set(username=login))
    try:
        yield app
    finally:
        app.dispose()
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text(f"DROP ROLE {login}"))


def test_the_app_role_owns_no_table_and_may_only_insert_and_select_audit(
    app_engine: Engine,
) -> None:
    with app_engine.connect() as connection:
        owned = connection.execute(
            text(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                "AND pg_has_role(current_user, tableowner, 'USAGE')"
            )
        ).all()
        assert owned == []
    event = _event()
    with session_scope(app_engine) as session:
        session.add(event)
    with session_scope(app_engine) as session:
        assert session.get(AuditEvent, event.id) is not None
    for statement in (
        "UPDATE audit_events SET outcome = 'altered'",
        "DELETE FROM audit_events",
        "TRUNCATE audit_events",
        "DROP TABLE audit_events",
        "ALTER TABLE audit_events DISABLE TRIGGER ALL",
    ):
        with pytest.raises(ProgrammingError) as caught, app_engine.begin() as connection:
            connection.execute(text(statement))
        assert getattr(caught.value.orig, "sqlstate", None) == "42501", statement  # denied
