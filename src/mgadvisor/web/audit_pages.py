"""The NEN 7513 audit log in the web app: the admin's viewer and a client's access history.

    /admin/audit                 the log of the admin's practice, newest first, 50 a page (keyset
                                 on `seq`: ?before=SEQ / ?after=SEQ), filtered by from/to date
                                 (UTC days, both included), user, client number (a client of the
                                 practice), event code (exact, or a prefix ending in '.') and
                                 outcome; audited as `audit.read` with the filter and the cursor
    /admin/audit/export.ndjson   the filtered records as FHIR AuditEvent NDJSON (`audit.export`),
                                 at most EXPORT_LIMIT records (more: 422, use the command line)
    POST /admin/audit/verify     checks the hash chain (`records.audit.verify`): intact, or the
                                 first broken seq and why (`audit.verify`); one check at a time
                                 in the process (else 409), one a minute per admin (else 429)
    /clients/{id}/access         "Who viewed this file" for a practitioner with a care
                                 relationship with the client (Wabvpz art. 15d), `audit.read`

The admin (2FA login, `admin_page_user`; a practitioner gets 403) sees the records of the users
of their own practice, and those without a user that belong to the practice: about a client of
the practice (or an erased one) or about the account of one of its users. The log has no
practice column; the other records without a user (CDS calls, logins with an unknown e-mail
address, command-line records without a client) are server-wide and stay with the command
line's `mgadvisor audit` tools. Rows hold ids and codes only, no client names. The
client's history is read only after the repository has found the client for this practitioner
(care relationship; on PostgreSQL row-level security on `clients` checks it again): the app's
role may SELECT every audit record, so that check is the gate (docs/records.md says why no
policy on `audit_events`).
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from mgadvisor.i18n import N_, Translator
from mgadvisor.records.accounts import Principal
from mgadvisor.records.audit import OUTCOMES, VerifyResult, log_access, record, verify
from mgadvisor.records.audit_fhir import to_fhir_audit_event
from mgadvisor.records.audit_view import (
    AuditFilter,
    access_entries,
    access_what,
    access_who,
    broken_reason,
    client_of_practice,
    count_up_to,
    matching,
    newest_first,
    user_emails,
)
from mgadvisor.records.database import READ_ONLY, session_scope
from mgadvisor.records.errors import NotFound
from mgadvisor.records.models import AuditEvent, User
from mgadvisor.web.app import request_lang
from mgadvisor.web.auth import (
    admin_page_user,
    now,
    practitioner_page_user,
    records_engine,
    user_row,
    user_session,
)

router = APIRouter(include_in_schema=False)
Admin = Annotated[Principal, Depends(admin_page_user)]
Practitioner = Annotated[Principal, Depends(practitioner_page_user)]
PAGE = 50
EXPORT_LIMIT = 100_000  # records in one download; more: `mgadvisor audit export` (the CLI)
VERIFY_EVERY = timedelta(minutes=1)  # per admin
FIRST_YEAR, LAST_YEAR = 1900, 2100  # the dates the filter takes
CURSOR = re.compile(r"[0-9]{1,18}")
SYSTEM_USER = "system"  # the user filter's value for records without a user
CODE = re.compile(r"[a-z_]+(\.[a-z_]+)*\.?")
FILTERS = ("from", "to", "user", "client", "code", "outcome")
LABELS = {
    "from": N_("First day"),
    "to": N_("Last day"),
    "user": N_("User"),
    "client": N_("Client number"),
    "code": N_("Event code"),
    "outcome": N_("Outcome"),
    "before": N_("Older than record"),
    "after": N_("Newer than record"),
}
EXPECTED = {
    "from": N_("a date as YYYY-MM-DD"),
    "to": N_("a date as YYYY-MM-DD, not before the first day"),
    "user": N_("a user of your practice"),
    "client": N_("a client number (36 characters, such as 0b6f…-…)"),
    "code": N_("an event code such as client.read, or its start such as client."),
    "outcome": N_("success, denied, failure or error"),
    "before": N_("a record number (digits 0-9, at most 18)"),
    "after": N_("a record number (digits 0-9, at most 18)"),
}
NOT_OURS = N_("a client of your practice")
OUTCOME_WORDS = {
    "success": N_("done"),
    "denied": N_("refused"),
    "failure": N_("failed"),
    "error": N_("error"),
}
ACTION_NAMES = {
    "C": N_("create"),
    "R": N_("read"),
    "U": N_("update"),
    "D": N_("delete"),
    "E": N_("execute (print, export, login)"),
}
KNOWN_CODES = (
    "client.",
    "client.read",
    "client.export",
    "visit.",
    "visit.print",
    "break_glass",
    "auth.",
    "auth.login_failed",
    "auth.forbidden",
    "user.",
    "audit.",
    "cds.",
)


@dataclass
class Asked:
    """The filter as typed (`values`, kept for the form), as understood (`filter`), and the
    problems (field -> message)."""

    values: dict[str, str]
    filter: AuditFilter = field(default_factory=AuditFilter)
    errors: dict[str, str] = field(default_factory=dict)


def _day(text: str) -> date | None:
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return None
    return day if FIRST_YEAR <= day.year <= LAST_YEAR else None


def _message(t: Translator, name: str, given: str, expected: str | None = None) -> str:
    return t(
        "{field}: expected {expected}, got {given}.",
        field=t(LABELS[name]),
        expected=t(expected or EXPECTED[name]),
        given=f"'{given[:60]}'",
    )


def parse_cursor(t: Translator, request: Request, names: tuple[str, ...]) -> Asked:
    """The page cursors `names` (?before=SEQ, ?after=SEQ) as numbers in `filter`'s place:
    `values` holds the numbers given, `errors` a message per bad one (digits 0-9 only)."""
    asked = Asked({})
    for name in names:
        text = request.query_params.get(name, "")
        if not text:
            continue
        if CURSOR.fullmatch(text):
            asked.values[name] = text
        else:
            asked.errors[name] = _message(t, name, text)
    return asked


def parse_filter(
    t: Translator,
    values: dict[str, str],
    users: dict[uuid.UUID, str],
    practice_id: uuid.UUID | None = None,
    is_ours: Callable[[uuid.UUID], bool] | None = None,
) -> Asked:
    """The filter from the form's `values` for an admin of the practice `practice_id` with
    `users` (id -> e-mail address); `is_ours` tells whether a client id is a client (or an
    erased client) of the practice: another one is refused. Every bad field gets its message,
    the values stay as typed."""
    asked = Asked({k: values.get(k, "").strip() for k in FILTERS})
    v, errors = asked.values, asked.errors
    start = _day(v["from"]) if v["from"] else None
    end = _day(v["to"]) if v["to"] else None
    for name, value, parsed in (("from", v["from"], start), ("to", v["to"], end)):
        if value and parsed is None:
            errors[name] = _message(t, name, value)
    if start and end and end < start:
        errors["to"] = _message(t, "to", v["to"])
    user_id, anonymous, scope = None, True, tuple(users)
    if v["user"] == SYSTEM_USER:
        scope = ()
    elif v["user"]:
        try:
            user_id = uuid.UUID(v["user"])
        except ValueError:
            user_id = None
        if user_id not in users:
            errors["user"] = _message(t, "user", v["user"])
        anonymous = False
    client_id = None
    if v["client"]:
        try:
            client_id = uuid.UUID(v["client"])
        except ValueError:
            errors["client"] = _message(t, "client", v["client"])
        else:
            if is_ours is None or not is_ours(client_id):
                errors["client"] = _message(t, "client", v["client"], NOT_OURS)
    if v["code"] and (len(v["code"]) > 50 or not CODE.fullmatch(v["code"])):
        errors["code"] = _message(t, "code", v["code"])
    if v["outcome"] and v["outcome"] not in OUTCOMES:
        errors["outcome"] = _message(t, "outcome", v["outcome"])
    if not errors:
        asked.filter = AuditFilter(
            since=None if start is None else datetime.combine(start, time(0), tzinfo=UTC),
            until=None
            if end is None
            else datetime.combine(end + timedelta(days=1), time(0), tzinfo=UTC),
            user_id=user_id,
            client_id=client_id,
            event_code=v["code"] or None,
            outcome=v["outcome"] or None,
            users=scope,
            anonymous=anonymous,
            practice_id=practice_id,
            practice_users=tuple(users),
        )
    return asked


def _practice_users(session: Session, admin: User) -> dict[uuid.UUID, str]:
    rows = session.execute(
        select(User.id, User.email)
        .where(User.practice_id == admin.practice_id)
        .order_by(User.email)
    )
    return {uid: email for uid, email in rows.tuples()}


def _filter_values(request: Request) -> dict[str, str]:
    return {k: request.query_params.get(k, "")[:200] for k in FILTERS}


def _who(t: Translator, row: AuditEvent, emails: dict[uuid.UUID, str]) -> str:
    if row.user_id is None:
        if row.authorisation_protocol == "system":
            return t("the system")
        if row.authorisation_protocol == "cds-client":
            return t("an EHR calling the CDS service")
        return t("unknown user")
    email = emails.get(row.user_id) or str(row.user_id)
    return f"{email} ({t(row.user_role)})" if row.user_role else email


def _row(t: Translator, row: AuditEvent, emails: dict[uuid.UUID, str]) -> dict[str, Any]:
    """One record in words (NEN 7513 fields): ids and codes only, as the row holds them."""
    return {
        "seq": row.seq,
        "when": row.occurred_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"),
        "who": _who(t, row, emails),
        "code": row.event_code,
        "action": t(ACTION_NAMES.get(row.action, row.action)),
        "object": row.object_type,
        "object_id": row.object_id,
        "client_id": row.client_id,
        "outcome": t(OUTCOME_WORDS.get(row.outcome, row.outcome)),
        "refused": row.outcome != "success",
        "access_point": row.access_point,
        "protocol": row.authorisation_protocol,
        "emergency": row.event_nature == "emergency",
    }


def _asked(
    t: Translator, request: Request, session: Session, admin: User, users: dict[uuid.UUID, str]
) -> Asked:
    """The filter of the request for `admin`, of a practice with `users`."""
    practice = admin.practice_id
    return parse_filter(
        t,
        _filter_values(request),
        users,
        practice,
        lambda client_id: client_of_practice(session, practice, client_id),
    )


def _audit_page(
    request: Request,
    principal: Principal,
    status: int = 200,
    verified: VerifyResult | None = None,
    blocked: str | None = None,
) -> Response:
    """The viewer's page. `blocked`: a message that refuses what was asked (the export, the
    chain check) with `status`: the form is shown, nothing is read or logged."""
    from mgadvisor.web.practice import page

    t = Translator(request_lang(request))
    cursor = parse_cursor(t, request, ("before", "after"))
    before = int(cursor.values["before"]) if "before" in cursor.values else None
    after = None
    if before is None and "after" in cursor.values:
        after = int(cursor.values["after"])
    with user_session(request, principal) as session:
        admin = user_row(session, principal)
        users = _practice_users(session, admin)
        asked = _asked(t, request, session, admin, users)
        asked.errors.update(cursor.errors)
        rows: list[dict[str, Any]] = []
        older = newer = False
        if not asked.errors and blocked is None:
            f = asked.filter
            log_access(
                session,
                principal.actor("admin"),
                client_id=f.client_id,
                since=f.since,
                until=f.until,
                user_id=f.user_id,
                more={
                    **f.logged(),
                    "user": SYSTEM_USER if f.users == () else None,
                    "before": None if before is None else str(before),
                    "after": None if after is None else str(after),
                },
            )
            found, older, newer = newest_first(session, f, before=before, after=after, limit=PAGE)
            emails = user_emails(session, [r.user_id for r in found])
            rows = [_row(t, r, emails) for r in found]
    query = urlencode({k: v for k, v in asked.values.items() if v})
    return page(
        request,
        "practice/audit.html",
        status=422 if asked.errors else status,
        asked=asked,
        users=users,
        rows=rows,
        older=older,
        newer=newer,
        query=query,
        outcomes=OUTCOMES,
        known_codes=KNOWN_CODES,
        system_user=SYSTEM_USER,
        verified=verified,
        reason=_reason(t, verified),
        blocked=None if asked.errors else blocked,
        principal=principal,
    )


def _reason(t: Translator, result: VerifyResult | None) -> str | None:
    if result is None or result.ok:
        return None
    return broken_reason(t, result.reason, result.first_bad_seq)


@router.get("/admin/audit", response_class=HTMLResponse)
def audit_log(request: Request, principal: Admin) -> Response:
    """The practice's audit log, newest first, filtered and paged (the reading is audited)."""
    return _audit_page(request, principal)


