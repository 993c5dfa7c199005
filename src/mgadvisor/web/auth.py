"""Who is asking: the records engine and the login dependencies of the records pages and API.

    page_user              a full (password + TOTP) web session, else 303 to /login?next=…
    api_user               `Authorization: Bearer mga_…`, else 401 (WWW-Authenticate: Bearer)
    practitioner_*_user    the same, 403 for an admin (admins read no client data)
    admin_page_user        the same, 403 for a practitioner
    user_row(session, p)   the User row for the repository; puts the user in `session.info`

The session cookie holds an opaque random token (`__Host-mg_session` over HTTPS, `mg_session`
over plain http), HttpOnly, SameSite=Strict, Path=/; the server keeps its SHA-256
(records/sessions.py). The intake, advice, handout, knowledge-base and tools pages and the
advice API stay open without login: they store nothing.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Annotated, Any
from urllib.parse import quote

from cryptography.fernet import MultiFernet
from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from mgadvisor.i18n import N_, Translator
from mgadvisor.records.accounts import LoginSettings, Principal
from mgadvisor.records.database import session_scope
from mgadvisor.records.models import User, utcnow

log = logging.getLogger("mgadvisor.web")

COOKIE = "mg_session"
SECURE_COOKIE = "__Host-mg_session"  # the browser takes it only with Secure, Path=/, no Domain
IP_FAILURES = 20  # failed logins from one address …
IP_WINDOW = 600.0  # … within this many seconds: that address waits (429)
ROLE_LABELS = (N_("practitioner"), N_("admin"))  # shown as t(user.role)

_engine_lock = threading.Lock()

__all__ = [
    "Principal",
    "admin_page_user",
    "api_user",
    "page_user",
    "practitioner_api_user",
    "practitioner_page_user",
    "records_engine",
    "use_records",
    "user_row",
    "user_session",
]


class LoginRequired(Exception):  # noqa: N818 - handled into a redirect, never shown
    """A page needs a login: redirect to /login?next=<path>."""

    def __init__(self, next_path: str) -> None:
        super().__init__("login required")
        self.next_path = next_path


class Unauthorized(Exception):  # noqa: N818
    """The API needs a valid bearer token."""


class Forbidden(Exception):  # noqa: N818
    """Logged in, but not with the role this needs."""


# -- the app's records ------------------------------------------------------------------------


def now(request: Request) -> datetime:
    """The time of the request (tests put a clock on `app.state.clock`)."""
    clock: Callable[[], datetime] = getattr(request.app.state, "clock", utcnow)
    return clock()


def today(request: Request) -> date:
    """The date of the request in the server's time zone (as `date.today()` elsewhere in the
    app), from the same clock as `now` so that tests can move it."""
    return now(request).astimezone().date()


def records_engine(request: Request) -> Engine:
    """The app's records engine (made at start; on first use when the app runs without its
    lifespan, as under a bare TestClient)."""
    return start_records(request.app)


def start_records(app: FastAPI) -> Engine:
    """Make the records engine once (see `prepare_records`); tests and other set-ups may put
    their own on `app.state.records_engine` first (see `use_records`)."""
    engine: Engine | None = getattr(app.state, "records_engine", None)
    if engine is not None:
        return engine
    with _engine_lock:
        engine = getattr(app.state, "records_engine", None)
        if engine is None:
            engine, app.state.records_cipher = prepare_records()
            app.state.records_engine = engine
    return engine


def use_records(app: FastAPI, engine: Engine, key: MultiFernet | None = None) -> None:
    """Serve `app` from `engine` (already migrated); `key`: the secrets' cipher (default: from
    MGADVISOR_RECORDS_KEY)."""
    from mgadvisor.records.crypto import load_cipher

    app.state.records_engine = engine
    app.state.records_cipher = key or load_cipher(engine.url)


def prepare_records(url: str | None = None) -> tuple[Engine, MultiFernet]:
    """The engine and cipher (records/store.py: SQLite migrated, PostgreSQL checked)."""
    from mgadvisor.records.store import open_records

    return open_records(url)


def cipher(request: Request) -> MultiFernet:
    """The cipher of the users' TOTP secrets."""
    start_records(request.app)
    result: MultiFernet = request.app.state.records_cipher
    return result


def login_settings(request: Request) -> LoginSettings:
    """The sessions' and tokens' time limits (from the environment at first use)."""
    found: LoginSettings | None = getattr(request.app.state, "login_settings", None)
    if found is None:
        found = request.app.state.login_settings = LoginSettings.from_env()
    return found


