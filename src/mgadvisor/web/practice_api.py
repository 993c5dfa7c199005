"""The practice API (issue 13 §3): clients, visits with their stored advice, follow-ups and
the GDPR export, for a practitioner's bearer token (H1's `practitioner_api_user`).

    POST/GET /api/v1/clients                      a new client (with consent) / own clients (?q=)
    GET      /api/v1/clients/{id}                 one client
    POST/GET /api/v1/clients/{id}/visits          {intake, date?, decision?} -> the stored visit
                                                  with its advice / the client's visits
    GET      /api/v1/clients/{id}/visits/{vid}    one visit with its advice, as stored
    GET      /api/v1/followups?due_before=DATE    latest visits' follow-ups before DATE
    GET      /api/v1/clients/{id}/export          the GDPR export (zip)

Errors use the API's one shape; a client or visit the practitioner may not read is 404 (and
audited), like an id that does not exist.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from mgadvisor.errors import IntakeError
from mgadvisor.i18n import N_, Translator
from mgadvisor.records.accounts import Principal
from mgadvisor.records.errors import ConsentRefused, InvalidRecord, NotFound
from mgadvisor.records.models import Client, Visit
from mgadvisor.web.app import api_lang, error_body
from mgadvisor.web.auth import practitioner_api_user
from mgadvisor.web.auth import today as today_of
from mgadvisor.web.practice_records import (
    add_client_with_consent,
    audit_refused,
    decided,
    intake_with_client,
    path_id,
    store_visit,
    work,
)

router = APIRouter(prefix="/api/v1", tags=["practice"])
CLIENT_NOT_FOUND = N_("no client with this id that you may read")
VISIT_NOT_FOUND = N_("no visit with this id that you may read")
NOT_FOUND_MESSAGES = {"client": CLIENT_NOT_FOUND, "visit": VISIT_NOT_FOUND}
Caller = Annotated[Principal, Depends(practitioner_api_user)]
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such client or visit for you (also: no care relationship)."}
}


class Consent(BaseModel):
    """The client's consent, as recorded."""

    model_config = ConfigDict(extra="forbid")
    method: Literal["written", "verbal", "digital"]
    scope: list[Literal["records", "advice", "sharing"]] = Field(min_length=1, max_length=3)


class ConsentOut(BaseModel):
    version: str | None
    method: str | None
    scope: list[str]
    captured_at: datetime | None
    withdrawn_at: datetime | None


class ClientIn(BaseModel):
    """A new client: a name or a pseudonym, and the consent given."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    pseudonymous: bool = False
    birth_date: date | None = None
    sex: Literal["female", "male", "other"] | None = None
    contact: str | None = Field(default=None, max_length=200)
    consent: Consent


class ClientOut(BaseModel):
    id: uuid.UUID
    name: str
    pseudonymous: bool
    birth_date: date | None
    sex: str | None
    contact: str | None
    consent: ConsentOut
    created_at: datetime


class Decision(BaseModel):
    """The practitioner's decision: accepted, or changed (with what and why)."""

    model_config = ConfigDict(extra="forbid")
    decision: Literal["accepted", "changed"] = "accepted"
    compound: str | None = Field(default=None, max_length=100, description="compound code")
    elemental_mg: float | None = Field(default=None, gt=0, le=2000)
    schedule: str | None = Field(default=None, max_length=300)
    note: str | None = Field(default=None, max_length=500)
    reason: str | None = Field(default=None, max_length=2000)


class VisitIn(BaseModel):
    """A visit: the intake (the same contract as POST /api/v1/advice), its date (default today)
    and the decision (default: accepted). The client's age and sex are filled in from the
    client's birth date and sex."""

    model_config = ConfigDict(extra="forbid")
    intake: dict[str, Any] = Field(
        description="the intake: the schema `Intake`, as the body of POST /api/v1/advice"
    )
    date: dt.date | None = None
    decision: Decision = Field(default_factory=Decision)


class VisitOut(BaseModel):
    id: uuid.UUID
    client_id: uuid.UUID
    date: dt.date
    decision: str
    changes: dict[str, Any]
    reason: str | None
    follow_up_date: dt.date | None
    kb_version: str
    kb_hash: str
    engine_version: str
    created_at: datetime
    intake: dict[str, Any] | None = None
    advice: dict[str, Any] | None = Field(default=None, description="the advice as stored")


class FollowUpOut(BaseModel):
    client_id: uuid.UUID
    client_name: str
    visit_id: uuid.UUID
    visit_date: date
    due: date


