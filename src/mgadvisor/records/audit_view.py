"""Reading the NEN 7513 audit log for people: a page of it at a time for the admin's viewer
(newest first, keyset on `seq`, never OFFSET), the matching records for an export, and a
client's access history in words (Wabvpz art. 15d: a client may see who accessed their
electronic file and when), shared by the client's page and the GDPR export.

Nothing here logs the reading: the callers write `audit.read` / `audit.export` with
:func:`mgadvisor.records.audit.log_access` first, in the same transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Uuid, and_, false, func, literal, or_, select
from sqlalchemy.orm import Session

from mgadvisor.i18n import N_, Translator
from mgadvisor.records.models import AuditEvent, CareRelationship, Client, Erasure, User


def _plain(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    return value


# Why `records.audit.verify` found the chain broken, in words (the CLI and the web viewer).
VERIFY_REASONS = {
    "altered": N_("record {seq} was altered (its hash does not match its content)"),
    "missing": N_("record {seq} is missing (deleted)"),
    "reordered": N_("record {seq} was moved from another place in the chain"),
    "inserted": N_("record {seq} was inserted (it does not follow the record before it)"),
    "checkpoint": N_("record {seq} does not match the checkpoint taken of it"),
    "key": N_("record {seq} was hashed without the key in MGADVISOR_AUDIT_KEY"),
    "unchained": N_("records without a sequence number were inserted"),
}


def broken_reason(t: Translator, reason: str | None, seq: int | None) -> str:
    """Why the chain is broken, in words (`VerifyResult.reason`, `first_bad_seq`)."""
    return t(VERIFY_REASONS.get(reason or "", VERIFY_REASONS["altered"]), seq=seq)


def user_emails(session: Session, ids: Iterable[uuid.UUID | None]) -> dict[uuid.UUID, str]:
    """User id -> e-mail address, for the ids given (one query)."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = session.execute(select(User.id, User.email).where(User.id.in_(wanted)))
    return {uid: email for uid, email in rows.tuples()}


# -- the log page by page (the web viewer: log the reading with `log_access` first) -----------


def practice_clients(practice_id: uuid.UUID) -> list[Any]:
    """Sub-queries of the client ids of a practice: its clients (`clients.practice_id`), the
    clients its practitioners have a care relationship with (under PostgreSQL's row-level
    security an admin sees every relationship of the practice but not every client; a
    relationship is only ever made with a client of the practitioner's practice) and its
    erased clients (`erasures.practice_id`). Each is uncorrelated: hashed once per statement."""
    return [
        select(Client.id).where(Client.practice_id == practice_id),
        select(CareRelationship.client_id)
        .join(User, User.id == CareRelationship.practitioner_id)
        .where(User.practice_id == practice_id),
        select(Erasure.client_id).where(Erasure.practice_id == practice_id),
    ]


def of_practice(column: Any, practice_id: uuid.UUID) -> Any:
    """`column` (a client id) is a client, or an erased client, of the practice."""
    return or_(*(column.in_(q) for q in practice_clients(practice_id)))


def client_of_practice(session: Session, practice_id: uuid.UUID, client_id: uuid.UUID) -> bool:
    """Whether `client_id` is a client (or an erased client) of the practice."""
    given = literal(client_id, Uuid())
    found = session.scalar(select(func.count()).where(of_practice(given, practice_id)))
    return bool(found)


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """Which records a viewer asked for. `event_code` ending in '.' is a prefix ('client.');
    `users`: only records of these users (and, with `anonymous`, those without a user that
    belong to `practice_id`: about a client of the practice, or about one of `users`' accounts);
    None: every record (the command line's tools only)."""

    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive
    user_id: uuid.UUID | None = None
    client_id: uuid.UUID | None = None
    event_code: str | None = None
    outcome: str | None = None
    users: tuple[uuid.UUID, ...] | None = None
    anonymous: bool = False
    practice_id: uuid.UUID | None = None
    practice_users: tuple[uuid.UUID, ...] = ()  # the accounts `anonymous` records may be about

    def logged(self) -> dict[str, str | None]:
        """The filters `log_access` takes as `more` (codes only)."""
        return {"event_code": self.event_code, "outcome": self.outcome}


