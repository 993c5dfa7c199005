"""The NEN 7513 audit log: append-only, hash-chained records of who did what with which client.

Every record carries the mandatory fields of NEN 7513 chapter 7 (event code, action, UTC time,
outcome, user and role, object, authorisation protocol, source, access point), a gap-free
sequence number `seq`, the hash of the record before it (`prev_hash`; 64 zeros for the first)
and its own `hash`: SHA-256 over a canonical JSON of all those fields, or HMAC-SHA-256 with
the key in ``$MGADVISOR_AUDIT_KEY`` when that is set (then someone who can write to the
database cannot re-compute the chain without the key).

:func:`record` appends inside the caller's transaction, so a record commits together with the
data it describes. Writers are serialised: on PostgreSQL by a transaction-level advisory lock
taken before the last record is read (the lock, the read and the INSERT in one round trip:
`mgadvisor_audit_append` of migration 0006, which inserts only a record that links to the last
one); on SQLite every records transaction begins IMMEDIATE (see
:mod:`mgadvisor.records.database`), so the write lock is held before the read.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import socket
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, text
from sqlalchemy.orm import Session

from mgadvisor.records.audit_fhir import to_fhir_audit_event
from mgadvisor.records.errors import InvalidRecord
from mgadvisor.records.models import ACTIONS, AuditCheckpoint, AuditEvent, AuditRow

__all__ = [
    "SYSTEM",
    "Actor",
    "VerifyResult",
    "checkpoint",
    "events",
    "log_access",
    "query",
    "record",
    "to_fhir_audit_event",
    "verify",
]

ENV_KEY = "MGADVISOR_AUDIT_KEY"
ENV_SOURCE = "MGADVISOR_SOURCE_ID"
GENESIS = "0" * 64
LOCK_ID = 0x6D67_6175_6469_7431  # "mgaudit1": the advisory lock of the chain (PostgreSQL)
CHECKPOINT_EVERY = 100  # a checkpoint is written automatically after every N-th record
MIN_KEY_CHARS = 32
OUTCOMES = ("success", "denied", "failure", "error")
NATURES = ("regular", "emergency", "log")
PROTOCOLS = (
    "care-relationship",
    "break-glass",
    "admin",
    "login",
    "system",
    "api-token",
    "cds-client",  # an EHR calling the CDS Hooks service (a signed JWT)
)
# The fields the hash covers, in the stored form (the order does not matter: keys are sorted).
HASHED = (
    "id",
    "seq",
    "prev_hash",
    "event_code",
    "action",
    "occurred_at",
    "outcome",
    "user_id",
    "user_role",
    "authorisation_protocol",
    "client_id",
    "object_type",
    "object_id",
    "source_id",
    "access_point",
    "event_nature",
    "checks",
    "details",
)

ROW = (*HASHED, "hash")  # the stored columns


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts: a user (or nobody, for a failed login of an unknown e-mail) and how."""

    user_id: uuid.UUID | None  # None: anonymous
    role: str | None  # 'practitioner' | 'admin' | None
    access_point: str | None = None  # the client's IP address
    protocol: str = "care-relationship"  # the authorisation protocol (PROTOCOLS)


SYSTEM = Actor(user_id=None, role=None, access_point=None, protocol="system")


def source_id() -> str:
    """This installation: $MGADVISOR_SOURCE_ID, else ``mgadvisor@<hostname>``."""
    value = os.environ.get(ENV_SOURCE, "").strip() or f"mgadvisor@{socket.gethostname()}"
    return value[:100]


def audit_key() -> bytes | None:
    """The HMAC key from $MGADVISOR_AUDIT_KEY, or None (plain SHA-256).

    Raises InvalidRecord for a key shorter than 32 characters (the key itself is never shown).
    """
    value = os.environ.get(ENV_KEY, "")
    if not value:
        return None
    if len(value) < MIN_KEY_CHARS:
        raise InvalidRecord(
            ENV_KEY, f"at least {MIN_KEY_CHARS} characters", f"{len(value)} characters"
        )
    return value.encode("utf-8")


