"""Cheaper row-level security reads and an audit write in one round trip (PostgreSQL only, a
no-op on SQLite). The same rows are visible to the same users as under 0005; only how the check is
written changes:

- care_relationships and break_glass (SELECT): "the practitioner is a user of my practice" was
  `mgadvisor_in_practice(col)`, a function PostgreSQL cannot inline (its body is a sub-query)
  and so calls once per row: 2,000 calls for a list of 1,000 clients (the relationships the
  list joins, and the relationship the clients' own policy looks up for each client). Now
  `col IN (SELECT u.id FROM users u WHERE u.practice_id = mgadvisor_practice_id())`: an
  uncorrelated sub-query, hashed once per statement, then one hash probe per row. Both
  columns and users.id are NOT NULL, so IN gives the same answer as the EXISTS of 0005.
- clients (SELECT): the same test as 0005, with the user and practice of the transaction read
  once per statement (`(SELECT mgadvisor_practice_id())`, an init-plan) instead of parsing the
  setting for every row. The per-client EXISTS stays an index probe: written as `id IN (all my
  clients)` it would be hashed once per statement, faster for the list but a scan of all the
  user's relationships for the page of one client, and PostgreSQL then costs the list's
  nested loop as if it hashed per row (high enough to switch JIT compilation on).
- mgadvisor_audit_tail(lock): takes the audit chain's transaction-level advisory lock and
  then reads the chain's last (seq, hash), in one round trip instead of two. A VOLATILE
  PL/pgSQL function, so its read takes a new snapshot after the lock is held (READ
  COMMITTED): the record of the writer that held the lock before is seen, as with two
  statements. It runs with the caller's rights (SECURITY INVOKER): the app's role reads
  audit_events as before. (Used by `audit.checkpoint`.)
- mgadvisor_audit_append(lock, row...): the same lock and read, then the INSERT of the given
  record if, and only if, the record links to that last one (its seq is the next and its
  prev_hash the last hash); else nothing is written and the last link is returned, so the
  caller hashes its record again on it and inserts it (the lock is held by then). The writer
  guesses the last link from the record it wrote before, so a lone writer appends in one
  round trip instead of two. The hash is still computed by the app (the HMAC key never
  reaches the database); `audit verify` checks the chain as before.
- care_relationships (INSERT): 0005's check, word for word, but its three sub-queries (the
  client is of my practice; I treat the client; the client has no relationship yet) are now
  functions of the same text. A policy whose sub-query reads a table whose own policy has a
  sub-query is refused by PostgreSQL as a possible recursion when that table is the one being
  written ("infinite recursion detected in policy"); a function is planned on its own when it
  runs (with the caller's rights and the caller's snapshot, as the sub-query was), so the
  insert check no longer sees the new read policy of care_relationships at rewrite time.

The other write policies (UPDATE, DELETE, and the other INSERTs) keep 0005's form: they touch
few rows and do not recurse.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

USER = "mgadvisor_user_id()"
PRACTICE = "mgadvisor_practice_id()"
PRACTICE_USERS = f"(SELECT u.id FROM users u WHERE u.practice_id = {PRACTICE})"
CLIENT_READ = (
    f"practice_id = (SELECT {PRACTICE}) AND ("
    "EXISTS (SELECT 1 FROM care_relationships r "
    f"WHERE r.client_id = clients.id AND r.practitioner_id = (SELECT {USER})) "
    "OR EXISTS (SELECT 1 FROM break_glass g "
    f"WHERE g.client_id = clients.id AND g.user_id = {USER} AND g.expires_at > now()) "
    "OR NOT EXISTS (SELECT 1 FROM care_relationships r WHERE r.client_id = clients.id))"
)
# (table, policy, USING now, USING under 0005; None: 0005's CLIENT_READ)
READS: tuple[tuple[str, str, str, str | None], ...] = (
    (
        "care_relationships",
        "care_relationships_read",
        f"practitioner_id IN {PRACTICE_USERS}",
        "mgadvisor_in_practice(practitioner_id)",
    ),
    (
        "break_glass",
        "break_glass_read",
        f"user_id IN {PRACTICE_USERS}",
        "mgadvisor_in_practice(user_id)",
    ),
    ("clients", "clients_read", CLIENT_READ, None),
)
# LANGUAGE sql STABLE, SECURITY INVOKER (as 0005's): the bodies of 0005's sub-queries
FUNCTIONS = {
    "mgadvisor_client_of_practice(client uuid)": (
        "SELECT EXISTS (SELECT 1 FROM clients c "
        f"WHERE c.id = client AND c.practice_id = {PRACTICE})"
    ),
    "mgadvisor_treats(client uuid)": (
        "SELECT EXISTS (SELECT 1 FROM care_relationships r "
        f"WHERE r.client_id = client AND r.practitioner_id = {USER})"
    ),
    "mgadvisor_has_relationship(client uuid)": (
        "SELECT EXISTS (SELECT 1 FROM care_relationships r WHERE r.client_id = client)"
    ),
}
RELATIONSHIP_NEW = (
    "mgadvisor_in_practice(practitioner_id) "
    f"AND created_by = {USER} "
    "AND mgadvisor_client_of_practice(client_id) "
    "AND (mgadvisor_treats(client_id) "
    f"OR (practitioner_id = {USER} AND kind = 'primary' "
    "AND NOT mgadvisor_has_relationship(client_id)))"
)
TAIL = (
    "CREATE FUNCTION mgadvisor_audit_tail(lock_id bigint) "
    "RETURNS TABLE (seq bigint, hash varchar) LANGUAGE plpgsql VOLATILE AS $$ "
    "BEGIN "
    "PERFORM pg_advisory_xact_lock(lock_id); "
    "RETURN QUERY SELECT a.seq, a.hash FROM audit_events a WHERE a.seq IS NOT NULL "
    "ORDER BY a.seq DESC LIMIT 1; "
    "END $$"
)

# the columns of audit_events that a record sets, with their types (for the function's arguments)
COLUMNS = (
    ("id", "uuid"),
    ("seq", "bigint"),
    ("prev_hash", "varchar"),
    ("event_code", "varchar"),
    ("action", "varchar"),
    ("occurred_at", "timestamptz"),
    ("outcome", "varchar"),
    ("user_id", "uuid"),
    ("user_role", "varchar"),
    ("authorisation_protocol", "varchar"),
    ("client_id", "uuid"),
    ("object_type", "varchar"),
    ("object_id", "varchar"),
    ("source_id", "varchar"),
    ("access_point", "varchar"),
    ("event_nature", "varchar"),
    ("checks", "varchar"),
    ("details", "text"),
    ("hash", "varchar"),
)
APPEND_SIGNATURE = "mgadvisor_audit_append(bigint, " + ", ".join(t for _, t in COLUMNS) + ")"
APPEND = (
    "CREATE FUNCTION mgadvisor_audit_append(lock_id bigint, "
    + ", ".join(f"p_{name} {kind}" for name, kind in COLUMNS)
    + ") RETURNS TABLE (appended boolean, last_seq bigint, last_hash varchar) "
    "LANGUAGE plpgsql VOLATILE AS $$ "
    "DECLARE found_seq bigint; found_hash varchar; "
    "BEGIN "
    "PERFORM pg_advisory_xact_lock(lock_id); "
    "SELECT a.seq, a.hash INTO found_seq, found_hash FROM audit_events a "
    "WHERE a.seq IS NOT NULL ORDER BY a.seq DESC LIMIT 1; "
    "IF coalesce(found_seq, 0) + 1 = p_seq "
    "AND coalesce(found_hash, repeat('0', 64)) = p_prev_hash THEN "
    "INSERT INTO audit_events (" + ", ".join(name for name, _ in COLUMNS) + ") "
    "VALUES (" + ", ".join(f"p_{name}" for name, _ in COLUMNS) + "); "
    "RETURN QUERY SELECT true, p_seq, p_hash; "
    "ELSE "
    "RETURN QUERY SELECT false, found_seq, found_hash; "
    "END IF; "
    "END $$"
)


def _read_policy(table: str, name: str, using: str) -> None:
    op.execute(f"DROP POLICY {name} ON {table}")
    op.execute(f"CREATE POLICY {name} ON {table} FOR SELECT USING ({using})")


def _insert_policy(check: str) -> None:
    name = "care_relationships_insert"
    op.execute(f"DROP POLICY {name} ON care_relationships")
    op.execute(f"CREATE POLICY {name} ON care_relationships FOR INSERT WITH CHECK ({check})")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite has no row-level security and no advisory locks
    for signature, body in FUNCTIONS.items():
        op.execute(
            f"CREATE FUNCTION {signature} RETURNS boolean LANGUAGE sql STABLE AS $$ {body} $$"
        )
    _insert_policy(RELATIONSHIP_NEW)
    for table, name, using, _ in READS:
        _read_policy(table, name, using)
    op.execute(TAIL)
    op.execute(APPEND)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    import importlib

    before = importlib.import_module("mgadvisor.records.migrations.versions.0005_rls_tighten")
    op.execute(f"DROP FUNCTION {APPEND_SIGNATURE}")
    op.execute("DROP FUNCTION mgadvisor_audit_tail(bigint)")
    for table, name, _, using in READS:
        _read_policy(table, name, using if using is not None else before.CLIENT_READ)
    _insert_policy(before.RELATIONSHIP_NEW)
    for signature in FUNCTIONS:
        op.execute(f"DROP FUNCTION {signature}")
