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
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mgadvisor.records.errors import InvalidRecord, NotFound
from mgadvisor.records.models import (
    DECISIONS,
    ROLES,
    CareRelationship,
    Client,
    Practice,
    User,
    Visit,
)

SEXES = ("female", "male", "other")
PINS = ("kb_version", "kb_hash", "engine_version")  # what an advice must carry to be stored


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

    def client(self, practitioner: User, client_id: uuid.UUID | str) -> Client:
        """The client, if the practitioner has a care relationship with them; else NotFound."""
        cid = _as_uuid("client_id", client_id)
        if practitioner.disabled or self._relationship(practitioner.id, cid) is None:
            raise NotFound("client", cid)
        client = self.session.get(Client, cid)
        if client is None:  # pragma: no cover - a relationship always has its client (FK)
            raise NotFound("client", cid)
        return client

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
            **pins,
        )
        self.session.add(visit)
        self.session.flush()
        return visit

    def visit(self, practitioner: User, visit_id: uuid.UUID | str) -> Visit:
        """The visit, if the practitioner has a care relationship with its client; else NotFound."""
        vid = _as_uuid("visit_id", visit_id)
        visit = self.session.get(Visit, vid)
        if (
            visit is None
            or practitioner.disabled
            or self._relationship(practitioner.id, visit.client_id) is None
        ):
            raise NotFound("visit", vid)
        return visit

    def visits(self, practitioner: User, client_id: uuid.UUID | str) -> list[Visit]:
        """The client's visits, oldest first (NotFound without a care relationship)."""
        client = self.client(practitioner, client_id)
        query = (
            select(Visit)
            .where(Visit.client_id == client.id)
            .order_by(Visit.visit_date, Visit.created_at)
        )
        return list(self.session.scalars(query))

    # -- helpers ----------------------------------------------------------------------------

    def _relationship(
        self, practitioner_id: uuid.UUID, client_id: uuid.UUID
    ) -> CareRelationship | None:
        query = select(CareRelationship).where(
            CareRelationship.practitioner_id == practitioner_id,
            CareRelationship.client_id == client_id,
        )
        return self.session.scalars(query).first()

    @staticmethod
    def _active_practitioner(user: User) -> None:
        if user.disabled:
            raise InvalidRecord("user", "an active user", user.email)
        if user.role != "practitioner":
            raise InvalidRecord("user.role", "practitioner", user.role)