def client_ip(request: Request) -> str | None:
    """The client's address (behind a proxy: as uvicorn's FORWARDED_ALLOW_IPS lets through)."""
    return request.client.host if request.client else None


@contextmanager
def user_session(request: Request, principal: Principal) -> Iterator[Session]:
    """A transaction for `principal`'s request, with `session.info` naming the user and their
    practice (row-level security reads them)."""
    import mgadvisor.records.rls  # noqa: F401 - registers the listener that applies session.info

    with session_scope(records_engine(request)) as session:
        session.info["user_id"] = principal.user_id
        session.info["practice_id"] = principal.practice_id
        yield session


def user_row(session: Session, principal: Principal) -> User:
    """The User row of `principal` (for `Records` methods); sets `session.info` as above."""
    session.info.setdefault("user_id", principal.user_id)
    session.info.setdefault("practice_id", principal.practice_id)
    user = session.get(User, principal.user_id)
    if user is None or user.disabled:
        raise Unauthorized
    return user


# -- the session cookie ---------------------------------------------------------------------


def cookie_name(request: Request) -> str:
    """The session cookie's name for this request's scheme."""
    return SECURE_COOKIE if request.url.scheme == "https" else COOKIE


def set_session_cookie(request: Request, response: Response, token: str) -> None:
    """Put the session's token in its cookie (a session cookie: gone when the browser closes)."""
    response.set_cookie(
        cookie_name(request),
        token,
        path="/",
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )


def clear_session_cookie(request: Request, response: Response) -> None:
    """Remove the session cookie."""
    response.delete_cookie(
        cookie_name(request),
        path="/",
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )


def session_token(request: Request) -> str:
    """The session token the browser sent ('' for none)."""
    return request.cookies.get(cookie_name(request), "")


def current_session(request: Request, stages: tuple[str, ...]) -> Principal | None:
    """The principal of the request's live session at one of `stages` (refreshes its idle
    timer), else None."""
    from mgadvisor.records.sessions import find_session

    token = session_token(request)
    if not token:
        return None
    settings = login_settings(request)
    with session_scope(records_engine(request)) as session:
        found = find_session(session, token, now(request), settings.idle)
        if found is None or found[0].stage not in stages:
            return None
        row, user = found
        return Principal.of(user, client_ip(request), session_id=row.id)


# -- the dependencies -----------------------------------------------------------------------


def page_user(request: Request) -> Principal:
    """A full (password + TOTP) web session's user, else a redirect to the login."""
    principal = current_session(request, ("full",))
    if principal is None:
        path = request.url.path
        raise LoginRequired(path + ("?" + request.url.query if request.url.query else ""))
    request.state.principal = principal
    return principal


_bearer = HTTPBearer(
    auto_error=False,
    description="An access token from /api/v1/auth/token or a personal token (mga_…).",
)


def api_user(
    request: Request,
    _documented: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)] = None,
) -> Principal:
    """The user of the request's bearer token, else 401 (the OpenAPI document names the
    scheme, so /docs offers 'Authorize')."""
    from mgadvisor.records.sessions import find_token

    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized
    with session_scope(records_engine(request)) as session:
        found = find_token(session, token.strip(), now(request))
        if found is None:
            raise Unauthorized
        row, user = found
        return Principal.of(user, client_ip(request), token_id=row.id)


def practitioner_page_user(request: Request) -> Principal:
    """`page_user`, 403 for an admin."""
    return _with_role(request, page_user(request), "practitioner")


def practitioner_api_user(
    request: Request,
    _documented: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)] = None,
) -> Principal:
    """`api_user`, 403 for an admin; both refusals are audited (these routes hold client
    data)."""
    try:
        principal = api_user(request)
    except Unauthorized:
        # audited up to the throttle's limit per address and window: calls without a token
        # cannot flood the audit chain (whose writes take its lock)
        gate, where = refusals(request), client_ip(request)
        if not gate.blocked(where):
            audit_refusal(request, None, "auth.unauthorized", reason="no valid bearer token")
        gate.failed(where)
        raise
    return _with_role(request, principal, "practitioner")


def admin_page_user(request: Request) -> Principal:
    """`page_user`, 403 for a practitioner."""
    return _with_role(request, page_user(request), "admin")


