"""Documents of an advice and keeping the user's input: routes on the pages' router.

    POST /                    the intake form again, filled in: from the form itself (language
                              switch), from the intake of an advice ("Edit intake") or a file
    POST /intake/load         a saved intake file (YAML or JSON, the CLI's format) -> the form
    POST /intake.yaml|.json   the form's intake as a file to save
    POST /handout[.pdf]       the client handout (render/handout.py)
    POST /report[.pdf|.txt]   the practitioner report, every reason written out
    POST /letter[.pdf|.txt]   the referral letter to the GP

Every document is made again from the intake of the advice (a hidden field), the date of the
advice and what the practitioner typed for the document (names, next appointment, a note), so
switching its language or downloading it keeps all of that. A GET of a document address (a
bookmark, a reload) leads back to the intake form instead of an error.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.datastructures import FormData, UploadFile

from mgadvisor.errors import IntakeError, UserInputError
from mgadvisor.i18n import Translator
from mgadvisor.render.bounds import Bounds, bound_text, lab_bounds
from mgadvisor.render.findings import capitalize, format_params
from mgadvisor.render.handout import ClientTexts, Extras, handout
from mgadvisor.render.letter import letter, report, to_text
from mgadvisor.web.app import request_lang
from mgadvisor.web.forms import (
    MULTI,
    FormState,
    extras_from,
    hidden_json,
    intake_file,
    state_from,
    state_from_intake,
    to_intake,
)
from mgadvisor.web.pages import (
    _advise,
    _document_from_hidden,
    _intake_context,
    _kb,
    _light_hidden,
    _page,
    _run,
    router,
)

FILE_NAMES = {
    "handout": ("magnesium-advies", "magnesium-advice"),
    "report": ("verslag-magnesium", "magnesium-report"),
    "letter": ("verwijsbrief-huisarts", "referral-letter-gp"),
}


def _form_data(state: FormState) -> FormData:
    pairs: list[tuple[str, str | UploadFile]] = [
        (k, v) for k, v in state.values.items() if k not in MULTI
    ]
    pairs += [(key, code) for key in MULTI for code in state.lists.get(key, [])]
    return FormData(pairs)


def _intake_page(
    request: Request, state: FormState, status: int = 200, **extra: Any
) -> HTMLResponse:
    """The intake form showing `state`, with its advice (or the problems) in the live panel."""
    checked, errors, _, document = _advise(request, _form_data(state))
    checked.errors = {}  # nothing was sent yet: the problems show in the panel, not as an alert
    context = _intake_context(_kb(), request_lang(request))
    return _page(
        request,
        "intake.html",
        status=status,
        state=checked,
        advice=document,
        errors=errors,
        **context,
        **extra,
    )


@router.post("/", response_class=HTMLResponse)
async def intake_again(request: Request) -> HTMLResponse:
    """The intake form filled in again: with what the form sent (the language switch), or with
    the intake of an advice or a document ("Edit intake")."""
    form = await request.form()
    if "intake_json" not in form:
        return _intake_page(request, state_from(form))
    data = hidden_json(form)
    if not isinstance(data, dict):
        return _intake_page(request, FormState(), status=422, load_error=_bad_file(request))
    state, left_out = state_from_intake(data)
    state.values["as_of"] = str(form.get("as_of") or "")[:10]
    return _intake_page(request, state, left_out=left_out)


def _bad_file(request: Request, detail: str = "") -> str:
    t = Translator(request_lang(request))
    text = t("This is not an intake file (YAML or JSON with at least 'person').")
    return f"{text} {detail}".strip()


@router.post("/intake/load", response_class=HTMLResponse)
async def load_intake(request: Request) -> HTMLResponse:
    """A saved intake (the text of a YAML or JSON file, which the CLI reads too) -> the form."""
    from mgadvisor.intake import read_intake_data

    form = await request.form()
    text = str(form.get("intake_text") or "")
    t = Translator(request_lang(request))
    try:
        data = read_intake_data(text, "intake")
    except IntakeError as exc:
        return _intake_page(
            request, FormState(), status=422, load_error=_bad_file(request, exc.line(t))
        )
    if not isinstance(data, dict) or not isinstance(data.get("person"), dict):
        return _intake_page(request, FormState(), status=422, load_error=_bad_file(request))
    state, left_out = state_from_intake(data)
    return _intake_page(request, state, left_out=left_out, loaded=True)


def _intake_data(form: Any) -> dict[str, Any]:
    """The intake a form carries: the hidden intake of an advice, else the form's fields."""
    if "intake_json" in form:
        data = hidden_json(form)
        return data if isinstance(data, dict) else {}
    return to_intake(state_from(form)).data


