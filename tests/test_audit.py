"""The NEN 7513 audit log on SQLite and PostgreSQL: records with every mandatory field, a
hash chain that `verify` checks, and serialised writers."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, select

from mgadvisor.records.audit import GENESIS, Actor, canonical, record
from mgadvisor.records.database import make_engine, session_scope, upgrade
from mgadvisor.records.errors import InvalidRecord
from mgadvisor.records.models import AuditEvent


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
