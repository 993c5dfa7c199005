"""The HTTP API (JSON): the same engine and contract as the CLI. OpenAPI at /docs."""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from mgadvisor.errors import IntakeError
from mgadvisor.i18n import LANGS, N_, Translator
from mgadvisor.intake import light
from mgadvisor.pipeline import DEFAULT_LANG
from mgadvisor.render.contract import AdviceDocument
from mgadvisor.web.workers import EnginePool, ServerBusy, engine_pool

router = APIRouter(prefix="/api/v1", tags=["api"])
ADVICE_PATH = "/api/v1/advice"

Lang = Annotated[str, Query(pattern="^(nl|en)$", description="Language of the texts: nl or en.")]


def _kb() -> Any:
    from mgadvisor.kb import load_knowledge

    return load_knowledge()


def intake_errors(exc: IntakeError, t: Translator) -> list[dict[str, Any]]:
    """The intake's problems (the first MAX_LISTED_PROBLEMS): each field path, and one line in
    the user's language."""
    from mgadvisor.web.app import MAX_LISTED_PROBLEMS

    listed = exc.errors[:MAX_LISTED_PROBLEMS]
    return [{"loc": err.path, "msg": err.line(t, count_others=False)} for err in listed]


def publish_intake_schema(openapi: dict[str, Any]) -> None:
    """Put the whole intake contract (`docs/schema/intake.schema.json`) into the OpenAPI
    document as the request body of POST /api/v1/advice, in place of a bare object, so a
    client (or schemathesis) sees every field, type and bound."""
    from mgadvisor.intake import Intake

    schema = Intake.model_json_schema(ref_template="#/components/schemas/{model}")
    components = openapi.setdefault("components", {}).setdefault("schemas", {})
    for name, definition in schema.pop("$defs", {}).items():
        if components.setdefault(name, definition) != definition:  # pragma: no cover - guard
            raise RuntimeError(f"two OpenAPI schemas named {name}")
    components["Intake"] = schema
    _list_codes(components, _kb())
    body = openapi["paths"]["/api/v1/advice"]["post"]["requestBody"]
    body["content"]["application/json"]["schema"] = {"$ref": "#/components/schemas/Intake"}


def _list_codes(components: dict[str, Any], kb: Any) -> None:
    """Name the valid codes (the knowledge base's) where the intake takes only a code, so a
    client sees them and a generated intake can pass. Names that the engine also resolves
    (medicines, compounds, foods) stay free text."""
    frequencies = [f.code for f in kb.ffq.frequencies]
    where: list[tuple[str, tuple[str, ...], list[str]]] = [
        ("Intake", ("properties", "complaints", "items"), list(kb.symptoms)),
        ("Intake", ("properties", "goals", "items"), list(kb.applications)),
        ("Intake", ("properties", "conditions", "items"), list(kb.conditions)),
        ("Lab", ("properties", "analyte"), list(kb.labs)),
        ("Diet", ("properties", "ffq", "propertyNames"), [i.code for i in kb.ffq.items]),
        ("FfqAnswer", ("properties", "frequency"), frequencies),
        (
            "Preferences",
            ("properties", "authority"),
            [a.code for a in kb.reference_values.authorities],
        ),
    ]
    for model, path, codes in where:
        node: Any = components.get(model)
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
        if not isinstance(node, dict):  # the model changed shape: leave it as it is
            continue
        for branch in node.get("anyOf", [node]):
            if branch.get("type", "string") == "string":
                branch["enum"] = sorted(codes)


@router.post(
    "/advice",
    response_model=AdviceDocument,
    responses={
        200: {
            "description": "The advice document; with `format=fhir` a FHIR R4B Bundle.",
            "content": {"application/fhir+json": {"schema": {"type": "object"}}},
        },
        422: {"description": "Invalid intake: every problem with its field path."},
    },
    summary="Advice for one intake (the same contract as `mgadvisor advise --format json`).",
)
async def advice(
    request: Request,
    intake: dict[str, Any],
    lang: Annotated[
        str | None,
        Query(
            pattern="^(nl|en)$",
            description="Language of the texts: nl or en; default the intake's, else nl.",
        ),
    ] = None,
    as_of: Annotated[date | None, Query(description="Date of the advice; default today.")] = None,
    fmt: Annotated[
        Literal["json", "fhir"],
        Query(
            alias="format",
            description="json: the advice document; fhir: a FHIR R4B Bundle (draft resources).",
        ),
    ] = "json",
) -> Any:
    # The usual request never gets here: AdviceFastPath (below) answers it with the same
    # advice_response. This route answers the rest (its errors are FastAPI's validation) and
    # describes the endpoint in the OpenAPI document.
    pool = engine_pool(request)
    return await advice_response(pool, intake, lang, as_of, fmt, pool.small(request))


