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

from sqlalchemy import false, or_, select
from sqlalchemy.orm import Session

from mgadvisor.i18n import N_, Translator
from mgadvisor.records.models import AuditEvent, User


def _plain(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    return value


def user_emails(session: Session, ids: Iterable[uuid.UUID | None]) -> dict[uuid.UUID, str]:
    """User id -> e-mail address, for the ids given (one query)."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = session.execute(select(User.id, User.email).where(User.id.in_(wanted)))
    return {uid: email for uid, email in rows.tuples()}


# -- the log page by page (the web viewer: log the reading with `log_access` first) -----------


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """Which records a viewer asked for. `event_code` ending in '.' is a prefix ('client.');
    `users`: only records of these users (and, with `anonymous`, those without a user: the
    system, an unknown e-mail at login); None: every user."""

    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive
    user_id: uuid.UUID | None = None
    client_id: uuid.UUID | None = None
    event_code: str | None = None
    outcome: str | None = None
    users: tuple[uuid.UUID, ...] | None = None
    anonymous: bool = False

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
        stmt = stmt.where(or_(mine, AuditEvent.user_id.is_(None)) if f.anonymous else mine)
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
    """Every record matching `f` in seq order, streamed (for an export; log it first)."""
    stmt = _filtered(select(AuditEvent), f).order_by(AuditEvent.seq)
    return iter(session.scalars(stmt.execution_options(yield_per=500)))


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


def access_entry(row: AuditEvent, emails: dict[uuid.UUID, str]) -> dict[str, Any]:
    """One audit record about a client as the client's access history shows it: when, who
    (e-mail address and role; none for the system), what (the event code), whether it was an
    emergency access and whether it was refused."""
    return {
        **{name: _plain(getattr(row, name)) for name in ACCESS_FIELDS},
        "user": emails.get(row.user_id) if row.user_id else None,
        "emergency": row.authorisation_protocol == "break-glass" or row.event_nature == "emergency",
    }


def access_entries(session: Session, rows: list[AuditEvent]) -> list[dict[str, Any]]:
    """:func:`access_entry` of each row, the users' e-mail addresses looked up once."""
    emails = user_emails(session, [row.user_id for row in rows])
    return [access_entry(row, emails) for row in rows]


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
    """Who, in words: e-mail address and role, or the system."""
    if entry["user"] is None:
        return t("the system (no person)") if entry["user_id"] is None else t("unknown user")
    role = ROLE_WORDS.get(entry["user_role"] or "")
    return f"{entry['user']} ({t(role)})" if role else str(entry["user"])
