"""GDPR for one client: export (Art. 15 access, Art. 20 portability) and erasure (Art. 17),
with the Dutch medical-record retention (WGBO, BW 7:454(3): 20 years) as a warning.

Export: a zip with a manifest (every file with its SHA-256), the client with consent and care
relationships, every visit's intake and advice JSON exactly as stored (byte for byte), the
handout PDF per visit (rendered by the caller's `handout_pdf`, which the web app makes from
its own handout template and PDF pool: this layer renders no pages), the client's audit
trail (who did what when: NEN 7513 chapter 9, Wabvpz art. 15d) as JSON (`audit_trail.json`,
`access_history.json`) and as a text in the client's language (`access_history.nl.txt` or
`.en.txt`: the language of the last stored advice). Writes a `client.export` audit record.

Erasure: refused without confirmation when the retention warning applies (the client has
visits: a medical record exists); then records the decision in `erasures` (no personal data),
writes a `client.erase` audit record (ids only) and deletes the client, whose visits, care
relationships and emergency grants cascade. Audit records are never deleted: they keep only
the client's opaque id. The caller owns the transaction.
"""

from __future__ import annotations

import hashlib
import io
import json
import uuid
import zipfile
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import delete, exists, select
from sqlalchemy.orm import Session

from mgadvisor.i18n import DEFAULT_LANG, LANGS, Translator
from mgadvisor.records.audit import Actor, record
from mgadvisor.records.audit_view import (
    access_entries,
    access_what,
    access_who,
    client_history,
    practices_of,
    user_emails,
)
from mgadvisor.records.errors import InvalidRecord
from mgadvisor.records.models import (
    AuditEvent,
    BreakGlass,
    CareRelationship,
    Client,
    Erasure,
    Practice,
    User,
    Visit,
)
from mgadvisor.records.repository import Records

BASES = ("request", "consent_withdrawn")
RETENTION_YEARS = 20  # WGBO, BW 7:454(3) (since 1 January 2020)
MAX_REASON = 500
EXPORT_FORMAT = "mgadvisor-client-export/1"

HandoutPdf = Callable[[Client, Visit], bytes]
"""Renders the client handout of a stored visit as PDF bytes (given by the web app)."""

CLIENT_FIELDS = ("id", "name", "pseudonymous", "birth_date", "sex", "contact", "created_at")
CONSENT_FIELDS = (
    "consent_version",
    "consent_scope",
    "consent_method",
    "consent_captured_by",
    "consent_captured_at",
    "consent_withdrawn_at",
)
VISIT_FIELDS = (
    "id",
    "visit_date",
    "practitioner_id",
    "kb_version",
    "kb_hash",
    "engine_version",
    "decision",
    "decision_reason",
    "follow_up_date",
    "created_at",
)
TRAIL_FIELDS = (
    "seq",
    "occurred_at",
    "event_code",
    "action",
    "outcome",
    "user_id",
    "user_role",
    "authorisation_protocol",
    "event_nature",
    "object_type",
    "object_id",
)


def _plain(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def _pick(row: Any, fields: Iterable[str]) -> dict[str, Any]:
    return {name: _plain(getattr(row, name)) for name in fields}


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=2).encode("utf-8")


def _client_document(session: Session, client: Client) -> dict[str, Any]:
    """The client with care relationships and emergency accesses (recipients, Art. 15(1)(c))."""
    relations = session.scalars(
        select(CareRelationship).where(CareRelationship.client_id == client.id)
    ).all()
    grants = session.scalars(select(BreakGlass).where(BreakGlass.client_id == client.id)).all()
    who = user_emails(session, [r.practitioner_id for r in relations] + [g.user_id for g in grants])
    practice = session.get(Practice, client.practice_id)
    return {
        **_pick(client, CLIENT_FIELDS),
        "practice": None if practice is None else practice.name,
        "care_relationships": [
            {**_pick(r, ("kind", "created_at")), "practitioner": who.get(r.practitioner_id)}
            for r in relations
        ],
        "emergency_access": [
            {
                **_pick(g, ("created_at", "expires_at", "justification", "reviewed_at")),
                "user": who.get(g.user_id),
            }
            for g in grants
        ],
    }


