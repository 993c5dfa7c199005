"""The row-level-security and audit functions name their tables with the schema, and the
database's PUBLIC loses the right to create temporary tables (PostgreSQL only, a no-op on SQLite).

A function body is planned when it runs, with the caller's search_path, in which the session's
temporary schema comes first: a role that may create a temporary table called `clients`,
`care_relationships` or `users` could make the checks of 0005 and 0006 read its own rows (found
in review: a practitioner gave herself a care relationship with a colleague's client that way,
and a temporary `users` made `mgadvisor_is_admin()` true). A policy's own sub-queries are bound
to the tables when the policy is created and were never affected.

- Every function of 0005 and 0006 that reads a table is replaced by the same body with
  `public.`-qualified tables and functions (same signature, same result; `LANGUAGE sql`
  functions stay inlinable: no `SET search_path`, which would stop that).
- `REVOKE TEMPORARY ON DATABASE <this database> FROM PUBLIC`: the app's role needs no
  temporary table; without one, nothing can shadow `audit_events` for the app's own INSERT
  either. It needs the database's owner (or a superuser): when the migration runs as another
  role it says so (a NOTICE) and docs/deployment.md asks the owner to run it.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

import importlib
import re

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TABLES = ("users", "clients", "care_relationships", "break_glass", "audit_events")
_TABLE = re.compile(r"\b(FROM|INTO|JOIN)\s+(" + "|".join(TABLES) + r")\b")
_FUNCTION = re.compile(r"(?<![.\w])(mgadvisor_(?:user|practice)_id)\(\)")

REVOKE_TEMPORARY = """
DO $$
BEGIN
  EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', current_database());
EXCEPTION WHEN insufficient_privilege THEN
  RAISE NOTICE 'mgadvisor: only the owner of the database can revoke TEMPORARY from PUBLIC; '
    'run: REVOKE TEMPORARY ON DATABASE % FROM PUBLIC', current_database();
END $$
"""
GRANT_TEMPORARY = """
DO $$
BEGIN
  EXECUTE format('GRANT TEMPORARY ON DATABASE %I TO PUBLIC', current_database());
EXCEPTION WHEN insufficient_privilege THEN
  RAISE NOTICE 'mgadvisor: TEMPORARY not granted back to PUBLIC (not the owner)';
END $$
"""


def qualified(sql: str) -> str:
    """`sql` with its tables and the setting functions named with the schema `public`.

    Example:
        >>> qualified("SELECT 1 FROM users u WHERE u.id = mgadvisor_user_id()")
        'SELECT 1 FROM public.users u WHERE u.id = public.mgadvisor_user_id()'
    """
    return _FUNCTION.sub(r"public.\1()", _TABLE.sub(r"\1 public.\2", sql))


def _sql_functions(unqualified: bool) -> list[str]:
    """CREATE OR REPLACE of the boolean SQL functions of 0005 and 0006."""
    before = importlib.import_module("mgadvisor.records.migrations.versions.0005_rls_tighten")
    sets = importlib.import_module("mgadvisor.records.migrations.versions.0006_rls_set_checks")
    out = []
    for signature, body in {**before.FUNCTIONS, **sets.FUNCTIONS}.items():
        text = body if unqualified else qualified(body)
        out.append(
            f"CREATE OR REPLACE FUNCTION {signature} RETURNS boolean LANGUAGE sql STABLE "
            f"AS $$ {text} $$"
        )
    return out


def _audit_functions(unqualified: bool) -> list[str]:
    """CREATE OR REPLACE of 0006's audit tail and append functions."""
    sets = importlib.import_module("mgadvisor.records.migrations.versions.0006_rls_set_checks")
    out = []
    for create in (sets.TAIL, sets.APPEND):
        text = create if unqualified else qualified(create)
        out.append(text.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1))
    return out


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in _sql_functions(False) + _audit_functions(False):
        op.execute(statement)
    op.execute(REVOKE_TEMPORARY)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in _sql_functions(True) + _audit_functions(True):
        op.execute(statement)
    op.execute(GRANT_TEMPORARY)
