"""The practice pages (issue 13 §3): the follow-up worklist, clients with consent, a client's
page (visits, trends, follow-up), sharing, export and erasure, and break-glass access.

    /practice                   worklist: overdue and due this week (?as_of=YYYY-MM-DD moves today)
    /clients                    own clients, search by name (HTMX live filter: /clients/rows)
    /clients/new, POST /clients a new client with consent
    /clients/{id}               details, consent, visits, lab trends, follow-up
    /clients/{id}/share         share with a colleague of the practice
    /clients/{id}/export        the GDPR export (zip)       /clients/{id}/erase  erasure
    /clients/break-glass        emergency access with a typed justification
    /admin/break-glass          the admin's list of emergency accesses, with review

Visits are in practice_visits.py. Only practitioners (H1's `practitioner_page_user`) see client
data; every read is audited (practice_records.py). The anonymous intake at / is unchanged.
"""

from __future__ import annotations

import json
import uuid
from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from mgadvisor.i18n import N_, Translator
from mgadvisor.records.accounts import Principal
from mgadvisor.records.errors import InvalidRecord, NotFound
from mgadvisor.records.repository import EMERGENCY, JUSTIFICATION_MIN
from mgadvisor.web.app import request_lang
from mgadvisor.web.auth import admin_page_user, practitioner_page_user
from mgadvisor.web.auth import today as today_of
from mgadvisor.web.forms import FormState
from mgadvisor.web.pages import _page
from mgadvisor.web.practice_records import (
    CONSENT_METHODS,
    CONSENT_SCOPES,
    CONSENT_VERSION,
    MALFORMED,
    add_client_with_consent,
    audit_refused,
    check_consent,
    path_id,
    work,
)

router = APIRouter(include_in_schema=False)
Practitioner = Annotated[Principal, Depends(practitioner_page_user)]
Admin = Annotated[Principal, Depends(admin_page_user)]
Text = Annotated[str, Form(max_length=2000)]
DUE_DAYS = 7  # "due this week": today and the six days after

# What a field expects, in the user's language (InvalidRecord.field -> message id).
EXPECTED = {
    "name": N_("a name or a pseudonym"),
    "birth_date": N_("a date as YYYY-MM-DD, not in the future"),
    "sex": N_("female, male or other"),
    "consent.method": N_("how consent was given: written, verbal or digital"),
    "consent.scope": N_("at least one thing the client consents to"),
    "justification": N_("a justification of at least {n} characters"),
    "colleague": N_("the e-mail address of a practitioner of your practice"),
    "reason": N_("the reason for changing the advice"),
    "changes": N_("at least one change: compound, dose, schedule or note"),
    "elemental_mg": N_("a dose from 1 to 2000 mg elemental magnesium a day"),
    "decision": N_("accept or change"),
    "visit_date": N_("a date as YYYY-MM-DD, not in the future"),
    "confirm_retention": N_("a confirmation that the retention period was considered"),
    "basis": N_("the basis of the erasure"),
}
# The consent refusals of the repository (ConsentRefused.expected -> message id).
CONSENT_EXPECTED = {
    "consent that was not withdrawn": N_("consent that was not withdrawn (it was withdrawn)"),
    "consent for records or advice": N_("consent for keeping records or for an advice"),
    "consent for sharing": N_("consent for sharing with a colleague of the practice"),
}


