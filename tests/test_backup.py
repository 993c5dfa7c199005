"""`mgadvisor backup` and `mgadvisor restore` on SQLite and PostgreSQL: a backup is private
(0600), a restore brings back exactly the rows of the backup, the audit chain still verifies,
and a database with rows is not overwritten without --force."""

from __future__ import annotations

import os
import secrets
import stat
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, func, select, text

from mgadvisor.records.audit import Actor, record, verify
from mgadvisor.records.database import head, make_engine, session_scope
from mgadvisor.records.models import AuditEvent, Client, User
from mgadvisor.records.repository import Records

ADVICE = {"kb_version": "1", "kb_hash": "abc", "engine_version": "1", "advice": []}


def _cli(
    *args: str, url: str, tmp_path: Path, path: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MGADVISOR_DATA_DIR": str(tmp_path), "MGADVISOR_LANG": "en"}
    env["MGADVISOR_DATABASE_URL"] = url
    if path is not None:
        env["PATH"] = path
    return subprocess.run(
        [sys.executable, "-m", "mgadvisor", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def _add_client(engine: Engine, name: str, email: str) -> None:
    """A practice, a practitioner and a client with a visit, and the audit records of it."""
    with session_scope(engine) as session:
        repo = Records(session)
        practice = repo.add_practice(f"Praktijk {name}")
        user = repo.add_user(practice, email, "practitioner")
        client = repo.add_client(user, name=name)
        repo.add_visit(user, client.id, date(2026, 11, 1), {"age": 50}, ADVICE)
        actor = Actor(user.id, "practitioner", "127.0.0.1")
        record(session, actor, "client.create", "C", object_type="client", client_id=client.id)
        record(session, actor, "visit.create", "C", object_type="visit", client_id=client.id)


def _state(engine: Engine) -> tuple[set[str], set[str], int]:
    with session_scope(engine) as session:
        names = set(session.scalars(select(Client.name)))
        emails = set(session.scalars(select(User.email)))
        events = session.scalar(select(func.count()).select_from(AuditEvent)) or 0
        return names, emails, events


def test_backup_then_restore_brings_back_the_rows_of_the_backup(
    engine: Engine, records_url: str, tmp_path: Path
) -> None:
    _add_client(engine, "Eerste", "a@zuid.example")
    out = tmp_path / "records.backup"
    made = _cli("backup", "-o", str(out), url=records_url, tmp_path=tmp_path)
    assert made.returncode == 0, made.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert "backed up to" in made.stdout and "secret" not in made.stdout
    before = _state(engine)
    _add_client(engine, "Tweede", "b@noord.example")  # after the backup: gone after the restore
    assert _state(engine)[0] == {"Eerste", "Tweede"}

    refused = _cli("restore", str(out), url=records_url, tmp_path=tmp_path)
    assert refused.returncode == 2
    assert "is not empty; give --force" in refused.stderr and len(refused.stderr.splitlines()) == 1
    assert _state(engine)[0] == {"Eerste", "Tweede"}  # untouched

    engine.dispose()  # the app is stopped for a restore
    done = _cli("restore", str(out), "--force", url=records_url, tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"(version {head()})" in done.stdout
    names, emails, events = _state(engine)
    assert (names, emails) == before[:2]
    assert events == before[2] + 1  # the restore itself is logged
    with session_scope(engine) as session:
        assert verify(session).ok
        last = session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
        assert last is not None and last.event_code == "records.restore"


def test_a_backup_restores_into_a_new_empty_database_without_force(
    engine: Engine, records_url: str, tmp_path: Path
) -> None:
    _add_client(engine, "Eerste", "a@zuid.example")
    out = tmp_path / "records.backup"
    assert _cli("backup", "-o", str(out), url=records_url, tmp_path=tmp_path).returncode == 0
    with _new_database(records_url, tmp_path) as other:
        done = _cli("restore", str(out), url=other, tmp_path=tmp_path)
        assert done.returncode == 0, done.stderr
        target = make_engine(other)
        try:
            assert _state(target)[0] == {"Eerste"}
            with session_scope(target) as session:
                assert verify(session).ok
            if other.startswith("sqlite"):
                with target.connect() as connection:
                    assert connection.execute(text("PRAGMA integrity_check")).scalar() == "ok"
        finally:
            target.dispose()


@contextmanager
def _new_database(url: str, tmp_path: Path) -> Iterator[str]:
    """Another empty database of the same kind as `url` (dropped afterwards on PostgreSQL)."""
    if url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'restored.sqlite3'}"
        return
    name = f"mgadvisor_test_{secrets.token_hex(6)}"
    server = url.rsplit("/", 1)[0]
    admin = create_engine(server + "/postgres", isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f"CREATE DATABASE {name}"))
        yield f"{server}/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


def test_backup_refuses_to_overwrite_a_file_without_force(
    engine: Engine, records_url: str, tmp_path: Path
) -> None:
    out = tmp_path / "records.backup"
    out.write_bytes(b"keep me")
    refused = _cli("backup", "-o", str(out), url=records_url, tmp_path=tmp_path)
    assert refused.returncode == 2 and "give --force to overwrite" in refused.stderr
    assert out.read_bytes() == b"keep me"
    done = _cli("backup", "-o", str(out), "--force", url=records_url, tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr
    assert out.read_bytes() != b"keep me"


@pytest.mark.parametrize("content", [b"not a backup", b"SQLite format 3\x00" + b"\x00" * 200])
def test_restore_refuses_a_file_that_is_not_a_backup(
    engine: Engine, records_url: str, tmp_path: Path, content: bytes
) -> None:
    _add_client(engine, "Eerste", "a@zuid.example")
    source = tmp_path / "wrong.backup"
    source.write_bytes(content)
    result = _cli("restore", str(source), "--force", url=records_url, tmp_path=tmp_path)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert str(source) in result.stderr and "Traceback" not in result.stderr
    assert _state(engine)[0] == {"Eerste"}  # the database is untouched


def test_without_pg_dump_on_path_the_error_is_one_line(
    engine: Engine, records_url: str, tmp_path: Path
) -> None:
    if not records_url.startswith("postgresql"):
        pytest.skip("SQLite needs no external tool")
    result = _cli(
        "backup", "-o", str(tmp_path / "x"), url=records_url, tmp_path=tmp_path, path="/nonexistent"
    )
    assert result.returncode == 2
    assert result.stderr.strip().endswith(
        "pg_dump was not found on PATH; install the PostgreSQL client tools"
    )
    assert not (tmp_path / "x").exists()


def test_a_backup_as_a_role_under_row_level_security_says_what_to_do(
    engine: Engine, records_url: str, tmp_path: Path
) -> None:
    """The tables' owner and the app's role see only some rows: pg_dump refuses, and the line
    says to use a superuser or a BYPASSRLS role instead of writing a partial backup."""
    if not records_url.startswith("postgresql"):
        pytest.skip("SQLite has no row-level security")
    _add_client(engine, "Eerste", "a@zuid.example")
    login = f"mgadvisor_t_{secrets.token_hex(5)}"
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text(f"CREATE ROLE {login} LOGIN"))
        connection.execute(text(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {login}"))
        connection.execute(text(f"GRANT SELECT ON ALL SEQUENCES IN SCHEMA public TO {login}"))
    try:
        url = engine.url.set(username=login).render_as_string(hide_password=False)
        out = tmp_path / "partial.backup"
        result = _cli("backup", "-o", str(out), url=url, tmp_path=tmp_path)
        assert result.returncode == 2
        assert "row-level security hides them" in result.stderr
        assert "superuser or a BYPASSRLS role" in result.stderr
        assert not out.exists()
    finally:
        engine.dispose()
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text(f"DROP OWNED BY {login}"))
            connection.execute(text(f"DROP ROLE {login}"))