@dataclass
class VerifyGuard:
    """The chain check's limits in this process: one check at a time (`running`), and the time
    each admin last started one (`last`)."""

    running: threading.Lock = field(default_factory=threading.Lock)
    last: dict[uuid.UUID, datetime] = field(default_factory=dict)
    books: threading.Lock = field(default_factory=threading.Lock)


_GUARD_MADE = threading.Lock()


def verify_guard(app: Any) -> VerifyGuard:
    """The app's :class:`VerifyGuard` (made on first use)."""
    with _GUARD_MADE:
        guard = getattr(app.state, "audit_verify_guard", None)
        if guard is None:
            guard = app.state.audit_verify_guard = VerifyGuard()
        return guard


@router.post("/admin/audit/verify", response_class=HTMLResponse)
def audit_verify(request: Request, principal: Admin) -> Response:
    """Check the hash chain of the whole log (read-only on SQLite: writers are not held up),
    then record `audit.verify` with the outcome and show the log's first page with it. One
    check at a time in the process (409) and one a minute per admin (429): it reads every
    record (about 45 s for a million)."""
    t = Translator(request_lang(request))
    guard = verify_guard(request.app)
    started = now(request)
    with guard.books:
        last = guard.last.get(principal.user_id)
        if last is not None and started - last < VERIFY_EVERY:
            wait = last + VERIFY_EVERY
            message = t(
                "You checked the chain less than a minute ago: try again after {time} UTC.",
                time=wait.astimezone(UTC).strftime("%H:%M:%S"),
            )
            return _audit_page(request, principal, status=429, blocked=message)
        if not guard.running.acquire(blocking=False):
            message = t(
                "The chain is being checked already (one check at a time): try again in a minute."
            )
            return _audit_page(request, principal, status=409, blocked=message)
        guard.last[principal.user_id] = started
    try:
        engine = records_engine(request)
        with session_scope(engine.execution_options(**{READ_ONLY: True})) as session:
            result = verify(session)
    finally:
        guard.running.release()
    with user_session(request, principal) as session:
        record(
            session,
            principal.actor("admin"),
            "audit.verify",
            "E",
            nature="log",
            object_type="audit_log",
            details={"ok": result.ok, "count": result.count, "first_bad_seq": result.first_bad_seq},
        )
    return _audit_page(request, principal, verified=result)