def _trail(session: Session, client: Client) -> list[dict[str, Any]]:
    """Who did what with the client's data, when (NEN 7513 chapter 9), oldest first: the
    records in the chain (as the viewer shows them); a user of another practice (refused) as
    `other_practice`, without their e-mail address, user id or role."""
    rows: list[AuditEvent] = client_history(session, client.id)
    users = practices_of(session, [row.user_id for row in rows])
    trail = []
    for row in rows:
        email, practice = users.get(row.user_id, (None, None)) if row.user_id else (None, None)
        other = practice is not None and practice != client.practice_id
        item = {**_pick(row, TRAIL_FIELDS), "user": None if other else email}
        if other:
            item.update(user_id=None, user_role=None, other_practice=True)
        trail.append(item)
    return trail


def _access_text(entries: list[dict[str, Any]], lang: str, client_id: uuid.UUID) -> bytes:
    """The access history as a text a client reads: one line per event, oldest first."""
    t = Translator(lang)
    lines = [
        t("Who viewed your file"),
        "",
        t(
            "Every time someone of the practice opened, changed, printed or copied your file, "
            "the system wrote it down. This is that list, oldest first. Times are in UTC: Dutch "
            "time is 1 hour later in winter and 2 hours later in summer."
        ),
        t("File number: {id}", id=client_id),
        "",
    ]
    for entry in entries:
        when = datetime.fromisoformat(entry["occurred_at"]).strftime("%Y-%m-%d %H:%M")
        lines.append(f"{when} UTC — {access_who(t, entry)} — {access_what(t, entry)}")
    if not entries:
        lines.append(t("Nobody viewed your file yet."))
    return ("\n".join(lines) + "\n").encode("utf-8")


def _client_lang(visits: list[Visit], fallback: str) -> str:
    """The client's language: that of the last stored advice (their handout's), else
    `fallback`."""
    for visit in reversed(visits):
        try:
            lang = json.loads(visit.advice_json).get("lang")
        except (ValueError, AttributeError):
            continue
        if lang in LANGS:
            return str(lang)
    return fallback if fallback in LANGS else DEFAULT_LANG


def _visit_files(client: Client, visit: Visit, handout_pdf: HandoutPdf | None) -> dict[str, bytes]:
    folder = f"visits/{visit.visit_date.isoformat()}-{str(visit.id)[:8]}"
    meta = _pick(visit, VISIT_FIELDS)
    meta["decision_changes"] = (
        json.loads(visit.decision_changes_json) if visit.decision_changes_json else None
    )
    files = {
        f"{folder}/visit.json": _json(meta),
        f"{folder}/intake.json": visit.intake_json.encode("utf-8"),  # exactly as stored
        f"{folder}/advice.json": visit.advice_json.encode("utf-8"),
    }
    if handout_pdf is not None:
        files[f"{folder}/handout.pdf"] = handout_pdf(client, visit)
    return files


