"""Server-rendered pages: intake, advice (also as HTMX partial), handout and PDF, KB, tools."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from typing import Any, TypeVar

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from mgadvisor.errors import IntakeError, UnknownNameError, UserInputError, quote
from mgadvisor.i18n import N_, Translator
from mgadvisor.render.labels import FREQUENCY_LABELS
from mgadvisor.web.app import CSRF_FIELD, browser_lang, chosen_lang, csrf_token, request_lang
from mgadvisor.web.forms import (
    FREQUENCIES,
    LABS,
    MULTI,
    PRODUCT_ROWS,
    VISIT_LABELS,
    Mapped,
    errors_by_field,
    hidden_json,
    med_rows,
    page_message,
    state_from,
    to_intake,
    understood,
)
from mgadvisor.web.pdf_pool import shared_pool
from mgadvisor.web.workers import engine_pool

T = TypeVar("T")
router = APIRouter(include_in_schema=False)
_pdf_settings_checked = shared_pool()  # a bad MGADVISOR_PDF_* value stops the start, named


def _kb() -> Any:
    from mgadvisor.kb import load_knowledge

    return load_knowledge()


# The form a page's language switch submits, and where to (the page itself): switching the
# language of a page with a form posts that form, so nothing typed is lost (web/documents.py).
LANG_FORMS = {
    "intake.html": ("intake", "/"),
    "advice.html": ("state", "/advice"),
    "handout.html": ("doc", "/handout"),
    "report.html": ("doc", "/report"),
    "letter.html": ("doc", "/letter"),
}


def _page(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    # A page showing an advice speaks the advice's language (the user's choice, else the
    # intake's preferred language, else the browser's): never two languages on one page.
    advice = context.get("advice")
    lang = advice["lang"] if isinstance(advice, dict) else request_lang(request)
    kb = _kb()
    base = {
        "request": request,
        "lang": lang,
        "t": Translator(lang),
        "kb": kb,
        "csrf_field": CSRF_FIELD,
        "csrf": csrf_token(request),
        "path": request.url.path,
        "lang_form": LANG_FORMS.get(template),
    }
    templates = request.app.state.templates
    return templates.TemplateResponse(request, template, {**base, **context}, status_code=status)  # type: ignore[no-any-return]


def _intake_context(kb: Any, lang: str) -> dict[str, Any]:
    """The intake form's choice lists: the same for every request, so built once per language."""
    from mgadvisor.kb.views import compound_table

    key = f"intake_context_{lang}"
    if key not in kb._cache:
        kb._cache[key] = {
            "med_rows": med_rows,  # the rows in use and one empty row, for a state
            "product_rows": range(PRODUCT_ROWS),
            "frequencies": [
                (code, Translator(lang)(FREQUENCY_LABELS[code])) for code in FREQUENCIES
            ],
            "labs": [(code, kb.labs[code]) for code in LABS],
            "medicine_names": sorted({m.name for m in kb.medicines}, key=str.casefold),
            "compounds": compound_table(kb, lang),
        }
    return dict(kb._cache[key])


LIGHT_FORM_FIELDS = 30  # filled-in fields of a form that is sure to be quick (see _light_form)


async def _run(request: Request, fn: Callable[..., T], *args: Any, light: bool) -> T:
    """`fn(*args)` in the engine's bounded thread pool, or on the event loop when the request's
    body is small and its intake `light` (workers.py: for a form of a few hundred bytes the
    hand-over to a thread and back costs more than the advice itself)."""
    pool = engine_pool(request)
    return await pool.run(fn, *args, inline=light and pool.small(request))


def _light_form(form: Any) -> bool:
    """An intake form sure to be quick to advise (`mgadvisor.intake.light` for a form): at most
    LIGHT_FORM_FIELDS filled-in fields, none of the food questionnaire, known codes only."""
    from mgadvisor.intake import known_codes

    filled = [key for key, value in form.multi_items() if value]
    if len(filled) > LIGHT_FORM_FIELDS or any(key.startswith("ffq.") for key in filled):
        return False
    lists = [[str(v) for v in form.getlist(name) if v] for name in MULTI]
    return known_codes(_kb(), *lists)


def _light_hidden(form: Any) -> bool:
    """Whether the hidden intake of an advice page (`intake_json`) is light."""
    from mgadvisor.intake import light

    data = hidden_json(form)
    return data is None or light(data, _kb())  # None: refused at once by _document_from_hidden