def _stored(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    return value


def _fields(event: AuditEvent | AuditRow | Mapping[Any, Any]) -> dict[str, Any]:
    if isinstance(event, Mapping):
        return {name: event[name] for name in HASHED}
    return {name: getattr(event, name) for name in HASHED}


def canonical(event: AuditEvent | AuditRow | Mapping[Any, Any]) -> bytes:
    """The bytes the hash of `event` (a record, or a row's mapping) is computed over: the
    sorted-key compact JSON of the HASHED fields, times in UTC ISO 8601 with microseconds."""
    fields = {name: _stored(value) for name, value in _fields(event).items()}
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def compute_hash(event: AuditEvent | AuditRow | Mapping[Any, Any], key: bytes | None) -> str:
    """The hash of `event`: HMAC-SHA-256 with `key`, else SHA-256 (hex)."""
    data = canonical(event)
    if key is not None:
        return hmac.new(key, data, hashlib.sha256).hexdigest()
    return hashlib.sha256(data).hexdigest()


def _check(field: str, value: str | None, choices: tuple[str, ...]) -> None:
    if value is not None and value not in choices:
        raise InvalidRecord(field, "one of " + ", ".join(choices), value)


def _details_text(details: Mapping[str, Any] | None) -> str | None:
    if details is None:
        return None
    try:
        return json.dumps(dict(details), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    except (TypeError, ValueError):
        raise InvalidRecord("details", "a JSON object", type(details).__name__) from None


def _validate(event_code: str, action: str, outcome: str, nature: str, checks: str | None) -> None:
    if not event_code or len(event_code) > 50 or event_code != event_code.strip():
        raise InvalidRecord("event_code", "a dotted code of at most 50 characters", event_code)
    _check("action", action, ACTIONS)
    _check("outcome", outcome, OUTCOMES)
    _check("nature", nature, NATURES)
    if checks is not None and (len(checks) != 4 or set(checks) - {"T", "F"}):
        raise InvalidRecord("checks", "4 letters T or F", checks)


_LOCK = text("SELECT pg_advisory_xact_lock(:id)")
_LAST = (
    select(AuditEvent.seq, AuditEvent.hash)
    .where(AuditEvent.seq.is_not(None))
    .order_by(AuditEvent.seq.desc())
    .limit(1)
)
# PostgreSQL (migration 0006): the lock, then the last link read after it, in one round trip
_TAIL = text("SELECT seq, hash FROM mgadvisor_audit_tail(:id)")
_INSERT = insert(AuditEvent)
_INSERT_CHECKPOINT = insert(AuditCheckpoint)
# PostgreSQL (migration 0006): lock, read the last link and insert the record if it links to it
_TYPES = {"id": "uuid", "seq": "bigint", "occurred_at": "timestamptz", "details": "text"}
_TYPES |= {"user_id": "uuid", "client_id": "uuid"}
_APPEND = text(
    "SELECT appended, last_seq, last_hash FROM mgadvisor_audit_append(:lock_id, "
    + ", ".join(f"CAST(:{name} AS {_TYPES.get(name, 'varchar')})" for name in ROW)
    + ")"
)
# database URL -> (seq, hash) of the last record this process wrote there: the guess of the
# chain's end for the next append (checked by the database under the lock; a wrong guess costs
# one more round trip, never a wrong link)
_last_written: dict[str, tuple[int, str]] = {}


def _connection(session: Session | Connection) -> Connection:
    """The connection of `session`'s transaction (a Connection in a transaction: itself)."""
    return session if isinstance(session, Connection) else session.connection()


def lock_chain(session: Session) -> None:
    """Serialise writers of the chain until the end of the transaction (PostgreSQL); on SQLite
    the IMMEDIATE transaction already holds the write lock."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(_LOCK, {"id": LOCK_ID})


def last_link(session: Session | Connection) -> tuple[int, str]:
    """The seq and hash of the newest record (0 and 64 zeros for an empty log)."""
    row = _connection(session).execute(_LAST).first()  # Core: no ORM overhead on every write
    if row is None:
        return 0, GENESIS
    return int(row[0]), str(row[1])


def locked_last_link(session: Session) -> tuple[int, str]:
    """:func:`lock_chain`, then :func:`last_link`: on PostgreSQL in one round trip (the
    function of migration 0006 reads the last link after the lock is held, in a new snapshot)."""
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        return last_link(session)  # SQLite: the IMMEDIATE transaction holds the write lock
    row = connection.execute(_TAIL, {"id": LOCK_ID}).first()
    if row is None:
        return 0, GENESIS
    return int(row[0]), str(row[1])


def _link(row: dict[str, Any], seq: int, prev: str, key: bytes | None) -> None:
    """Make `row` the record after (seq, prev): its seq, prev_hash and hash."""
    row["seq"], row["prev_hash"] = seq + 1, prev
    row.pop("hash", None)
    row["hash"] = compute_hash(row, key)


def _append_postgresql(connection: Connection, row: dict[str, Any], key: bytes | None) -> None:
    """Insert `row` at the chain's end: linked to the last record this process wrote and sent
    with the lock in one round trip; when another writer came in between, the database writes
    nothing and names the real end, to which the row is linked again and then inserted (the
    transaction holds the lock by then)."""
    where = connection.engine.url.render_as_string(hide_password=True)
    _link(row, *_last_written.get(where, (0, GENESIS)), key)
    found = connection.execute(_APPEND, {"lock_id": LOCK_ID, **row}).one()
    if not found[0]:
        _link(row, int(found[1] or 0), str(found[2] or GENESIS), key)
        connection.execute(_INSERT, row)
    _last_written[where] = (row["seq"], row["hash"])


def record(
    session: Session | Connection,
    actor: Actor | None,
    event_code: str,
    action: str,
    *,
    outcome: str = "success",
    object_type: str | None = None,
    object_id: str | None = None,
    client_id: uuid.UUID | None = None,
    nature: str = "regular",
    checks: str | None = None,
    details: Mapping[str, Any] | None = None,
    occurred_at: datetime | None = None,
) -> AuditRow:
    """Append one hash-chained NEN 7513 record inside the caller's transaction (a Session's,
    or a Connection's begun by the caller: the CDS service's token use and call record, which
    need no ORM).

    `action` is C/R/U/D/E; `details` must hold no personal data (ids and codes only).
    `actor` None is the system itself. Raises InvalidRecord for a value that cannot be stored.
    Returns the values written (an :class:`AuditRow`; the record is written with a Core INSERT,
    not through the session).
    """
    _validate(event_code, action, outcome, nature, checks)
    who = actor or SYSTEM
    _check("protocol", who.protocol, PROTOCOLS)
    key = audit_key()
    when = occurred_at or datetime.now(UTC)
    if when.tzinfo is None:
        raise InvalidRecord("occurred_at", "a timezone-aware time", when.isoformat())
    row: dict[str, Any] = {
        "id": uuid.uuid4(),
        "seq": None,  # linked below
        "prev_hash": None,
        "event_code": event_code,
        "action": action,
        "occurred_at": when.astimezone(UTC),
        "outcome": outcome,
        "user_id": who.user_id,
        "user_role": who.role,
        "authorisation_protocol": who.protocol,
        "client_id": client_id,
        "object_type": object_type,
        "object_id": None if object_id is None else str(object_id)[:100],
        "source_id": source_id(),
        "access_point": None if who.access_point is None else who.access_point[:100],
        "event_nature": nature,
        "checks": checks,
        "details": _details_text(details),
    }
    connection = _connection(session)
    if connection.dialect.name == "postgresql":
        _append_postgresql(connection, row, key)
    else:  # SQLite: the IMMEDIATE transaction already holds the write lock
        _link(row, *last_link(connection), key)
        # Core INSERTs in the session's transaction (the ORM's unit of work would triple the
        # cost; the row has no foreign keys, so the order among pending rows is free).
        connection.execute(_INSERT, row)
    if row["seq"] % CHECKPOINT_EVERY == 0:
        connection.execute(_INSERT_CHECKPOINT, {"seq": row["seq"], "hash": row["hash"]})
    return AuditRow(**row)


# -- checkpoints and verification ------------------------------------------------------------

REASONS = ("altered", "missing", "reordered", "inserted", "checkpoint", "key", "unchained")


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """The outcome of :func:`verify`: `ok`, how many records were checked, and for a broken
    chain the first bad sequence number and why (one of REASONS)."""

    ok: bool
    count: int
    first_bad_seq: int | None = None
    reason: str | None = None
    last_seq: int = 0
    last_hash: str = GENESIS


def checkpoint(session: Session) -> AuditCheckpoint | None:
    """Record the chain's current end (seq, hash) in `audit_checkpoints`; None for an empty log.

    A checkpoint lets :func:`verify` notice records cut off the end of the chain up to it.
    """
    seq, last = locked_last_link(session)
    if seq == 0:
        return None
    found = session.get(AuditCheckpoint, seq)
    if found is not None:
        return found
    mark = AuditCheckpoint(seq=seq, hash=last)
    session.add(mark)
    session.flush()
    return mark


def _columns() -> list[Any]:
    return [getattr(AuditEvent, name) for name in HASHED] + [AuditEvent.hash]


def _why_hash(session: Session, row: Mapping[Any, Any], key: bytes | None) -> str:
    """Why a record's hash does not match its content: moved from another seq, hashed with
    another key, or altered."""
    if row["prev_hash"] == GENESIS:
        before: int | None = 0
    else:
        before = session.scalar(
            select(AuditEvent.seq).where(AuditEvent.hash == row["prev_hash"]).limit(1)
        )
    if before is not None and before + 1 != row["seq"]:
        moved = dict(row) | {"seq": before + 1}
        if compute_hash(moved, key) == row["hash"]:
            return "reordered"
    if key is not None and compute_hash(row, None) == row["hash"]:
        return "key"
    return "altered"


def _bad_row(
    session: Session, row: Mapping[Any, Any], expected: int, prev: str, key: bytes | None
) -> tuple[int, str] | None:
    """(seq, reason) when `row` is not the chain's next record, else None."""
    if row["seq"] != expected:
        return expected, "missing"
    if row["hash"] != compute_hash(row, key):
        return expected, _why_hash(session, row, key)
    if row["prev_hash"] != prev:
        return expected, "inserted"
    return None


def verify(session: Session, anchors: Mapping[int, str] | None = None) -> VerifyResult:
    """Check the whole chain in seq order (streamed: flat memory) against the checkpoints in
    the database and `anchors` (seq -> hash kept elsewhere, e.g. printed by a checkpoint)."""
    key = audit_key()
    marks = dict(session.execute(select(AuditCheckpoint.seq, AuditCheckpoint.hash)).tuples().all())
    for seq, value in (anchors or {}).items():
        if marks.setdefault(seq, value) != value:
            return VerifyResult(False, 0, seq, "checkpoint")
    expected, prev, count = 1, GENESIS, 0
    rows = session.execute(
        select(*_columns())
        .where(AuditEvent.seq.is_not(None))
        .order_by(AuditEvent.seq)
        .execution_options(yield_per=1000)
    )
    for row in rows.mappings():
        bad = _bad_row(session, row, expected, prev, key)
        if bad is not None:
            rows.close()
            return VerifyResult(False, count, *bad)
        if marks.get(expected, row["hash"]) != row["hash"]:
            rows.close()
            return VerifyResult(False, count, expected, "checkpoint")
        count, expected, prev = count + 1, expected + 1, row["hash"]
    if marks and max(marks) >= expected:  # a checkpoint after the last record: tail cut off
        return VerifyResult(False, count, expected, "missing", expected - 1, prev)
    unchained = session.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.seq.is_(None))
    )
    if unchained:
        return VerifyResult(False, count, None, "unchained", expected - 1, prev)
    return VerifyResult(True, count, None, None, expected - 1, prev)


