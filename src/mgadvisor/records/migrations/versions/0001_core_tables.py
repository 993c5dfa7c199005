"""Core tables: practices, users, clients, care relationships, visits and the audit log.

The audit log is append-only in the database itself: on SQLite and PostgreSQL triggers refuse
UPDATE and DELETE (and TRUNCATE on PostgreSQL); on PostgreSQL the app's role `mgadvisor_app`
(made here when missing, owning no table) is granted INSERT and SELECT on it, nothing more.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from mgadvisor.records.database import APP_ROLE
from mgadvisor.records.models import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

DATA_TABLES = ("practices", "users", "clients", "care_relationships", "visits")


def _id() -> sa.Column[Any]:
    return sa.Column("id", sa.Uuid(), primary_key=True)


def _created() -> sa.Column[Any]:
    return sa.Column("created_at", UTCDateTime(), nullable=False)


def upgrade() -> None:
    op.create_table(
        "practices",
        _id(),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        _created(),
    )
    op.create_table(
        "users",
        _id(),
        sa.Column("practice_id", sa.Uuid(), sa.ForeignKey("practices.id"), nullable=False),
        sa.Column("email", sa.String(320), nullable=False, unique=True),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("password_hash", sa.Text()),
        sa.Column("totp_secret", sa.Text()),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        _created(),
        sa.CheckConstraint("role IN ('practitioner', 'admin')", name="role"),
    )
    op.create_index(op.f("ix_users_practice_id"), "users", ["practice_id"])
    op.create_table(
        "clients",
        _id(),
        sa.Column("practice_id", sa.Uuid(), sa.ForeignKey("practices.id"), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("pseudonymous", sa.Boolean(), nullable=False),
        sa.Column("birth_date", sa.Date()),
        sa.Column("sex", sa.String(10)),
        sa.Column("contact", sa.Text()),
        sa.Column("consent_version", sa.String(50)),
        sa.Column("consent_scope", sa.Text()),
        sa.Column("consent_method", sa.String(50)),
        sa.Column("consent_captured_by", sa.Uuid(), sa.ForeignKey("users.id")),
        sa.Column("consent_captured_at", UTCDateTime()),
        sa.Column("consent_withdrawn_at", UTCDateTime()),
        _created(),
        sa.CheckConstraint("sex IN ('female', 'male', 'other')", name="sex"),
    )
    op.create_index(op.f("ix_clients_practice_id"), "clients", ["practice_id"])
    op.create_table(
        "care_relationships",
        _id(),
        sa.Column("practitioner_id", sa.Uuid(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column(
            "client_id", sa.Uuid(), sa.ForeignKey("clients.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("created_by", sa.Uuid(), sa.ForeignKey("users.id"), nullable=False),
        _created(),
        sa.UniqueConstraint("practitioner_id", "client_id", name="uq_care_relationships_pair"),
        sa.CheckConstraint("kind IN ('primary', 'shared')", name="kind"),
    )
    op.create_index(
        op.f("ix_care_relationships_practitioner_id"), "care_relationships", ["practitioner_id"]
    )
    op.create_index(op.f("ix_care_relationships_client_id"), "care_relationships", ["client_id"])
    op.create_table(
        "visits",
        _id(),
        sa.Column(
            "client_id", sa.Uuid(), sa.ForeignKey("clients.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("practitioner_id", sa.Uuid(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("visit_date", sa.Date(), nullable=False),
        sa.Column("intake_json", sa.Text(), nullable=False),
        sa.Column("advice_json", sa.Text(), nullable=False),
        sa.Column("kb_version", sa.String(50), nullable=False),
        sa.Column("kb_hash", sa.String(128), nullable=False),
        sa.Column("engine_version", sa.String(50), nullable=False),
        sa.Column("decision", sa.String(10), nullable=False),
        sa.Column("decision_changes_json", sa.Text()),
        sa.Column("decision_reason", sa.Text()),
        _created(),
        sa.CheckConstraint("decision IN ('accepted', 'changed')", name="decision"),
        sa.CheckConstraint(
            "decision = 'accepted' OR decision_reason IS NOT NULL", name="changed_has_reason"
        ),
    )
    op.create_index("ix_visits_client_date", "visits", ["client_id", "visit_date"])
    op.create_index(op.f("ix_visits_practitioner_id"), "visits", ["practitioner_id"])
    op.create_table(
        "audit_events",
        _id(),
        sa.Column("event_code", sa.String(50), nullable=False),
        sa.Column("action", sa.String(1), nullable=False),
        sa.Column("occurred_at", UTCDateTime(), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("user_id", sa.Uuid()),
        sa.Column("user_role", sa.String(20)),
        sa.Column("authorisation_protocol", sa.String(50)),
        sa.Column("client_id", sa.Uuid()),
        sa.Column("object_type", sa.String(50)),
        sa.Column("object_id", sa.String(100)),
        sa.Column("source_id", sa.String(100), nullable=False),
        sa.Column("access_point", sa.String(100)),
        sa.CheckConstraint("action IN ('C', 'R', 'U', 'D', 'E')", name="action"),
    )
    op.create_index("ix_audit_events_occurred_at", "audit_events", ["occurred_at"])
    op.create_index("ix_audit_events_client_id", "audit_events", ["client_id"])
    if op.get_bind().dialect.name == "postgresql":
        _postgresql_append_only()
    else:
        _sqlite_append_only()


def _sqlite_append_only() -> None:
    for verb in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER audit_events_no_{verb.lower()} BEFORE {verb} ON audit_events "
            "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END"
        )


def _postgresql_append_only() -> None:
    op.execute(
        "CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN RAISE EXCEPTION 'audit_events is append-only' USING ERRCODE = '42501'; END $$"
    )
    op.execute(
        "CREATE TRIGGER audit_events_no_change BEFORE UPDATE OR DELETE ON audit_events "
        "FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()"
    )
    op.execute(
        "CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()"
    )
    # The app's role: made once per server (two migrations at once may race: either wins).
    op.execute(
        "DO $$ BEGIN "
        f"IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN "
        f"CREATE ROLE {APP_ROLE} NOLOGIN; END IF; "
        "EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
    )
    op.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM PUBLIC, {APP_ROLE}")
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {', '.join(DATA_TABLES)} TO {APP_ROLE}")
    op.execute(f"GRANT SELECT, INSERT ON audit_events TO {APP_ROLE}")
    op.execute(f"GRANT SELECT ON alembic_version TO {APP_ROLE}")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_events_no_truncate ON audit_events")
        op.execute("DROP TRIGGER audit_events_no_change ON audit_events")
        op.execute("DROP FUNCTION audit_events_append_only()")
    for table in ("audit_events", "visits", "care_relationships", "clients", "users", "practices"):
        op.drop_table(table)
