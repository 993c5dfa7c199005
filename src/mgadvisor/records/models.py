"""The records' tables as typed SQLAlchemy 2 models (the schema itself is made by migrations).

Ids are random UUIDs (version 4). Times are stored in UTC and read back as aware datetimes.
Intake and advice are stored as the exact JSON text that was written, so that a visit's advice
reads back byte-identical (a JSON column would let PostgreSQL reorder the keys).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

ROLES = ("practitioner", "admin")
DECISIONS = ("accepted", "changed")
RELATIONSHIP_KINDS = ("primary", "shared")
ACTIONS = ("C", "R", "U", "D", "E")  # NEN 7513 action codes: create, read, update, delete, execute

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC; naive values are refused, values read back are aware."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: give a timezone-aware time")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Practice(Base):
    __tablename__ = "practices"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class User(Base):
    """A practitioner or an admin of a practice. Login (Argon2 hash, TOTP) comes in part 2."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint("role IN ('practitioner', 'admin')", name="role"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    practice_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("practices.id"), index=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str | None] = mapped_column(Text)
    totp_secret: Mapped[str | None] = mapped_column(Text)  # encrypted (records/accounts.py)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Login (migration 0002)
    totp_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # enrolment done
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)  # replay protection
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # migration 0004: made or reset by an admin, who saw the temporary password
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)


