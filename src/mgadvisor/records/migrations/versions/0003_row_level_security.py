"""Row-level security on PostgreSQL (a no-op on SQLite): isolation is enforced twice.

The repository filters every query by care relationship; on PostgreSQL the database filters
again, for every role but superusers and BYPASSRLS roles (FORCE: the tables' owner too). The
policies read the user and practice of the transaction, which `mgadvisor.records.rls` sets
with `set_config(..., true)` from `session.info` (no user set: no client rows at all).

- clients: visible with a care relationship or an unexpired break-glass grant of the user, and
  only in the user's practice; a new or changed row must belong to the user's practice.
- visits: visible when their client is visible (the clients policy applies inside).
- care_relationships, break_glass: visible and writable within the user's practice (sharing
  must see a colleague's relationship; the admin reviews break-glass grants).
- erasures: the user's practice.
users, practices, web_sessions, api_tokens and recovery_codes have no RLS: login and the lookup
of a session or token happen before anyone is known (docs/deployment.md says why).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

USER = "mgadvisor_user_id()"
PRACTICE = "mgadvisor_practice_id()"
IN_PRACTICE = "EXISTS (SELECT 1 FROM users u WHERE u.id = {table}.{column} AND u.practice_id = {p})"
CLIENT_VISIBLE = (
    f"practice_id = {PRACTICE} AND ("
    "EXISTS (SELECT 1 FROM care_relationships r "
    f"WHERE r.client_id = clients.id AND r.practitioner_id = {USER}) "
    "OR EXISTS (SELECT 1 FROM break_glass g "
    f"WHERE g.client_id = clients.id AND g.user_id = {USER} AND g.expires_at > now()))"
)
VISIT_VISIBLE = "EXISTS (SELECT 1 FROM clients c WHERE c.id = visits.client_id)"

# table -> (USING, WITH CHECK)
POLICIES = {
    "clients": (CLIENT_VISIBLE, f"practice_id = {PRACTICE}"),
    "care_relationships": (
        IN_PRACTICE.format(table="care_relationships", column="practitioner_id", p=PRACTICE),
        IN_PRACTICE.format(table="care_relationships", column="practitioner_id", p=PRACTICE)
        + f" AND created_by = {USER}",
    ),
    "visits": (VISIT_VISIBLE, VISIT_VISIBLE),
    "break_glass": (
        IN_PRACTICE.format(table="break_glass", column="user_id", p=PRACTICE),
        IN_PRACTICE.format(table="break_glass", column="user_id", p=PRACTICE),
    ),
    "erasures": (f"practice_id = {PRACTICE}", f"practice_id = {PRACTICE}"),
}


def _setting_function(name: str, setting: str) -> str:
    # LANGUAGE sql and STABLE: inlined into the policies' queries, evaluated once per statement.
    return (
        f"CREATE FUNCTION {name}() RETURNS uuid LANGUAGE sql STABLE AS $$ "
        f"SELECT NULLIF(current_setting('{setting}', true), '')::uuid $$"
    )


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite has no row-level security: the repository's filter is the only one
    op.execute(_setting_function("mgadvisor_user_id", "mgadvisor.user_id"))
    op.execute(_setting_function("mgadvisor_practice_id", "mgadvisor.practice_id"))
    for table, (using, check) in POLICIES.items():
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY {table}_isolation ON {table} USING ({using}) WITH CHECK ({check})"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in POLICIES:
        op.execute(f"DROP POLICY {table}_isolation ON {table}")
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
    op.execute("DROP FUNCTION mgadvisor_practice_id()")
    op.execute("DROP FUNCTION mgadvisor_user_id()")
