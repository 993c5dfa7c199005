"""The HTTP API (JSON): the same engine and contract as the CLI. OpenAPI at /docs."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response

from mgadvisor.errors import IntakeError
from mgadvisor.i18n import LANGS, Translator
from mgadvisor.pipeline import DEFAULT_LANG
from mgadvisor.render.contract import AdviceDocument

router = APIRouter(prefix="/api/v1", tags=["api"])

Lang = Annotated[str, Query(pattern="^(nl|en)$", description="Language of the texts: nl or en.")]


def _kb() -> Any:
    from mgadvisor.kb import load_knowledge

    return load_knowledge()


def intake_errors(exc: IntakeError, t: Translator) -> list[dict[str, Any]]:
    """Every problem of the intake: its field path, and one line in the user's language."""
    return [{"loc": err.path, "msg": err.line(t, count_others=False)} for err in exc.errors]


@router.post(
    "/advice",
    response_model=AdviceDocument,
    responses={422: {"description": "Invalid intake: every problem with its field path."}},
    summary="Advice for one intake (the same contract as `mgadvisor advise --format json`).",
)
async def advice(
    intake: dict[str, Any],
    lang: Annotated[
        str | None,
        Query(
            pattern="^(nl|en)$",
            description="Language of the texts: nl or en; default the intake's, else nl.",
        ),
    ] = None,
    as_of: Annotated[date | None, Query(description="Date of the advice; default today.")] = None,
) -> Any:
    # async: the work is short and CPU-bound (well under a millisecond), so a thread-pool hop
    # would only add cost.
    from mgadvisor.intake import parse_intake
    from mgadvisor.pipeline import advice_document

    kb = _kb()
    try:
        parsed = parse_intake(intake, kb)
    except IntakeError as exc:
        from mgadvisor.web.app import error_body

        t = Translator(lang or DEFAULT_LANG)
        return JSONResponse(error_body(t("invalid intake"), intake_errors(exc, t)), 422)
    document = advice_document(parsed, kb, as_of=as_of or date.today(), lang=lang)
    # The contract is validated by the test suite on generated intakes, not per request; the
    # response model stays for the OpenAPI documentation.
    return Response(orjson.dumps(document), media_type="application/json")


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
def health() -> dict[str, Any]:
    kb = _kb()
    return {
        "status": "ok",
        "kb_version": kb.version,
        "kb_hash": kb.content_hash,
        "langs": list(LANGS),
    }