@router.get("/admin/audit/export.ndjson")
def audit_export(request: Request, principal: Admin) -> Response:
    """The filtered records as FHIR AuditEvent NDJSON (the export is audited first); at most
    EXPORT_LIMIT records, else 422 pointing to the command line."""
    t = Translator(request_lang(request))
    with user_session(request, principal) as session:
        admin = user_row(session, principal)
        asked = _asked(t, request, session, admin, _practice_users(session, admin))
        too_many = not asked.errors and count_up_to(session, asked.filter, EXPORT_LIMIT) > (
            EXPORT_LIMIT
        )
    if asked.errors:
        return _audit_page(request, principal)  # the form with the messages (status 422)
    if too_many:
        message = t(
            "These filters match more than {limit} records, more than one download holds. "
            "Choose fewer days or a narrower filter, or ask the server's administrator for "
            "the command line's export (mgadvisor audit export), which has no limit.",
            limit=f"{EXPORT_LIMIT:,}",
        )
        return _audit_page(request, principal, status=422, blocked=message)
    f = asked.filter
    with user_session(request, principal) as session:
        log_access(
            session,
            principal.actor("admin"),
            "audit.export",
            client_id=f.client_id,
            since=f.since,
            until=f.until,
            user_id=f.user_id,
            more={**f.logged(), "format": "fhir-ndjson"},
        )
    engine = records_engine(request).execution_options(**{READ_ONLY: True})

    def lines() -> Iterator[bytes]:
        from mgadvisor.records.rls import scoped_session

        # as the admin (RLS on PostgreSQL): the practice's clients decide which records
        # without a user belong to the practice, as on the page
        with scoped_session(engine, principal) as session:
            for event in matching(session, f):
                yield (json.dumps(to_fhir_audit_event(event), ensure_ascii=False) + "\n").encode()

    return StreamingResponse(
        lines(),
        media_type="application/fhir+ndjson",
        headers={"Content-Disposition": 'attachment; filename="audit-events.ndjson"'},
    )


