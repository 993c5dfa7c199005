"""What the practice pages and the practice API share: a transaction for the logged-in
practitioner, audited reads, the audit of a refused id, and storing a visit with its advice.

Every read, create, search, print and export of client data writes an audit record (H2's
:func:`mgadvisor.records.audit.record`) in the same transaction as the data. A client or visit
the practitioner may not read is answered like an id that does not exist (404); that refusal
is audited too, in a transaction of its own after the request's transaction has ended (the
request's transaction rolls back, and SQLite allows one writer at a time).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from fastapi import Request
from sqlalchemy.orm import Session

from mgadvisor.records.accounts import Principal
from mgadvisor.records.audit import record
from mgadvisor.records.database import session_scope
from mgadvisor.records.errors import InvalidRecord, NotFound
from mgadvisor.records.models import Client, User, Visit
from mgadvisor.records.repository import CARE, EMERGENCY, Records
from mgadvisor.web.auth import now, records_engine, user_row, user_session

CONSENT_VERSION = "2026-12"  # the version of the consent text the practice shows
CONSENT_METHODS = ("written", "verbal", "digital")
CONSENT_SCOPES = ("records", "advice", "sharing")
CHANGE_FIELDS = ("compound", "elemental_mg", "schedule", "note")


@dataclass
class Work:
    """One request's records: the session, the repository, the user's row and the principal."""

    session: Session
    repo: Records
    user: User
    principal: Principal
    when: datetime

    def audit(
        self,
        event_code: str,
        action: str,
        *,
        client_id: uuid.UUID | None = None,
        object_type: str | None = None,
        object_id: object = None,
        protocol: str = CARE,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        """One audit record of this user's action (emergency nature under break-glass)."""
        record(
            self.session,
            self.principal.actor(protocol),
            event_code,
            action,
            client_id=client_id,
            object_type=object_type,
            object_id=None if object_id is None else str(object_id),
            nature="emergency" if protocol == EMERGENCY else "regular",
            details=details,
        )

    def client(self, client_id: str, event_code: str = "client.read") -> tuple[Client, str]:
        """The client (care relationship, or a valid break-glass grant) and the protocol; the
        read is audited. NotFound otherwise."""
        cid = path_id("client", client_id)
        protocol = self.repo.access(self.user, cid, emergency_at=self.when)
        client = self.repo.client(self.user, cid, emergency_at=self.when)
        self.audit(
            event_code, "R", client_id=cid, object_type="client", object_id=cid, protocol=protocol
        )
        return client, protocol

    def visit(self, client: Client, visit_id: str, event_code: str = "visit.read") -> Visit:
        """A visit of `client` (NotFound for a visit of another client); the read is audited."""
        vid = path_id("visit", visit_id)
        visit = self.repo.visit(self.user, vid, emergency_at=self.when)
        if visit.client_id != client.id:
            raise NotFound("visit", vid)
        protocol = self.repo.access(self.user, client.id, emergency_at=self.when)
        self.audit(
            event_code,
            "R",
            client_id=client.id,
            object_type="visit",
            object_id=vid,
            protocol=protocol,
        )
        return visit


MALFORMED = "malformed"  # what the audit log keeps of a typed id that is not one


def safe_id(value: object) -> str:
    """`value` as an id when it is a UUID, else "malformed": text typed where an id belongs may
    be personal data (a name, a birth date) and never goes into the audit log."""
    try:
        return str(uuid.UUID(str(value).strip()))
    except ValueError:
        return MALFORMED


def path_id(kind: str, value: str) -> uuid.UUID:
    """A path's id; a malformed one is simply not found (no hint what an id looks like)."""
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise NotFound(kind, MALFORMED) from None


@contextmanager
def work(request: Request, principal: Principal) -> Iterator[Work]:
    """A transaction for the practitioner's request (committed at the end)."""
    with user_session(request, principal) as session:
        yield Work(session, Records(session), user_row(session, principal), principal, now(request))


def audit_refused(
    request: Request, principal: Principal, exc: NotFound, event_code: str, action: str = "R"
) -> None:
    """Audit a refused id (it does not exist, or the user may not read it), in a transaction
    of its own; the details say which kind of record, never anything about the client."""
    object_id = safe_id(exc.record_id)
    client_id = uuid.UUID(object_id) if exc.kind == "client" and object_id != MALFORMED else None
    with session_scope(records_engine(request)) as session:
        record(
            session,
            principal.actor(),
            event_code,
            action,
            outcome="denied",
            client_id=client_id,
            object_type=exc.kind,
            object_id=object_id,
            details={"reason": "no care relationship or no such record"},
        )


# -- clients ------------------------------------------------------------------------------


