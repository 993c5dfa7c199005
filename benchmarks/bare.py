"""Bare FastAPI endpoints: the baseline the web app's throughput is compared with.

Each takes the same request as the endpoint it stands in for and does no work: the JSON ones
validate the same body (a JSON object), the form ones read the same form. Both FastAPI styles
are here: `def` (run in the thread pool; FastAPI's advice when unsure) and `async def`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse

json_def = FastAPI()
json_async = FastAPI()
form_def = FastAPI()
form_async = FastAPI()


@json_def.post("/api/v1/advice")
def advice_json_def(payload: dict[str, object]) -> dict[str, int]:
    return {"ok": 1}


@json_async.post("/api/v1/advice")
async def advice_json_async(payload: dict[str, object]) -> dict[str, int]:
    return {"ok": 1}


@form_def.post("/advice")
def advice_form_def(csrf_token: Annotated[str, Form()]) -> HTMLResponse:
    # A form field as parameter: FastAPI reads and parses the whole form before the call.
    return HTMLResponse("<p>ok</p>")


@form_async.post("/advice")
async def advice_form_async(request: Request) -> HTMLResponse:
    await request.form()
    return HTMLResponse("<p>ok</p>")
