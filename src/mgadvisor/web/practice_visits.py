"""The visit pages of a client (routes on practice.py's router).

    /clients/{id}/visits/new            the intake form, filled in from the last visit's intake
                                        and the client's birth date and sex
    POST /clients/{id}/visits/preview   the advice, with the decision block (accept or change)
    POST /clients/{id}/visits           store the visit: intake, advice as produced, decision
    /clients/{id}/visits/{vid}          the stored advice, re-rendered from the stored JSON only
    /clients/{id}/visits/{vid}/handout[.pdf]   the client handout of the stored advice
    /clients/{id}/compare?a=VID&b=VID   what changed between two visits

The advice is computed again on saving from the intake and date of the preview (the same input
gives the same advice), never taken from the browser.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from mgadvisor.errors import IntakeError
from mgadvisor.i18n import Translator
from mgadvisor.records.errors import InvalidRecord, NotFound
from mgadvisor.records.models import Client, Visit
from mgadvisor.web.app import browser_lang, chosen_lang, request_lang
from mgadvisor.web.auth import today as today_of
from mgadvisor.web.forms import (
    VISIT_LABELS,
    FormState,
    errors_by_field,
    hidden_json,
    page_message,
    state_from,
    to_intake,
)
from mgadvisor.web.pages import _intake_context, _kb
from mgadvisor.web.practice import Practitioner, field_message, not_found, page, router
from mgadvisor.web.practice_records import (
    CHANGE_FIELDS,
    Work,
    decided,
    intake_with_client,
    safe_id,
    store_visit,
    work,
)


def _advice(request: Request, intake: dict[str, Any], on: date) -> dict[str, Any]:
    """The advice document (IntakeError for an invalid intake), in the page's language."""
    from mgadvisor.intake import parse_intake
    from mgadvisor.pipeline import advice_document

    kb = _kb()
    parsed = parse_intake(intake, kb)
    return advice_document(
        parsed, kb, as_of=on, lang=chosen_lang(request), default_lang=browser_lang(request)
    )


def _visit_form(
    request: Request,
    client: Client,
    state: FormState,
    status: int = 200,
    advice: dict[str, Any] | None = None,
    **extra: Any,
) -> HTMLResponse:
    context = _intake_context(_kb(), request_lang(request))
    return page(
        request,
        "practice/visit_new.html",
        status=status,
        client=client,
        state=state,
        advice=advice,
        visit_today=today_of(request).isoformat(),
        field_labels=VISIT_LABELS,  # the date's error is the visit date's, by its label
        **context,
        **extra,
    )


@router.get("/clients/{client_id}/visits/new", response_class=HTMLResponse)
def new_visit(request: Request, client_id: str, principal: Practitioner) -> Response:
    """The intake form, filled in from the last visit (or only the client's age and sex)."""
    from mgadvisor.web.forms import state_from_intake

    try:
        with work(request, principal) as w:
            client, _ = w.client(client_id)
            w.repo.client(w.user, client.id)  # a new visit needs a care relationship
            last = w.repo.latest_intake(w.user, client.id)
            latest = w.repo.latest_visit(w.user, client.id)
            if latest is not None:  # its intake fills the form
                w.audit(
                    "visit.read",
                    "R",
                    client_id=client.id,
                    object_type="visit",
                    object_id=latest.id,
                    details={"view": "new-visit form"},
                )
    except NotFound as exc:
        return not_found(request, principal, exc, "client.read")
    from mgadvisor.web.documents import _form_data
    from mgadvisor.web.pages import _advise

    day = today_of(request)
    state, left_out = state_from_intake(intake_with_client(last, client, day))
    state.values["as_of"] = day.isoformat()
    # The live panel starts with the advice for the filled-in form (as the form's HTMX would).
    checked, errors, _, advice = _advise(request, _form_data(state))
    checked.errors = {}  # nothing was sent yet: problems show in the panel, not as an alert
    if advice is not None:
        advice.pop("intake_json", None)  # no anonymous handout buttons: save the visit first
    return _visit_form(
        request,
        client,
        checked,
        advice=advice,
        errors=errors,
        left_out=left_out,
        from_last=bool(last),
    )


def _read_client(request: Request, principal: Any, client_id: str, event: str = "") -> Client:
    """The client (care relationship only); with `event`, the read is audited under it."""
    with work(request, principal) as w:
        client = w.repo.client(w.user, client_id)
        if event:
            w.audit(event, "R", client_id=client.id, object_type="client", object_id=client.id)
        return client


