"""Login, sessions and tokens; the audit hash chain; break-glass, erasures, CDS feedback.

- users: TOTP enrolment time and last used time step (replay protection), failed logins and
  lock-out, last login.
- recovery_codes, web_sessions (server-side sessions, so app instances stay stateless),
  api_tokens (bearer tokens, stored as SHA-256 only), break_glass, erasures (no personal
  data), cds_feedback.
- audit_events: `seq` (unique, gap-free), `prev_hash`, `hash`, nature, checks, details;
  audit_checkpoints, append-only like audit_events.
- visits: the follow-up date of the advice (the worklist reads it).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from mgadvisor.records.database import APP_ROLE
from mgadvisor.records.models import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

DATA_TABLES = ("recovery_codes", "web_sessions", "api_tokens", "break_glass", "erasures")


def _id() -> sa.Column[Any]:
    return sa.Column("id", sa.Uuid(), primary_key=True)


def _user(ondelete: str | None = "CASCADE") -> sa.Column[Any]:
    return sa.Column(
        "user_id", sa.Uuid(), sa.ForeignKey("users.id", ondelete=ondelete), nullable=False
    )


def _time(name: str, nullable: bool = True) -> sa.Column[Any]:
    return sa.Column(name, UTCDateTime(), nullable=nullable)


def upgrade() -> None:
    for column in (
        _time("totp_confirmed_at"),
        sa.Column("totp_last_step", sa.BigInteger()),
        sa.Column("failed_logins", sa.Integer(), nullable=False, server_default="0"),
        _time("locked_until"),
        _time("last_login_at"),
    ):
        op.add_column("users", column)
    op.add_column("visits", sa.Column("follow_up_date", sa.Date()))
    op.create_index(op.f("ix_visits_follow_up_date"), "visits", ["follow_up_date"])
    for column in (
        sa.Column("seq", sa.BigInteger()),
        sa.Column("prev_hash", sa.String(64)),
        sa.Column("hash", sa.String(64)),
        sa.Column("event_nature", sa.String(20)),
        sa.Column("checks", sa.String(4)),
        sa.Column("details", sa.Text()),
    ):
        op.add_column("audit_events", column)
    op.create_index("uq_audit_events_seq", "audit_events", ["seq"], unique=True)
    op.create_table(
        "audit_checkpoints",
        sa.Column("seq", sa.BigInteger(), primary_key=True),
        sa.Column("hash", sa.String(64), nullable=False),
        _time("created_at", nullable=False),
    )
    op.create_table(
        "recovery_codes",
        _id(),
        _user(),
        sa.Column("code_hash", sa.String(128), nullable=False),
        _time("used_at"),
        _time("created_at", nullable=False),
    )
    op.create_index(op.f("ix_recovery_codes_user_id"), "recovery_codes", ["user_id"])
    op.create_table(
        "web_sessions",
        _id(),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        _user(),
        sa.Column("stage", sa.String(10), nullable=False),
        _time("created_at", nullable=False),
        _time("last_seen_at", nullable=False),
        _time("expires_at", nullable=False),
        _time("ended_at"),
        sa.Column("access_point", sa.String(100)),
        sa.CheckConstraint("stage IN ('password', 'enrol', 'full')", name="stage"),
    )
    op.create_index(op.f("ix_web_sessions_user_id"), "web_sessions", ["user_id"])
    op.create_table(
        "api_tokens",
        _id(),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        _user(),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("name", sa.String(100)),
        _time("created_at", nullable=False),
        _time("expires_at"),
        _time("revoked_at"),
        _time("last_used_at"),
        sa.CheckConstraint("kind IN ('access', 'personal')", name="kind"),
    )
    op.create_index(op.f("ix_api_tokens_user_id"), "api_tokens", ["user_id"])
    op.create_table(
        "break_glass",
        _id(),
        _user(ondelete=None),
        sa.Column(
            "client_id", sa.Uuid(), sa.ForeignKey("clients.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("justification", sa.Text(), nullable=False),
        _time("created_at", nullable=False),
        _time("expires_at", nullable=False),
        sa.Column("reviewed_by", sa.Uuid(), sa.ForeignKey("users.id")),
        _time("reviewed_at"),
    )
    op.create_index(op.f("ix_break_glass_user_id"), "break_glass", ["user_id"])
    op.create_index(op.f("ix_break_glass_client_id"), "break_glass", ["client_id"])
    op.create_table(
        "erasures",
        _id(),
        sa.Column("practice_id", sa.Uuid(), sa.ForeignKey("practices.id"), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("basis", sa.String(20), nullable=False),
        sa.Column("decision", sa.String(10), nullable=False),
        sa.Column("retention_warning", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text()),
        sa.Column("decided_by", sa.Uuid(), sa.ForeignKey("users.id"), nullable=False),
        _time("decided_at", nullable=False),
        sa.CheckConstraint("decision IN ('erased', 'retained')", name="decision"),
        sa.CheckConstraint("basis IN ('request', 'consent_withdrawn')", name="basis"),
    )
    op.create_index(op.f("ix_erasures_practice_id"), "erasures", ["practice_id"])
    op.create_index(op.f("ix_erasures_client_id"), "erasures", ["client_id"])
    op.create_table(
        "cds_feedback",
        _id(),
        sa.Column("service_id", sa.String(100), nullable=False),
        sa.Column("card_uuid", sa.String(100), nullable=False),
        sa.Column("card_type", sa.String(100)),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("override_reason", sa.String(200)),
        sa.Column("accepted_suggestions", sa.Text()),
        _time("outcome_at"),
        sa.Column("client_iss", sa.String(300)),
        _time("received_at", nullable=False),
        sa.CheckConstraint("outcome IN ('accepted', 'overridden')", name="outcome"),
    )
    op.create_index("ix_cds_feedback_service_card", "cds_feedback", ["service_id", "card_type"])
    if op.get_bind().dialect.name == "postgresql":
        _postgresql()
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_checkpoints_no_{verb.lower()} BEFORE {verb} "
                "ON audit_checkpoints "
                "BEGIN SELECT RAISE(ABORT, 'audit_checkpoints is append-only'); END"
            )


def _postgresql() -> None:
    op.execute(
        "CREATE TRIGGER audit_checkpoints_no_change BEFORE UPDATE OR DELETE ON audit_checkpoints "
        "FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()"
    )
    op.execute(
        "CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()"
    )
    op.execute(f"REVOKE ALL ON {', '.join(DATA_TABLES)}, cds_feedback FROM PUBLIC")
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {', '.join(DATA_TABLES)} TO {APP_ROLE}")
    op.execute(f"GRANT SELECT, INSERT ON audit_checkpoints, cds_feedback TO {APP_ROLE}")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_checkpoints_no_truncate ON audit_checkpoints")
        op.execute("DROP TRIGGER audit_checkpoints_no_change ON audit_checkpoints")
    for table in ("cds_feedback", "erasures", "break_glass", "api_tokens", "web_sessions"):
        op.drop_table(table)
    op.drop_table("recovery_codes")
    op.drop_table("audit_checkpoints")
    op.drop_index("uq_audit_events_seq", "audit_events")
    for name in ("details", "checks", "event_nature", "hash", "prev_hash", "seq"):
        op.drop_column("audit_events", name)
    op.drop_index(op.f("ix_visits_follow_up_date"), "visits")
    op.drop_column("visits", "follow_up_date")
    for name in ("last_login_at", "locked_until", "failed_logins", "totp_last_step"):
        op.drop_column("users", name)
    op.drop_column("users", "totp_confirmed_at")