def _with_role(request: Request, principal: Principal, role: str) -> Principal:
    if principal.role != role:
        audit_refusal(request, principal, "auth.forbidden", reason=f"needs role {role}")
        raise Forbidden
    return principal


def audit_refusal(
    request: Request, principal: Principal | None, event_code: str, *, reason: str
) -> None:
    """Audit a refused request in a transaction of its own (outcome denied). The object is the
    route's pattern (``/clients/{client_id}``), never the path as sent: it may hold typed text."""
    from mgadvisor.records.audit import Actor, record

    route = getattr(request.scope.get("route"), "path", None)
    if principal is None:
        actor = Actor(None, None, client_ip(request), protocol="api-token")
    else:
        actor = principal.actor("api-token" if principal.token_id else "login")
    with session_scope(records_engine(request)) as session:
        record(
            session,
            actor,
            event_code,
            "R" if request.method in ("GET", "HEAD") else "E",
            outcome="denied",
            object_type="route",
            object_id=str(route)[:200] if route else None,
            details={"method": request.method, "reason": reason},
        )


# -- answers to the exceptions above --------------------------------------------------------


def install(app: FastAPI) -> None:
    """Register the answers to LoginRequired, Unauthorized and Forbidden on `app`."""
    app.add_exception_handler(LoginRequired, _login_redirect)
    app.add_exception_handler(Unauthorized, _unauthorized)
    app.add_exception_handler(Forbidden, _forbidden)


async def _login_redirect(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequired)
    target = "/login?next=" + quote(exc.next_path, safe="/")
    if request.headers.get("hx-request"):  # a live update: the whole page goes to the login
        return Response(status_code=401, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


async def _unauthorized(request: Request, exc: Exception) -> Response:
    from mgadvisor.web.app import api_lang, error_body

    t = Translator(api_lang(request))
    body = error_body(
        t("not logged in"),
        [{"loc": ["header", "Authorization"], "msg": t(BEARER_EXPECTED)}],
    )
    return JSONResponse(body, 401, {"WWW-Authenticate": 'Bearer realm="mgadvisor"'})


BEARER_EXPECTED = N_(
    "Authorization: expected 'Bearer' and a valid, unexpired token "
    "(from /api/v1/auth/token or a personal token)"
)


async def _forbidden(request: Request, exc: Exception) -> Response:
    from mgadvisor.web.app import api_lang, error_body, request_lang
    from mgadvisor.web.responses import is_api

    message = N_("Your role may not use this; ask your practice's admin.")
    if is_api(request.url.path):
        t = Translator(api_lang(request))
        return JSONResponse(error_body(t("forbidden"), [{"loc": [], "msg": t(message)}]), 403)
    t = Translator(request_lang(request))
    return render(request, "auth/forbidden.html", 403, message=t(message))


# -- failed logins per address (in memory, per process) -------------------------------------


class AddressThrottle:
    """Counts failed logins per client address over a sliding window."""

    def __init__(self, limit: int = IP_FAILURES, window: float = IP_WINDOW) -> None:
        self.limit = limit
        self.window = window
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def blocked(self, address: str | None) -> bool:
        """Whether `address` has used up its failed attempts (an address with none left in
        the window is forgotten: the table holds only recent failures)."""
        with self._lock:
            key = address or ""
            times = self._failures.get(key)
            if times is None:
                return False
            self._expire(times)
            if not times:
                del self._failures[key]
            return len(times) >= self.limit

    def failed(self, address: str | None) -> None:
        """Count one failed login of `address`."""
        with self._lock:
            times = self._failures.setdefault(address or "", deque())
            self._expire(times)
            times.append(time.monotonic())

    def _expire(self, times: deque[float]) -> None:
        while times and times[0] < time.monotonic() - self.window:
            times.popleft()


def throttle(request: Request) -> AddressThrottle:
    """The app's throttle of failed logins per address."""
    found: AddressThrottle | None = getattr(request.app.state, "login_throttle", None)
    if found is None:
        found = request.app.state.login_throttle = AddressThrottle()
    return found


def refusals(request: Request) -> AddressThrottle:
    """The app's count of API calls without a valid token per address (for the audit)."""
    found: AddressThrottle | None = getattr(request.app.state, "refusal_throttle", None)
    if found is None:
        found = request.app.state.refusal_throttle = AddressThrottle()
    return found


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """A page of the site (base.html: header, language, footer) from `template`."""
    from mgadvisor.web.pages import _page

    response: HTMLResponse = _page(request, template, status, **context)
    return response