def _zip(files: dict[str, bytes], manifest: dict[str, Any], when: datetime) -> bytes:
    manifest["files"] = [
        {"path": path, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        for path, data in files.items()
    ]
    buffer = io.BytesIO()
    stamp = when.timetuple()[:6]
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in {"manifest.json": _json(manifest), **files}.items():
            archive.writestr(zipfile.ZipInfo(path, date_time=stamp), data, zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def export_client(
    session: Session,
    user: User,
    client_id: uuid.UUID | str,
    *,
    actor: Actor,
    lang: str = "nl",
    handout_pdf: HandoutPdf | None = None,
) -> bytes:
    """Everything stored about one client, as a zip (GDPR Art. 15 and 20); see the module.

    NotFound without a care relationship. `handout_pdf` renders each visit's handout; without
    it the zip has no PDFs and its manifest says so. `lang` is recorded in the manifest (the
    handouts are in each stored advice's own language).
    """
    repo = Records(session)
    client = repo.client(user, client_id)
    visits = repo.visits(user, client.id)
    now = datetime.now(UTC)
    record(
        session,
        actor,
        "client.export",
        "R",
        object_type="client",
        object_id=str(client.id),
        client_id=client.id,
        details={"visits": len(visits), "pdfs": handout_pdf is not None},
    )
    files: dict[str, bytes] = {
        "client.json": _json(_client_document(session, client)),
        "consent.json": _json(_pick(client, CONSENT_FIELDS)),
    }
    for visit in visits:
        files.update(_visit_files(client, visit, handout_pdf))
    files["audit_trail.json"] = _json(_trail(session, client))
    history = access_entries(session, client_history(session, client.id), client.practice_id)
    client_lang = _client_lang(visits, lang)
    files["access_history.json"] = _json(history)
    files[f"access_history.{client_lang}.txt"] = _access_text(history, client_lang, client.id)
    manifest = {
        "format": EXPORT_FORMAT,
        "client_id": str(client.id),
        "exported_at": now.isoformat(),
        "exported_by": str(user.id),
        "lang": lang,
        "client_lang": client_lang,
        "visits": len(visits),
        "handout_pdfs": handout_pdf is not None,
        "basis": "GDPR Art. 15 (access) and Art. 20 (portability)",
    }
    return _zip(files, manifest, now)


def retention_warning(session: Session, user: User, client_id: uuid.UUID | str) -> bool:
    """True when the WGBO retention of medical records (20 years, BW 7:454(3)) may apply: the
    client has visits. NotFound without a care relationship."""
    client = Records(session).client(user, client_id)
    return bool(session.scalar(select(exists().where(Visit.client_id == client.id))))


def _decide(
    session: Session,
    user: User,
    client_id: uuid.UUID | str,
    basis: str,
    reason: str | None,
) -> tuple[Client, bool, str | None]:
    if basis not in BASES:
        raise InvalidRecord("basis", "one of " + ", ".join(BASES), basis)
    text = (reason or "").strip() or None
    if text is not None and len(text) > MAX_REASON:
        raise InvalidRecord("reason", f"at most {MAX_REASON} characters", f"{len(text)} characters")
    client = Records(session).client(user, client_id)
    return client, retention_warning(session, user, client.id), text


def _audit_decision(
    session: Session, actor: Actor, code: str, action: str, erasure: Erasure, visits: int
) -> None:
    record(
        session,
        actor,
        code,
        action,
        object_type="client",
        object_id=str(erasure.client_id),
        client_id=erasure.client_id,
        details={
            "basis": erasure.basis,
            "decision": erasure.decision,
            "erasure_id": str(erasure.id),
            "retention_warning": erasure.retention_warning,
            "visits": visits,
        },
    )


def erase_client(
    session: Session,
    user: User,
    client_id: uuid.UUID | str,
    *,
    basis: str,
    reason: str | None,
    confirm_retention: bool,
    actor: Actor,
) -> Erasure:
    """Erase the client's personal data (GDPR Art. 17; `basis` 'request' or
    'consent_withdrawn'): records the decision, writes `client.erase`, deletes the client with
    their visits, care relationships and emergency grants.

    Raises InvalidRecord('confirm_retention', ...) when the retention warning applies and was
    not confirmed; NotFound without a care relationship. `reason`: no personal data.
    """
    client, warning, text = _decide(session, user, client_id, basis, reason)
    if warning and not confirm_retention:
        raise InvalidRecord(
            "confirm_retention",
            f"confirmation: the client has visits, the WGBO keeps medical records "
            f"{RETENTION_YEARS} years (BW 7:454(3)) unless an exception applies",
            confirm_retention,
        )
    visits = list(client.visits)
    erasure = Erasure(
        id=uuid.uuid4(),
        practice_id=client.practice_id,
        client_id=client.id,
        basis=basis,
        decision="erased",
        retention_warning=warning,
        reason=text,
        decided_by=user.id,
        decided_at=datetime.now(UTC),
    )
    session.add(erasure)
    _audit_decision(session, actor, "client.erase", "D", erasure, len(visits))
    session.flush()
    session.execute(delete(Client).where(Client.id == client.id))  # the rest cascades
    for row in (client, *visits):
        session.expunge(row)
    return erasure


def retain_client(
    session: Session,
    user: User,
    client_id: uuid.UUID | str,
    *,
    basis: str,
    reason: str | None,
    actor: Actor,
) -> Erasure:
    """Record a decision to keep the client's records after an erasure request or a withdrawal
    of consent (e.g. the WGBO retention applies): an `erasures` row with decision 'retained'
    and a `client.retain` audit record; for 'consent_withdrawn' also sets
    `consent_withdrawn_at`. Nothing is deleted."""
    client, warning, text = _decide(session, user, client_id, basis, reason)
    now = datetime.now(UTC)
    if basis == "consent_withdrawn" and client.consent_withdrawn_at is None:
        client.consent_withdrawn_at = now
    erasure = Erasure(
        id=uuid.uuid4(),
        practice_id=client.practice_id,
        client_id=client.id,
        basis=basis,
        decision="retained",
        retention_warning=warning,
        reason=text,
        decided_by=user.id,
        decided_at=now,
    )
    session.add(erasure)
    _audit_decision(session, actor, "client.retain", "U", erasure, len(client.visits))
    session.flush()
    return erasure