@router.post("/clients/{client_id}/visits/preview", response_class=HTMLResponse)
async def preview(request: Request, client_id: str, principal: Practitioner) -> Response:
    """The advice for the form's intake, with the decision block."""
    form = await request.form()
    try:
        client = await run_in_threadpool(_read_client, request, principal, client_id, "client.read")
    except (NotFound, InvalidRecord):
        exc = NotFound("client", safe_id(client_id))
        return await run_in_threadpool(not_found, request, principal, exc, "client.read")
    t = Translator(request_lang(request))
    state = state_from(form)
    mapped = to_intake(state)
    today = today_of(request)
    on = _date(state.get("as_of"), today)
    try:
        if on is None or on > today:
            raise InvalidRecord("visit_date", "a date, not in the future", state.get("as_of"))
        advice = _advice(request, mapped.data, on)
    except IntakeError as exc:
        state.errors = errors_by_field(exc, mapped, lambda err: page_message(err, t))
        return _visit_form(request, client, state, status=422)
    except InvalidRecord as exc:
        state.errors = {"as_of": field_message(t, exc)}
        return _visit_form(request, client, state, status=422)
    decision = FormState(values={"decision": ""})  # nothing chosen: the practitioner decides
    return _preview_page(request, client, mapped.data, on, advice, decision)


def _preview_page(
    request: Request,
    client: Client,
    intake: dict[str, Any],
    on: date,
    advice: dict[str, Any],
    decision: FormState,
    status: int = 200,
) -> HTMLResponse:
    kb = _kb()
    compounds = sorted(
        ((c.code, c.name.get(advice["lang"])) for c in kb.compounds.values()), key=lambda c: c[1]
    )
    return page(
        request,
        "practice/visit_preview.html",
        status=status,
        client=client,
        advice=advice,
        intake_json=json.dumps(intake, ensure_ascii=False),
        visit_date=on.isoformat(),
        decision=decision,
        compound_choices=compounds,
    )


def _date(text: str | None, today: date) -> date | None:
    """The visit date typed (empty: today); None when it is not a date."""
    try:
        return date.fromisoformat(text.strip()) if text and text.strip() else today
    except ValueError:
        return None


def _changes(form: Any) -> tuple[dict[str, Any], str | None]:
    """The practitioner's changes as typed (a dose as a number when it is one), and a problem."""
    changes: dict[str, Any] = {
        k: str(form.get(f"change.{k}") or "").strip()[:500] for k in CHANGE_FIELDS
    }
    mg = changes["elemental_mg"].replace(",", ".")
    if mg:
        try:
            changes["elemental_mg"] = float(mg)
        except ValueError:
            return changes, "elemental_mg"
    if changes["compound"]:
        entry = _kb().compounds.get(changes["compound"])
        if entry is None:
            return changes, "compound"
        changes["compound_name"] = entry.name.get("en")
    return changes, None


@router.post("/clients/{client_id}/visits", response_class=HTMLResponse)
async def save_visit(request: Request, client_id: str, principal: Practitioner) -> Response:
    """Store the visit with the advice (computed again from the preview's intake and date)."""
    form = await request.form()
    t = Translator(request_lang(request))
    try:
        client = await run_in_threadpool(_read_client, request, principal, client_id)
    except (NotFound, InvalidRecord):
        exc = NotFound("client", safe_id(client_id))
        return await run_in_threadpool(not_found, request, principal, exc, "visit.create")
    try:
        intake = hidden_json(form)  # None: an IntakeError below
        on = date.fromisoformat(str(form.get("visit_date") or ""))
        if on > today_of(request):  # the preview refuses it; a changed form is refused here
            raise ValueError("a visit date in the future")
        advice = _advice(request, intake, on)
    except (ValueError, TypeError, IntakeError):
        return page(
            request,
            "practice/message.html",
            status=422,
            message=t(
                "The advice could not be saved: the form did not carry the intake and the date "
                "of the advice shown (expected the page 'Show the advice and decide' to be sent "
                "as it was). Show the advice again and save from there."
            ),
            back=f"/clients/{client_id}",
        )
    decision = str(form.get("decision") or "")
    reason = str(form.get("reason") or "").strip()[:2000]
    changes, bad = _changes(form)
    typed = FormState(
        values={
            "decision": decision,
            "reason": reason,
            **{f"change.{k}": str(form.get(f"change.{k}") or "") for k in CHANGE_FIELDS},
        }
    )
    try:
        if bad:
            raise InvalidRecord(bad, "a value", "")
        visit_id = await run_in_threadpool(
            _store, request, principal, client_id, on, intake, advice, decision, changes, reason
        )
    except InvalidRecord as exc:
        name = f"change.{exc.field}" if exc.field in CHANGE_FIELDS else exc.field
        typed.errors = {name: _decision_message(t, decision, exc)}
        return _preview_page(request, client, intake, on, advice, typed, status=422)
    return RedirectResponse(f"/clients/{client_id}/visits/{visit_id}", status_code=303)