def _document(request: Request, intake: Any, as_of: date) -> dict[str, Any]:
    """The advice document through the one pipeline: the language the user chose on the page,
    else the intake's, else the browser's; the date from the form's `as_of`, else today."""
    from mgadvisor.pipeline import advice_document

    return advice_document(
        intake,
        _kb(),
        as_of=as_of,
        lang=chosen_lang(request),
        default_lang=browser_lang(request),
    )


def _as_of(form: Any) -> date:
    given = str(form.get("as_of") or "").strip()
    if not given:
        return date.today()  # the adapter reads the clock; the engine never does
    try:
        return date.fromisoformat(given)
    except ValueError:
        raise UserInputError(
            N_("as_of: expected a date as YYYY-MM-DD, got {given}"), given=given[:40]
        ) from None


def _advise(request: Request, form: Any) -> tuple[Any, Any, Mapped, dict[str, Any] | None]:
    """(state, errors, mapped, advice document or None)."""
    from mgadvisor.intake import parse_intake

    kb = _kb()
    t = Translator(request_lang(request))
    state = state_from(form)
    mapped = to_intake(state)
    # what was read from each number and time, written the page's way
    state.echo = understood(state, lambda v, fixed=False: t.num(v, 2, fixed))
    errors: dict[str, str] = {}
    try:  # every problem at once: a bad date does not hide the intake's
        intake = parse_intake(mapped.data, kb)
    except IntakeError as exc:  # a sentence next to the field; the API names the path
        errors = errors_by_field(exc, mapped, lambda err: page_message(err, t))
    try:
        as_of = _as_of(form)
    except UserInputError:  # the date of the advice
        given = t("You entered {given}.", given=quote(str(form.get("as_of") or "").strip()))
        expected = t("Expected {expected}.", expected=t("a date as YYYY-MM-DD"))
        errors["as_of"] = f"{expected} {given}"
    if errors:
        state.errors = errors
        return state, errors, mapped, None
    document = _document(request, intake, as_of)
    document["intake_json"] = json.dumps(mapped.data, ensure_ascii=False)
    return state, {}, mapped, document


@router.get("/", response_class=HTMLResponse)
def intake_page(request: Request) -> HTMLResponse:
    context = _intake_context(_kb(), request_lang(request))
    return _page(request, "intake.html", state=state_from({}), advice=None, **context)


@router.get("/advice", include_in_schema=False)
def advice_without_intake() -> RedirectResponse:
    """A bookmarked or reloaded advice address has no intake: back to the intake form."""
    return RedirectResponse("/", status_code=303)


@router.post("/advice", response_class=HTMLResponse)
async def advice_page(request: Request) -> HTMLResponse:
    form = await request.form()
    state, _errors, _, document = await _run(
        request, _advise, request, form, light=_light_form(form)
    )
    if document is None:
        context = _intake_context(_kb(), request_lang(request))
        return _page(request, "intake.html", status=422, state=state, advice=None, **context)
    return _page(request, "advice.html", state=state, advice=document)


@router.post("/partials/advice", response_class=HTMLResponse)
async def advice_partial(request: Request) -> HTMLResponse:
    """HTMX: the advice panel, updated live while the intake form fills in."""
    form = await request.form()
    state, errors, _, document = await _run(
        request, _advise, request, form, light=_light_form(form)
    )
    labels = VISIT_LABELS if form.get("form_kind") == "visit" else None  # a new visit's panel
    return _page(
        request, "_advice.html", state=state, advice=document, errors=errors, field_labels=labels
    )


def _document_from_hidden(request: Request, form: Any) -> dict[str, Any]:
    from mgadvisor.intake import parse_intake

    try:
        intake = parse_intake(hidden_json(form), _kb())  # None: "expected a mapping"
    except IntakeError as exc:
        raise UserInputError("invalid intake") from exc
    return _document(request, intake, _as_of(form))


async def _handout_document(request: Request) -> tuple[Any, dict[str, Any] | None]:
    """(form, advice document) from the hidden intake of an advice page; None if it is invalid."""
    form = await request.form()
    try:
        return form, await _run(
            request, _document_from_hidden, request, form, light=_light_hidden(form)
        )
    except UserInputError:
        return form, None


def _invalid_handout(request: Request) -> HTMLResponse:
    t = Translator(request_lang(request))
    return _page(request, "error.html", status=422, message=t("the intake of this advice"))


