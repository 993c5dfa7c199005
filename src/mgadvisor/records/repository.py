"""Create and read clients and visits on behalf of a practitioner.

Every read goes through a care relationship (primary or shared): a client, or a visit of a
client, without one raises :class:`NotFound`, the same error as an id that does not exist.
The caller owns the transaction (see :func:`mgadvisor.records.database.session_scope`).

Example (on a migrated database)::

    with session_scope(engine) as session:
        repo = Records(session)
        practice = repo.add_practice("Praktijk Zuid")
        anna = repo.add_user(practice, "anna@example.org", "practitioner")
        client = repo.add_client(anna, name="Client 1", birth_date=date(1950, 3, 1), sex="female")
        repo.add_visit(anna, client.id, date(2026, 11, 22), intake, advice)
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mgadvisor.records.errors import ConsentRefused, InvalidRecord, NotFound
from mgadvisor.records.models import (
    DECISIONS,
    ROLES,
    BreakGlass,
    CareRelationship,
    Client,
    Practice,
    User,
    Visit,
)

SEXES = ("female", "male", "other")
PINS = ("kb_version", "kb_hash", "engine_version")  # what an advice must carry to be stored
BREAK_GLASS_HOURS = 4  # how long an emergency access lasts
JUSTIFICATION_MIN = 20  # characters a break-glass justification needs at least
CARE = "care-relationship"  # the authorisation protocols of a read (audit.Actor.protocol)
EMERGENCY = "break-glass"
VISIT_SCOPES = ("records", "advice")  # consent scopes that allow adding a visit
SHARING_SCOPES = ("sharing",)  # the consent scope that allows sharing with a colleague


@dataclass(frozen=True, slots=True)
class FollowUp:
    """A client's next evaluation: the follow-up date of their latest visit."""

    client: Client
    visit: Visit
    due: date


def to_json(value: Any) -> str:
    """The JSON text stored for an intake or an advice: keys in the given order, UTF-8 as is."""
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidRecord("json", "JSON-serialisable data", type(value).__name__) from exc


def _as_uuid(field: str, value: uuid.UUID | str) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise InvalidRecord(field, "a UUID", value) from None


def _choice(field: str, value: str | None, choices: Sequence[str]) -> None:
    if value is not None and value not in choices:
        raise InvalidRecord(field, "one of " + ", ".join(choices), value)


def check_consent_covers(client: Client, scopes: Sequence[str]) -> None:
    """ConsentRefused unless the client's consent allows one of `scopes`: never after a
    withdrawal; with consent recorded, its scope names one of them. (A client without recorded
    consent exists only through this class: the pages and the API require consent.)"""
    if client.consent_withdrawn_at is not None:
        raise ConsentRefused("consent.withdrawn_at", "consent that was not withdrawn", "withdrawn")
    if client.consent_scope is None:
        return
    given = [s for s in client.consent_scope.split(",") if s]
    if not any(s in given for s in scopes):
        raise ConsentRefused("consent.scope", "consent for " + " or ".join(scopes), ",".join(given))


def follow_up_date(visit_date: date, advice: Mapping[str, Any]) -> date | None:
    """The visit's date plus the advice's `follow_up_weeks`; None when the advice has none."""
    weeks = advice.get("follow_up_weeks")
    if isinstance(weeks, bool) or not isinstance(weeks, int) or weeks <= 0:
        return None
    return visit_date + timedelta(weeks=weeks)