def birth_age(birth: date | None, on: date) -> int | None:
    """Age in whole years on `on`."""
    if birth is None:
        return None
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def client_fields(client: Client) -> dict[str, Any]:
    """A client as plain data (the API's answer and the export's shape)."""
    return {
        "id": str(client.id),
        "name": client.name,
        "pseudonymous": client.pseudonymous,
        "birth_date": client.birth_date.isoformat() if client.birth_date else None,
        "sex": client.sex,
        "contact": client.contact,
        "consent": {
            "version": client.consent_version,
            "scope": client.consent_scope.split(",") if client.consent_scope else [],
            "method": client.consent_method,
            "captured_by": str(client.consent_captured_by) if client.consent_captured_by else None,
            "captured_at": client.consent_captured_at.isoformat()
            if client.consent_captured_at
            else None,
            "withdrawn_at": client.consent_withdrawn_at.isoformat()
            if client.consent_withdrawn_at
            else None,
        },
        "created_at": client.created_at.isoformat(),
    }


def check_consent(method: str | None, scope: list[str]) -> None:
    """Consent is given with a known method and at least one known scope."""
    if method not in CONSENT_METHODS:
        raise InvalidRecord("consent.method", "one of " + ", ".join(CONSENT_METHODS), method)
    unknown = [s for s in scope if s not in CONSENT_SCOPES]
    if not scope or unknown:
        raise InvalidRecord(
            "consent.scope", "one or more of " + ", ".join(CONSENT_SCOPES), ",".join(scope)
        )


# -- visits -------------------------------------------------------------------------------


def add_client_with_consent(
    w: Work,
    *,
    name: str,
    pseudonymous: bool,
    birth_date: date | None,
    sex: str | None,
    contact: str | None,
    scope: list[str],
    method: str | None,
) -> Client:
    """A new client of the caller (primary care relationship), with consent recorded as given
    now to the current consent text; audited as `client.create`. Pages and API both use it."""
    client = w.repo.add_client(
        w.user,
        name=name,
        pseudonymous=pseudonymous,
        birth_date=birth_date,
        sex=sex,
        contact=contact,
        consent_version=CONSENT_VERSION,
        consent_scope=",".join(scope),
        consent_method=method,
        consent_captured_at=w.when,
    )
    w.audit(
        "client.create",
        "C",
        client_id=client.id,
        object_type="client",
        object_id=client.id,
        details={"consent_version": CONSENT_VERSION},
    )
    return client


def intake_with_client(intake: dict[str, Any], client: Client, on: date) -> dict[str, Any]:
    """The intake with the client's age (from the birth date) and sex filled in."""
    person = dict(intake.get("person") or {})
    age = birth_age(client.birth_date, on)
    if age is not None:
        person["age"] = age
    if client.sex in ("female", "male"):
        person["sex"] = client.sex
    return {**intake, "person": person}


def check_changes(decision: str, changes: Mapping[str, Any], reason: str | None) -> None:
    """A changed advice names at least one change, and a reason; an accepted one neither."""
    if decision not in ("accepted", "changed"):
        raise InvalidRecord("decision", "accepted or changed", decision)
    given = {k: v for k, v in changes.items() if v not in (None, "")}
    if decision == "accepted":
        return
    if not given:
        raise InvalidRecord("changes", "a changed compound, dose, schedule or note", "none")
    mg = given.get("elemental_mg")
    if mg is not None and (
        isinstance(mg, bool) or not isinstance(mg, int | float) or not 0 < mg <= 2000
    ):
        raise InvalidRecord("elemental_mg", "a dose from 1 to 2000 mg", mg)
    if not (reason and reason.strip()):
        raise InvalidRecord("reason", "the reason for changing the advice", "nothing")


def store_visit(
    w: Work,
    client: Client,
    visit_date: date,
    intake: dict[str, Any],
    advice: dict[str, Any],
    *,
    decision: str = "accepted",
    changes: Mapping[str, Any] | None = None,
    reason: str | None = None,
) -> Visit:
    """Store a visit with the advice as produced (JSON text) and the decision; audited."""
    kept = {k: v for k, v in (changes or {}).items() if v not in (None, "")}
    check_changes(decision, kept, reason)
    visit = w.repo.add_visit(
        w.user,
        client.id,
        visit_date,
        intake,
        json.loads(json.dumps(advice, ensure_ascii=False)),
        decision=decision,
        changes=kept if decision == "changed" else None,
        reason=reason if decision == "changed" else None,
    )
    w.audit(
        "visit.create",
        "C",
        client_id=client.id,
        object_type="visit",
        object_id=visit.id,
        details={"decision": decision},
    )
    return visit


def compute_advice(intake: dict[str, Any], on: date, lang: str | None) -> dict[str, Any]:
    """The advice document for a checked intake (IntakeError for a bad one)."""
    from mgadvisor.intake import parse_intake
    from mgadvisor.kb import load_knowledge
    from mgadvisor.pipeline import advice_document

    kb = load_knowledge()
    return advice_document(parse_intake(intake, kb), kb, as_of=on, lang=lang)


def decided(visit: Visit) -> dict[str, Any]:
    """The practitioner's changes of a visit ({} when accepted)."""
    if not visit.decision_changes_json:
        return {}
    data = json.loads(visit.decision_changes_json)
    return data if isinstance(data, dict) else {}