async def advice_response(
    pool: EnginePool,
    intake: dict[str, Any],
    lang: str | None,
    as_of: date | None,
    fmt: str,
    small: bool,
) -> Response:
    """The answer to POST /api/v1/advice with valid parameters (`small`: the body the Guard
    read was small, `EnginePool.small`).

    Raises:
        ServerBusy: the engine's pool is full (a large intake or FHIR).
    """
    # An intake that may be slow runs in the engine's bounded thread pool, off the event loop
    # (it can cost far more than the usual fraction of a millisecond, and the loop must keep
    # answering others); a small, light one on the loop, where it is cheaper than the hand-over
    # (workers.py; `light` bounds what a small body can still cost: diaries, many codes).
    day = as_of or date.today()
    inline = fmt == "json" and small and light(intake, _kb())
    status, body = await pool.run(_advice_json, intake, lang, day, fmt, inline=inline)
    fhir = fmt == "fhir" and status == 200
    return Response(
        body, status, media_type="application/fhir+json" if fhir else "application/json"
    )


class AdviceFastPath:
    """POST /api/v1/advice without FastAPI's per-request machinery, for the usual request: a
    JSON object body (`Content-Type: application/json`) and plain, valid `as_of`, `lang` and
    `format` parameters. Everything else (and any doubt) goes on to the route, unchanged, so
    every error answer (422 with its field paths, 400, 405, ...) still comes from FastAPI.

    Why: matching the route among all the app's, solving the endpoint's parameters (three query
    parameters and the body, with FastAPI's generic per-field checks), its exit stacks and
    exception wrappers cost about as much as the rest of the request's web work together
    (in-process, measured with the advice stubbed: see the commit message). What FastAPI would
    pass to the endpoint is rebuilt here exactly: the body through the same `json.loads` as
    Starlette's `Request.json`, the parameters only in the one spelling that validates to the
    same values (no percent-escapes, no repeats, a date as YYYY-MM-DD).

    Sits inside the Guard (which has read and size-checked the body, and replays it as one
    message) and is skipped when FastAPI's telemetry observes the request (its span names the
    matched route).
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if (
            scope["type"] != "http"
            or scope["path"] != ADVICE_PATH
            or scope["method"] != "POST"
            or scope.get("root_path")
            or scope.get("fastapi.telemetry") is not None
        ):
            await self.app(scope, receive, send)
            return
        params = _plain_params(scope.get("query_string", b""))
        content_type = _content_type(scope["headers"])
        if params is None or content_type != "application/json":
            await self.app(scope, receive, send)
            return
        message = await receive()
        intake = _json_object(message)
        if intake is None:
            await self.app(scope, _replay(message, receive), send)
            return
        try:
            pool = scope["app"].state.engine
            response = await advice_response(pool, intake, *params, pool.small_scope(scope))
        except ServerBusy:
            from mgadvisor.web.app import server_busy

            response = server_busy(Request(scope))
        await response(scope, receive, send)


_DAY = re.compile(rb"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_LANG_VALUES = {b"nl": "nl", b"en": "en"}
_FORMAT_VALUES = {b"json": "json", b"fhir": "fhir"}


def _plain_params(query: bytes) -> tuple[str | None, date | None, str] | None:
    """(lang, as_of, format) of a query string of plain, valid values that FastAPI would
    validate to the same; None for anything else (the route decides)."""
    lang: str | None = None
    day: date | None = None
    fmt: str | None = None
    if not query:
        return lang, day, "json"
    for pair in query.split(b"&"):
        name, _, value = pair.partition(b"=")
        if name == b"as_of" and day is None and _DAY.fullmatch(value):
            try:
                day = date.fromisoformat(value.decode())
            except ValueError:
                return None
        elif name == b"lang" and lang is None and value in _LANG_VALUES:
            lang = _LANG_VALUES[value]
        elif name == b"format" and fmt is None and value in _FORMAT_VALUES:
            fmt = _FORMAT_VALUES[value]
        else:
            return None
    return lang, day, fmt or "json"


def _content_type(headers: list[tuple[bytes, bytes]]) -> str | None:
    """The media type of the first Content-Type header, lower case (None when absent), as
    FastAPI's route reads it (email.message): before any ';', stripped."""
    for name, value in headers:
        if name == b"content-type":
            return value.decode("latin-1").partition(";")[0].strip().lower()
    return None


