"""Row-level security (issue 13 §1, migration 0003): on PostgreSQL the database filters clients
and visits by the user of the transaction, for the app's role and (FORCE) for the tables' owner,
as a second wall behind the repository's own filter. On SQLite the migration changes nothing."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import ProgrammingError
from sqlalchemy.orm import Session

from mgadvisor.records.database import make_engine, session_scope, upgrade
from mgadvisor.records.errors import NotFound
from mgadvisor.records.models import BreakGlass, Client, User
from mgadvisor.records.repository import Records
from mgadvisor.records.rls import forget, identify, scoped_session
from records_support import drop_role, login_role

ADVICE = {"kb_version": "1", "kb_hash": "abc", "engine_version": "1", "advice": []}
RLS_TABLES = {"clients", "care_relationships", "visits", "break_glass", "erasures"}


@pytest.fixture
def app(app_as: Any) -> Engine:
    """PostgreSQL only: an engine logged in as a user in the app's role."""
    engine: Engine = app_as()
    return engine


@pytest.fixture
def world(owner: Engine) -> dict[str, Any]:
    """Practice South: Anna (two clients, one shared with Bram), Bram (one client); practice
    North: Carla (one client). Written as the superuser, whom row-level security never filters."""
    with session_scope(owner) as session:
        repo = Records(session)
        south, north = repo.add_practice("Zuid"), repo.add_practice("Noord")
        anna = repo.add_user(south, "anna@zuid.example", "practitioner")
        bram = repo.add_user(south, "bram@zuid.example", "practitioner")
        carla = repo.add_user(north, "carla@noord.example", "practitioner")
        a1 = repo.add_client(anna, name="A1")
        a2 = repo.add_client(anna, name="A2")
        b1 = repo.add_client(bram, name="B1")
        c1 = repo.add_client(carla, name="C1")
        repo.share_client(anna, a2.id, bram)
        for who, client in ((anna, a1), (anna, a2), (bram, b1), (carla, c1)):
            repo.add_visit(who, client.id, date(2026, 11, 1), {"age": 50}, ADVICE)
        return {
            "anna": anna,
            "bram": bram,
            "carla": carla,
            "clients": {c.name: c.id for c in (a1, a2, b1, c1)},
        }


def _names(session: Session, table: str = "clients") -> set[str]:
    if table == "clients":
        return set(session.scalars(text("SELECT name FROM clients")))
    query = "SELECT c.name FROM visits v JOIN clients c ON c.id = v.client_id"
    return set(session.scalars(text(query)))


def test_the_migration_enables_and_forces_rls_on_postgresql_only(
    records_url: str, owner: Engine
) -> None:
    with owner.connect() as connection:
        if records_url.startswith("sqlite"):
            assert "mgadvisor_user_id" not in str(inspect(owner).get_table_names())
            return
        rows = connection.execute(
            text(
                "SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class "
                "WHERE relname = ANY(:names)"
            ),
            {"names": sorted(RLS_TABLES | {"users", "audit_events"})},
        ).all()
    forced = {name for name, enabled, force in rows if enabled and force}
    assert forced == RLS_TABLES


def test_a_raw_select_returns_only_the_users_clients(app: Engine, world: dict[str, Any]) -> None:
    expected = {"anna": {"A1", "A2"}, "bram": {"A2", "B1"}, "carla": {"C1"}}
    for name, clients in expected.items():
        with scoped_session(app, world[name]) as session:
            assert _names(session) == clients, name  # no WHERE: the database filters
            assert _names(session, "visits") == clients, name


def test_without_a_user_the_app_sees_no_client_visit_or_relationship(
    app: Engine, world: dict[str, Any]
) -> None:
    with app.connect() as connection:  # plain connection: no session, no settings
        for table in ("clients", "visits", "care_relationships", "break_glass"):
            assert connection.execute(text(f"SELECT count(*) FROM {table}")).scalar() == 0, table
        assert connection.execute(text("SELECT count(*) FROM users")).scalar() == 3
    with scoped_session(app, None) as session:
        assert _names(session) == set()


def test_identify_and_forget_change_the_user_inside_a_transaction(
    app: Engine, world: dict[str, Any]
) -> None:
    with Session(app) as session, session.begin():
        assert _names(session) == set()
        identify(session, world["bram"].id, world["bram"].practice_id)
        assert _names(session) == {"A2", "B1"}
        forget(session)
        assert _names(session) == set()