@router.post("/handout", response_class=HTMLResponse)
async def handout(request: Request) -> Response:
    form, document = await _handout_document(request)
    if document is None:
        return _invalid_handout(request)
    from mgadvisor.web.documents import document_context

    context = document_context(request, form, document)
    return _page(request, "handout.html", advice=document, pdf=False, **context)


@router.post("/handout.pdf")
async def handout_pdf(request: Request) -> Response:
    """The client handout as PDF, rendered by WeasyPrint from the same template, in a worker
    process (pdf_pool.py: the server's memory stays flat; 503 when every worker is taken)."""
    from mgadvisor.web.pdf_pool import PdfUnavailable, pdf_busy_message, pool_for

    form, document = await _handout_document(request)
    if document is None:
        return _invalid_handout(request)
    from mgadvisor.web.app import HERE
    from mgadvisor.web.documents import document_context

    static = (HERE / "static").as_uri()  # WeasyPrint reads the stylesheet from disk, not over HTTP
    context = document_context(request, form, document)
    page = _page(request, "handout.html", advice=document, pdf=True, static_root=static, **context)
    html = bytes(page.body).decode("utf-8")
    try:
        pdf = await pool_for(request.app.state).render(html, static + "/")
    except PdfUnavailable as exc:
        from mgadvisor.web.responses import error_response

        return error_response(request, 503, pdf_busy_message(exc))

    name = "magnesium-advies.pdf" if request_lang(request) == "nl" else "magnesium-advice.pdf"
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/kb", response_class=HTMLResponse)
def kb_page(request: Request, q: str = "") -> HTMLResponse:
    from mgadvisor.kb.evidence import application_evidence
    from mgadvisor.kb.search import search_index
    from mgadvisor.kb.views import compound_table, interaction_row

    kb = _kb()
    lang = request_lang(request)
    hits = search_index(kb).search(q[:200], limit=20) if q.strip() else []
    apps = [(a, application_evidence(kb, a)) for a in kb.applications.values()]
    return _page(
        request,
        "kb.html",
        q=q,
        hits=hits,
        compounds=compound_table(kb, lang),
        applications=apps,
        interactions=[interaction_row(i, lang) for i in kb.interactions.values()],
    )


def not_found_page(request: Request, what: str) -> HTMLResponse:
    """A page that does not exist, or an unknown knowledge-base entry: say so, in the page's
    language, with the site's navigation."""
    return _page(request, "error.html", status=404, message=what)


@router.get("/kb/{code}", response_class=HTMLResponse)
def kb_entry(request: Request, code: str) -> HTMLResponse:
    from mgadvisor.kb.loader import citations
    from mgadvisor.kb.search import find_entry
    from mgadvisor.render.apa import apa

    kb = _kb()
    found = find_entry(kb, code)
    if found is None:
        return not_found_page(request, code)
    kind, entry = found
    keys = list(dict.fromkeys(key for _, key in citations(entry)))
    if kind == "references":
        keys = [code]
    compound = None
    if kind == "compounds":  # formula, molar mass and % magnesium, computed from the formula
        from mgadvisor.kb.views import compound_row

        row = compound_row(kb, entry, request_lang(request))
        compound = {**row, "formula_sources": list(entry.formula_sources)}
        keys = list(dict.fromkeys([*entry.formula_sources, *keys]))
    return _page(
        request,
        "kb_entry.html",
        kind=kind,
        entry=entry,
        compound=compound,
        references=apa(kb, keys, html=True),
    )


@router.get("/references", response_class=HTMLResponse)
def references(request: Request, q: str = "") -> HTMLResponse:
    """The whole bibliography in APA; with `q`, the references whose key or text contain every
    word of it (case and accents ignored: "kohne" finds Köhne)."""
    from mgadvisor.render.apa import apa

    kb = _kb()
    everything = apa(kb, html=True)
    words = _folded(q[:200]).split()
    if words:
        plain = apa(kb)
        shown = {
            key: text
            for key, text in everything.items()
            if all(w in _folded(f"{key} {plain[key]}") for w in words)
        }
    else:
        shown = everything
    return _page(
        request, "references.html", references=shown, total=len(everything), q=q[:200].strip()
    )


def _folded(text: str) -> str:
    """Lower case without accents, for searching."""
    import unicodedata

    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _creatinine_limits(unit: str) -> tuple[float, float] | None:
    """The intake's limits for creatinine in `unit`, or None for a unit it does not know."""
    from mgadvisor.intake import lab_limits

    if unit not in ("umol/L", "µmol/L", "mg/dL"):
        return None
    return lab_limits("creatinine", unit, "umol/L")


