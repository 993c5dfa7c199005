"""The web adapter: FastAPI app factory, language choice, security middleware, one error shape.

Routes translate and present; every clinical decision is the engine's (`advise_intake`).

    create_app()
     ├── middleware: body-size limit, security headers (CSP without inline scripts), CSRF
     ├── /api/v1/...      JSON API (api.py), OpenAPI at /docs
     └── /, /advice, ...  server-rendered pages (pages.py), HTMX for live updates
"""

from __future__ import annotations

import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import jinja2
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from mgadvisor.errors import IntakeError
from mgadvisor.i18n import DEFAULT_LANG, LANGS, N_, Translator

HERE = Path(__file__).resolve().parent
MAX_BODY_BYTES = 256 * 1024
CSRF_COOKIE = "mg_csrf"
CSRF_FIELD = "csrf_token"
LANG_COOKIE = "mg_lang"

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'self'; object-src 'none'"
)


def chosen_lang(request: Request) -> str | None:
    """The language the user chose: ?lang=, then the language switch's cookie; else None."""
    asked = request.query_params.get("lang")
    if asked in LANGS:
        return asked
    cookie = request.cookies.get(LANG_COOKIE)
    return cookie if cookie in LANGS else None


def request_lang(request: Request) -> str:
    """?lang=, then the cookie, then Accept-Language, then Dutch."""
    return chosen_lang(request) or browser_lang(request)


def browser_lang(request: Request) -> str:
    """The first of our languages in Accept-Language, else Dutch."""
    header = request.headers.get("accept-language", "")
    for part in header.split(","):
        code = part.split(";")[0].strip()[:2].lower()
        if code in LANGS:
            return code
    return DEFAULT_LANG


def api_lang(request: Request) -> str:
    """The API's language: ?lang= when valid, else Dutch (the API reads no cookies)."""
    asked = request.query_params.get("lang")
    return asked if asked in LANGS else DEFAULT_LANG


HTTP_SUMMARIES = {
    400: N_("bad request"),
    404: N_("not found"),
    405: N_("method not allowed"),
}


def request_errors(exc: RequestValidationError, t: Translator) -> list[dict[str, Any]]:
    """Each invalid parameter or body: FastAPI's location, and one line in the user's language
    with the field, what was expected and what was given."""
    from mgadvisor.intake import field_problem

    out = []
    for err in exc.errors():
        loc = list(err["loc"])
        if err["type"] == "json_invalid":  # its location is a character offset in the body
            problem = IntakeError("body", N_("valid JSON"), N_("a syntax error"))
        else:
            where = loc[1:] if len(loc) > 1 and loc[0] in ("query", "body", "path") else loc
            problem = field_problem({**err, "loc": tuple(where)})
        out.append({"loc": loc, "msg": problem.line(t)})
    return out


def error_body(error: str, errors: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The one error shape of the API: {"error": ..., "errors": [{"loc": ..., "msg": ...}]}."""
    return {"error": error, "errors": errors or []}


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Server start: load the knowledge base and its rendered references before the first request.

    No `gc.freeze()`: measured over HTTP it did not change the server time of advice requests
    (a full collection hardly ever runs while serving; see docs/benchmarks.md).
    """
    from mgadvisor.kb import load_knowledge
    from mgadvisor.render.apa import apa

    apa(load_knowledge(), [])
    yield


class _Environment(jinja2.Environment):
    """Jinja2 that looks `a.b` up in a plain dict as a key first, when no dict method has that name.

    The result is the same as Jinja's own lookup (attribute first, then item), but the pages
    render the advice document, plain JSON data, and the failed attribute attempt costs an
    exception on every lookup.
    """

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) is dict and attribute in obj and not hasattr(dict, attribute):
            return obj[attribute]
        return super().getattr(obj, attribute)


def _template_env() -> jinja2.Environment:
    return _Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=jinja2.select_autoescape(),  # on for .html
        auto_reload=False,  # templates ship with the package: no file check on every render
    )


def create_app() -> FastAPI:
    from mgadvisor import __version__
    from mgadvisor.web import api, pages

    app = FastAPI(
        lifespan=_lifespan,
        title="mgadvisor",
        version=__version__,
        description="Evidence-based, cited magnesium advice (Dutch and English).",
        docs_url=None,  # served below from local files: offline, and without inline scripts
        redoc_url=None,
    )
    import swagger_ui  # ships Swagger UI 5 (reads OpenAPI 3.1, which FastAPI emits)

    swagger_static = Path(swagger_ui.__file__).resolve().parent / "static"
    app.mount("/static/swagger", StaticFiles(directory=str(swagger_static)), name="swagger")

    @app.get("/docs", include_in_schema=False)
    def docs() -> Response:
        html = (HERE / "templates" / "swagger.html").read_text(encoding="utf-8")
        return Response(html, media_type="text/html")

    templates = Jinja2Templates(env=_template_env())
    templates.env.globals["Translator"] = Translator
    from mgadvisor.web.filters import register

    register(templates.env)

    app.state.templates = templates
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.include_router(api.router)
    app.include_router(pages.router)

    app.add_middleware(Guard)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        t = Translator(api_lang(request))
        body = error_body(t("invalid request"), request_errors(exc, t))
        return JSONResponse(body, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404 and not request.url.path.startswith("/api/"):
            from mgadvisor.web.pages import not_found_page

            return not_found_page(request, request.url.path)
        t = Translator(api_lang(request))
        summary = HTTP_SUMMARIES.get(exc.status_code, N_("request refused (HTTP {status})"))
        return JSONResponse(
            error_body(t(summary, status=exc.status_code)), status_code=exc.status_code
        )

    @app.exception_handler(Exception)
    async def crash(
        request: Request, exc: Exception
    ) -> JSONResponse:  # pragma: no cover - last resort
        t = Translator(api_lang(request))
        return JSONResponse(error_body(t("internal error")), status_code=500)

    return app


SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
]


