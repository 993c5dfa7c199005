"""The web adapter: FastAPI app factory, language choice, security middleware, one error shape.

Routes translate and present; every clinical decision is the engine's (`advise_intake`).

    create_app()
     ├── middleware: body-size limit, security headers (CSP without inline scripts), CSRF
     ├── /api/v1/...      JSON API (api.py), OpenAPI at /docs
     └── /, /advice, ...  server-rendered pages (pages.py), HTMX for live updates
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from mgadvisor.i18n import LANGS, Translator

HERE = Path(__file__).resolve().parent
MAX_BODY_BYTES = 256 * 1024
CSRF_COOKIE = "mg_csrf"
CSRF_FIELD = "csrf_token"
LANG_COOKIE = "mg_lang"

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'self'; object-src 'none'"
)


def request_lang(request: Request) -> str:
    """?lang=, then the cookie, then Accept-Language, then Dutch."""
    asked = request.query_params.get("lang")
    if asked in LANGS:
        return asked
    cookie = request.cookies.get(LANG_COOKIE)
    if cookie in LANGS:
        return cookie
    header = request.headers.get("accept-language", "")
    for part in header.split(","):
        code = part.split(";")[0].strip()[:2].lower()
        if code in LANGS:
            return code
    return "nl"


def error_body(error: str, errors: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The one error shape of the API: {"error": ..., "errors": [{"loc": ..., "msg": ...}]}."""
    return {"error": error, "errors": errors or []}


def create_app() -> FastAPI:
    from mgadvisor import __version__
    from mgadvisor.web import api, pages

    app = FastAPI(
        title="mgadvisor",
        version=__version__,
        description="Evidence-based, cited magnesium advice (Dutch and English).",
        docs_url="/docs",
        redoc_url=None,
    )
    templates = Jinja2Templates(directory=str(HERE / "templates"))  # autoescape on for .html
    templates.env.globals["Translator"] = Translator
    from mgadvisor.web.filters import register

    register(templates.env)

    app.state.templates = templates
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.include_router(api.router)
    app.include_router(pages.router)

    @app.middleware("http")
    async def guard(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > MAX_BODY_BYTES:
            return JSONResponse(
                error_body(f"request body larger than {MAX_BODY_BYTES} bytes"), status_code=413
            )
        if request.method == "POST" and not request.url.path.startswith("/api/"):
            # Double-submit cookie: the form's hidden token must equal the cookie's.
            body = await request.body()
            token = request.cookies.get(CSRF_COOKIE, "")
            from urllib.parse import parse_qs

            sent = parse_qs(body.decode("utf-8", "replace")).get(CSRF_FIELD, [""])[0]
            sent = sent or request.headers.get("x-csrf-token", "")
            if not token or not secrets.compare_digest(token, sent):
                return JSONResponse(error_body("missing or invalid CSRF token"), status_code=403)
        response = await call_next(request)
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["X-Frame-Options"] = "DENY"
        if not request.cookies.get(CSRF_COOKIE):
            response.set_cookie(
                CSRF_COOKIE,
                getattr(request.state, "csrf", secrets.token_urlsafe(24)),
                httponly=True,
                samesite="strict",
            )
        asked = request.query_params.get("lang")
        if asked in LANGS:
            response.set_cookie(LANG_COOKIE, asked, samesite="lax")
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors()]
        return JSONResponse(error_body("invalid request", errors), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(error_body(str(exc.detail)), status_code=exc.status_code)

    @app.exception_handler(Exception)
    async def crash(
        request: Request, exc: Exception
    ) -> JSONResponse:  # pragma: no cover - last resort
        return JSONResponse(error_body("internal error"), status_code=500)

    return app


def csrf_token(request: Request) -> str:
    """The token a form must send back: the cookie's, or a new one set on this response."""
    token = request.cookies.get(CSRF_COOKIE)
    if not token:
        token = secrets.token_urlsafe(24)
        request.state.csrf = token
    return token