def _filtered(stmt: Any, f: AuditFilter) -> Any:
    stmt = stmt.where(AuditEvent.seq.is_not(None))
    if f.client_id is not None:
        stmt = stmt.where(AuditEvent.client_id == f.client_id)
    if f.user_id is not None:
        stmt = stmt.where(AuditEvent.user_id == f.user_id)
    if f.users is not None:
        mine = AuditEvent.user_id.in_(f.users) if f.users else false()
        stmt = stmt.where(or_(mine, _linked(f)) if f.anonymous else mine)
    if f.since is not None:
        stmt = stmt.where(AuditEvent.occurred_at >= f.since)
    if f.until is not None:
        stmt = stmt.where(AuditEvent.occurred_at < f.until)
    if f.event_code:
        if f.event_code.endswith("."):
            stmt = stmt.where(AuditEvent.event_code.startswith(f.event_code, autoescape=True))
        else:
            stmt = stmt.where(AuditEvent.event_code == f.event_code)
    if f.outcome is not None:
        stmt = stmt.where(AuditEvent.outcome == f.outcome)
    return stmt


def _linked(f: AuditFilter) -> Any:
    """Records without a user that belong to the filter's practice: about one of its clients
    (or erased clients), or about one of its users' accounts. Everything else without a user
    (CDS calls, logins with unknown addresses, command-line records without a client) is
    server-wide and stays with the command line's tools."""
    if f.practice_id is None:
        return false()
    about_client = of_practice(AuditEvent.client_id, f.practice_id)
    if f.practice_users:
        accounts = [str(u) for u in f.practice_users]
        about_user = and_(AuditEvent.object_type == "user", AuditEvent.object_id.in_(accounts))
        about_client = or_(about_client, about_user)
    return and_(AuditEvent.user_id.is_(None), about_client)


def newest_first(
    session: Session,
    f: AuditFilter,
    *,
    before: int | None = None,
    after: int | None = None,
    limit: int = 50,
) -> tuple[list[AuditEvent], bool, bool]:
    """One page of the records matching `f`, newest first, by keyset on `seq` (never OFFSET):
    the `limit` records just below seq `before` (or, with `after`, just above it; neither: the
    newest). Returns (records, older ones exist, newer ones exist).

    Does NOT log the reading: call :func:`log_access` with the filter first.
    """
    base = _filtered(select(AuditEvent), f)
    if after is not None:
        stmt = base.where(AuditEvent.seq > after).order_by(AuditEvent.seq).limit(limit + 1)
        found = list(session.scalars(stmt))
        newer = len(found) > limit
        rows = list(reversed(found[:limit]))
        older = bool(rows) and _exists(session, base.where(AuditEvent.seq < rows[-1].seq))
        return rows, older, newer
    stmt = base
    if before is not None:
        stmt = stmt.where(AuditEvent.seq < before)
    found = list(session.scalars(stmt.order_by(AuditEvent.seq.desc()).limit(limit + 1)))
    rows = found[:limit]
    newer = (
        bool(rows)
        and before is not None
        and _exists(session, base.where(AuditEvent.seq > rows[0].seq))
    )
    return rows, len(found) > limit, newer


def _exists(session: Session, stmt: Any) -> bool:
    return session.scalar(stmt.with_only_columns(AuditEvent.seq).limit(1)) is not None


def matching(session: Session, f: AuditFilter) -> Iterator[AuditEvent]:
    """Every record matching `f` in seq order, streamed (for an export; log it first).
    Records without a seq (not in the chain) are left out, as on the pages."""
    stmt = _filtered(select(AuditEvent), f).order_by(AuditEvent.seq)
    return iter(session.scalars(stmt.execution_options(yield_per=500)))


def count_up_to(session: Session, f: AuditFilter, limit: int) -> int:
    """How many records match `f`, counting no further than `limit` + 1."""
    sub = _filtered(select(AuditEvent.seq), f).limit(limit + 1).subquery()
    return int(session.scalar(select(func.count()).select_from(sub)) or 0)