class Records:
    """The records of one database session, read and written for a practitioner."""

    def __init__(self, session: Session) -> None:
        self.session = session

    # -- practices and users (accounts proper come in part 2) -------------------------------

    def add_practice(self, name: str) -> Practice:
        """A new practice (the name is unique)."""
        if not name.strip():
            raise InvalidRecord("name", "a practice name", name)
        practice = Practice(name=name.strip())
        self.session.add(practice)
        self.session.flush()
        return practice

    def add_user(
        self, practice: Practice, email: str, role: str, password_hash: str | None = None
    ) -> User:
        """A new user of `practice`, with role practitioner or admin (no login code yet)."""
        _choice("role", role, ROLES)
        if "@" not in email:
            raise InvalidRecord("email", "an e-mail address", email)
        user = User(
            practice_id=practice.id,
            email=email.strip().lower(),
            role=role,
            password_hash=password_hash,
            disabled=False,
        )
        self.session.add(user)
        self.session.flush()
        return user

    # -- clients ----------------------------------------------------------------------------

    def add_client(
        self,
        practitioner: User,
        *,
        name: str,
        pseudonymous: bool = False,
        birth_date: date | None = None,
        sex: str | None = None,
        contact: str | None = None,
        consent_version: str | None = None,
        consent_scope: str | None = None,
        consent_method: str | None = None,
        consent_captured_at: datetime | None = None,
    ) -> Client:
        """A new client of the practitioner's practice, with the practitioner's primary care
        relationship. Consent, when given, is recorded as captured by the practitioner."""
        self._active_practitioner(practitioner)
        if not name.strip():
            raise InvalidRecord("name", "a name or pseudonym", name)
        _choice("sex", sex, SEXES)
        if birth_date is not None and birth_date > date.today():
            raise InvalidRecord("birth_date", "a date not in the future", birth_date.isoformat())
        if consent_captured_at is not None and consent_captured_at.tzinfo is None:
            raise InvalidRecord(
                "consent_captured_at", "a time with a time zone", consent_captured_at
            )
        client = Client(
            practice_id=practitioner.practice_id,
            name=name.strip(),
            pseudonymous=pseudonymous,
            birth_date=birth_date,
            sex=sex,
            contact=contact,
            consent_version=consent_version,
            consent_scope=consent_scope,
            consent_method=consent_method,
            consent_captured_by=practitioner.id if consent_version else None,
            consent_captured_at=consent_captured_at,
        )
        self.session.add(client)
        self.session.flush()
        self.session.add(
            CareRelationship(
                practitioner_id=practitioner.id,
                client_id=client.id,
                kind="primary",
                created_by=practitioner.id,
            )
        )
        self.session.flush()
        return client

    def share_client(
        self, practitioner: User, client_id: uuid.UUID | str, colleague: User
    ) -> CareRelationship:
        """Share a client the practitioner treats with a colleague of the same practice."""
        client = self.client(practitioner, client_id)
        check_consent_covers(client, SHARING_SCOPES)
        self._active_practitioner(colleague)
        if colleague.practice_id != client.practice_id:
            raise InvalidRecord("colleague", "a practitioner of the same practice", colleague.email)
        existing = self._relationship(colleague.id, client.id)
        if existing is not None:
            return existing
        relationship = CareRelationship(
            practitioner_id=colleague.id,
            client_id=client.id,
            kind="shared",
            created_by=practitioner.id,
        )
        self.session.add(relationship)
        self.session.flush()
        return relationship

    def withdraw_consent(
        self, practitioner: User, client_id: uuid.UUID | str, *, now: datetime
    ) -> Client:
        """Record that the client withdrew consent (once; a second call changes nothing)."""
        if now.tzinfo is None:
            raise InvalidRecord("now", "a time with a time zone", now)
        client = self.client(practitioner, client_id)
        if client.consent_withdrawn_at is None:
            client.consent_withdrawn_at = now
            self.session.flush()
        return client

    def client(
        self,
        practitioner: User,
        client_id: uuid.UUID | str,
        *,
        emergency_at: datetime | None = None,
    ) -> Client:
        """The client, if the practitioner has a care relationship with them (or, with
        `emergency_at`, an emergency access valid at that time); else NotFound."""
        cid = _as_uuid("client_id", client_id)
        self.access(practitioner, cid, emergency_at=emergency_at)
        client = self.session.get(Client, cid)
        if client is None:  # pragma: no cover - a relationship always has its client (FK)
            raise NotFound("client", cid)
        return client

    def access(
        self,
        practitioner: User,
        client_id: uuid.UUID | str,
        *,
        emergency_at: datetime | None = None,
    ) -> str:
        """How the practitioner may read the client: ``care-relationship``, or ``break-glass``
        (only when `emergency_at` is given and a grant is valid then); else NotFound."""
        cid = _as_uuid("client_id", client_id)
        if not practitioner.disabled and practitioner.role == "practitioner":
            if self._relationship(practitioner.id, cid) is not None:
                return CARE
            if emergency_at is not None and self._active_grant(practitioner, cid, emergency_at):
                return EMERGENCY
        raise NotFound("client", cid)

    def clients(self, practitioner: User) -> list[Client]:
        """The clients the practitioner has a care relationship with, by name."""
        if practitioner.disabled:
            return []
        query = (
            select(Client)
            .join(CareRelationship, CareRelationship.client_id == Client.id)
            .where(CareRelationship.practitioner_id == practitioner.id)
            .order_by(Client.name, Client.id)
        )
        return list(self.session.scalars(query))

    # -- visits -----------------------------------------------------------------------------

    def add_visit(
        self,
        practitioner: User,
        client_id: uuid.UUID | str,
        visit_date: date,
        intake: Mapping[str, Any],
        advice: Mapping[str, Any],
        *,
        decision: str = "accepted",
        changes: Mapping[str, Any] | None = None,
        reason: str | None = None,
    ) -> Visit:
        """Record a visit: the intake as given, the advice as produced and the decision.

        The advice must carry `kb_version`, `kb_hash` and `engine_version` (the advice
        contract does); they are stored beside it. A changed advice needs a reason.
        """
        client = self.client(practitioner, client_id)
        check_consent_covers(client, VISIT_SCOPES)
        _choice("decision", decision, DECISIONS)
        if decision == "changed" and not (reason and reason.strip()):
            raise InvalidRecord("reason", "the reason for changing the advice", reason)
        pins = {}
        for key in PINS:
            value = advice.get(key)
            if not isinstance(value, str) or not value:
                raise InvalidRecord(f"advice.{key}", "a non-empty text", value)
            pins[key] = value
        visit = Visit(
            client_id=client.id,
            practitioner_id=practitioner.id,
            visit_date=visit_date,
            intake_json=to_json(intake),
            advice_json=to_json(advice),
            decision=decision,
            decision_changes_json=to_json(changes) if changes is not None else None,
            decision_reason=reason.strip() if reason else None,
            follow_up_date=follow_up_date(visit_date, advice),
            **pins,
        )
        self.session.add(visit)
        self.session.flush()
        return visit

    def visit(
        self,
        practitioner: User,
        visit_id: uuid.UUID | str,
        *,
        emergency_at: datetime | None = None,
    ) -> Visit:
        """The visit, if the practitioner may read its client (see :meth:`access`); else
        NotFound."""
        vid = _as_uuid("visit_id", visit_id)
        visit = self.session.get(Visit, vid)
        if visit is None:
            raise NotFound("visit", vid)
        try:
            self.access(practitioner, visit.client_id, emergency_at=emergency_at)
        except NotFound:
            raise NotFound("visit", vid) from None
        return visit

    def visits(
        self,
        practitioner: User,
        client_id: uuid.UUID | str,
        *,
        emergency_at: datetime | None = None,
    ) -> list[Visit]:
        """The client's visits, oldest first (NotFound without a care relationship)."""
        client = self.client(practitioner, client_id, emergency_at=emergency_at)
        query = (
            select(Visit)
            .where(Visit.client_id == client.id)
            .order_by(Visit.visit_date, Visit.created_at)
        )
        return list(self.session.scalars(query))

    def latest_visit(self, practitioner: User, client_id: uuid.UUID | str) -> Visit | None:
        """The client's most recent visit (by date, then by when it was stored), or None."""
        client = self.client(practitioner, client_id)
        query = (
            select(Visit)
            .where(Visit.client_id == client.id)
            .order_by(Visit.visit_date.desc(), Visit.created_at.desc())
            .limit(1)
        )
        return self.session.scalars(query).first()

    def latest_intake(self, practitioner: User, client_id: uuid.UUID | str) -> dict[str, Any]:
        """The intake of the client's latest visit (a new visit starts from it); {} if none."""
        visit = self.latest_visit(practitioner, client_id)
        if visit is None:
            return {}
        data = json.loads(visit.intake_json)
        return data if isinstance(data, dict) else {}

    # -- search and follow-ups --------------------------------------------------------------

    def search_clients(self, practitioner: User, text: str, limit: int = 50) -> list[Client]:
        """The practitioner's clients whose name contains `text` (case ignored), by name."""
        if practitioner.disabled:
            return []
        query = (
            select(Client)
            .join(CareRelationship, CareRelationship.client_id == Client.id)
            .where(CareRelationship.practitioner_id == practitioner.id)
            .order_by(Client.name, Client.id)
            .limit(limit)
        )
        words = text.strip().lower()
        if words:
            query = query.where(func.lower(Client.name).contains(words, autoescape=True))
        return list(self.session.scalars(query))

    def follow_ups(self, practitioner: User, due_before: date) -> list[FollowUp]:
        """The practitioner's clients whose latest visit has a follow-up date before
        `due_before`, soonest first. A later visit replaces an earlier visit's follow-up."""
        if practitioner.disabled:
            return []
        order = func.row_number().over(
            partition_by=Visit.client_id,
            order_by=(Visit.visit_date.desc(), Visit.created_at.desc()),
        )
        latest = (
            select(Visit.id.label("visit_id"), order.label("n"))
            .join(CareRelationship, CareRelationship.client_id == Visit.client_id)
            .where(CareRelationship.practitioner_id == practitioner.id)
            .subquery()
        )
        query = (
            select(Visit, Client)
            .join(latest, latest.c.visit_id == Visit.id)
            .join(Client, Client.id == Visit.client_id)
            .where(
                latest.c.n == 1,
                Visit.follow_up_date.is_not(None),
                Visit.follow_up_date < due_before,
            )
            .order_by(Visit.follow_up_date, Client.name, Client.id)
        )
        return [
            FollowUp(client, visit, visit.follow_up_date)  # type: ignore[arg-type]
            for visit, client in self.session.execute(query).tuples()
        ]

    # -- break-glass (emergency access) -----------------------------------------------------

    def grant_break_glass(
        self,
        practitioner: User,
        client_id: uuid.UUID | str,
        justification: str,
        *,
        now: datetime,
        hours: int = BREAK_GLASS_HOURS,
    ) -> BreakGlass:
        """Emergency read access to a client of the practitioner's own practice, for `hours`,
        with a typed justification of at least JUSTIFICATION_MIN characters. A client of
        another practice, or one that does not exist, is NotFound."""
        self._active_practitioner(practitioner)
        cid = _as_uuid("client_id", client_id)
        words = " ".join(justification.split())
        if len(words) < JUSTIFICATION_MIN:
            raise InvalidRecord(
                "justification", f"at least {JUSTIFICATION_MIN} characters", len(words)
            )
        if now.tzinfo is None:
            raise InvalidRecord("now", "a time with a time zone", now)
        # Whether the client is of this practice, read from its care relationships: the client
        # row itself is hidden by row-level security (PostgreSQL) until the grant exists.
        in_practice = (
            select(CareRelationship.id)
            .join(User, User.id == CareRelationship.practitioner_id)
            .where(
                CareRelationship.client_id == cid,
                User.practice_id == practitioner.practice_id,
            )
            .limit(1)
        )
        if self.session.scalars(in_practice).first() is None:
            raise NotFound("client", cid)
        grant = BreakGlass(
            user_id=practitioner.id,
            client_id=cid,
            justification=words,
            created_at=now,
            expires_at=now + timedelta(hours=hours),
        )
        self.session.add(grant)
        self.session.flush()
        return grant

    def break_glass_grants(self, admin: User) -> list[BreakGlass]:
        """Every emergency access in the admin's practice, newest first (admins only)."""
        self._admin(admin)
        query = (
            select(BreakGlass)
            .join(User, User.id == BreakGlass.user_id)
            .where(User.practice_id == admin.practice_id)
            .order_by(BreakGlass.created_at.desc())
        )
        return list(self.session.scalars(query))

    def review_break_glass(
        self, admin: User, grant_id: uuid.UUID | str, *, now: datetime
    ) -> BreakGlass:
        """Mark an emergency access of the admin's practice as reviewed by the admin."""
        self._admin(admin)
        gid = _as_uuid("grant_id", grant_id)
        grant = self.session.get(BreakGlass, gid)
        user = self.session.get(User, grant.user_id) if grant is not None else None
        if grant is None or user is None or user.practice_id != admin.practice_id:
            raise NotFound("break_glass", gid)
        if grant.reviewed_at is None:
            grant.reviewed_by, grant.reviewed_at = admin.id, now
            self.session.flush()
        return grant

    # -- helpers ----------------------------------------------------------------------------

    def _relationship(
        self, practitioner_id: uuid.UUID, client_id: uuid.UUID
    ) -> CareRelationship | None:
        query = select(CareRelationship).where(
            CareRelationship.practitioner_id == practitioner_id,
            CareRelationship.client_id == client_id,
        )
        return self.session.scalars(query).first()

    def _active_grant(
        self, practitioner: User, client_id: uuid.UUID, now: datetime
    ) -> BreakGlass | None:
        query = (
            select(BreakGlass)
            .where(
                BreakGlass.user_id == practitioner.id,
                BreakGlass.client_id == client_id,
                BreakGlass.created_at <= now,
                BreakGlass.expires_at > now,
            )
            .order_by(BreakGlass.expires_at.desc())
        )
        return self.session.scalars(query).first()

    @staticmethod
    def _admin(user: User) -> None:
        if user.disabled or user.role != "admin":
            raise InvalidRecord("user.role", "admin", user.role)

    @staticmethod
    def _active_practitioner(user: User) -> None:
        if user.disabled:
            raise InvalidRecord("user", "an active user", user.email)
        if user.role != "practitioner":
            raise InvalidRecord("user.role", "practitioner", user.role)