class Client(Base):
    """A client of a practice, with consent kept as data."""

    __tablename__ = "clients"
    __table_args__ = (CheckConstraint("sex IN ('female', 'male', 'other')", name="sex"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    practice_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("practices.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))  # a real name or a pseudonym
    pseudonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    birth_date: Mapped[date | None] = mapped_column(Date)
    sex: Mapped[str | None] = mapped_column(String(10))
    contact: Mapped[str | None] = mapped_column(Text)
    consent_version: Mapped[str | None] = mapped_column(String(50))
    consent_scope: Mapped[str | None] = mapped_column(Text)
    consent_method: Mapped[str | None] = mapped_column(String(50))
    consent_captured_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    consent_captured_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    consent_withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    visits: Mapped[list[Visit]] = relationship(back_populates="client", order_by="Visit.visit_date")


class CareRelationship(Base):
    """A practitioner's treatment relationship with a client: the only way to read the client."""

    __tablename__ = "care_relationships"
    __table_args__ = (
        UniqueConstraint("practitioner_id", "client_id", name="uq_care_relationships_pair"),
        CheckConstraint("kind IN ('primary', 'shared')", name="kind"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    practitioner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    client_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("clients.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(10))
    created_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Visit(Base):
    """One consultation: the intake as given, the advice as produced (pinned to the knowledge
    base's version and hash and the engine's version) and the practitioner's decision."""

    __tablename__ = "visits"
    __table_args__ = (
        CheckConstraint("decision IN ('accepted', 'changed')", name="decision"),
        CheckConstraint(
            "decision = 'accepted' OR decision_reason IS NOT NULL", name="changed_has_reason"
        ),
        Index("ix_visits_client_date", "client_id", "visit_date"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    practitioner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    visit_date: Mapped[date] = mapped_column(Date)
    intake_json: Mapped[str] = mapped_column(Text)
    advice_json: Mapped[str] = mapped_column(Text)
    kb_version: Mapped[str] = mapped_column(String(50))
    kb_hash: Mapped[str] = mapped_column(String(128))
    engine_version: Mapped[str] = mapped_column(String(50))
    decision: Mapped[str] = mapped_column(String(10))
    decision_changes_json: Mapped[str | None] = mapped_column(Text)
    decision_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    follow_up_date: Mapped[date | None] = mapped_column(Date, index=True)  # migration 0002

    client: Mapped[Client] = relationship(back_populates="visits")


class AuditEvent(Base):
    """One NEN 7513 log record (chapter 7): who, what, which client, when, where from, outcome.

    Append-only: the app may INSERT and SELECT, never UPDATE or DELETE (enforced by the
    database, see the first migration). No foreign keys, so that the log outlives erasure.
    """

    __tablename__ = "audit_events"
    __table_args__ = (
        CheckConstraint("action IN ('C', 'R', 'U', 'D', 'E')", name="action"),
        Index("ix_audit_events_occurred_at", "occurred_at"),
        Index("ix_audit_events_client_id", "client_id"),
        Index("uq_audit_events_seq", "seq", unique=True),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    event_code: Mapped[str] = mapped_column(String(50))  # gebeurteniscode
    action: Mapped[str] = mapped_column(String(1))  # actiecode C/R/U/D/E
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)  # UTC
    outcome: Mapped[str] = mapped_column(String(20))  # resultaat: success, failure, denied …
    user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)  # gebruiker
    user_role: Mapped[str | None] = mapped_column(String(20))
    authorisation_protocol: Mapped[str | None] = mapped_column(String(50))  # e.g. care, break-glass
    client_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)  # patiënt
    object_type: Mapped[str | None] = mapped_column(String(50))  # object: client, visit …
    object_id: Mapped[str | None] = mapped_column(String(100))
    source_id: Mapped[str] = mapped_column(String(100))  # bron: this application instance
    access_point: Mapped[str | None] = mapped_column(String(100))  # toegangspunt: IP address
    # Tamper evidence (migration 0002): a gap-free sequence number and a SHA-256 hash chain.
    seq: Mapped[int | None] = mapped_column(BigInteger)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64))
    event_nature: Mapped[str | None] = mapped_column(String(20))  # aard: regular, emergency, log
    checks: Mapped[str | None] = mapped_column(String(4))  # controles: 4 x T/F (NEN 7513 §7)
    details: Mapped[str | None] = mapped_column(Text)  # JSON without personal data


@dataclass(frozen=True, slots=True)
class AuditRow:
    """The values of one audit record as `audit.record` wrote them: what it returns (building
    the ORM object cost a third of the write). Same names as :class:`AuditEvent`."""

    id: uuid.UUID
    seq: int
    prev_hash: str
    event_code: str
    action: str
    occurred_at: datetime
    outcome: str
    user_id: uuid.UUID | None
    user_role: str | None
    authorisation_protocol: str | None
    client_id: uuid.UUID | None
    object_type: str | None
    object_id: str | None
    source_id: str
    access_point: str | None
    event_nature: str
    checks: str | None
    details: str | None
    hash: str


class AuditCheckpoint(Base):
    """The last sequence number and hash of the audit chain at a moment (append-only too):
    lets `audit verify` notice rows cut off the end of the chain."""

    __tablename__ = "audit_checkpoints"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RecoveryCode(Base):
    """A one-time recovery code for a user's second factor, stored as a hash."""

    __tablename__ = "recovery_codes"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    code_hash: Mapped[str] = mapped_column(String(128))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WebSession(Base):
    """A login session of the web app, kept in the database (instances stay stateless).

    The cookie holds an opaque random token; only its SHA-256 is stored here. `stage` is
    `password` after the password, `full` after the second factor, `enrol` while setting up TOTP.
    """

    __tablename__ = "web_sessions"
    __table_args__ = (CheckConstraint("stage IN ('password', 'enrol', 'full')", name="stage"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    stage: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)  # the absolute limit
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    access_point: Mapped[str | None] = mapped_column(String(100))


class ApiToken(Base):
    """A bearer token of the API: `access` (from /api/v1/auth/token, short-lived) or `personal`
    (made by the user, revocable). Only the SHA-256 of the token is stored."""

    __tablename__ = "api_tokens"
    __table_args__ = (CheckConstraint("kind IN ('access', 'personal')", name="kind"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(10))
    name: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class BreakGlass(Base):
    """Emergency access to a client without a care relationship: typed justification, time
    limited, logged, and listed for the practice's admin."""

    __tablename__ = "break_glass"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    client_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("clients.id", ondelete="CASCADE"), index=True
    )
    justification: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reviewed_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Erasure(Base):
    """A GDPR erasure (Art. 17) or consent-withdrawal decision, without personal data: the
    client's id is kept only as an opaque UUID (no foreign key; the client row is gone)."""

    __tablename__ = "erasures"
    __table_args__ = (
        CheckConstraint("decision IN ('erased', 'retained')", name="decision"),
        CheckConstraint("basis IN ('request', 'consent_withdrawn')", name="basis"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    practice_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("practices.id"), index=True)
    client_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    basis: Mapped[str] = mapped_column(String(20))
    decision: Mapped[str] = mapped_column(String(10))
    retention_warning: Mapped[bool] = mapped_column(Boolean, default=False)
    reason: Mapped[str | None] = mapped_column(Text)  # the practitioner's words, no personal data
    decided_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CdsFeedback(Base):
    """Feedback of an EHR on a CDS Hooks card (accepted, overridden with a reason)."""

    __tablename__ = "cds_feedback"
    __table_args__ = (
        CheckConstraint("outcome IN ('accepted', 'overridden')", name="outcome"),
        Index("ix_cds_feedback_service_card", "service_id", "card_type"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    service_id: Mapped[str] = mapped_column(String(100))
    card_uuid: Mapped[str] = mapped_column(String(100))
    card_type: Mapped[str | None] = mapped_column(String(100))  # the finding code of the card
    outcome: Mapped[str] = mapped_column(String(20))
    override_reason: Mapped[str | None] = mapped_column(String(200))  # a reason's code
    accepted_suggestions: Mapped[str | None] = mapped_column(Text)  # JSON list of uuids
    outcome_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    client_iss: Mapped[str | None] = mapped_column(String(300))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CdsTokenUse(Base):
    """A CDS Hooks client JWT seen once (iss, jti), shared by every app instance (migration 0004):
    a second insert of the same pair is a replay."""

    __tablename__ = "cds_token_uses"
    __table_args__ = (Index("ix_cds_token_uses_expires_at", "expires_at"),)

    iss: Mapped[str] = mapped_column(String(300), primary_key=True)
    jti: Mapped[str] = mapped_column(String(200), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
