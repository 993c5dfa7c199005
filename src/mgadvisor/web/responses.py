"""Error responses: JSON in the API's one shape under /api/, a page in the page's language
elsewhere.

The page is self-contained (no template, no knowledge base): it is also what a 500 shows, when
the templates themselves may be what failed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from markupsafe import escape
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from mgadvisor.i18n import N_, Translator

PAGE_TITLES = {
    400: N_("Bad request"),
    403: N_("This form has expired"),
    404: N_("Not found"),
    405: N_("Method not allowed"),
    408: N_("Request took too long"),
    413: N_("Request too large"),
    422: N_("Invalid request"),
    500: N_("Something went wrong"),
    503: N_("Server busy"),
}
RETRY_AFTER_SECONDS = 5


def is_api(path: str) -> bool:
    """Paths that answer JSON: the API, its OpenAPI document and the CDS Hooks services (whose
    callers, EHRs with a signed token, send JSON and no cookie: no CSRF check there)."""
    return path.startswith(("/api/", "/cds-services")) or path == "/openapi.json"


def error_response(
    request: Request,
    status_code: int,
    summary: str,
    errors: list[dict[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
    **params: Any,
) -> Response:
    """`summary` (a msgid with `params`) as the API's JSON or as a page, by the request's path.

    The API speaks `?lang=` (Dutch when absent); a page speaks the page's language (`?lang=`,
    the language cookie, then the browser's).
    """
    from mgadvisor.web.app import api_lang, error_body, request_lang

    extra = dict(headers or {})
    if status_code == 503:
        extra.setdefault("Retry-After", str(RETRY_AFTER_SECONDS))
    if is_api(request.url.path):
        t = Translator(api_lang(request))
        return JSONResponse(error_body(t(summary, **params), errors), status_code, extra)
    t = Translator(request_lang(request))
    return HTMLResponse(error_page(t, status_code, t(summary, **params)), status_code, extra)


def error_page(t: Translator, status: int, text: str) -> str:
    """A whole page: a heading, what happened, and the way back to the intake."""
    title = escape(t(PAGE_TITLES.get(status, N_("Something went wrong"))))
    return (
        f'<!doctype html><html lang="{t.lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>{title}</title><link rel="stylesheet" href="/static/style.css"></head>'
        f'<body><main id="main"><h1>{title}</h1><p>{escape(text)}</p>'
        f'<p><a href="/">{escape(t("New intake"))}</a></p></main></body></html>'
    )
