"""The NEN 7513 audit log on SQLite and PostgreSQL: records with every mandatory field, a
hash chain that `verify` checks, and serialised writers."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, func, insert, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from mgadvisor.records.audit import (
    CHECKPOINT_EVERY,
    GENESIS,
    Actor,
    VerifyResult,
    canonical,
    checkpoint,
    compute_hash,
    events,
    query,
    record,
    to_fhir_audit_event,
    verify,
)
from mgadvisor.records.database import READ_ONLY, make_engine, session_scope, upgrade
from mgadvisor.records.errors import InvalidRecord
from mgadvisor.records.models import AuditCheckpoint, AuditEvent


@pytest.fixture
def engine(records_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    monkeypatch.delenv("MGADVISOR_AUDIT_KEY", raising=False)
    monkeypatch.setenv("MGADVISOR_SOURCE_ID", "mgadvisor@test")
    engine = make_engine(records_url)
    upgrade(engine)
    yield engine
    engine.dispose()


ANNA = Actor(user_id=uuid.uuid4(), role="practitioner", access_point="192.0.2.7")


def test_a_record_has_every_nen_field_and_links_to_the_one_before(engine: Engine) -> None:
    client = uuid.uuid4()
    with session_scope(engine) as session:
        first = record(
            session,
            ANNA,
            "client.read",
            "R",
            object_type="client",
            object_id=str(client),
            client_id=client,
        )
        second = record(
            session,
            None,
            "auth.login_failed",
            "E",
            outcome="failure",
            details={"reason": "password"},
        )
    with session_scope(engine) as session:
        rows = session.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()
    assert [r.seq for r in rows] == [1, 2]
    one, two = rows
    assert one.id == first.id and two.id == second.id
    assert (one.event_code, one.action, one.outcome) == ("client.read", "R", "success")
    assert (one.user_id, one.user_role, one.access_point) == (
        ANNA.user_id,
        "practitioner",
        "192.0.2.7",
    )
    assert one.authorisation_protocol == "care-relationship" and one.source_id == "mgadvisor@test"
    assert (one.client_id, one.object_type, one.object_id) == (client, "client", str(client))
    assert one.occurred_at.tzinfo is not None and one.event_nature == "regular"
    assert one.prev_hash == GENESIS and two.prev_hash == one.hash
    assert one.hash == hashlib.sha256(canonical(one)).hexdigest()
    assert two.user_id is None and two.authorisation_protocol == "system"
    assert json.loads(two.details or "") == {"reason": "password"}


def test_bad_values_are_refused_with_the_field(engine: Engine) -> None:
    with session_scope(engine) as session:
        for kwargs, field in (
            ({"action": "X"}, "action"),
            ({"outcome": "maybe"}, "outcome"),
            ({"checks": "TTX"}, "checks"),
            ({"event_code": ""}, "event_code"),
        ):
            args = {"event_code": "client.read", "action": "R"} | kwargs
            with pytest.raises(InvalidRecord) as caught:
                record(session, ANNA, args.pop("event_code"), args.pop("action"), **args)
            assert caught.value.field == field


# -- tampering: what an attacker with the database owner's rights would do -------------------


def _tamper(engine: Engine, *statements: str) -> None:
    """Drop the append-only triggers (as the owner can) and run `statements`."""
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.exec_driver_sql(
                "DROP TRIGGER IF EXISTS audit_events_no_change ON audit_events"
            )
        else:
            for verb in ("update", "delete"):
                connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS audit_events_no_{verb}")
        for statement in statements:
            connection.exec_driver_sql(statement)


def _write(engine: Engine, count: int) -> None:
    client = uuid.uuid4()
    with session_scope(engine) as session:
        for i in range(count):
            record(
                session,
                ANNA if i % 2 else None,
                "client.read" if i % 2 else "auth.login_failed",
                "R" if i % 2 else "E",
                client_id=client if i % 2 else None,
                details={"i": i},
            )


def _verify(engine: Engine, **kwargs: Any) -> VerifyResult:
    with session_scope(engine) as session:
        return verify(session, **kwargs)


def test_an_untouched_chain_verifies(engine: Engine) -> None:
    assert _verify(engine) == VerifyResult(True, 0)
    _write(engine, 12)
    result = _verify(engine)
    assert (result.ok, result.count, result.first_bad_seq, result.last_seq) == (True, 12, None, 12)


def test_the_append_only_triggers_refuse_changes(engine: Engine) -> None:
    _write(engine, 2)
    for statement in ("UPDATE audit_events SET outcome = 'denied'", "DELETE FROM audit_events"):
        with pytest.raises(DBAPIError), engine.begin() as connection:
            connection.exec_driver_sql(statement)
    assert _verify(engine).count == 2


@pytest.mark.parametrize(
    ("statements", "seq", "reason"),
    [
        (["UPDATE audit_events SET user_role = 'admin' WHERE seq = 4"], 4, "altered"),
        (["UPDATE audit_events SET details = '{\"i\":99}' WHERE seq = 7"], 7, "altered"),
        (["DELETE FROM audit_events WHERE seq = 5"], 5, "missing"),
        (["DELETE FROM audit_events WHERE seq = 1"], 1, "missing"),
        (
            [
                "UPDATE audit_events SET seq = -3 WHERE seq = 3",
                "UPDATE audit_events SET seq = 3 WHERE seq = 6",
                "UPDATE audit_events SET seq = 6 WHERE seq = -3",
            ],
            3,
            "reordered",
        ),
        (["UPDATE audit_events SET seq = NULL WHERE seq = 8"], 8, "missing"),
    ],
    ids=["altered-role", "altered-details", "deleted-middle", "deleted-first", "swapped", "unseq"],
)
def test_verify_names_the_first_broken_record(
    engine: Engine, statements: list[str], seq: int, reason: str
) -> None:
    _write(engine, 10)
    _tamper(engine, *statements)
    result = _verify(engine)
    assert (result.ok, result.first_bad_seq, result.reason) == (False, seq, reason)
    assert result.count == seq - 1


def test_a_deleted_tail_is_found_up_to_the_last_checkpoint(engine: Engine) -> None:
    _write(engine, 10)
    with session_scope(engine) as session:
        mark = checkpoint(session)
    assert mark is not None and mark.seq == 10
    _write(engine, 3)
    _tamper(engine, "DELETE FROM audit_events WHERE seq > 10")
    after_mark = _verify(engine)  # honest: records after the last checkpoint can go unnoticed
    assert after_mark.ok and after_mark.count == 10
    _tamper(engine, "DELETE FROM audit_events WHERE seq > 8")
    result = _verify(engine)
    assert (result.ok, result.first_bad_seq, result.reason, result.count) == (
        False,
        9,
        "missing",
        8,
    )


def test_a_checkpoint_is_written_every_n_records(engine: Engine) -> None:
    _write(engine, CHECKPOINT_EVERY + 1)
    with session_scope(engine) as session:
        marks = session.scalars(select(AuditCheckpoint.seq)).all()
        assert marks == [CHECKPOINT_EVERY]
    _tamper(engine, f"DELETE FROM audit_events WHERE seq >= {CHECKPOINT_EVERY}")
    assert _verify(engine).first_bad_seq == CHECKPOINT_EVERY


def test_an_external_anchor_catches_a_deleted_checkpoint_and_tail(engine: Engine) -> None:
    _write(engine, 6)
    with session_scope(engine) as session:
        mark = checkpoint(session)
        assert mark is not None
        anchor = {mark.seq: mark.hash}
    _tamper(engine, "DELETE FROM audit_events WHERE seq > 4")
    with engine.begin() as connection:  # the owner drops the checkpoint's trigger and row too
        if engine.dialect.name == "postgresql":
            connection.exec_driver_sql(
                "DROP TRIGGER audit_checkpoints_no_change ON audit_checkpoints"
            )
        else:
            connection.exec_driver_sql("DROP TRIGGER audit_checkpoints_no_delete")
        connection.exec_driver_sql("DELETE FROM audit_checkpoints")
    assert _verify(engine).ok  # the database alone cannot tell
    result = _verify(engine, anchors=anchor)
    assert (result.ok, result.first_bad_seq, result.reason) == (False, 5, "missing")
    bad_anchor = _verify(engine, anchors={4: "f" * 64})
    assert (bad_anchor.first_bad_seq, bad_anchor.reason) == (4, "checkpoint")


def test_a_rechained_log_is_caught_by_a_checkpoint(engine: Engine) -> None:
    """Without a key, an owner can alter a record and recompute every hash after it; a
    checkpoint taken before still catches it."""
    _write(engine, 8)
    with session_scope(engine) as session:
        checkpoint(session)
    _rechain_from(engine, 3)
    result = _verify(engine)
    assert (result.ok, result.first_bad_seq, result.reason) == (False, 8, "checkpoint")


def _rechain_from(engine: Engine, seq: int) -> None:
    """Change the record `seq` and recompute the plain SHA-256 chain after it (an attacker)."""
    _tamper(engine, f"UPDATE audit_events SET outcome = 'denied' WHERE seq = {seq}")
    with session_scope(engine) as session:
        rows = session.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()
        updates, prev = [], GENESIS
        for row in rows:
            row.prev_hash = prev
            prev = compute_hash(row, None)
            updates.append((row.seq, row.prev_hash, prev))
        session.expunge_all()
    _tamper(
        engine,
        *(
            f"UPDATE audit_events SET prev_hash = '{p}', hash = '{h}' WHERE seq = {s}"
            for s, p, h in updates
        ),
    )


def test_with_a_key_a_rechained_log_is_caught_without_checkpoints(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MGADVISOR_AUDIT_KEY", "k" * 40)
    _write(engine, 6)
    with session_scope(engine) as session:
        first = session.scalars(select(AuditEvent).where(AuditEvent.seq == 1)).one()
        assert first.hash == hmac.new(b"k" * 40, canonical(first), hashlib.sha256).hexdigest()
    assert _verify(engine).ok
    monkeypatch.setenv("MGADVISOR_AUDIT_KEY", "x" * 40)  # another key: nothing verifies
    assert (_verify(engine).first_bad_seq, _verify(engine).reason) == (1, "altered")
    monkeypatch.setenv("MGADVISOR_AUDIT_KEY", "k" * 40)
    _rechain_from(engine, 3)
    result = _verify(engine)
    assert (result.ok, result.first_bad_seq, result.reason) == (False, 1, "key")
    monkeypatch.setenv("MGADVISOR_AUDIT_KEY", "short")
    with pytest.raises(InvalidRecord, match="MGADVISOR_AUDIT_KEY: expected at least 32") as caught:
        _verify(engine)
    assert "short" not in str(caught.value)


# -- concurrency: two writers at once give one valid chain ----------------------------------


def test_two_writers_at_once_give_one_gap_free_chain(engine: Engine) -> None:
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            barrier.wait()
            for i in range(200):
                with session_scope(engine) as session:
                    session.execute(select(func.count()).select_from(AuditEvent))  # read first
                    record(session, ANNA, "client.read", "R", details={"w": n, "i": i})
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    result = _verify(engine)
    assert (result.ok, result.count, result.last_seq) == (True, 400, 400)
    with session_scope(engine) as session:
        writers = session.scalars(select(AuditEvent.details)).all()
    assert sorted(json.loads(d or "")["w"] for d in writers) == [0] * 200 + [1] * 200


# -- reading and exporting: itself logged; FHIR AuditEvent ----------------------------------


def test_reading_the_log_is_logged_and_filtered(engine: Engine) -> None:
    _write(engine, 6)
    auditor = Actor(user_id=uuid.uuid4(), role="admin", protocol="admin")
    with session_scope(engine) as session:
        client = session.scalars(select(AuditEvent.client_id).where(AuditEvent.seq == 2)).one()
        found = list(events(session, actor=auditor, client_id=client))
    assert [e.seq for e in found] == [2, 4, 6, 7]  # 7: the reading itself, about this client
    read = found[-1]
    assert (read.event_code, read.action, read.user_id, read.event_nature) == (
        "audit.read",
        "R",
        auditor.user_id,
        "log",
    )
    with session_scope(engine) as session:
        by_user = [e.seq for e in query(session, user_id=auditor.user_id)]
        window = list(query(session, since=read.occurred_at))
    assert by_user == [7] and [e.seq for e in window] == [7]
    assert _verify(engine).ok


@pytest.mark.parametrize(
    ("code", "action", "outcome", "dicom", "fhir_outcome"),
    [
        ("client.read", "R", "success", "110110", "0"),
        ("auth.login_failed", "E", "failure", "110114", "4"),
        ("auth.logout", "E", "success", "110114", "0"),
        ("client.export", "E", "success", "110106", "0"),
        ("audit.read", "R", "success", "110101", "0"),
        ("break_glass", "R", "success", "110110", "0"),
    ],
)
def test_each_record_is_a_valid_fhir_audit_event(
    engine: Engine, code: str, action: str, outcome: str, dicom: str, fhir_outcome: str
) -> None:
    from fhir.resources.R4B.auditevent import AuditEvent as FhirAuditEvent

    client = uuid.uuid4()
    actor = Actor(ANNA.user_id, "practitioner", "192.0.2.7", protocol="break-glass")
    with session_scope(engine) as session:
        event = record(
            session,
            actor,
            code,
            action,
            outcome=outcome,
            object_type="client",
            object_id=str(client),
            client_id=client,
            checks="TFTT",
            details={"n": 1},
        )
        resource = to_fhir_audit_event(event)
    parsed = FhirAuditEvent.model_validate(resource)  # raises for an invalid resource
    assert parsed.type.code == dicom and parsed.action == action
    assert parsed.outcome == fhir_outcome
    agent = parsed.agent[0]
    assert agent.who.identifier.value == str(ANNA.user_id) and agent.requestor is True
    assert (agent.network.address, agent.network.type) == ("192.0.2.7", "2")
    assert agent.policy == ["urn:mgadvisor:audit:authorisation-protocol:break-glass"]
    assert parsed.source.observer.display == "mgadvisor@test"
    assert parsed.entity[0].what.identifier.value == str(client)
    assert parsed.purposeOfEvent[0].coding[0].code == "ETREAT"
    assert parsed.recorded == event.occurred_at
    assert {x.url.rsplit(":", 1)[1]: x.valueString for x in parsed.extension}["hash"] == event.hash


def test_a_system_record_is_a_valid_fhir_audit_event(engine: Engine) -> None:
    from fhir.resources.R4B.auditevent import AuditEvent as FhirAuditEvent

    with session_scope(engine) as session:
        resource = to_fhir_audit_event(record(session, None, "audit.verify", "E", nature="log"))
    parsed = FhirAuditEvent.model_validate(resource)
    assert parsed.agent[0].requestor is False and parsed.agent[0].who.display == "mgadvisor@test"
    assert parsed.entity is None


def _forged(seq: int | None, prev_hash: str) -> dict[str, Any]:
    """A record made up by an attacker, with a correct plain SHA-256 of its own content."""
    fields: dict[str, Any] = {
        "id": uuid.uuid4(),
        "seq": seq,
        "prev_hash": prev_hash,
        "event_code": "client.read",
        "action": "R",
        "occurred_at": datetime.now(UTC),
        "outcome": "success",
        "user_id": uuid.uuid4(),
        "user_role": "practitioner",
        "authorisation_protocol": "care-relationship",
        "client_id": uuid.uuid4(),
        "object_type": None,
        "object_id": None,
        "source_id": "mgadvisor@test",
        "access_point": None,
        "event_nature": "regular",
        "checks": None,
        "details": None,
    }
    return fields | {"hash": compute_hash(fields, None)}


def test_a_forged_record_is_found(engine: Engine) -> None:
    _write(engine, 8)
    _tamper(engine, "DELETE FROM audit_events WHERE seq = 5")
    with engine.begin() as connection:
        connection.execute(insert(AuditEvent), [_forged(5, "a" * 64)])
    result = _verify(engine)
    assert (result.ok, result.first_bad_seq, result.reason) == (False, 5, "inserted")


def test_a_record_outside_the_chain_is_found(engine: Engine) -> None:
    _write(engine, 3)
    with engine.begin() as connection:
        connection.execute(insert(AuditEvent), [_forged(None, GENESIS)])
    result = _verify(engine)
    assert (result.ok, result.count, result.first_bad_seq, result.reason) == (
        False,
        3,
        None,
        "unchained",
    )


def test_a_read_only_sqlite_transaction_does_not_block_writers(engine: Engine) -> None:
    """SQLite: a records transaction holds the write lock from its start (the chain needs it),
    except on an engine with READ_ONLY (verify, export): those begin DEFERRED."""
    if engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL readers never block writers")
    _write(engine, 2)

    def writer_can_begin() -> bool:
        raw = engine.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute("PRAGMA busy_timeout=0")  # fail at once instead of waiting
            try:
                cursor.execute("BEGIN IMMEDIATE")
            except Exception as exc:  # sqlite3.OperationalError: database is locked
                assert "locked" in str(exc)
                return False
            cursor.execute("ROLLBACK")
            return True
        finally:
            raw.close()

    reader = engine.execution_options(**{READ_ONLY: True})
    with session_scope(reader) as session:
        assert _count(session) == 2
        assert writer_can_begin()
    with session_scope(engine) as session:  # an ordinary transaction holds the lock
        assert _count(session) == 2
        assert not writer_can_begin()


def _count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(AuditEvent)) or 0)