# -- a client's access history ----------------------------------------------------------------


@router.get("/clients/{client_id}/access", response_class=HTMLResponse)
def client_access(request: Request, client_id: str, principal: Practitioner) -> Response:
    """Who viewed this file: the audit records about the client, newest first, 50 a page (for a
    practitioner with a care relationship; the reading is audited as `audit.read`). A bad page
    cursor answers 422, nothing read or logged."""
    from mgadvisor.web.practice import not_found, page
    from mgadvisor.web.practice_records import path_id, work

    t = Translator(request_lang(request))
    cursor = parse_cursor(t, request, ("before",))
    before = int(cursor.values["before"]) if "before" in cursor.values else None
    entries: list[dict[str, Any]] = []
    older = False
    try:
        with work(request, principal) as w:
            client = w.repo.client(w.user, path_id("client", client_id))  # care relationship
            if not cursor.errors:
                log_access(
                    w.session,
                    principal.actor(),
                    client_id=client.id,
                    more={"before": None if before is None else str(before)},
                )
                found, older, _ = newest_first(
                    w.session, AuditFilter(client_id=client.id), before=before, limit=PAGE
                )
                entries = access_entries(w.session, found, client.practice_id)
    except NotFound as exc:
        return not_found(request, principal, exc, "audit.read")
    rows = [
        {
            "seq": e["seq"],
            "when": datetime.fromisoformat(e["occurred_at"]).strftime("%Y-%m-%d %H:%M"),
            "who": access_who(t, e),
            "what": access_what(t, e),
            "refused": e["outcome"] != "success",
        }
        for e in entries
    ]
    return page(
        request,
        "practice/access.html",
        status=422 if cursor.errors else 200,
        client=client,
        rows=rows,
        older=older,
        first=before is None,
        errors=list(cursor.errors.values()),
        principal=principal,
    )