def test_session_info_set_after_the_first_query_still_counts(
    app: Engine, world: dict[str, Any]
) -> None:
    """As the web app does: a transaction reads the login session first, then names the user
    in `session.info` (interfaces.md); the next query and flush are filtered for that user."""
    anna: User = world["anna"]
    with Session(app) as session, session.begin():
        assert session.execute(text("SELECT count(*) FROM users")).scalar() == 3
        session.info["user_id"], session.info["practice_id"] = anna.id, anna.practice_id
        assert _names(session) == {"A1", "A2"}
    with Session(app) as session, session.begin():
        session.execute(text("SELECT 1"))
        session.info["user_id"], session.info["practice_id"] = anna.id, anna.practice_id
        session.add(Client(practice_id=anna.practice_id, name="Flushed", pseudonymous=False))
        session.flush()  # allowed: the practice is Anna's (refused above for another practice)


def test_an_insert_for_another_practice_is_refused(app: Engine, world: dict[str, Any]) -> None:
    carla: User = world["carla"]
    with pytest.raises(ProgrammingError) as caught, scoped_session(app, world["anna"]) as session:
        session.add(Client(practice_id=carla.practice_id, name="Intruder", pseudonymous=False))
        session.flush()
    assert getattr(caught.value.orig, "sqlstate", None) == "42501"
    assert "row-level security" in str(caught.value.orig)


def test_a_visit_for_an_invisible_client_is_refused(app: Engine, world: dict[str, Any]) -> None:
    other = world["clients"]["C1"]
    with pytest.raises(ProgrammingError) as caught, scoped_session(app, world["anna"]) as session:
        session.execute(
            text(
                "INSERT INTO visits (id, client_id, practitioner_id, visit_date, intake_json, "
                "advice_json, kb_version, kb_hash, engine_version, decision, created_at) VALUES "
                "(:id, :client, :user, '2026-11-02', '{}', '{}', '1', 'x', '1', 'accepted', now())"
            ),
            {"id": uuid.uuid4(), "client": other, "user": world["anna"].id},
        )
    assert getattr(caught.value.orig, "sqlstate", None) == "42501"


def test_another_users_client_cannot_be_changed_or_deleted(
    app: Engine, world: dict[str, Any]
) -> None:
    with scoped_session(app, world["anna"]) as session:
        updated = session.execute(text("UPDATE clients SET name = 'X' WHERE name = 'B1'"))
        deleted = session.execute(text("DELETE FROM clients WHERE name = 'C1'"))
        assert updated.rowcount == 0 and deleted.rowcount == 0  # type: ignore[attr-defined]
    with scoped_session(app, world["bram"]) as session:
        assert _names(session) == {"A2", "B1"}


def test_an_unexpired_break_glass_grant_shows_the_client(
    app: Engine, owner: Engine, world: dict[str, Any]
) -> None:
    anna: User = world["anna"]
    now = datetime.now(UTC)
    with scoped_session(app, anna) as session:
        session.add(
            BreakGlass(
                user_id=anna.id,
                client_id=world["clients"]["B1"],
                justification="emergency",
                created_at=now - timedelta(hours=2),
                expires_at=now - timedelta(hours=1),  # expired
            )
        )
    with scoped_session(app, anna) as session:
        assert _names(session) == {"A1", "A2"}
        session.add(
            BreakGlass(
                user_id=anna.id,
                client_id=world["clients"]["B1"],
                justification="emergency",
                expires_at=now + timedelta(hours=1),
            )
        )
    with scoped_session(app, anna) as session:
        assert _names(session) == {"A1", "A2", "B1"}
        assert _names(session, "visits") == {"A1", "A2", "B1"}
    with scoped_session(app, world["carla"]) as session:  # other practice: not even the grants
        assert session.execute(text("SELECT count(*) FROM break_glass")).scalar() == 0


def test_the_repository_works_as_the_app_role_under_rls(app: Engine, world: dict[str, Any]) -> None:
    anna, bram = world["anna"], world["bram"]
    with scoped_session(app, anna) as session:
        repo = Records(session)
        user = session.get(User, anna.id)
        assert user is not None
        client = repo.add_client(user, name="New", birth_date=date(1960, 1, 1), sex="male")
        repo.add_visit(user, client.id, date(2026, 11, 3), {"age": 66}, ADVICE)
        colleague = session.get(User, bram.id)
        assert colleague is not None
        repo.share_client(user, client.id, colleague)
        repo.share_client(user, client.id, colleague)  # sees the existing relationship
        assert [c.name for c in repo.clients(user)] == ["A1", "A2", "New"]
        new_id = client.id
    with scoped_session(app, bram) as session:
        user = session.get(User, bram.id)
        assert user is not None
        assert len(Records(session).visits(user, new_id)) == 1
    with scoped_session(app, world["carla"]) as session:
        user = session.get(User, world["carla"].id)
        assert user is not None
        with pytest.raises(NotFound):
            Records(session).client(user, new_id)


