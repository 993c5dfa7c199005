"""The web adapter: FastAPI app factory, language choice, the guard, one error shape.

Routes translate and present; every clinical decision is the engine's (`advise_intake`).

    create_app(settings)            settings from the environment (settings.py)
     ├── GZipMiddleware: text responses compressed for clients that accept gzip
     ├── Guard (guard.py): host check, body limit and timeout, CSRF, security headers, no-store
     ├── AdviceFastPath (api.py): the usual POST /api/v1/advice, answered without the router
     ├── /api/v1/...      JSON API (api.py), OpenAPI at /docs with the full intake schema
     └── /, /advice, ...  server-rendered pages (pages.py), HTMX for live updates
    the engine runs in a bounded thread pool (workers.py); the server's own limits (timeouts,
    connection cap, no banner) are set in server.py (`mgadvisor serve`).
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import jinja2
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.gzip import DEFAULT_EXCLUDED_CONTENT_TYPES, GZipMiddleware

from mgadvisor.errors import IntakeError
from mgadvisor.i18n import DEFAULT_LANG, LANGS, N_, Translator
from mgadvisor.web.assets import HashedStatic, static_urls
from mgadvisor.web.csrf import FIELD as CSRF_FIELD
from mgadvisor.web.guard import CSP, LANG_COOKIE, MAX_BODY_BYTES, Guard
from mgadvisor.web.responses import error_response, is_api
from mgadvisor.web.settings import WebSettings
from mgadvisor.web.workers import EnginePool, ServerBusy

HERE = Path(__file__).resolve().parent
MAX_LISTED_PROBLEMS = 20  # an error response lists this many problems, then says how many more

__all__ = ["CSP", "CSRF_FIELD", "MAX_BODY_BYTES", "create_app", "csrf_token", "error_body"]


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


def problems_summary(t: Translator, summary: str, total: int) -> str:
    """The error's summary; with more than MAX_LISTED_PROBLEMS problems it says how many there
    are and that only the first are listed (a huge body must not get a huger answer)."""
    if total <= MAX_LISTED_PROBLEMS:
        return t(summary)
    return t(
        "{summary} ({count} problems; the first {shown} are listed)",
        summary=t(summary),
        count=total,
        shown=MAX_LISTED_PROBLEMS,
    )


def request_errors(exc: RequestValidationError, t: Translator) -> list[dict[str, Any]]:
    """Each invalid parameter or body (the first MAX_LISTED_PROBLEMS): FastAPI's location, and
    one line in the user's language with the field, what was expected and what was given."""
    from mgadvisor.intake import field_problem

    out = []
    for err in exc.errors()[:MAX_LISTED_PROBLEMS]:
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

    Then everything loaded so far is moved out of the garbage collector's sight (`gc.freeze`):
    the knowledge base, the app and the records' metadata are some 150,000 objects that live as
    long as the server, and a full collection walked them all: 82 ms (measured in the server
    process; after the freeze 0.002 ms). Full collections are rare, but each one lands on some
    request, so they set the tail of the server time (the CDS Hooks goal is a p99). At shutdown
    they are handed back (`gc.unfreeze`), so an app started and stopped many times in one
    process (the tests) does not keep its garbage.
    """
    from mgadvisor.kb import load_knowledge
    from mgadvisor.render.apa import apa

    apa(load_knowledge(), [])
    from mgadvisor.web.first_run import start

    start(app)  # the records: engine, SQLite migrated, the first run's set-up link
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
    from mgadvisor.web.pdf_pool import pool_for

    pool_for(app.state).close()  # the PDF workers end with the server (pdf_pool.py)


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


def create_app(settings: WebSettings | None = None) -> FastAPI:
    """The app; `settings` default to the environment's (`WebSettings.from_env()`)."""
    from mgadvisor import __version__
    from mgadvisor.web import api, pages

    settings = settings or WebSettings.from_env()
    if not settings.secret:
        settings.signing_key  # noqa: B018 - makes the per-process secret now, and says so in the log
    app = FastAPI(
        lifespan=_lifespan,
        title="mgadvisor",
        version=__version__,
        description="Evidence-based, cited magnesium advice (Dutch and English).",
        docs_url=None,  # served below from local files: offline, and without inline scripts
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = EnginePool(
        settings.engine_workers, settings.engine_wait, settings.engine_inline_bytes
    )
    import swagger_ui  # ships Swagger UI 5 (reads OpenAPI 3.1, which FastAPI emits)

    # Static files under hashed names, cached for a year (assets.py)
    swagger_files = HashedStatic(
        Path(swagger_ui.__file__).resolve().parent / "static", "/static/swagger"
    )
    static_files = HashedStatic(HERE / "static", "/static")
    app.mount("/static/swagger", swagger_files, name="swagger")

    @app.get("/docs", include_in_schema=False)
    def docs(request: Request) -> Response:
        t = Translator(request_lang(request))
        html = app.state.templates.get_template("swagger.html").render(t=t, lang=t.lang)
        return Response(html, media_type="text/html")

    templates = Jinja2Templates(env=_template_env())
    templates.env.globals["Translator"] = Translator
    templates.env.globals["static_url"] = static_urls(swagger_files, static_files)
    from mgadvisor.web.filters import register

    register(templates.env)

    app.state.templates = templates
    app.mount("/static", static_files, name="static")
    from mgadvisor.web import cds

    # the CDS hooks first: routes are tried in order and a hook call is the latency-bound
    # request; no path of these routers overlaps another's (/cds-services, /cds)
    app.include_router(cds.router)
    app.include_router(cds.pages)
    app.include_router(api.router)
    app.include_router(pages.router)
    from mgadvisor.web import auth, auth_api, auth_pages

    auth.install(app)
    app.include_router(auth_api.router)
    app.include_router(auth_pages.router)
    from mgadvisor.web import practice, practice_api

    app.include_router(practice.router)
    app.include_router(practice_api.router)
    from mgadvisor.web import audit_pages

    app.include_router(audit_pages.router)

    # POST /api/v1/advice's usual request is answered here, inside the Guard, without the
    # router; the rest goes on to the route (api.AdviceFastPath says why and how)
    app.add_middleware(api.AdviceFastPath)
    app.add_middleware(Guard, settings=settings)
    # Text responses compressed (the intake page: 65 KB -> 10 KB); PDFs are already.
    app.add_middleware(
        GZipMiddleware,
        minimum_size=1000,
        compresslevel=6,
        exclude_content_types=(*DEFAULT_EXCLUDED_CONTENT_TYPES, "application/pdf"),
    )

    def openapi() -> dict[str, Any]:
        """FastAPI's document, with the whole intake contract as the advice's request body."""
        if app.openapi_schema is None:
            api.publish_intake_schema(FastAPI.openapi(app))
        return app.openapi_schema  # type: ignore[return-value]

    app.openapi = openapi  # type: ignore[method-assign]

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        if not is_api(request.url.path):
            return error_response(request, 422, N_("invalid request"))
        t = Translator(api_lang(request))
        summary = problems_summary(t, N_("invalid request"), len(exc.errors()))
        return JSONResponse(error_body(summary, request_errors(exc, t)), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404 and not is_api(request.url.path):
            from mgadvisor.web.pages import not_found_page

            return not_found_page(request, request.url.path)
        summary = HTTP_SUMMARIES.get(exc.status_code, N_("request refused (HTTP {status})"))
        headers = exc.headers  # `Allow` on a 405
        return error_response(
            request, exc.status_code, summary, None, headers, status=exc.status_code
        )

    @app.exception_handler(ServerBusy)
    async def busy(request: Request, exc: ServerBusy) -> Response:
        return server_busy(request)

    @app.exception_handler(Exception)
    async def crash(request: Request, exc: Exception) -> Response:  # pragma: no cover - the
        # Guard answers a crash itself (with its headers); this is for a crash in the Guard
        return error_response(request, 500, N_("internal error"))

    return app


def server_busy(request: Request) -> Response:
    """The answer when the engine's pool is full (`ServerBusy`): 503, with Retry-After."""
    return error_response(request, 503, N_("server busy: try again in a few seconds"))


def csrf_token(request: Request) -> str:
    """The token a page's forms must send back: the one the Guard put on this request (the
    cookie's when the server signed it, else a new one it sets as the cookie)."""
    token = getattr(request.state, "csrf", None)
    if not token:
        from mgadvisor.web import csrf

        token = csrf.new_token(request.app.state.settings.signing_key)
        request.state.csrf = token
    return str(token)