def _client_out(client: Client) -> dict[str, Any]:
    return {
        "id": client.id,
        "name": client.name,
        "pseudonymous": client.pseudonymous,
        "birth_date": client.birth_date,
        "sex": client.sex,
        "contact": client.contact,
        "consent": {
            "version": client.consent_version,
            "method": client.consent_method,
            "scope": client.consent_scope.split(",") if client.consent_scope else [],
            "captured_at": client.consent_captured_at,
            "withdrawn_at": client.consent_withdrawn_at,
        },
        "created_at": client.created_at,
    }


def _visit_out(visit: Visit, full: bool) -> dict[str, Any]:
    return {
        "id": visit.id,
        "client_id": visit.client_id,
        "date": visit.visit_date,
        "decision": visit.decision,
        "changes": decided(visit),
        "reason": visit.decision_reason,
        "follow_up_date": visit.follow_up_date,
        "kb_version": visit.kb_version,
        "kb_hash": visit.kb_hash,
        "engine_version": visit.engine_version,
        "created_at": visit.created_at,
        "intake": json.loads(visit.intake_json) if full else None,
        "advice": json.loads(visit.advice_json) if full else None,
    }


def _not_found(request: Request, principal: Principal, exc: NotFound, event: str) -> Response:
    audit_refused(request, principal, exc, event)
    t = Translator(api_lang(request))
    return JSONResponse(
        error_body(
            t("not found"),
            [
                {
                    "loc": ["path"],
                    "msg": t(NOT_FOUND_MESSAGES.get(exc.kind, CLIENT_NOT_FOUND)),
                }
            ],
        ),
        404,
    )


def _invalid(request: Request, exc: InvalidRecord, where: list[str]) -> Response:
    """422 with the field, what it expects and what was given; 409 when the client's consent
    refuses it (the request is fine, the client's state is not)."""
    t = Translator(api_lang(request))
    if isinstance(exc, ConsentRefused):
        where = ["client"]
    from mgadvisor.web.practice import expected_text

    msg = t(
        "{path}: expected {expected}, got {given}",
        path=exc.field,
        expected=expected_text(t, exc),
        given=exc.given,
    )
    title, status = (
        (t("the client's consent does not allow this"), 409)
        if isinstance(exc, ConsentRefused)
        else (t("invalid request"), 422)
    )
    return JSONResponse(error_body(title, [{"loc": [*where, exc.field], "msg": msg}]), status)


@router.post(
    "/clients",
    response_model=ClientOut,
    status_code=201,
    responses={422: {"description": "Invalid client or consent."}},
)
def create_client(request: Request, caller: Caller, body: ClientIn) -> Any:
    """A new client of the caller (primary care relationship), with consent recorded."""
    try:
        with work(request, caller) as w:
            client = add_client_with_consent(
                w,
                name=body.name,
                pseudonymous=body.pseudonymous,
                birth_date=body.birth_date,
                sex=body.sex,
                contact=body.contact,
                scope=list(body.consent.scope),
                method=body.consent.method,
            )
            out = _client_out(client)
    except InvalidRecord as exc:
        return _invalid(request, exc, ["body"])
    return JSONResponse(ClientOut.model_validate(out).model_dump(mode="json"), 201)


@router.get("/clients", response_model=list[ClientOut])
def list_clients(
    request: Request,
    caller: Caller,
    q: Annotated[str, Query(max_length=100, description="part of the name")] = "",
) -> Any:
    """The caller's clients (care relationship), by name; with `q` those whose name has it."""
    with work(request, caller) as w:
        found = w.repo.search_clients(w.user, q, limit=500)
        w.audit(
            "client.search",
            "R",
            object_type="client",
            details={"filtered": bool(q.strip()), "count": len(found)},
        )
        return [_client_out(c) for c in found]


@router.get("/clients/{client_id}", response_model=ClientOut, responses=NOT_FOUND)
def get_client(request: Request, caller: Caller, client_id: str) -> Any:
    """One client of the caller (care relationship or break-glass)."""
    try:
        with work(request, caller) as w:
            client, _ = w.client(client_id)
            return _client_out(client)
    except NotFound as exc:
        return _not_found(request, caller, exc, "client.read")