def page(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """A practice page: the site's page with a short date formatter (`day(t, date)`)."""
    from mgadvisor.render.trend_svg import short_date

    return _page(request, template, status, day=short_date, **context)


def expected_text(t: Translator, exc: InvalidRecord) -> str:
    """What the field expects, in the user's language where the field is known."""
    expected = CONSENT_EXPECTED.get(exc.expected) or EXPECTED.get(exc.field)
    return t(expected, n=JUSTIFICATION_MIN) if expected else exc.expected


def field_message(t: Translator, exc: InvalidRecord) -> str:
    """'Not valid: expected …' in the user's language (the value given is not repeated: it may
    be personal data)."""
    return t("Not valid: expected {expected}.", expected=expected_text(t, exc))


def not_found(request: Request, principal: Principal, exc: NotFound, event: str) -> Response:
    """The client or visit is not there for this user: audited, then the normal 404 page,
    which points to emergency access for a client."""
    audit_refused(request, principal, exc, event)
    return page(
        request,
        "practice/not_found.html",
        status=404,
        kind=exc.kind,
        record_id="" if exc.record_id == MALFORMED else exc.record_id,
    )


# -- worklist ---------------------------------------------------------------------------------


def _as_of(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


@router.get("/practice", response_class=HTMLResponse)
def worklist(request: Request, principal: Practitioner, as_of: str | None = None) -> Response:
    """Follow-ups: overdue, and due in the coming week, of the practitioner's clients."""
    moved = _as_of(as_of)
    today = moved or today_of(request)
    with work(request, principal) as w:
        due = w.repo.follow_ups(w.user, today + timedelta(days=DUE_DAYS))
        rows: list[dict[str, Any]] = [
            {
                "client": f.client,
                "due": f.due,
                "visit": f.visit,
                "summary": _summary(f.visit, request_lang(request)),
            }
            for f in due
        ]
        w.audit("client.search", "R", object_type="worklist", details={"count": len(rows)})
    return page(
        request,
        "practice/worklist.html",
        overdue=[r for r in rows if r["due"] < today],
        this_week=[r for r in rows if r["due"] >= today],  # the query ends a week from today
        today=today,
        moved=moved is not None,
        bad_as_of=bool(as_of) and moved is None,
        principal=principal,
    )


def _summary(visit: Any, lang: str) -> dict[str, Any]:
    """The advice of a visit in brief: referral, risk level, and the dose and compound as
    decided (the practitioner's changed values when the advice was changed: `changed`)."""
    from mgadvisor.kb import load_knowledge
    from mgadvisor.records.compare import decided_dose
    from mgadvisor.web.practice_records import decided

    a = json.loads(visit.advice_json)
    a = a if isinstance(a, dict) else {}
    name, mg = decided_dose(visit, a)
    changes = decided(visit) if visit.decision == "changed" else {}
    code = str(changes.get("compound") or "")
    entry = load_knowledge().compounds.get(code) if code else None
    if entry is not None:
        name = entry.name.get(lang)
    return {
        "urgency": (a.get("referral") or {}).get("urgency"),
        "risk": (a.get("risk") or {}).get("level"),
        "mg": mg,
        "compound": name,
        "changed": bool(changes.get("elemental_mg") is not None or entry is not None),
    }


# -- clients ----------------------------------------------------------------------------------


def _client_rows(request: Request, principal: Principal, q: str) -> list[Any]:
    with work(request, principal) as w:
        found = w.repo.search_clients(w.user, q[:100])
        # the query itself is not stored: it may be a name
        w.audit(
            "client.search",
            "R",
            object_type="client",
            details={"filtered": bool(q.strip()), "count": len(found)},
        )
        return found


@router.get("/clients", response_class=HTMLResponse)
def clients(request: Request, principal: Practitioner, q: str = "") -> Response:
    """The practitioner's clients, filtered by `q` (part of the name)."""
    rows = _client_rows(request, principal, q)
    return page(request, "practice/clients.html", clients=rows, q=q[:100], principal=principal)


@router.get("/clients/rows", response_class=HTMLResponse)
def client_rows(request: Request, principal: Practitioner, q: str = "") -> Response:
    """HTMX: the list's rows for the search as typed."""
    rows = _client_rows(request, principal, q)
    return page(request, "practice/_client_rows.html", clients=rows, q=q[:100])


@router.get("/clients/new", response_class=HTMLResponse)
def new_client(request: Request, principal: Practitioner) -> Response:
    """The form of a new client, with written consent for records and advice preset."""
    state = FormState(
        values={"consent_method": "written"}, lists={"consent_scope": ["records", "advice"]}
    )
    return _client_form(request, state, principal)


def _client_form(
    request: Request, state: FormState, principal: Principal, status: int = 200
) -> Response:
    return page(
        request,
        "practice/client_new.html",
        status=status,
        state=state,
        methods=CONSENT_METHODS,
        scopes=CONSENT_SCOPES,
        consent_version=CONSENT_VERSION,
        principal=principal,
    )


def _birth_date(text: str) -> date | None:
    if not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidRecord("birth_date", "a date as YYYY-MM-DD", text) from None


@router.post("/clients", response_class=HTMLResponse)
async def create_client(request: Request, principal: Practitioner) -> Response:
    """Store the new client with consent; the form again with the problem if not valid."""
    form = await request.form()
    state = FormState(
        values={k: str(form.get(k) or "").strip()[:500] for k in _CLIENT_FIELDS},
        lists={"consent_scope": [str(v) for v in form.getlist("consent_scope")][:5]},
    )
    t = Translator(request_lang(request))
    try:
        client_id = await run_in_threadpool(_create_client, request, principal, state)
    except InvalidRecord as exc:
        state.errors = {_form_field(exc.field): field_message(t, exc)}
        return _client_form(request, state, principal, status=422)
    return RedirectResponse(f"/clients/{client_id}", status_code=303)


_CLIENT_FIELDS = ("name", "pseudonymous", "birth_date", "sex", "contact", "consent_method")


def _form_field(field: str) -> str:
    return {"consent.method": "consent_method", "consent.scope": "consent_scope"}.get(field, field)


def _create_client(request: Request, principal: Principal, state: FormState) -> uuid.UUID:
    v = state.values
    scope = state.lists.get("consent_scope", [])
    check_consent(v.get("consent_method") or None, scope)
    with work(request, principal) as w:
        client = add_client_with_consent(
            w,
            name=v.get("name", ""),
            pseudonymous=bool(v.get("pseudonymous")),
            birth_date=_birth_date(v.get("birth_date", "")),
            sex=v.get("sex") or None,
            contact=v.get("contact") or None,
            scope=scope,
            method=v.get("consent_method"),
        )
        return client.id


@router.get("/clients/break-glass", response_class=HTMLResponse)
def break_glass_form(request: Request, principal: Practitioner, client: str = "") -> Response:
    """The form asking for emergency access (client number and justification)."""
    return page(
        request,
        "practice/break_glass.html",
        state=FormState(values={"client_id": client[:40]}),
        minimum=JUSTIFICATION_MIN,
        principal=principal,
    )


@router.post("/clients/break-glass", response_class=HTMLResponse)
def break_glass(
    request: Request, principal: Practitioner, client_id: Text = "", justification: Text = ""
) -> Response:
    """Emergency read access: granted for a few hours, audited as an emergency, listed for the
    admin. An unknown client (or one of another practice) is refused like any other id."""
    t = Translator(request_lang(request))
    state = FormState(values={"client_id": client_id.strip(), "justification": justification})
    try:
        with work(request, principal) as w:
            grant = w.repo.grant_break_glass(
                w.user, _client_id(client_id), justification, now=w.when
            )
            w.audit(
                "break_glass",
                "E",
                client_id=grant.client_id,
                object_type="break_glass",
                object_id=grant.id,
                protocol=EMERGENCY,
                details={"expires_at": grant.expires_at.isoformat()},
            )
    except InvalidRecord as exc:
        state.errors = {exc.field: field_message(t, exc)}
        return page(
            request,
            "practice/break_glass.html",
            status=422,
            state=state,
            minimum=JUSTIFICATION_MIN,
            principal=principal,
        )
    except NotFound as exc:
        audit_refused(request, principal, exc, "break_glass", "E")
        state.errors = {"client_id": t("No client of your practice has this number.")}
        return page(
            request,
            "practice/break_glass.html",
            status=404,
            state=state,
            minimum=JUSTIFICATION_MIN,
            principal=principal,
        )
    return RedirectResponse(f"/clients/{grant.client_id}", status_code=303)


def _client_id(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text.strip())
    except ValueError:
        raise NotFound("client", MALFORMED) from None


@router.get("/clients/{client_id}", response_class=HTMLResponse)
def client_page(request: Request, client_id: str, principal: Practitioner) -> Response:
    """A client's details, consent, visits, lab trends and follow-up (audited)."""
    from mgadvisor.kb import load_knowledge
    from mgadvisor.records.trends import lab_trends
    from mgadvisor.render.trend_svg import trend_svg

    lang = request_lang(request)
    t = Translator(lang)
    try:
        with work(request, principal) as w:
            client, protocol = w.client(client_id)
            visits = w.repo.visits(w.user, client.id, emergency_at=w.when)
            series = lab_trends(visits, load_knowledge(), lang)
            latest = visits[-1] if visits else None
            grant = (
                w.repo._active_grant(w.user, client.id, w.when) if protocol == EMERGENCY else None
            )
    except NotFound as exc:
        return not_found(request, principal, exc, "client.read")
    charts = [(s, trend_svg(s, t, f"trend-{s.code}")) for s in series]
    return page(
        request,
        "practice/client.html",
        client=client,
        visits=list(reversed(visits)),
        charts=charts,
        latest=latest,
        emergency=protocol == EMERGENCY,
        grant=grant,
        summaries={v.id: _summary(v, lang) for v in visits},
        principal=principal,
    )


@router.post("/clients/{client_id}/share", response_class=HTMLResponse)
def share(request: Request, client_id: str, principal: Practitioner, email: Text = "") -> Response:
    """Share the client with a colleague of the practice (a shared care relationship)."""
    from mgadvisor.records.accounts import find_user

    t = Translator(request_lang(request))
    try:
        with work(request, principal) as w:
            client = w.repo.client(w.user, _client_id(client_id))
            colleague = find_user(w.session, email.strip()) if "@" in email else None
            if colleague is None or colleague.practice_id != w.user.practice_id:
                raise InvalidRecord("colleague", "a practitioner of the practice", "unknown")
            w.repo.share_client(w.user, client.id, colleague)
            w.audit(
                "client.share",
                "U",
                client_id=client.id,
                object_type="care_relationship",
                object_id=colleague.id,
            )
    except NotFound as exc:
        return not_found(request, principal, exc, "client.share")
    except InvalidRecord as exc:
        return page(
            request,
            "practice/message.html",
            status=422,
            message=field_message(t, exc),
            back=f"/clients/{client_id}",
        )
    return RedirectResponse(f"/clients/{client_id}?shared=1", status_code=303)


@router.post("/clients/{client_id}/consent/withdraw", response_class=HTMLResponse)
def withdraw_consent(
    request: Request, client_id: str, principal: Practitioner, confirm: Text = ""
) -> Response:
    """Record the withdrawal of the client's consent (then erasure may follow)."""
    t = Translator(request_lang(request))
    if not confirm:
        return page(
            request,
            "practice/message.html",
            status=422,
            message=t("Tick the box to confirm that the client withdrew consent."),
            back=f"/clients/{client_id}",
        )
    try:
        with work(request, principal) as w:
            client = w.repo.withdraw_consent(w.user, path_id("client", client_id), now=w.when)
            w.audit(
                "client.update",
                "U",
                client_id=client.id,
                object_type="consent",
                object_id=client.id,
                details={"consent": "withdrawn"},
            )
    except NotFound as exc:
        return not_found(request, principal, exc, "client.update")
    return RedirectResponse(f"/clients/{client_id}", status_code=303)


@router.get("/clients/{client_id}/export")
def export(request: Request, client_id: str, principal: Practitioner) -> Response:
    """The client's records as a zip (JSON and the handout PDFs), by H2's gdpr.export_client."""
    from mgadvisor.records.gdpr import export_client
    from mgadvisor.web.gdpr_export import handout_renderer
    from mgadvisor.web.pdf_pool import PdfUnavailable, pdf_busy_message
    from mgadvisor.web.responses import error_response

    try:
        with work(request, principal) as w:
            data = export_client(
                w.session,
                w.user,
                _client_id(client_id),
                actor=principal.actor(),
                lang=request_lang(request),
                handout_pdf=handout_renderer(request),
            )
    except NotFound as exc:
        return not_found(request, principal, exc, "client.export")
    except PdfUnavailable as exc:  # every PDF worker is busy: try again in a few seconds
        return error_response(request, 503, pdf_busy_message(exc))
    name = f"client-{client_id[:8]}.zip"
    return Response(
        data,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/clients/{client_id}/erase", response_class=HTMLResponse)
def erase_form(request: Request, client_id: str, principal: Practitioner) -> Response:
    """The erasure form, with the WGBO retention warning when it applies."""
    from mgadvisor.records.gdpr import retention_warning

    try:
        with work(request, principal) as w:
            client, _ = w.client(client_id)
            warning = retention_warning(w.session, w.user, client.id)
            basis = "consent_withdrawn" if client.consent_withdrawn_at else "request"
    except NotFound as exc:
        return not_found(request, principal, exc, "client.read")
    return page(
        request,
        "practice/erase.html",
        client=client,
        warning=warning,
        state=FormState(values={"basis": basis}),
        principal=principal,
    )


@router.post("/clients/{client_id}/erase", response_class=HTMLResponse)
def erase(
    request: Request,
    client_id: str,
    principal: Practitioner,
    basis: Text = "",
    reason: Text = "",
    confirm: Text = "",
    confirm_retention: Text = "",
) -> Response:
    """Erase the client (GDPR Art. 17) after a confirmation, with H2's gdpr.erase_client."""
    from mgadvisor.records.gdpr import erase_client, retention_warning

    t = Translator(request_lang(request))
    state = FormState(
        values={
            "basis": basis,
            "reason": reason,
            "confirm": confirm,
            "confirm_retention": confirm_retention,
        }
    )
    shown: dict[str, Any] = {}
    try:
        with work(request, principal) as w:
            client, _ = w.client(client_id)
            warning = retention_warning(w.session, w.user, client.id)
            shown = {"id": client.id, "name": client.name}  # for the page after a rollback
            if not confirm:
                raise InvalidRecord("confirm", "a confirmation", "")
            erase_client(
                w.session,
                w.user,
                client.id,
                basis=basis,
                reason=reason or None,
                confirm_retention=bool(confirm_retention),
                actor=principal.actor(),
            )
    except NotFound as exc:
        return not_found(request, principal, exc, "client.erase")
    except InvalidRecord as exc:
        state.errors = {exc.field: field_message(t, exc)}
        if exc.field == "confirm":
            state.errors = {"confirm": t("Tick the box to confirm the erasure.")}
        return page(
            request,
            "practice/erase.html",
            status=422,
            client=shown,
            warning=warning,
            state=state,
            principal=principal,
        )
    return page(
        request,
        "practice/message.html",
        message=t("The client's records were erased."),
        back="/clients",
    )


# -- the admin's list of emergency accesses ---------------------------------------------------


@router.get("/admin/break-glass", response_class=HTMLResponse)
def break_glass_list(request: Request, principal: Admin) -> Response:
    """The admin's list of the practice's emergency accesses (no client data)."""
    from sqlalchemy import select

    from mgadvisor.records.database import session_scope
    from mgadvisor.records.models import User
    from mgadvisor.records.repository import Records
    from mgadvisor.web.auth import now, records_engine, user_row

    with session_scope(records_engine(request)) as session:
        admin = user_row(session, principal)
        grants = Records(session).break_glass_grants(admin)
        emails = {
            u.id: u.email
            for u in session.scalars(select(User).where(User.practice_id == admin.practice_id))
        }
        rows = [{"grant": g, "email": emails.get(g.user_id, "?")} for g in grants]
        _audit_admin(session, principal, "audit.read", "R", None, {"count": len(rows)})
    when = now(request)
    return page(
        request, "practice/admin_break_glass.html", rows=rows, now=when, principal=principal
    )


@router.post("/admin/break-glass/{grant_id}/review")
def review(request: Request, grant_id: str, principal: Admin) -> Response:
    """Mark an emergency access as reviewed by the admin."""
    from mgadvisor.records.database import session_scope
    from mgadvisor.records.repository import Records
    from mgadvisor.web.auth import now, records_engine, user_row

    try:
        gid = uuid.UUID(grant_id)
        with session_scope(records_engine(request)) as session:
            admin = user_row(session, principal)
            grant = Records(session).review_break_glass(admin, gid, now=now(request))
            _audit_admin(session, principal, "break_glass.review", "U", grant.id, None)
    except (ValueError, NotFound):
        return page(
            request,
            "practice/message.html",
            status=404,
            message=Translator(request_lang(request))("Not found"),
            back="/admin/break-glass",
        )
    return RedirectResponse("/admin/break-glass", status_code=303)


def _audit_admin(
    session: Any,
    principal: Principal,
    code: str,
    action: str,
    object_id: uuid.UUID | None,
    details: dict[str, Any] | None,
) -> None:
    from mgadvisor.records.audit import record

    record(
        session,
        principal.actor("admin"),
        code,
        action,
        object_type="break_glass",
        object_id=None if object_id is None else str(object_id),
        details=details,
    )


# The visit pages register on the same router.
from mgadvisor.web import practice_visits  # noqa: E402, F401