@router.post("/intake.yaml")
async def save_yaml(request: Request) -> Response:
    return await _save(request, "yaml")


@router.post("/intake.json")
async def save_json(request: Request) -> Response:
    return await _save(request, "json")


async def _save(request: Request, kind: str) -> Response:
    """The form's intake as a file, as typed (also with problems: nothing typed is lost)."""
    form = await request.form()
    text = intake_file(_intake_data(form), kind)
    media = "application/json" if kind == "json" else "application/yaml"
    name = f"intake-{date.today().isoformat()}.{kind}"
    return Response(
        text.encode("utf-8"),
        media_type=f"{media}; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def document_context(request: Request, form: Any, document: dict[str, Any]) -> dict[str, Any]:
    """What every document page shows besides the advice: what the practitioner typed for it,
    the hidden intake, and the problem with the next-appointment date (if any)."""
    t = Translator(document["lang"])
    typed, bad_date = extras_from(form)
    follow_up = (
        None if bad_date or not typed["follow_up"] else date.fromisoformat(typed["follow_up"])
    )
    extras = Extras(
        client=typed["client_name"],
        practitioner=typed["practitioner_name"],
        gp=typed["gp_name"],
        follow_up=follow_up,
        note=typed["note"],
    )
    problems = {}
    if bad_date:
        problems["follow_up"] = t(
            "{path}: expected {expected}, got {given}",
            path=t("Next appointment"),
            expected=t("a date as YYYY-MM-DD"),
            given=bad_date,
        )
    return {
        "typed": typed,
        "extras": extras,
        "doc_errors": problems,
        "intake_json": str(form.get("intake_json") or ""),
        "as_of": document["as_of"],
        "handout": handout(
            document,
            extras,
            t,
            person=_person(form),
            urgency_of=_message_urgency,
            client_of=_client_texts(t, lab_bounds(document.get("lab_results") or [])),
        ),
    }


def _person(form: Any) -> dict[str, Any]:
    """The intake's person (the handout reads pregnancy from it); empty when unreadable."""
    data = hidden_json(form)
    person = data.get("person") if isinstance(data, dict) else None
    return person if isinstance(person, dict) else {}


def _client_texts(
    t: Translator, bounds: Bounds | None = None
) -> Callable[[dict[str, Any]], ClientTexts | None]:
    """A referral reason in plain words and its warning signs, from the message's `client`
    and `client_signs` texts (messages.yaml); None where the message has no client text. A
    lab value given as a bound (`bounds`) is said as that bound ("<0,5 mmol/L")."""
    kb = _kb()

    def of(reason: dict[str, Any]) -> ClientTexts | None:
        message = kb.messages.get(str(reason.get("code")))
        if message is None or message.client is None:
            return None
        params = format_params(kb, reason.get("params") or {}, t)
        signs = message.client_signs
        raw = reason.get("params") or {}
        said = bound_text(t, message.client.get(t.lang).format(**params), raw, bounds or {})
        return ClientTexts(
            capitalize(said),
            signs.get(t.lang).format(**params) if signs is not None else "",
            specialist=message.seen_by == "specialist",
        )

    return of


def _message_urgency(code: str) -> str | None:
    """How soon a referral message asks for a doctor (messages.yaml)."""
    message = _kb().messages.get(code)
    return message.urgency if message is not None else None


async def _document(request: Request) -> tuple[Any, dict[str, Any] | None]:
    """(form, advice document) from the hidden intake, computed like the advice pages' (in the
    bounded engine pool, or on the event loop for a small, light intake: pages._run); None when the
    intake is invalid."""
    form = await request.form()
    try:
        return form, await _run(
            request, _document_from_hidden, request, form, light=_light_hidden(form)
        )
    except UserInputError:
        return form, None


def _invalid(request: Request) -> HTMLResponse:
    t = Translator(request_lang(request))
    return _page(request, "error.html", status=422, message=t("the intake of this advice"))


async def pdf_response(request: Request, template: str, kind: str, **context: Any) -> Response:
    """A document page rendered as PDF by WeasyPrint from the same template, in the PDF worker
    pool (web/pdf_pool.py); 503 when every worker is taken."""
    from mgadvisor.web.app import HERE
    from mgadvisor.web.pdf_pool import PdfUnavailable, pdf_busy_message, pool_for

    static = (HERE / "static").as_uri()  # WeasyPrint reads the stylesheet from disk
    page = _page(request, template, pdf=True, static_root=static, **context)
    try:
        pdf = await pool_for(request.app.state).render(bytes(page.body).decode(), static + "/")
    except PdfUnavailable as exc:
        busy = Translator(request_lang(request))(pdf_busy_message(exc))
        return PlainTextResponse(busy, status_code=503, headers={"Retry-After": "5"})
    name = _file_name(context, kind)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}.pdf"'},
    )