def _json_object(message: dict[str, Any]) -> dict[str, Any] | None:
    """The body of a whole-body `http.request` message when it is a JSON object (as parsed by
    Starlette's `Request.json`); None for anything else."""
    if message["type"] != "http.request" or message.get("more_body"):
        return None
    body = message.get("body", b"")
    if not body:
        return None
    try:
        value = json.loads(body)
    except Exception:  # whatever the route makes of it (400, 422), it makes again
        return None
    return value if type(value) is dict else None


def _replay(message: dict[str, Any], receive: Any) -> Any:
    """A receive() that gives `message` once, then the real receive's messages."""
    sent = False

    async def replay() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return message
        later: dict[str, Any] = await receive()
        return later

    return replay


def _advice_json(
    intake: dict[str, Any], lang: str | None, as_of: date, fmt: str = "json"
) -> tuple[int, bytes]:
    """(200, the advice document or its FHIR Bundle) or (422, every problem of the intake), as
    JSON bytes."""
    from mgadvisor.intake import parse_intake
    from mgadvisor.pipeline import advice_document

    kb = _kb()
    try:
        parsed = parse_intake(intake, kb)
    except IntakeError as exc:
        from mgadvisor.web.app import error_body, problems_summary

        t = Translator(lang or DEFAULT_LANG)
        summary = problems_summary(t, N_("invalid intake"), len(exc.errors))
        return 422, orjson.dumps(error_body(summary, intake_errors(exc, t)))
    document = advice_document(parsed, kb, as_of=as_of, lang=lang)
    if fmt == "fhir":
        from mgadvisor.interop.fhir_out import advice_bundle

        return 200, orjson.dumps(advice_bundle(document, parsed, patient_ref=None, kb=kb))
    # The contract is validated by the test suite on generated intakes, not per request; the
    # response model stays for the OpenAPI documentation.
    return 200, orjson.dumps(document)


@router.get("/compounds", summary="Magnesium compounds with their computed elemental share.")
def compounds(lang: Lang = "nl") -> list[dict[str, Any]]:
    from mgadvisor.kb.views import compound_table

    return compound_table(_kb(), lang)


@router.get("/interactions", summary="Interactions of one or more medicines with magnesium.")
def interactions(
    medicine: Annotated[
        list[str], Query(min_length=1, max_length=20, description="Name or ATC code.")
    ],
    lang: Lang = "nl",
) -> list[dict[str, Any]]:
    from mgadvisor.render.medicines import medicine_rows

    return medicine_rows(_kb(), medicine, lang)


@router.get("/kb/search", summary="Full-text search in the knowledge base (Dutch and English).")
def kb_search(
    q: Annotated[str, Query(min_length=1, max_length=200)],
    lang: Lang = "nl",
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> list[dict[str, Any]]:
    from mgadvisor.kb.search import search_index

    hits = search_index(_kb()).search(q, limit=limit)
    return [
        {"kind": h.kind, "code": h.code, "name": h.name.get(lang), "snippet": h.snippet}
        for h in hits
    ]


@router.get("/health", summary="Liveness and the knowledge version in use.")
async def health() -> dict[str, Any]:
    # async: answered on the event loop itself, never queued behind the thread pools
    kb = _kb()
    return {
        "status": "ok",
        "kb_version": kb.version,
        "kb_hash": kb.content_hash,
        "langs": list(LANGS),
    }
