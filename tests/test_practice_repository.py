"""The practice additions to the records repository (issue 13 §3), on SQLite and PostgreSQL:
follow-ups, the latest intake, search within one's own clients and break-glass access."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from mgadvisor.records.errors import InvalidRecord, NotFound
from mgadvisor.records.models import User
from mgadvisor.records.repository import (
    BREAK_GLASS_HOURS,
    CARE,
    EMERGENCY,
    Records,
    follow_up_date,
)

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
PINS = {"kb_version": "1.0", "kb_hash": "abc", "engine_version": "1.0"}


def advice(weeks: int | None) -> dict[str, Any]:
    return {**PINS, "follow_up_weeks": weeks}


def intake(age: int) -> dict[str, Any]:
    return {"person": {"age": age, "sex": "female"}}


@pytest.fixture
def people(engine: Engine) -> Iterator[tuple[Records, User, User, User, User]]:
    """Practice Zuid: practitioners Anna and Bram, admin Dirk; Carla works at Praktijk Noord."""
    with Session(engine, expire_on_commit=False) as session:
        repo = Records(session)
        south, north = repo.add_practice("Praktijk Zuid"), repo.add_practice("Praktijk Noord")
        anna = repo.add_user(south, "anna@zuid.example", "practitioner")
        bram = repo.add_user(south, "bram@zuid.example", "practitioner")
        dirk = repo.add_user(south, "dirk@zuid.example", "admin")
        carla = repo.add_user(north, "carla@noord.example", "practitioner")
        yield repo, anna, bram, carla, dirk


def test_follow_up_date_is_the_visit_date_plus_the_advice_weeks() -> None:
    assert follow_up_date(date(2026, 11, 2), advice(4)) == date(2026, 11, 30)
    assert follow_up_date(date(2026, 11, 2), advice(None)) is None
    assert follow_up_date(date(2026, 11, 2), {**PINS}) is None
    assert follow_up_date(date(2026, 11, 2), {"follow_up_weeks": True}) is None


def test_follow_ups_come_from_the_latest_visit_of_own_clients(
    people: tuple[Records, User, User, User, User],
) -> None:
    repo, anna, bram, _, _ = people
    late = repo.add_client(anna, name="Late")
    soon = repo.add_client(anna, name="Soon")
    later = repo.add_client(anna, name="Later")
    replaced = repo.add_client(anna, name="Replaced")
    none = repo.add_client(anna, name="No plan")
    repo.add_visit(anna, late.id, date(2026, 10, 1), intake(50), advice(4))  # due 2026-10-29
    repo.add_visit(anna, soon.id, date(2026, 11, 6), intake(50), advice(4))  # due 2026-12-04
    repo.add_visit(anna, later.id, date(2026, 11, 20), intake(50), advice(8))  # due 2027-01-15
    repo.add_visit(anna, replaced.id, date(2026, 9, 1), intake(50), advice(4))
    repo.add_visit(anna, replaced.id, date(2026, 11, 30), intake(50), advice(12))
    repo.add_visit(anna, none.id, date(2026, 11, 1), intake(50), advice(None))

    due = repo.follow_ups(anna, date(2026, 12, 8))
    assert [(f.client.name, f.due) for f in due] == [
        ("Late", date(2026, 10, 29)),
        ("Soon", date(2026, 12, 4)),
    ]
    assert due[0].visit.visit_date == date(2026, 10, 1)
    assert repo.follow_ups(bram, date(2027, 12, 1)) == []  # not Bram's clients
    repo.share_client(anna, later.id, bram)
    assert [f.client.name for f in repo.follow_ups(bram, date(2027, 12, 1))] == ["Later"]


def test_a_new_visit_starts_from_the_latest_intake(
    people: tuple[Records, User, User, User, User],
) -> None:
    repo, anna, bram, _, _ = people
    client = repo.add_client(anna, name="Client")
    assert repo.latest_intake(anna, client.id) == {}
    assert repo.latest_visit(anna, client.id) is None
    repo.add_visit(anna, client.id, date(2026, 11, 1), intake(60), advice(4))
    newest = repo.add_visit(anna, client.id, date(2026, 11, 20), intake(61), advice(4))
    repo.add_visit(anna, client.id, date(2026, 10, 1), intake(59), advice(4))  # entered late
    assert repo.latest_intake(anna, client.id) == intake(61)
    latest = repo.latest_visit(anna, client.id)
    assert latest is not None and latest.id == newest.id
    with pytest.raises(NotFound):
        repo.latest_intake(bram, client.id)


def test_search_finds_only_own_clients_case_ignored(
    people: tuple[Records, User, User, User, User],
) -> None:
    repo, anna, bram, _, _ = people
    repo.add_client(anna, name="Mevrouw de Vries")
    repo.add_client(anna, name="Meneer Jansen")
    repo.add_client(bram, name="Mevrouw Vriesema")
    repo.add_client(anna, name="100% 'test'_client")
    assert [c.name for c in repo.search_clients(anna, "VRIES")] == ["Mevrouw de Vries"]
    assert [c.name for c in repo.search_clients(bram, "vries")] == ["Mevrouw Vriesema"]
    assert len(repo.search_clients(anna, "")) == 3
    assert [c.name for c in repo.search_clients(anna, "%")] == ["100% 'test'_client"]
    assert repo.search_clients(anna, "_c") == [repo.search_clients(anna, "test")[0]]
    assert repo.search_clients(anna, "x%y") == []


def test_break_glass_grants_a_time_limited_read(
    people: tuple[Records, User, User, User, User],
) -> None:
    repo, anna, bram, carla, _ = people
    client = repo.add_client(anna, name="Client")
    repo.add_visit(anna, client.id, date(2026, 11, 1), intake(60), advice(4))
    with pytest.raises(NotFound):
        repo.client(bram, client.id, emergency_at=NOW)
    with pytest.raises(InvalidRecord, match="justification"):
        repo.grant_break_glass(bram, client.id, "   too short    ", now=NOW)
    with pytest.raises(NotFound):  # another practice's client: as if it did not exist
        repo.grant_break_glass(carla, client.id, "Client collapsed at the desk, need meds", now=NOW)
    grant = repo.grant_break_glass(
        bram, client.id, "Client unwell at the desk,   Anna away", now=NOW
    )
    assert grant.justification == "Client unwell at the desk, Anna away"
    assert grant.expires_at == NOW + timedelta(hours=BREAK_GLASS_HOURS)

    assert repo.access(bram, client.id, emergency_at=NOW) == EMERGENCY
    assert repo.access(anna, client.id, emergency_at=NOW) == CARE
    assert repo.client(bram, client.id, emergency_at=NOW + timedelta(hours=3)).id == client.id
    assert len(repo.visits(bram, client.id, emergency_at=NOW)) == 1
    with pytest.raises(NotFound):  # without asking for emergency access: the normal rule
        repo.client(bram, client.id)
    with pytest.raises(NotFound):  # expired
        repo.client(bram, client.id, emergency_at=NOW + timedelta(hours=BREAK_GLASS_HOURS))
    with pytest.raises(NotFound):  # not before it was granted
        repo.client(bram, client.id, emergency_at=NOW - timedelta(minutes=1))
    with pytest.raises(NotFound):  # no write under break-glass
        repo.add_visit(bram, client.id, date(2026, 12, 1), intake(60), advice(4))


def test_the_admin_lists_and_reviews_break_glass_of_the_own_practice(
    people: tuple[Records, User, User, User, User],
) -> None:
    repo, anna, bram, carla, dirk = people
    client = repo.add_client(anna, name="Client")
    grant = repo.grant_break_glass(bram, client.id, "Client unwell, records needed now", now=NOW)
    other = repo.add_client(carla, name="Elders")
    north = repo.grant_break_glass(
        carla, other.id, "a colleague's client, urgent question", now=NOW
    )
    assert [g.id for g in repo.break_glass_grants(dirk)] == [grant.id]
    with pytest.raises(InvalidRecord, match="admin"):
        repo.break_glass_grants(anna)
    reviewed = repo.review_break_glass(dirk, grant.id, now=NOW + timedelta(days=1))
    assert reviewed.reviewed_by == dirk.id and reviewed.reviewed_at == NOW + timedelta(days=1)
    with pytest.raises(NotFound):
        repo.review_break_glass(dirk, north.id, now=NOW)


def test_consent_withdrawal_is_recorded_once(
    people: tuple[Records, User, User, User, User],
) -> None:
    repo, anna, bram, _, _ = people
    client = repo.add_client(anna, name="Client", consent_version="2026-12")
    assert repo.withdraw_consent(anna, client.id, now=NOW).consent_withdrawn_at == NOW
    later = NOW + timedelta(days=1)
    assert repo.withdraw_consent(anna, client.id, now=later).consent_withdrawn_at == NOW
    with pytest.raises(NotFound):
        repo.withdraw_consent(bram, client.id, now=NOW)