class Guard:
    """Pure ASGI middleware: body-size limit, CSRF on form posts, security headers, cookies.

    (Starlette's BaseHTTPMiddleware would cost a task group and stream wrappers per request.)
    The JSON API under /api/ gets the security headers but no cookies and no CSRF check: it
    stores nothing and reads no cookie, so a cross-site request can gain nothing there.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = _content_length(scope)
        if length is not None and length > MAX_BODY_BYTES:
            t = Translator(api_lang(Request(scope)))
            too_big = JSONResponse(
                error_body(t("request body larger than {size} bytes", size=MAX_BODY_BYTES)), 413
            )
            await too_big(scope, receive, send)
            return
        started = time.perf_counter()
        if scope["path"].startswith("/api/"):
            await self.app(scope, receive, _with_headers(send, [], started))
            return
        request = Request(scope)
        if scope["method"] == "POST":
            body, receive = await _buffer(receive)
            if not _csrf_ok(request, body):
                await _csrf_page(request)(scope, receive, send)
                return
        state = scope.setdefault("state", {})
        cookies: list[tuple[bytes, bytes]] = []
        if not request.cookies.get(CSRF_COOKIE):
            token = secrets.token_urlsafe(24)
            state["csrf"] = token  # the page's forms carry this same token (csrf_token())
            cookie = f"{CSRF_COOKIE}={token}; HttpOnly; Path=/; SameSite=strict"
            cookies.append((b"set-cookie", cookie.encode()))
        asked = request.query_params.get("lang")
        if asked in LANGS:
            cookies.append((b"set-cookie", f"{LANG_COOKIE}={asked}; Path=/; SameSite=lax".encode()))
        await self.app(scope, receive, _with_headers(send, cookies, started))


def _content_length(scope: dict[str, Any]) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


def _with_headers(send: Any, extra: list[tuple[bytes, bytes]], started: float) -> Any:
    """`send`, adding the security headers, `extra` and a Server-Timing header (the time the
    app took until the response started, shown by browsers' developer tools) to the response.
    """

    async def send_with_headers(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            took = f"app;dur={(time.perf_counter() - started) * 1000:.2f}".encode()
            message["headers"] = [
                *message.get("headers", []),
                *SECURITY_HEADERS,
                *extra,
                (b"server-timing", took),
            ]
        await send(message)

    return send_with_headers


async def _buffer(receive: Any) -> tuple[bytes, Any]:
    """Read the whole body (bounded by the size limit) and a receive() that replays it."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            break
        chunks.append(chunk)
        if not message.get("more_body"):
            break
    body = b"".join(chunks)
    sent = False

    async def replay() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        message: dict[str, Any] = await receive()
        return message

    return body, replay


def _csrf_page(request: Request) -> HTMLResponse:
    """A form sent without its token (old tab, cookies cleared): say so in the user's language."""
    from markupsafe import escape

    t = Translator(request_lang(request))
    title = escape(t("This form has expired"))
    text = escape(
        t("For your safety the form could not be sent. Go back, reload the page and send it again.")
    )
    html = (
        f'<!doctype html><html lang="{t.lang}"><head><meta charset="utf-8"><title>{title}</title>'
        f'<link rel="stylesheet" href="/static/style.css"></head><body><main id="main">'
        f'<h1>{title}</h1><p>{text}</p><p><a href="/">{escape(t("New intake"))}</a></p>'
        "</main></body></html>"
    )
    return HTMLResponse(html, status_code=403)


def _csrf_ok(request: Request, body: bytes) -> bool:
    """Double-submit cookie: the form's hidden token (or X-CSRF-Token header) equals the cookie."""
    from urllib.parse import parse_qs

    token = request.cookies.get(CSRF_COOKIE, "")
    sent = parse_qs(body.decode("utf-8", "replace")).get(CSRF_FIELD, [""])[0]
    sent = sent or request.headers.get("x-csrf-token", "")
    return bool(token) and secrets.compare_digest(token, sent)


def csrf_token(request: Request) -> str:
    """The token a form must send back: the cookie's, or a new one set on this response."""
    token = request.cookies.get(CSRF_COOKIE)
    if not token:
        token = getattr(request.state, "csrf", None) or secrets.token_urlsafe(24)
        request.state.csrf = token
    return str(token)