@router.get("/favicon.ico", include_in_schema=False)
def favicon(request: Request) -> RedirectResponse:
    """Browsers ask for /favicon.ico on a page without an icon link (a JSON error, say)."""
    static_url = request.app.state.templates.env.globals["static_url"]
    return RedirectResponse(static_url("favicon.svg"), status_code=301)


@router.get("/tools", response_class=HTMLResponse)
def tools(request: Request) -> HTMLResponse:
    """Calculators as GET forms: elemental magnesium, lab units, eGFR, interactions."""
    from mgadvisor.assess.kidney import ckd_epi_2021, kdigo_stage
    from mgadvisor.kb.views import elemental
    from mgadvisor.units import convert

    kb = _kb()
    q = request.query_params
    lang = request_lang(request)
    t = Translator(lang)
    results: dict[str, Any] = {}
    problems: dict[str, str] = {}

    def number(name: str, high: float = 100_000) -> float | None:
        """A number from the query, within 0..high (so never inf or nan); a problem if not."""
        text = q.get(name, "").replace(",", ".").strip()
        if not text:
            return None
        try:
            value = float(text)
        except ValueError:
            value = None
        if value is not None and 0 <= value <= high:
            return value
        problems[name] = t(
            "{path}: expected {expected}, got {given}",
            path=name,
            expected=t("a number from 0 to {high}", high=f"{high:.0f}")
            if value is not None
            else t("a number"),
            given=quote(text),
        )
        return None

    mass = number("mass")
    if q.get("compound") and mass is not None:
        try:
            results["elemental"] = elemental(kb, q["compound"], mass, lang)
        except UnknownNameError as exc:
            problems["compound"] = t("unknown {kind} '{name}'.", kind=t("compound"), name=exc.name)
        except UserInputError as exc:
            problems["mass"] = t(exc.msgid, **exc.params)
    value = number("value")
    if value is not None and q.get("from") and q.get("to"):
        try:
            results["convert"] = convert(value, q["from"], q["to"])
        except UserInputError as exc:
            problems["value"] = t(exc.msgid, **exc.params)
    crea, age = number("creatinine"), number("age", high=120)
    if crea is not None and age is not None and q.get("sex") in ("female", "male"):
        unit = q.get("crea_unit", "umol/L")
        limits = _creatinine_limits(unit)
        if not 18 <= age <= 120:
            problems["age"] = t("Age in years (18 or older).")
        elif limits is None:
            problems["creatinine"] = t(
                "{path}: expected {expected}, got {given}",
                path="crea_unit",
                expected=t("one of {units}", units="umol/L, mg/dL"),
                given=quote(unit),
            )
        elif not limits[0] <= crea <= limits[1]:
            problems["creatinine"] = t(
                "{path}: expected {expected}, got {given}",
                path="creatinine",
                expected=t(
                    "a value from {low} to {high} {unit} (a wrong unit or a typo?)",
                    low=t.num(limits[0], 4),
                    high=t.num(limits[1], 4),
                    unit=unit,
                ),
                given=quote(q.get("creatinine", "")),
            )
        else:
            mg_dl = convert(crea, unit, "mg/dL", "creatinine")
            egfr = ckd_epi_2021(mg_dl, age, q["sex"])
            results["egfr"] = {"egfr": egfr, "stage": kdigo_stage(egfr)}
    if q.get("medicines"):
        from mgadvisor.web.api import interactions

        names = [n.strip() for n in q["medicines"].split(",") if n.strip()][:20]
        if names:
            results["interactions"] = [
                {**row, "depletion": _depletion(kb, row["depletes_magnesium"], lang)}
                for row in interactions(names, lang)
            ]
    return _page(
        request,
        "tools.html",
        q=q,
        results=results,
        problems=problems,
        compounds=sorted(kb.compounds.values(), key=lambda c: c.name.get(lang)),
    )


def _depletion(kb: Any, code: str | None, lang: str) -> dict[str, Any] | None:
    """A magnesium-lowering group as the API names it (`depletes_magnesium`): its name, what the
    sources say and their keys."""
    if code is None:
        return None
    group = kb.depleting[code]
    return {
        "group": group.name.get(lang),
        "text": group.statement.get(lang),
        "sources": list(group.statement.sources),
    }


# Registers the document routes (handout, report, letter, save and load) on `router`.
from mgadvisor.web import documents  # noqa: E402, F401
