"""GDPR for one client on SQLite and PostgreSQL: the export zip (Art. 15/20) with every record
as stored, the handout PDFs and the audit trail; erasure (Art. 17) with the WGBO retention
warning, the decision recorded without personal data and the audit chain intact."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi import Request, Response  # module level: the test route's annotations resolve
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from mgadvisor.intake import parse_intake
from mgadvisor.kb import KnowledgeBase
from mgadvisor.pipeline import advice_document
from mgadvisor.records.audit import Actor, verify
from mgadvisor.records.database import make_engine, session_scope, upgrade
from mgadvisor.records.errors import InvalidRecord, NotFound
from mgadvisor.records.gdpr import erase_client, export_client, retain_client, retention_warning
from mgadvisor.records.models import AuditEvent, CareRelationship, Client, Erasure, User, Visit
from mgadvisor.records.repository import Records

CASE = Path(__file__).parent / "cases" / "01_example_elderly_woman.yaml"
NAME, EMAIL, BORN, PHONE = (
    "Mevrouw Jansen-de Groot",
    "jansen@client.example",
    "1947-03-09",
    "0612345678",
)


@pytest.fixture
def engine(records_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    monkeypatch.delenv("MGADVISOR_AUDIT_KEY", raising=False)
    engine = make_engine(records_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def advice(kb: KnowledgeBase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Any]:
    monkeypatch.setenv("MGADVISOR_DATA_DIR", str(tmp_path))  # no user food tables
    intake = yaml.safe_load(CASE.read_text(encoding="utf-8"))["intake"]
    document = advice_document(parse_intake(intake, kb), kb, as_of=date(2026, 11, 22), lang="nl")
    return intake, json.loads(json.dumps(document, ensure_ascii=False))


@pytest.fixture
def people(engine: Engine, advice: tuple[Any, Any]) -> dict[str, Any]:
    """Anna (with a client with two visits and one without), Bram (no relationship)."""
    intake, document = advice
    with session_scope(engine) as session:
        repo = Records(session)
        practice = repo.add_practice("Praktijk Zuid")
        anna = repo.add_user(practice, "anna@zuid.example", "practitioner")
        bram = repo.add_user(practice, "bram@zuid.example", "practitioner")
        client = repo.add_client(
            anna,
            name=NAME,
            birth_date=date.fromisoformat(BORN),
            sex="female",
            contact=f"{EMAIL}, {PHONE}",
            consent_version="2026-1",
            consent_scope="records,advice",
            consent_method="written",
            consent_captured_at=datetime(2026, 11, 1, 9, tzinfo=UTC),
        )
        repo.add_visit(anna, client.id, date(2026, 11, 1), intake, document)
        repo.add_visit(anna, client.id, date(2026, 11, 22), intake, document)
        empty = repo.add_client(anna, name="Zonder Bezoek")
        ids = {"anna": anna.id, "bram": bram.id, "client": client.id, "empty": empty.id}
    return ids


def _user(session: Session, people: dict[str, Any], who: str) -> User:
    user = session.get(User, people[who])
    assert user is not None
    return user


def _actor(people: dict[str, Any], who: str = "anna") -> Actor:
    return Actor(people[who], "practitioner", "192.0.2.7")


def _export(engine: Engine, people: dict[str, Any], **kwargs: Any) -> bytes:
    with session_scope(engine) as session:
        anna = _user(session, people, "anna")
        return export_client(session, anna, people["client"], actor=_actor(people), **kwargs)


def test_the_export_holds_every_record_as_stored(engine: Engine, people: dict[str, Any]) -> None:
    archive = zipfile.ZipFile(io.BytesIO(_export(engine, people)))
    names = archive.namelist()
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["client_id"] == str(people["client"]) and manifest["visits"] == 2
    assert manifest["handout_pdfs"] is False
    listed = {f["path"]: f["sha256"] for f in manifest["files"]}
    assert set(listed) == set(names) - {"manifest.json"}
    for path, digest in listed.items():
        assert hashlib.sha256(archive.read(path)).hexdigest() == digest
    client = json.loads(archive.read("client.json"))
    assert (client["name"], client["birth_date"], client["contact"]) == (
        NAME,
        BORN,
        f"{EMAIL}, {PHONE}",
    )
    assert client["care_relationships"][0]["practitioner"] == "anna@zuid.example"
    consent = json.loads(archive.read("consent.json"))
    assert consent["consent_version"] == "2026-1" and consent["consent_withdrawn_at"] is None
    with session_scope(engine) as session:
        visits = session.scalars(select(Visit).order_by(Visit.visit_date)).all()
        stored = [(v.visit_date, v.id, v.intake_json, v.advice_json) for v in visits]
    for day, vid, intake_json, advice_json in stored:
        folder = f"visits/{day.isoformat()}-{str(vid)[:8]}"
        assert archive.read(f"{folder}/intake.json") == intake_json.encode("utf-8")
        assert archive.read(f"{folder}/advice.json") == advice_json.encode("utf-8")
        assert json.loads(archive.read(f"{folder}/visit.json"))["decision"] == "accepted"
    trail = json.loads(archive.read("audit_trail.json"))
    assert trail[-1]["event_code"] == "client.export"
    assert trail[-1]["user"] == "anna@zuid.example" and trail[-1]["action"] == "R"


def test_the_export_is_audited_and_needs_a_care_relationship(
    engine: Engine, people: dict[str, Any]
) -> None:
    _export(engine, people)
    with session_scope(engine) as session:
        bram = _user(session, people, "bram")
        with pytest.raises(NotFound):
            export_client(session, bram, people["client"], actor=_actor(people, "bram"))
    with session_scope(engine) as session:
        exports = session.scalars(
            select(AuditEvent).where(AuditEvent.event_code == "client.export")
        ).all()
    assert [(e.user_id, e.client_id, e.object_type) for e in exports] == [
        (people["anna"], people["client"], "client")
    ]


def test_erasure_warns_refuses_and_then_erases(engine: Engine, people: dict[str, Any]) -> None:
    with session_scope(engine) as session:
        anna = _user(session, people, "anna")
        assert retention_warning(session, anna, people["client"]) is True
        assert retention_warning(session, anna, people["empty"]) is False
        with pytest.raises(InvalidRecord) as caught:
            erase_client(
                session,
                anna,
                people["client"],
                basis="request",
                reason="Verzoek van cliënt",
                confirm_retention=False,
                actor=_actor(people),
            )
        assert caught.value.field == "confirm_retention" and "BW 7:454(3)" in str(caught.value)
        with pytest.raises(InvalidRecord, match="basis"):
            erase_client(
                session,
                anna,
                people["client"],
                basis="whim",
                reason=None,
                confirm_retention=True,
                actor=_actor(people),
            )
    with session_scope(engine) as session:
        assert session.get(Client, people["client"]) is not None  # nothing was erased
        bram = _user(session, people, "bram")
        with pytest.raises(NotFound):
            erase_client(
                session,
                bram,
                people["client"],
                basis="request",
                reason=None,
                confirm_retention=True,
                actor=_actor(people, "bram"),
            )
    _export(engine, people)  # a read before: the audit keeps it, without personal data
    with session_scope(engine) as session:
        erasure = erase_client(
            session,
            _user(session, people, "anna"),
            people["client"],
            basis="request",
            reason="Verzoek van cliënt, bewaarplicht besproken",
            confirm_retention=True,
            actor=_actor(people),
        )
        erasure_id = erasure.id
    with session_scope(engine) as session:
        assert session.get(Client, people["client"]) is None
        assert session.scalars(select(Visit)).all() == []
        assert (
            session.scalars(
                select(CareRelationship).where(CareRelationship.client_id == people["client"])
            ).all()
            == []
        )
        row = session.get(Erasure, erasure_id)
        assert row is not None
        assert (row.client_id, row.basis, row.decision, row.retention_warning, row.decided_by) == (
            people["client"],
            "request",
            "erased",
            True,
            people["anna"],
        )
        erase = session.scalars(
            select(AuditEvent).where(AuditEvent.event_code == "client.erase")
        ).one()
        assert (erase.action, erase.client_id, erase.user_id) == (
            "D",
            people["client"],
            people["anna"],
        )
        assert json.loads(erase.details or "")["erasure_id"] == str(erasure_id)
        assert verify(session).ok
    _assert_no_personal_data(engine)


def _assert_no_personal_data(engine: Engine) -> None:
    """The stored text of every audit and erasure row holds no name, e-mail or birth date."""
    with engine.connect() as connection:
        rows = [
            " ".join(str(v) for v in row)
            for table in ("audit_events", "erasures")
            for row in connection.execute(text(f"SELECT * FROM {table}"))
        ]
    assert rows
    for value in (NAME, "Jansen", EMAIL, BORN, "1947", PHONE):
        assert not [r for r in rows if value in r], value


def test_a_client_without_visits_is_erased_without_confirmation(
    engine: Engine, people: dict[str, Any]
) -> None:
    with session_scope(engine) as session:
        erasure = erase_client(
            session,
            _user(session, people, "anna"),
            people["empty"],
            basis="consent_withdrawn",
            reason=None,
            confirm_retention=False,
            actor=_actor(people),
        )
        assert (erasure.decision, erasure.retention_warning) == ("erased", False)
    with session_scope(engine) as session:
        assert session.get(Client, people["empty"]) is None
        assert session.get(Client, people["client"]) is not None


def test_withdrawn_consent_with_records_kept(engine: Engine, people: dict[str, Any]) -> None:
    with session_scope(engine) as session:
        erasure = retain_client(
            session,
            _user(session, people, "anna"),
            people["client"],
            basis="consent_withdrawn",
            reason="Bewaarplicht WGBO",
            actor=_actor(people),
        )
        assert (erasure.decision, erasure.retention_warning) == ("retained", True)
    with session_scope(engine) as session:
        client = session.get(Client, people["client"])
        assert client is not None and client.consent_withdrawn_at is not None
        assert len(client.visits) == 2
        codes = session.scalars(select(AuditEvent.event_code)).all()
        assert codes == ["client.retain"] and verify(session).ok


def test_the_export_has_each_visits_handout_pdf_from_the_web_app(
    engine: Engine, people: dict[str, Any], advice: tuple[Any, Any]
) -> None:
    """The web app's renderer (web/gdpr_export.py): the same handout template and PDF pool."""
    from fastapi.testclient import TestClient
    from pypdf import PdfReader

    from mgadvisor.render.handout import take_plan
    from mgadvisor.web.app import create_app
    from mgadvisor.web.gdpr_export import handout_renderer

    app = create_app()

    @app.get("/test-export")
    def route(request: Request) -> Response:
        with session_scope(engine) as session:
            anna = _user(session, people, "anna")
            data = export_client(
                session,
                anna,
                people["client"],
                actor=_actor(people),
                handout_pdf=handout_renderer(request),
            )
        return Response(data, media_type="application/zip")

    with TestClient(app) as browser:
        answer = browser.get("/test-export")
    assert answer.status_code == 200, answer.text[:300]
    archive = zipfile.ZipFile(io.BytesIO(answer.content))
    pdfs = sorted(n for n in archive.namelist() if n.endswith("/handout.pdf"))
    assert len(pdfs) == 2 and json.loads(archive.read("manifest.json"))["handout_pdfs"] is True
    plan = take_plan(advice[1])
    assert plan is not None
    mg = f"{plan.mg_per_day:g}"
    for name in pdfs:
        pages = PdfReader(io.BytesIO(archive.read(name))).pages
        words = " ".join(" ".join(page.extract_text() for page in pages).split())
        assert "Uw magnesiumadvies" in words and NAME in words
        assert f"{mg} mg magnesium per dag" in words, words[:2000]