def client_history(session: Session, client_id: uuid.UUID) -> list[AuditEvent]:
    """The records about a client, oldest first: the rule of the viewer (in the chain only)."""
    return list(matching(session, AuditFilter(client_id=client_id)))


# What happened, in words a client understands (event code -> message id; N_ marks them for
# the catalogs). A code not listed is said by its action (ACTION_WORDS).
ACCESS_WORDS = {
    "client.create": N_("made the file"),
    "client.read": N_("opened the file"),
    "client.update": N_("changed the file (consent)"),
    "client.share": N_("shared the file with a colleague of the practice"),
    "client.export": N_("made a copy of the whole file (export)"),
    "client.erase": N_("erased the file"),
    "client.retain": N_("decided to keep the file"),
    "visit.create": N_("recorded a visit"),
    "visit.read": N_("opened a visit"),
    "visit.print": N_("printed or downloaded a document of a visit"),
    "break_glass": N_("asked for emergency access to the file"),
    "audit.read": N_("looked at who viewed the file"),
    "audit.export": N_("exported the access log of the file"),
}
ACTION_WORDS = {
    "C": N_("added something to the file"),
    "R": N_("looked at the file"),
    "U": N_("changed something in the file"),
    "D": N_("deleted something from the file"),
    "E": N_("did something with the file"),
}
ROLE_WORDS = {"practitioner": N_("practitioner"), "admin": N_("admin")}
ACCESS_FIELDS = ("seq", "occurred_at", "event_code", "action", "outcome", "user_id", "user_role")


def access_entry(
    row: AuditEvent, emails: dict[uuid.UUID, str], other_practice: bool = False
) -> dict[str, Any]:
    """One audit record about a client as the client's access history shows it: when, who
    (e-mail address and role; none for the system), what (the event code), whether it was an
    emergency access and whether it was refused. A user of another practice (who can only
    have been refused) is shown as such: no e-mail address, user id or role of theirs."""
    entry = {
        **{name: _plain(getattr(row, name)) for name in ACCESS_FIELDS},
        "user": emails.get(row.user_id) if row.user_id else None,
        "other_practice": other_practice,
        "emergency": row.authorisation_protocol == "break-glass" or row.event_nature == "emergency",
    }
    if other_practice:
        entry.update(user=None, user_id=None, user_role=None)
    return entry


def practices_of(session: Session, ids: Iterable[uuid.UUID | None]) -> dict[uuid.UUID, Any]:
    """User id -> (e-mail address, practice id), for the ids given (one query)."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = session.execute(select(User.id, User.email, User.practice_id).where(User.id.in_(wanted)))
    return {uid: (email, practice) for uid, email, practice in rows.tuples()}


def access_entries(
    session: Session, rows: list[AuditEvent], practice_id: uuid.UUID
) -> list[dict[str, Any]]:
    """:func:`access_entry` of each row of a client of `practice_id`, the users looked up
    once; a user of another practice is shown as "a user of another practice"."""
    users = practices_of(session, [row.user_id for row in rows])
    emails = {uid: email for uid, (email, _) in users.items()}
    return [
        access_entry(
            row,
            emails,
            row.user_id in users and users[row.user_id][1] != practice_id,
        )
        for row in rows
    ]


def access_what(t: Translator, entry: Mapping[str, Any]) -> str:
    """What happened, in words (a refused attempt as such, whatever it tried)."""
    words = ACCESS_WORDS.get(entry["event_code"]) or ACTION_WORDS.get(entry["action"], "")
    text = t(words) if words else str(entry["event_code"])
    if entry["outcome"] != "success":
        text = t("tried to use the file but was refused")
    if entry["emergency"]:
        text += " · " + t("emergency access")
    return text


def access_who(t: Translator, entry: Mapping[str, Any]) -> str:
    """Who, in words: e-mail address and role, the system, or a user of another practice."""
    if entry.get("other_practice"):
        return t("a user of another practice")
    if entry["user"] is None:
        return t("the system (no person)") if entry["user_id"] is None else t("unknown user")
    role = ROLE_WORDS.get(entry["user_role"] or "")
    return f"{entry['user']} ({t(role)})" if role else str(entry["user"])
