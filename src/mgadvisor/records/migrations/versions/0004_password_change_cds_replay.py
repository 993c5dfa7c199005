"""A password that must be changed at the next login; the CDS Hooks replay cache in the database.

- users.must_change_password: set for an account made or reset by an admin (the admin saw the
  temporary password); the first login asks for a new password before anything else.
- cds_token_uses: each CDS Hooks client JWT (iss, jti) is accepted once across every app
  instance (a unique key; a second insert is a replay). Rows may be removed after `expires_at`.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from mgadvisor.records.database import APP_ROLE
from mgadvisor.records.models import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "users",
        sa.Column("must_change_password", sa.Boolean(), nullable=False, server_default="0"),
    )
    op.create_table(
        "cds_token_uses",
        sa.Column("iss", sa.String(300), primary_key=True),
        sa.Column("jti", sa.String(200), primary_key=True),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_cds_token_uses_expires_at", "cds_token_uses", ["expires_at"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("REVOKE ALL ON cds_token_uses FROM PUBLIC")
        op.execute(f"GRANT SELECT, INSERT, DELETE ON cds_token_uses TO {APP_ROLE}")


def downgrade() -> None:
    op.drop_index("ix_cds_token_uses_expires_at", "cds_token_uses")
    op.drop_table("cds_token_uses")
    op.drop_column("users", "must_change_password")