def test_export_and_erasure_work_as_the_app_role_under_row_level_security(
    records_url: str, engine: Engine, people: dict[str, Any]
) -> None:
    """PostgreSQL: the app's login role (no UPDATE/DELETE on the audit log, rows filtered by
    row-level security) can export and erase its own client, and the chain stays valid."""
    if not records_url.startswith("postgresql"):
        pytest.skip("the app role and row-level security exist on PostgreSQL only")
    import secrets

    from sqlalchemy import create_engine

    from mgadvisor.records.database import APP_ROLE
    from mgadvisor.records.rls import scoped_session

    login = f"mgadvisor_t_{secrets.token_hex(5)}"
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text(f"CREATE ROLE {login} LOGIN IN ROLE {APP_ROLE}"))
    app = create_engine(engine.url.set(username=login))
    try:
        with session_scope(engine) as session:
            anna = _user(session, people, "anna")
            session.expunge(anna)
        with scoped_session(app, anna) as session:
            me = _user(session, people, "anna")
            data = export_client(session, me, people["client"], actor=_actor(people))
            erase_client(
                session,
                me,
                people["client"],
                basis="request",
                reason=None,
                confirm_retention=True,
                actor=_actor(people),
            )
        assert "client.json" in zipfile.ZipFile(io.BytesIO(data)).namelist()
    finally:
        app.dispose()
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text(f"DROP OWNED BY {login}"))
            connection.execute(text(f"DROP ROLE {login}"))
    with session_scope(engine) as session:
        assert session.get(Client, people["client"]) is None
        assert verify(session).ok
