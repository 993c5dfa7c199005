"""The records repository (issue 13, part 1) on SQLite and PostgreSQL: clients and visits are
read only through a care relationship, and a visit's advice reads back byte-identical."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from mgadvisor.intake import parse_intake
from mgadvisor.kb import KnowledgeBase
from mgadvisor.pipeline import advice_document
from mgadvisor.records.database import session_scope
from mgadvisor.records.errors import InvalidRecord, NotFound
from mgadvisor.records.models import User, Visit
from mgadvisor.records.repository import Records

CASE = Path(__file__).parent / "cases" / "01_example_elderly_woman.yaml"


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:  # the test commits where it needs
        yield session


@pytest.fixture
def people(session: Session) -> tuple[Records, User, User, User]:
    """A practice with practitioners Anna and Bram; Carla works at another practice."""
    repo = Records(session)
    south, north = repo.add_practice("Praktijk Zuid"), repo.add_practice("Praktijk Noord")
    anna = repo.add_user(south, "anna@zuid.example", "practitioner")
    bram = repo.add_user(south, "bram@zuid.example", "practitioner")
    carla = repo.add_user(north, "carla@noord.example", "practitioner")
    return repo, anna, bram, carla


@pytest.fixture
def intake_and_advice(
    kb: KnowledgeBase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A real intake and the advice the engine gives for it."""
    monkeypatch.setenv("MGADVISOR_DATA_DIR", str(tmp_path))  # no user food tables
    intake = yaml.safe_load(CASE.read_text(encoding="utf-8"))["intake"]
    advice = advice_document(parse_intake(intake, kb), kb, as_of=date(2026, 11, 22), lang="nl")
    return intake, json.loads(json.dumps(advice, ensure_ascii=False))


def test_a_client_with_consent_is_read_back_by_their_practitioner(
    people: tuple[Records, User, User, User],
) -> None:
    repo, anna, _, _ = people
    captured = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)
    client = repo.add_client(
        anna,
        name="Mevrouw de Vries",
        birth_date=date(1948, 5, 17),
        sex="female",
        contact="06-12345678",
        consent_version="2026-1",
        consent_scope="records,advice",
        consent_method="written",
        consent_captured_at=captured,
    )
    assert client.id.version == 4
    read = repo.client(anna, str(client.id))
    assert read.name == "Mevrouw de Vries" and read.birth_date == date(1948, 5, 17)
    assert read.consent_captured_by == anna.id and read.consent_captured_at == captured
    assert read.consent_withdrawn_at is None
    assert [c.id for c in repo.clients(anna)] == [client.id]


def test_another_practitioners_client_is_not_found(
    people: tuple[Records, User, User, User],
) -> None:
    repo, anna, bram, carla = people
    client = repo.add_client(anna, name="Client A")
    for other in (bram, carla):
        with pytest.raises(NotFound) as caught:
            repo.client(other, client.id)
        assert caught.value.kind == "client"
        assert repo.clients(other) == []
        with pytest.raises(NotFound):
            repo.visits(other, client.id)
    with pytest.raises(NotFound):  # an id that does not exist: the same error
        repo.client(anna, "00000000-0000-4000-8000-000000000000")
    with pytest.raises(InvalidRecord, match="client_id"):
        repo.client(anna, "not-a-uuid")


def test_a_shared_client_is_readable_by_the_colleague_only(
    people: tuple[Records, User, User, User],
) -> None:
    repo, anna, bram, carla = people
    client = repo.add_client(anna, name="Client B", pseudonymous=True)
    repo.share_client(anna, client.id, bram)
    assert repo.client(bram, client.id).id == client.id
    with pytest.raises(InvalidRecord, match="same practice"):
        repo.share_client(anna, client.id, carla)
    with pytest.raises(NotFound):
        repo.client(carla, client.id)
    bram.disabled = True
    with pytest.raises(NotFound):
        repo.client(bram, client.id)