def test_the_tables_owner_is_filtered_too(records_url: str, world: dict[str, Any]) -> None:
    """FORCE: a (non-superuser) owner that ran the migrations sees no client without a user."""
    if not records_url.startswith("postgresql"):
        pytest.skip("row-level security exists on PostgreSQL only")
    admin = make_engine(records_url)
    login, engine = login_role(admin)
    try:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text(f"ALTER TABLE clients OWNER TO {login}"))
            connection.execute(text(f"ALTER TABLE care_relationships OWNER TO {login}"))
            connection.execute(text(f"GRANT SELECT ON users, break_glass TO {login}"))
        with engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM clients")).scalar() == 0
        with scoped_session(engine, world["carla"]) as session:
            assert _names(session) == {"C1"}
    finally:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            for table in ("clients", "care_relationships"):
                connection.execute(text(f"ALTER TABLE {table} OWNER TO postgres"))
        drop_role(admin, login, engine)
        admin.dispose()


def test_on_sqlite_a_scoped_session_sets_nothing_and_sees_everything(
    records_url: str, owner: Engine, world: dict[str, Any]
) -> None:
    if not records_url.startswith("sqlite"):
        pytest.skip("the SQLite half")
    with scoped_session(owner, world["anna"]) as session:
        assert _names(session) == {"A1", "A2", "B1", "C1"}  # the repository filters, not SQLite


def test_the_user_is_set_once_per_transaction_and_not_for_nobody(
    app: Engine, world: dict[str, Any]
) -> None:
    from sqlalchemy import event

    sent: list[str] = []

    def seen(_c: Any, _cur: Any, statement: str, *_: Any) -> None:
        sent.append(statement)

    event.listen(app, "before_cursor_execute", seen)
    try:
        with scoped_session(app, world["anna"]) as session:
            for _ in range(3):
                assert _names(session) == {"A1", "A2"}
        assert sum("set_config" in s for s in sent) == 1
        sent.clear()
        with scoped_session(app, None) as session:
            assert _names(session) == set()
        assert not any("set_config" in s for s in sent)  # a transaction starts with nobody
    finally:
        event.remove(app, "before_cursor_execute", seen)


def test_break_glass_through_the_repository_as_the_app_role(
    app: Engine, world: dict[str, Any]
) -> None:
    """The repository's emergency access works under RLS: a client of the own practice becomes
    readable after the grant; another practice's client stays NotFound."""
    anna: User = world["anna"]
    now = datetime.now(UTC)
    why = "acute cramps, the treating colleague is away"
    with scoped_session(app, anna) as session:
        user = session.get(User, anna.id)
        assert user is not None
        repo = Records(session)
        with pytest.raises(NotFound):
            repo.client(user, world["clients"]["B1"], emergency_at=now)
        repo.grant_break_glass(user, world["clients"]["B1"], why, now=now)
        assert repo.client(user, world["clients"]["B1"], emergency_at=now).name == "B1"
        assert len(repo.visits(user, world["clients"]["B1"], emergency_at=now)) == 1
        with pytest.raises(NotFound):
            repo.grant_break_glass(user, world["clients"]["C1"], why, now=now)


def test_erasure_through_gdpr_as_the_app_role(app: Engine, world: dict[str, Any]) -> None:
    """H2's erasure deletes a visible client (its visits and relationships cascade past RLS)
    and records the decision in the user's practice."""
    from mgadvisor.records.audit import Actor
    from mgadvisor.records.gdpr import erase_client

    anna: User = world["anna"]
    with scoped_session(app, anna) as session:
        user = session.get(User, anna.id)
        assert user is not None
        actor = Actor(anna.id, "practitioner", "127.0.0.1")
        erase_client(
            session,
            user,
            world["clients"]["A1"],
            basis="request",
            reason=None,
            confirm_retention=True,
            actor=actor,
        )
    with scoped_session(app, anna) as session:
        assert _names(session) == {"A2"}
        assert session.execute(text("SELECT count(*) FROM erasures")).scalar() == 1
    with scoped_session(app, world["carla"]) as session:  # another practice: not its erasure
        assert session.execute(text("SELECT count(*) FROM erasures")).scalar() == 0


# -- migration 0005 (security finding 10): per-command policies ------------------------------


def _refused(session: Session, sql: str, **params: Any) -> str | None:
    """The SQLSTATE of `sql` in a savepoint (None: it went through)."""
    from sqlalchemy.exc import DBAPIError

    try:
        with session.begin_nested():
            session.execute(text(sql), params)
    except DBAPIError as exc:
        return getattr(exc.orig, "sqlstate", None)
    return None


RELATE = (
    "INSERT INTO care_relationships (id, practitioner_id, client_id, kind, created_by, "
    "created_at) VALUES (:id, :who, :client, :kind, :by, now())"
)