def _decision_message(t: Translator, decision: str, exc: InvalidRecord) -> str:
    """The field's problem; for the decision: which field, what it expects, what was given."""
    if exc.field != "decision":
        return field_message(t, exc)
    return t(
        "{path}: expected {expected}, got {given}",
        path=t("The advice"),
        expected=t("accept or change"),
        given=t("nothing chosen") if not decision else t("an unknown choice"),
    )


def _store(
    request: Request,
    principal: Any,
    client_id: str,
    on: date,
    intake: dict[str, Any],
    advice: dict[str, Any],
    decision: str,
    changes: dict[str, Any],
    reason: str,
) -> Any:
    with work(request, principal) as w:
        client = w.repo.client(w.user, client_id)
        visit = store_visit(
            w, client, on, intake, advice, decision=decision, changes=changes, reason=reason or None
        )
        return visit.id


def _stored(w: Work, client_id: str, visit_id: str, event: str) -> tuple[Client, Visit, bool]:
    from mgadvisor.records.repository import EMERGENCY

    client, protocol = w.client(client_id)
    return client, w.visit(client, visit_id, event), protocol == EMERGENCY


def stored_advice(visit: Visit) -> dict[str, Any]:
    """The advice document exactly as stored (no computation)."""
    data = json.loads(visit.advice_json)
    return data if isinstance(data, dict) else {}


@router.get("/clients/{client_id}/visits/{visit_id}", response_class=HTMLResponse)
def visit_page(
    request: Request, client_id: str, visit_id: str, principal: Practitioner
) -> Response:
    """A stored visit: the decision and the advice as stored (audited as visit.read)."""
    try:
        with work(request, principal) as w:
            client, visit, emergency = _stored(w, client_id, visit_id, "visit.read")
            earlier = [
                v
                for v in w.repo.visits(w.user, client.id, emergency_at=w.when)
                if (v.visit_date, v.created_at) < (visit.visit_date, visit.created_at)
            ]
    except NotFound as exc:
        return not_found(request, principal, exc, "visit.read")
    advice = stored_advice(visit)
    return page(
        request,
        "practice/visit.html",
        client=client,
        visit=visit,
        advice=advice,
        changes=decided(visit),
        no_handout=handout_refused(visit, advice),
        previous=earlier[-1] if earlier else None,
        emergency=emergency,
    )


def decided_advice(visit: Visit) -> dict[str, Any]:
    """The stored advice with the practitioner's changed decision applied (what the client is
    to take: records/decision.py); the stored advice as it is when it was accepted. NoMomentsError
    when the decision cannot be shown on the advice's intake moments."""
    from mgadvisor.records.decision import apply_decision

    document = stored_advice(visit)
    if visit.decision != "changed":
        return document
    return apply_decision(document, decided(visit), _kb())


def handout_refused(visit: Visit, advice: dict[str, Any]) -> bool:
    """Whether the visit's decision cannot be printed on a handout (no intake moments)."""
    from mgadvisor.records.decision import has_moments, needs_moments

    return visit.decision == "changed" and needs_moments(decided(visit)) and not has_moments(advice)


def _refused_handout(request: Request, client: Client, visit: Visit) -> HTMLResponse:
    t = Translator(request_lang(request))
    return page(
        request,
        "practice/message.html",
        status=409,
        message=t(
            "No client handout for this visit: you changed the dose, compound or schedule, but "
            "this advice gives no times of day to take magnesium (the advice withheld the dose "
            "or put it on hold). The handout would contradict your decision, and times are "
            "not made up. Tell the client the dose and the times yourself."
        ),
        back=f"/clients/{client.id}/visits/{visit.id}",
    )


def _with_decision(
    handout: Any, document: dict[str, Any], changes: dict[str, Any], stored: dict[str, Any]
) -> None:
    """The handout's lines the decision adds: the practitioner's schedule in place of the
    magnesium times (the medicines' times stay), and the client's own product, whose advised
    tablets no longer give the dose."""
    from mgadvisor.render.handout import medicine_when

    t = Translator(document["lang"])
    schedule = str(changes.get("schedule") or "").strip()
    if schedule:  # the practitioner's own words for the magnesium; the medicines' times stay
        handout.when = [
            t("Magnesium: {schedule}", schedule=schedule),
            *medicine_when(document, t),
        ]
    own = (stored.get("dose") or {}).get("product")
    if (
        isinstance(own, dict)
        and own.get("advised_units_per_day")
        and (changes.get("elemental_mg") is not None or changes.get("compound"))
    ):
        name = str(own.get("name") or own.get("compound") or "magnesium")
        handout.take.append(
            t(
                "Your therapist changed the dose. Ask your therapist whether you keep taking "
                "{product}, and how much.",
                product=name,
            )
        )