def test_a_visit_keeps_the_advice_pinned_and_byte_identical(
    engine: Engine,
    people: tuple[Records, User, User, User],
    intake_and_advice: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    repo, anna, bram, _ = people
    intake, advice = intake_and_advice
    client = repo.add_client(anna, name="Client C")
    visit = repo.add_visit(anna, client.id, date(2026, 11, 22), intake, advice)
    written = visit.advice_json.encode("utf-8")
    repo.session.commit()
    with session_scope(engine) as fresh:  # read back through a new session, from the database
        stored = Records(fresh).visit(anna, visit.id)
        assert stored.advice_json.encode("utf-8") == written
        assert hashlib.sha256(stored.advice_json.encode()).digest() == (
            hashlib.sha256(written).digest()
        )
        assert json.loads(stored.advice_json) == advice
        assert list(json.loads(stored.advice_json)) == list(advice)  # key order kept
        assert json.loads(stored.intake_json) == intake
        assert (stored.kb_version, stored.kb_hash, stored.engine_version) == (
            advice["kb_version"],
            advice["kb_hash"],
            advice["engine_version"],
        )
        assert stored.decision == "accepted" and stored.decision_reason is None
    with pytest.raises(NotFound):
        repo.visit(bram, visit.id)


def test_a_changed_advice_needs_a_reason(
    people: tuple[Records, User, User, User],
    intake_and_advice: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    repo, anna, _, _ = people
    intake, advice = intake_and_advice
    client = repo.add_client(anna, name="Client D")
    with pytest.raises(InvalidRecord, match="reason"):
        repo.add_visit(anna, client.id, date(2026, 11, 22), intake, advice, decision="changed")
    with pytest.raises(InvalidRecord, match="decision"):
        repo.add_visit(anna, client.id, date(2026, 11, 22), intake, advice, decision="maybe")
    unpinned = {k: v for k, v in advice.items() if k != "kb_hash"}
    with pytest.raises(InvalidRecord, match=r"advice\.kb_hash"):
        repo.add_visit(anna, client.id, date(2026, 11, 22), intake, unpinned)
    first = repo.add_visit(
        anna,
        client.id,
        date(2026, 11, 22),
        intake,
        advice,
        decision="changed",
        changes={"dose_mg": 200},
        reason="  Client tolerates citrate poorly  ",
    )
    second = repo.add_visit(anna, client.id, date(2027, 1, 17), intake, advice)
    assert first.decision_reason == "Client tolerates citrate poorly"
    assert json.loads(first.decision_changes_json or "") == {"dose_mg": 200}
    assert [v.id for v in repo.visits(anna, client.id)] == [first.id, second.id]


def test_a_changed_visit_without_reason_is_refused_by_the_database_too(
    people: tuple[Records, User, User, User],
    intake_and_advice: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    from sqlalchemy.exc import IntegrityError

    repo, anna, _, _ = people
    intake, advice = intake_and_advice
    visit = repo.add_visit(anna, repo.add_client(anna, name="E").id, date.today(), intake, advice)
    visit.decision = "changed"
    with pytest.raises(IntegrityError):
        repo.session.flush()
    repo.session.rollback()


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("name", {"name": "  "}),
        ("sex", {"name": "F", "sex": "unknown"}),
        ("birth_date", {"name": "F", "birth_date": date(2999, 1, 1)}),
        ("consent_captured_at", {"name": "F", "consent_captured_at": datetime(2026, 1, 1)}),
    ],
)
def test_bad_client_data_names_the_field(
    people: tuple[Records, User, User, User], field: str, kwargs: dict[str, Any]
) -> None:
    repo, anna, _, _ = people
    with pytest.raises(InvalidRecord) as caught:
        repo.add_client(anna, **kwargs)
    assert caught.value.field == field and caught.value.expected


def test_visits_of_the_model_are_ordered_by_date(
    people: tuple[Records, User, User, User],
    intake_and_advice: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    repo, anna, _, _ = people
    intake, advice = intake_and_advice
    client = repo.add_client(anna, name="F")
    later = repo.add_visit(anna, client.id, date(2027, 3, 1), intake, advice)
    earlier = repo.add_visit(anna, client.id, date(2026, 12, 1), intake, advice)
    repo.session.expire(client)
    assert [v.id for v in client.visits] == [earlier.id, later.id]
    assert isinstance(client.visits[0], Visit)