def test_a_care_relationship_is_not_self_granted(app: Engine, world: dict[str, Any]) -> None:
    anna, bram, clients = world["anna"], world["bram"], world["clients"]

    def relate(who: User, client: str, kind: str = "shared", by: User | None = None) -> Any:
        params = {"id": uuid.uuid4(), "who": who.id, "client": clients[client], "kind": kind}
        return _refused(session, RELATE, **params, by=(by or anna).id)

    with scoped_session(app, anna) as session:
        assert relate(anna, "B1") == "42501"  # Bram's client: break-glass, not a self-grant
        assert relate(anna, "B1", "primary") == "42501"
        assert relate(anna, "C1") == "42501"  # another practice's client
        assert relate(bram, "B1") == "42501"  # for a colleague, of a client Anna does not treat
        assert relate(bram, "A1", by=bram) == "42501"  # created_by must be the user
        assert relate(bram, "A1") is None  # sharing her own client: allowed
        assert _names(session) == {"A1", "A2"}
    with scoped_session(app, bram) as session:
        assert _names(session) == {"A1", "A2", "B1"}


def test_the_primary_relationship_only_for_a_new_client_of_the_practice(
    app: Engine, world: dict[str, Any]
) -> None:
    anna, carla = world["anna"], world["carla"]
    with scoped_session(app, carla) as session:  # another practice's new client, no relation
        new = Client(practice_id=carla.practice_id, name="Noord nieuw", pseudonymous=False)
        session.add(new)
        session.flush()
        session.commit()
        orphan = new.id
    params = {"id": uuid.uuid4(), "who": anna.id, "client": orphan, "kind": "primary"}
    with scoped_session(app, anna) as session:
        assert _refused(session, RELATE, **params, by=anna.id) == "42501"
        assert _names(session) == {"A1", "A2"}


def test_break_glass_reads_but_never_changes(
    app: Engine, owner: Engine, world: dict[str, Any]
) -> None:
    anna, clients = world["anna"], world["clients"]
    with session_scope(owner) as session:
        from mgadvisor.records.models import Practice

        practice = session.get(Practice, anna.practice_id)
        assert practice is not None
        dirk = Records(session).add_user(practice, "dirk@zuid.example", "admin")
    now = datetime.now(UTC)
    with scoped_session(app, anna) as session:
        repo = Records(session)
        user = session.get(User, anna.id)
        assert user is not None
        grant = repo.grant_break_glass(user, clients["B1"], "fainted in the waiting room", now=now)
        grant_id = grant.id
    with scoped_session(app, anna) as session:
        assert _names(session) == {"A1", "A2", "B1"}  # the grant shows the client
        b1 = {"id": clients["B1"]}
        changed = session.execute(text("UPDATE clients SET name = 'X' WHERE id = :id"), b1)
        gone = session.execute(text("DELETE FROM visits WHERE client_id = :id"), b1)
        moved = session.execute(
            text("UPDATE visits SET decision = 'changed' WHERE client_id = :id"), b1
        )
        assert (changed.rowcount, gone.rowcount, moved.rowcount) == (0, 0, 0)  # type: ignore[attr-defined]
        assert _refused(session, "DELETE FROM clients WHERE id = :id", **b1) is None
        assert _names(session) == {"A1", "A2", "B1"}  # nothing was deleted
        longer = "UPDATE break_glass SET expires_at = now() + interval '1 year'"
        assert _refused(session, longer) == "42501"  # column privilege: the review columns only
        assert _refused(session, "DELETE FROM break_glass") == "42501"
        review = "UPDATE break_glass SET reviewed_at = now()"
        assert session.execute(text(review)).rowcount == 0  # type: ignore[attr-defined]
    with scoped_session(app, dirk) as session:  # the practice's admin reviews
        admin = session.get(User, dirk.id)
        assert admin is not None
        reviewed = Records(session).review_break_glass(admin, grant_id, now=now)
        assert reviewed.reviewed_by == dirk.id
    with scoped_session(app, world["bram"]) as session:
        assert _names(session) == {"A2", "B1"}


def test_migration_0005_goes_down_and_up(records_url: str, owner: Engine) -> None:
    if not records_url.startswith("postgresql"):
        pytest.skip("row-level security exists on PostgreSQL only")

    def policies() -> set[str]:
        with owner.connect() as connection:
            return set(connection.scalars(text("SELECT policyname FROM pg_policies")))

    assert {"care_relationships_insert", "break_glass_review"} <= policies()
    from alembic import command

    from mgadvisor.records.database import _alembic_config

    command.downgrade(_alembic_config(owner), "0004")
    assert "care_relationships_isolation" in policies()
    assert "care_relationships_insert" not in policies()
    assert upgrade(owner, "0005") == "0005"
    assert "care_relationships_isolation" not in policies()