@router.get("/clients/{client_id}/compare", response_class=HTMLResponse)
def compare(
    request: Request, client_id: str, principal: Practitioner, a: str = "", b: str = ""
) -> Response:
    """What changed from visit `a` to visit `b` (the earlier one first, whatever the order)."""
    from mgadvisor.records.compare import compare_visits

    try:
        with work(request, principal) as w:
            client, _ = w.client(client_id)
            visits = w.repo.visits(w.user, client.id, emergency_at=w.when)
            if not a and not b and len(visits) >= 2:
                a, b = str(visits[-2].id), str(visits[-1].id)
            first, second = w.visit(client, a), w.visit(client, b)
    except NotFound as exc:
        return not_found(request, principal, exc, "visit.read")
    if (second.visit_date, second.created_at) < (first.visit_date, first.created_at):
        first, second = second, first
    return page(
        request,
        "practice/compare.html",
        client=client,
        first=first,
        second=second,
        diff=compare_visits(first, second, _kb()),
        visits=visits,
        reason_texts=_reason_texts(first, second),
    )


def _reason_texts(*visits: Visit) -> dict[str, str]:
    """The referral reasons' texts of the stored advice, by code (the later visit's wording)."""
    texts: dict[str, str] = {}
    for visit in visits:
        referral = stored_advice(visit).get("referral") or {}
        for reason in referral.get("reasons") or []:
            if isinstance(reason, dict) and reason.get("code"):
                texts[str(reason["code"])] = str(reason.get("text") or reason["code"])
    return texts


def _document_context(
    request: Request, client: Client, visit: Visit, kind: str, sender: str = ""
) -> dict[str, Any]:
    """A stored visit's client handout or GP letter (the decision applied: they say what the
    client takes) or practitioner report (the advice as the engine gave it); `sender`: who the
    letter is from (the practitioner's e-mail address and practice).

    Raises:
        NoMomentsError: a handout whose changed decision has no intake moments to be shown on
            (a letter then shows the advice as given).
    """
    from mgadvisor.records.decision import NoMomentsError
    from mgadvisor.render.letter import letter, report
    from mgadvisor.web.documents import document_context

    if kind == "report":
        document = stored_advice(visit)
    elif kind == "handout":
        document = decided_advice(visit)
    else:
        try:
            document = decided_advice(visit)
        except NoMomentsError:  # no times to show a changed dose with: the advice as given
            document = stored_advice(visit)
    form = {
        "intake_json": visit.intake_json,
        "client_name": "" if client.pseudonymous else client.name,
        "practitioner_name": sender,
    }
    context = {"advice": document, **document_context(request, form, document)}
    t = Translator(document["lang"])
    if kind == "handout" and visit.decision == "changed":
        _with_decision(context["handout"], document, decided(visit), stored_advice(visit))
    elif kind == "letter":
        person = json.loads(visit.intake_json).get("person") or {}
        context["sections"] = letter(document, person, context["extras"], t)
    elif kind == "report":
        context["sections"] = report(document, context["extras"], t)
    return context


def _visit_document(kind: str, output: str) -> Any:
    """GET /clients/{client_id}/visits/{visit_id}/{kind}[.pdf]: audited as a read (page) or a
    print (PDF)."""
    event = "visit.print" if output == "pdf" else "visit.read"

    async def endpoint(
        request: Request, client_id: str, visit_id: str, principal: Practitioner
    ) -> Response:
        from mgadvisor.records.decision import NoMomentsError
        from mgadvisor.web.documents import pdf_response

        def read() -> tuple[Client, Visit, str]:
            from mgadvisor.records.models import Practice

            with work(request, principal) as w:
                client, visit, _ = _stored(w, client_id, visit_id, event)
                practice = w.session.get(Practice, principal.practice_id)
                sender = principal.email + (f" ({practice.name})" if practice else "")
                return client, visit, sender

        try:
            client, visit, sender = await run_in_threadpool(read)
        except NotFound as exc:
            return await run_in_threadpool(not_found, request, principal, exc, event)
        try:
            context = _document_context(request, client, visit, kind, sender)
        except NoMomentsError:
            return _refused_handout(request, client, visit)
        template = f"practice/{kind}.html"
        if output == "pdf":
            return await pdf_response(
                request, template, kind, client=client, visit=visit, **context
            )
        return page(request, template, pdf=False, client=client, visit=visit, **context)

    endpoint.__name__ = f"visit_{kind}_{output}"
    return endpoint


# The stored visit's documents: client handout, GP letter, practitioner report (page and PDF).
for _kind in ("handout", "letter", "report"):
    for _output, _suffix in (("html", ""), ("pdf", ".pdf")):
        router.add_api_route(
            f"/clients/{{client_id}}/visits/{{visit_id}}/{_kind}{_suffix}",
            _visit_document(_kind, _output),
            methods=["GET"],
            response_class=HTMLResponse if _output == "html" else Response,
        )
