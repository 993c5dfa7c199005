"""Row-level security, tightened (security finding 10; PostgreSQL only, a no-op on SQLite).

0003 gave each table one policy for every command. Two holes followed: the app's role could
INSERT a care relationship for itself to any client (even another practice's), so a self-grant
bypassed break-glass; and the break-glass part of "visible" also allowed UPDATE and DELETE of the
client and its visits. Now each command has its own policy:

- clients: SELECT with a care relationship or an unexpired break-glass grant (as 0003), or a
  client of the practice without any relationship yet (only the creator's transaction sees one:
  its primary relationship follows in the same transaction); INSERT in the user's practice;
  UPDATE and DELETE only with a care relationship (never under break-glass).
- visits: SELECT when the client is visible; INSERT, UPDATE, DELETE only by a practitioner with
  a care relationship with the client (the new visit in their own name).
- care_relationships: SELECT within the practice (as 0003); INSERT only by a user who already
  has a relationship with the client (sharing), or, for a client of the practice without any
  relationship, the creator's own primary one; DELETE of one's own or one one made; no UPDATE.
- break_glass: SELECT within the practice; INSERT only for oneself and for a client of the
  practice; UPDATE only by an admin of the practice, and only the review columns (a column
  grant); no DELETE (a grant goes only with its client: the foreign key's cascade).

The practice check of a user is a function (no sub-query in the policy), so policies that look
at care relationships from within care relationships do not recurse.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

import importlib

from alembic import op

from mgadvisor.records.database import APP_ROLE

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

USER = "mgadvisor_user_id()"
PRACTICE = "mgadvisor_practice_id()"
TABLES = ("clients", "visits", "care_relationships", "break_glass")
FUNCTIONS = {
    # LANGUAGE sql and STABLE, like 0003's: evaluated per row against users (no RLS there)
    "mgadvisor_in_practice(who uuid)": (
        f"SELECT EXISTS (SELECT 1 FROM users u WHERE u.id = who AND u.practice_id = {PRACTICE})"
    ),
    "mgadvisor_is_admin()": (
        f"SELECT EXISTS (SELECT 1 FROM users u WHERE u.id = {USER} "
        f"AND u.practice_id = {PRACTICE} AND u.role = 'admin' AND NOT u.disabled)"
    ),
}


def _treats(client: str) -> str:
    """The user of the transaction has a care relationship with `client` (a column)."""
    return (
        "EXISTS (SELECT 1 FROM care_relationships r "
        f"WHERE r.client_id = {client} AND r.practitioner_id = {USER})"
    )


CLIENT_READ = (
    f"practice_id = {PRACTICE} AND ({_treats('clients.id')} "
    "OR EXISTS (SELECT 1 FROM break_glass g "
    f"WHERE g.client_id = clients.id AND g.user_id = {USER} AND g.expires_at > now()) "
    "OR NOT EXISTS (SELECT 1 FROM care_relationships r WHERE r.client_id = clients.id))"
)
CLIENT_CHANGE = f"practice_id = {PRACTICE} AND {_treats('clients.id')}"
VISIT_OWN = _treats("visits.client_id")
RELATIONSHIP_NEW = (
    "mgadvisor_in_practice(practitioner_id) "
    f"AND created_by = {USER} "
    "AND EXISTS (SELECT 1 FROM clients c WHERE c.id = care_relationships.client_id "
    f"AND c.practice_id = {PRACTICE}) "
    f"AND ({_treats('care_relationships.client_id')} "
    f"OR (practitioner_id = {USER} AND kind = 'primary' "
    "AND NOT EXISTS (SELECT 1 FROM care_relationships r "
    "WHERE r.client_id = care_relationships.client_id)))"
)
GRANT_NEW = (
    f"user_id = {USER} AND mgadvisor_in_practice(user_id) "
    "AND EXISTS (SELECT 1 FROM care_relationships r WHERE r.client_id = break_glass.client_id "
    "AND mgadvisor_in_practice(r.practitioner_id))"
)
GRANT_REVIEW = "mgadvisor_in_practice(user_id) AND mgadvisor_is_admin()"

# (table, policy name, command, USING, WITH CHECK)
POLICIES = (
    ("clients", "clients_read", "SELECT", CLIENT_READ, None),
    ("clients", "clients_insert", "INSERT", None, f"practice_id = {PRACTICE}"),
    ("clients", "clients_update", "UPDATE", CLIENT_CHANGE, f"practice_id = {PRACTICE}"),
    ("clients", "clients_delete", "DELETE", CLIENT_CHANGE, None),
    (
        "visits",
        "visits_read",
        "SELECT",
        "EXISTS (SELECT 1 FROM clients c WHERE c.id = visits.client_id)",
        None,
    ),
    ("visits", "visits_insert", "INSERT", None, f"{VISIT_OWN} AND practitioner_id = {USER}"),
    ("visits", "visits_update", "UPDATE", VISIT_OWN, VISIT_OWN),
    ("visits", "visits_delete", "DELETE", VISIT_OWN, None),
    (
        "care_relationships",
        "care_relationships_read",
        "SELECT",
        "mgadvisor_in_practice(practitioner_id)",
        None,
    ),
    ("care_relationships", "care_relationships_insert", "INSERT", None, RELATIONSHIP_NEW),
    (
        "care_relationships",
        "care_relationships_delete",
        "DELETE",
        f"mgadvisor_in_practice(practitioner_id) AND {USER} IN (practitioner_id, created_by)",
        None,
    ),
    ("break_glass", "break_glass_read", "SELECT", "mgadvisor_in_practice(user_id)", None),
    ("break_glass", "break_glass_insert", "INSERT", None, GRANT_NEW),
    ("break_glass", "break_glass_review", "UPDATE", GRANT_REVIEW, GRANT_REVIEW),
)


def _policy(table: str, name: str, command: str, using: str | None, check: str | None) -> str:
    sql = f"CREATE POLICY {name} ON {table} FOR {command}"
    if using is not None:
        sql += f" USING ({using})"
    if check is not None:
        sql += f" WITH CHECK ({check})"
    return sql


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite has no row-level security: the repository's filter is the only one
    for signature, body in FUNCTIONS.items():
        op.execute(
            f"CREATE FUNCTION {signature} RETURNS boolean LANGUAGE sql STABLE AS $$ {body} $$"
        )
    for table in TABLES:
        op.execute(f"DROP POLICY {table}_isolation ON {table}")
    for policy in POLICIES:
        op.execute(_policy(*policy))
    op.execute(f"REVOKE UPDATE, DELETE ON break_glass FROM {APP_ROLE}")
    op.execute(f"GRANT UPDATE (reviewed_by, reviewed_at) ON break_glass TO {APP_ROLE}")
    op.execute(f"REVOKE UPDATE ON care_relationships FROM {APP_ROLE}")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    before = importlib.import_module(
        "mgadvisor.records.migrations.versions.0003_row_level_security"
    ).POLICIES
    op.execute(f"GRANT UPDATE ON care_relationships TO {APP_ROLE}")
    op.execute(f"REVOKE UPDATE (reviewed_by, reviewed_at) ON break_glass FROM {APP_ROLE}")
    op.execute(f"GRANT UPDATE, DELETE ON break_glass TO {APP_ROLE}")
    for table, name, *_ in POLICIES:
        op.execute(f"DROP POLICY {name} ON {table}")
    for table in TABLES:
        using, check = before[table]
        op.execute(
            f"CREATE POLICY {table}_isolation ON {table} USING ({using}) WITH CHECK ({check})"
        )
    for signature in FUNCTIONS:
        op.execute(f"DROP FUNCTION {signature}")
