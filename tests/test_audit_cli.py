"""`mgadvisor audit verify|export|checkpoint` on SQLite and PostgreSQL: exit codes, the first
broken record named, FHIR AuditEvent NDJSON, and each use of the log logged."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from mgadvisor.records.audit import Actor, record
from mgadvisor.records.database import make_engine, session_scope, upgrade
from mgadvisor.records.models import AuditEvent

ANNA = Actor(user_id=uuid.uuid4(), role="practitioner", access_point="192.0.2.7")
CLIENT = uuid.uuid4()


@pytest.fixture
def engine(records_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    monkeypatch.delenv("MGADVISOR_AUDIT_KEY", raising=False)
    engine = make_engine(records_url)
    upgrade(engine)
    with session_scope(engine) as session:
        for day in (1, 2, 3):
            when = datetime(2026, 11, day, 10, tzinfo=UTC)
            record(session, ANNA, "client.read", "R", client_id=CLIENT, occurred_at=when)
            record(session, ANNA, "auth.login", "E", occurred_at=when)
    yield engine
    engine.dispose()


def _audit(engine: Engine, *args: str, tmp: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MGADVISOR_DATA_DIR": str(tmp), "MGADVISOR_LANG": "en"}
    env["MGADVISOR_DATABASE_URL"] = engine.url.render_as_string(hide_password=False)
    env.pop("MGADVISOR_AUDIT_KEY", None)
    return subprocess.run(
        [sys.executable, "-m", "mgadvisor", "audit", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def _codes(engine: Engine) -> list[str]:
    with session_scope(engine) as session:
        return list(session.scalars(select(AuditEvent.event_code).order_by(AuditEvent.seq)))


def test_verify_exits_0_then_1_naming_the_altered_record(engine: Engine, tmp_path: Path) -> None:
    done = _audit(engine, "verify", tmp=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("audit log intact: 6 records (last 6: ")
    assert _codes(engine)[-1] == "audit.verify"  # verifying is logged too
    with engine.begin() as connection:  # the owner drops the trigger and edits a record
        if engine.dialect.name == "postgresql":
            connection.exec_driver_sql("DROP TRIGGER audit_events_no_change ON audit_events")
        else:
            connection.exec_driver_sql("DROP TRIGGER audit_events_no_update")
        connection.exec_driver_sql("UPDATE audit_events SET action = 'D' WHERE seq = 3")
    broken = _audit(engine, "verify", tmp=tmp_path)
    assert broken.returncode == 1 and broken.stdout == ""
    assert broken.stderr.strip() == (
        "audit log broken: record 3 was altered (its hash does not match its content); "
        "2 records before it are intact"
    )


def test_checkpoint_prints_an_anchor_that_verify_checks(engine: Engine, tmp_path: Path) -> None:
    done = _audit(engine, "checkpoint", tmp=tmp_path)
    assert done.returncode == 0, done.stderr
    anchor = done.stdout.strip().rsplit(" ", 1)[1]
    assert anchor.startswith("6:") and len(anchor) == 2 + 64
    assert "verify --anchor 6:" in done.stderr
    assert _audit(engine, "verify", "--anchor", anchor, tmp=tmp_path).returncode == 0
    wrong = _audit(engine, "verify", "--anchor", "6:" + "0" * 64, tmp=tmp_path)
    assert wrong.returncode == 1 and "record 6 does not match the checkpoint" in wrong.stderr
    bad = _audit(engine, "verify", "--anchor", "six", tmp=tmp_path)
    assert (bad.returncode, bad.stderr.strip()) == (
        2,
        "Error: --anchor: expected SEQ:HASH, got 'six'",
    )


def test_export_writes_fhir_audit_events_and_is_logged(engine: Engine, tmp_path: Path) -> None:
    from fhir.resources.R4B.auditevent import AuditEvent as FhirAuditEvent

    out = tmp_path / "audit.ndjson"
    args = ("export", "--since", "2026-11-02", "--until", "2026-11-03", "-o", str(out))
    done = _audit(engine, *args, tmp=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"4 audit records written to {out}"
    assert out.stat().st_mode & 0o777 == 0o600
    lines = out.read_text(encoding="utf-8").splitlines()
    events = [FhirAuditEvent.model_validate(json.loads(line)) for line in lines]
    assert [e.recorded.day for e in events] == [2, 2, 3, 3]
    assert [e.type.code for e in events] == ["110110", "110114"] * 2
    assert _codes(engine)[-1] == "audit.export"
    client = _audit(engine, "export", "--client", str(CLIENT), "-o", str(out), tmp=tmp_path)
    assert client.returncode == 0, client.stderr
    assert len(out.read_text(encoding="utf-8").splitlines()) == 3 + 1  # + the export above


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("export", "--since", "1 Nov", "-o", "x"), "--since: expected YYYY-MM-DD, got '1 Nov'"),
        (("export", "--client", "42", "-o", "x"), "--client: expected UUID, got '42'"),
    ],
)
def test_bad_options_are_one_line_exit_2(
    engine: Engine, tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    done = _audit(engine, *args, tmp=tmp_path)
    assert done.returncode == 2 and message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_an_unreachable_database_is_exit_2(tmp_path: Path) -> None:
    env = {**os.environ, "MGADVISOR_DATA_DIR": str(tmp_path), "MGADVISOR_LANG": "en"}
    env["MGADVISOR_DATABASE_URL"] = "postgresql://postgres:secret@127.0.0.1:1/x"
    done = subprocess.run(
        [sys.executable, "-m", "mgadvisor", "audit", "verify"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2 and "cannot use the database" in done.stderr
    assert "secret" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