# -- reading the log (itself logged) ---------------------------------------------------------


def query(
    session: Session,
    *,
    client_id: uuid.UUID | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    user_id: uuid.UUID | None = None,
) -> Iterator[AuditEvent]:
    """The records in seq order, filtered (since inclusive, until exclusive), streamed.

    Does NOT log the reading: viewers use :func:`events`, or :func:`log_access` first.
    """
    stmt = select(AuditEvent).order_by(AuditEvent.seq)
    if client_id is not None:
        stmt = stmt.where(AuditEvent.client_id == client_id)
    if user_id is not None:
        stmt = stmt.where(AuditEvent.user_id == user_id)
    if since is not None:
        stmt = stmt.where(AuditEvent.occurred_at >= since)
    if until is not None:
        stmt = stmt.where(AuditEvent.occurred_at < until)
    return iter(session.scalars(stmt.execution_options(yield_per=500)))


def log_access(
    session: Session,
    actor: Actor | None,
    event_code: str = "audit.read",
    *,
    client_id: uuid.UUID | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    user_id: uuid.UUID | None = None,
    more: Mapping[str, str | None] | None = None,
) -> AuditRow:
    """Record that `actor` read (`audit.read`) or exported (`audit.export`) the log, with the
    filter used (ids and times only; `more`: further filters such as the event code or
    outcome, codes only, never typed text)."""
    filters = {
        "since": None if since is None else since.isoformat(),
        "until": None if until is None else until.isoformat(),
        "user_id": None if user_id is None else str(user_id),
        **(more or {}),
    }
    return record(
        session,
        actor,
        event_code,
        "R" if event_code == "audit.read" else "E",
        object_type="audit_log",
        client_id=client_id,
        nature="log",
        details={k: v for k, v in filters.items() if v is not None},
    )


def events(
    session: Session,
    *,
    actor: Actor | None = None,
    client_id: uuid.UUID | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    user_id: uuid.UUID | None = None,
) -> Iterator[AuditEvent]:
    """The log for a viewer: writes an `audit.read` record (by `actor`; None = the system),
    then returns the matching records in seq order (see :func:`query`)."""
    log_access(
        session, actor, "audit.read", client_id=client_id, since=since, until=until, user_id=user_id
    )
    return query(session, client_id=client_id, since=since, until=until, user_id=user_id)
