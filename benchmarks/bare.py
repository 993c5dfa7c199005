"""Bare FastAPI endpoints: the baseline the web app's throughput is compared with.

Each takes the same request as the endpoint it stands in for and does no work of its own:

* the JSON ones validate the same body (a JSON object, like the app's `intake: dict`) and answer
  with a FIXED advice document of typical size: the median-size document of the intakes the
  benchmark requests cycle through, computed once at import, sent as ready-made bytes;
* the form one reads the same form and answers a short page.

`async def` is the baseline the goal is set against (the app's API endpoint is `async def`);
`def` (run in the thread pool) is there for information only.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from harness import AS_OF, raw_intakes


def typical_document() -> bytes:
    """The median-size advice document (JSON bytes) of the example and the clinical cases."""
    import orjson

    from mgadvisor.intake import parse_intake
    from mgadvisor.kb import load_knowledge
    from mgadvisor.pipeline import advice_document

    kb = load_knowledge()
    documents = sorted(
        (
            orjson.dumps(advice_document(parse_intake(raw, kb), kb, as_of=AS_OF, lang="nl"))
            for raw in raw_intakes()
        ),
        key=len,
    )
    return documents[len(documents) // 2]


PAYLOAD = typical_document()

json_def = FastAPI()
json_async = FastAPI()
form_async = FastAPI()


@json_def.post("/api/v1/advice")
def advice_json_def(intake: dict[str, Any]) -> Response:
    return Response(content=PAYLOAD, media_type="application/json")


@json_async.post("/api/v1/advice")
async def advice_json_async(intake: dict[str, Any]) -> Response:
    return Response(content=PAYLOAD, media_type="application/json")


@form_async.post("/advice")
async def advice_form_async(request: Request) -> HTMLResponse:
    await request.form()
    return HTMLResponse("<p>ok</p>")