def _file_name(context: dict[str, Any], kind: str) -> str:
    nl, en = FILE_NAMES[kind]
    return nl if context["advice"]["lang"] == "nl" else en


def _text_response(context: dict[str, Any], kind: str, text: str) -> Response:
    name = _file_name(context, kind)
    return PlainTextResponse(
        text, headers={"Content-Disposition": f'attachment; filename="{name}.txt"'}
    )


async def _document_route(request: Request, kind: str, output: str) -> Response:
    form, document = await _document(request)
    if document is None:
        return _invalid(request)
    context = {"advice": document, **document_context(request, form, document)}
    t = Translator(document["lang"])
    if kind == "report":
        context["sections"] = report(document, context["extras"], t)
    elif kind == "letter":
        person = json.loads(context["intake_json"]).get("person") or {}
        context["sections"] = letter(document, person, context["extras"], t)
    template = f"{kind}.html"
    if output == "pdf":
        return await pdf_response(request, template, kind, **context)
    if output == "txt":
        return _text_response(context, kind, to_text(context["sections"]))
    return _page(request, template, pdf=False, **context)


def _document_endpoint(kind: str, output: str) -> Any:
    async def endpoint(request: Request) -> Response:
        return await _document_route(request, kind, output)

    endpoint.__name__ = f"{kind}_{output}"
    return endpoint


# POST /report, /report.pdf, /report.txt, /letter, /letter.pdf, /letter.txt: one route each.
for _kind in ("report", "letter"):
    for _output, _suffix in (("html", ""), ("pdf", ".pdf"), ("txt", ".txt")):
        router.add_api_route(
            f"/{_kind}{_suffix}",
            _document_endpoint(_kind, _output),
            methods=["POST"],
            response_class=HTMLResponse if _output == "html" else Response,
            include_in_schema=False,
        )


@router.get("/handout", include_in_schema=False)
@router.get("/handout.pdf", include_in_schema=False)
@router.get("/report", include_in_schema=False)
@router.get("/report.pdf", include_in_schema=False)
@router.get("/report.txt", include_in_schema=False)
@router.get("/letter", include_in_schema=False)
@router.get("/letter.pdf", include_in_schema=False)
@router.get("/letter.txt", include_in_schema=False)
@router.get("/intake.yaml", include_in_schema=False)
@router.get("/intake.json", include_in_schema=False)
@router.get("/intake/load", include_in_schema=False)
def document_without_intake() -> RedirectResponse:
    """A bookmarked or reloaded document address has no intake: back to the intake form."""
    return RedirectResponse("/", status_code=303)