@router.post(
    "/clients/{client_id}/visits",
    response_model=VisitOut,
    status_code=201,
    responses={
        **NOT_FOUND,
        409: {"description": "The client's consent was withdrawn or does not cover records."},
        422: {"description": "Invalid intake or decision."},
    },
)
def create_visit(request: Request, caller: Caller, client_id: str, body: VisitIn) -> Any:
    """Store a visit: the intake, the advice the engine gives for it (pinned to the knowledge
    base and engine versions) and the decision."""
    from mgadvisor.web.api import intake_errors
    from mgadvisor.web.practice_records import compute_advice

    on = body.date or today_of(request)
    t = Translator(api_lang(request))
    try:
        with work(request, caller) as w:
            client = w.repo.client(w.user, path_id("client", client_id))
            intake = intake_with_client(body.intake, client, on)
            advice = compute_advice(intake, on, None)
            changes = body.decision.model_dump(exclude={"decision", "reason"}, exclude_none=True)
            visit = store_visit(
                w,
                client,
                on,
                intake,
                advice,
                decision=body.decision.decision,
                changes=changes,
                reason=body.decision.reason,
            )
            out = _visit_out(visit, full=True)
    except NotFound as exc:
        return _not_found(request, caller, exc, "visit.create")
    except IntakeError as exc:
        errors = [
            {"loc": ["body", "intake", e["loc"]], "msg": e["msg"]} for e in intake_errors(exc, t)
        ]
        return JSONResponse(error_body(t("invalid intake"), errors), 422)
    except InvalidRecord as exc:
        return _invalid(request, exc, ["body", "decision"])
    return JSONResponse(VisitOut.model_validate(out).model_dump(mode="json"), 201)


@router.get("/clients/{client_id}/visits", response_model=list[VisitOut], responses=NOT_FOUND)
def list_visits(request: Request, caller: Caller, client_id: str) -> Any:
    """The client's visits, oldest first (without intake and advice: GET one visit for those)."""
    try:
        with work(request, caller) as w:
            client, protocol = w.client(client_id)
            visits = w.repo.visits(w.user, client.id, emergency_at=w.when)
            w.audit(
                "visit.read",
                "R",
                client_id=client.id,
                object_type="visit",
                protocol=protocol,
                details={"list": True, "count": len(visits)},
            )
            return [_visit_out(v, full=False) for v in visits]
    except NotFound as exc:
        return _not_found(request, caller, exc, "visit.read")


@router.get("/clients/{client_id}/visits/{visit_id}", response_model=VisitOut, responses=NOT_FOUND)
def get_visit(request: Request, caller: Caller, client_id: str, visit_id: str) -> Any:
    """One visit with its intake and its advice exactly as stored."""
    try:
        with work(request, caller) as w:
            client, _ = w.client(client_id)
            return _visit_out(w.visit(client, visit_id), full=True)
    except NotFound as exc:
        return _not_found(request, caller, exc, "visit.read")


@router.get("/followups", response_model=list[FollowUpOut])
def followups(
    request: Request,
    caller: Caller,
    due_before: Annotated[date | None, Query(description="default: a week from today")] = None,
) -> Any:
    """The caller's clients whose latest visit's follow-up date is before `due_before`."""
    from datetime import timedelta

    limit = due_before or today_of(request) + timedelta(days=7)
    with work(request, caller) as w:
        found = w.repo.follow_ups(w.user, limit)
        w.audit("client.search", "R", object_type="worklist", details={"count": len(found)})
        return [
            {
                "client_id": f.client.id,
                "client_name": f.client.name,
                "visit_id": f.visit.id,
                "visit_date": f.visit.visit_date,
                "due": f.due,
            }
            for f in found
        ]


@router.get(
    "/clients/{client_id}/export",
    responses={**NOT_FOUND, 200: {"content": {"application/zip": {}}, "description": "a zip"}},
)
def export(request: Request, caller: Caller, client_id: str) -> Response:
    """Everything stored about the client (GDPR Art. 15 and 20) as a zip: JSON and the
    handout PDF of each visit."""
    from mgadvisor.records.gdpr import export_client
    from mgadvisor.web.gdpr_export import handout_renderer
    from mgadvisor.web.pdf_pool import PdfUnavailable, pdf_busy_message
    from mgadvisor.web.responses import error_response

    try:
        with work(request, caller) as w:
            data = export_client(
                w.session,
                w.user,
                path_id("client", client_id),
                actor=caller.actor(),
                lang=api_lang(request),
                handout_pdf=handout_renderer(request),
            )
    except NotFound as exc:
        return _not_found(request, caller, exc, "client.export")
    except PdfUnavailable as exc:  # every PDF worker is busy: try again in a few seconds
        return error_response(request, 503, pdf_busy_message(exc))
    return Response(
        data,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="client-{client_id[:8]}.zip"'},
    )
