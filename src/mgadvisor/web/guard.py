"""The app's front door, a pure ASGI middleware; every request passes it in this order:

    host check ─► over the connection cap (server.py): 503, but for the health check
       ─► body: at most MAX_BODY_BYTES actually read, within the body timeout
       ─► pages: CSRF on form posts, the CSRF and language cookies
       ─► the app ─► every response: security headers, `Cache-Control: no-store`
                      (but for /static/), Server-Timing; a crash becomes a clean 500

(Starlette's BaseHTTPMiddleware would cost a task group and stream wrappers per request.)
The JSON API under /api/ gets the same headers but no cookies and no CSRF check: it stores
nothing and reads no cookie, so a cross-site request can gain nothing there.
"""

from __future__ import annotations

import asyncio
import logging
import time
import traceback
from collections.abc import MutableMapping
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request

from mgadvisor.i18n import LANGS, N_
from mgadvisor.web import csrf
from mgadvisor.web.responses import error_response, is_api
from mgadvisor.web.settings import WebSettings
from mgadvisor.web.workers import BODY_BYTES_SCOPE_KEY

log = logging.getLogger("mgadvisor.web")

MAX_BODY_BYTES = 256 * 1024
LANG_COOKIE = "mg_lang"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'self'; object-src 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
]
NO_STORE = (b"cache-control", b"no-store")
BUSY_SCOPE_KEY = "mgadvisor.busy"  # server.py marks a request that came in over the connection cap
HEALTH_PATH = "/api/v1/health"


class _TooLargeError(Exception):
    pass


class Guard:
    """See the module docstring."""

    def __init__(self, app: Any, settings: WebSettings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        sender = _Sender(send, not path.startswith("/static/"))
        request = Request(scope)
        host = request.headers.get("host", "")
        if not self.settings.allows_host(host):
            await self._refuse(
                request,
                sender,
                400,
                N_("Host: expected one of this server's names, got '{host}'"),
                host=host[:100],
            )
            return
        if scope.get(BUSY_SCOPE_KEY) and path != HEALTH_PATH:
            await self._refuse(
                request,
                sender,
                503,
                N_("server busy: try again in a few seconds"),
                headers={"Connection": "close"},
            )
            return
        length = _content_length(scope)
        if length is not None and length > MAX_BODY_BYTES:
            await self._too_large(request, sender)
            return
        body = b""
        if length or _chunked(scope):
            try:
                # asyncio's timeout, not anyio.fail_after: the same TimeoutError at the deadline
                # for a third of the cost (about 5 against 15 µs a request; uvicorn runs asyncio)
                async with asyncio.timeout(self.settings.body_timeout):
                    body, complete = await _read_body(receive)
            except _TooLargeError:
                await self._too_large(request, sender)
                return
            except TimeoutError:
                await self._refuse(
                    request,
                    sender,
                    408,
                    N_("the request did not arrive within {seconds} seconds"),
                    seconds=f"{self.settings.body_timeout:g}",
                    headers={"Connection": "close"},
                )
                return
            if not complete:  # the client went away
                return
            receive = _replay(body, receive)
        # what was read, not what a header claimed (a request may carry both Content-Length and
        # a chunked body): the engine pool decides by it where a computation runs (workers.py)
        scope[BODY_BYTES_SCOPE_KEY] = len(body)
        if not is_api(path) and not path.startswith("/static/"):
            key = self.settings.signing_key
            name = csrf.cookie_name(scope["scheme"])
            cookie = request.cookies.get(name, "")
            if scope["method"] == "POST" and not _csrf_sent_ok(request, cookie, body, key):
                sender.extra.append((b"set-cookie", _fresh_token(scope, key)))
                await self._refuse(
                    request,
                    sender,
                    403,
                    N_(
                        "For your safety the form could not be sent. Go back, reload the page "
                        "and send it again."
                    ),
                )
                return
            if csrf.valid(cookie, key):
                scope.setdefault("state", {})["csrf"] = cookie
            else:
                sender.extra.append((b"set-cookie", _fresh_token(scope, key)))
            asked = request.query_params.get("lang")
            if asked in LANGS:
                secure = "; Secure" if scope["scheme"] == "https" else ""
                lang_cookie = f"{LANG_COOKIE}={asked}; Path=/; SameSite=lax{secure}"
                sender.extra.append((b"set-cookie", lang_cookie.encode()))
        try:
            await self.app(scope, receive, sender)
        except Exception as exc:
            _log_crash(scope, exc)
            if not sender.started:
                await self._refuse(request, sender, 500, N_("internal error"))

    async def _too_large(self, request: Request, sender: _Sender) -> None:
        await self._refuse(
            request,
            sender,
            413,
            N_("request body larger than {size} bytes"),
            size=MAX_BODY_BYTES,
            headers={"Connection": "close"},
        )

    async def _refuse(
        self,
        request: Request,
        sender: _Sender,
        status: int,
        summary: str,
        headers: dict[str, str] | None = None,
        **params: Any,
    ) -> None:
        response = error_response(request, status, summary, headers=headers, **params)
        await response(request.scope, request.receive, sender)


class _Sender:
    """`send`, adding the security headers, no-store, `extra` (cookies) and a Server-Timing
    header (the time the app took until the response started, shown by browsers' developer
    tools) to the response; remembers whether the response has started."""

    def __init__(self, send: Any, no_store: bool) -> None:
        self.send = send
        self.no_store = no_store
        self.extra: list[tuple[bytes, bytes]] = []
        self.started = False
        self.began = time.perf_counter()

    async def __call__(self, message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.started = True
            took = f"app;dur={(time.perf_counter() - self.began) * 1000:.2f}".encode()
            headers = [*message.get("headers", []), *SECURITY_HEADERS, *self.extra]
            if self.no_store:
                headers = [h for h in headers if h[0] != b"cache-control"]
                headers.append(NO_STORE)
            headers.append((b"server-timing", took))
            message["headers"] = headers
        await self.send(message)


def _content_length(scope: dict[str, Any]) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


def _chunked(scope: dict[str, Any]) -> bool:
    """Whether the request announces a body of unknown size (Transfer-Encoding)."""
    return any(name == b"transfer-encoding" for name, _ in scope["headers"])


async def _read_body(receive: Any) -> tuple[bytes, bool]:
    """The whole body, counting the bytes actually read (chunked bodies announce no size).

    Returns (body, complete); complete is False when the client disconnected first.

    Raises:
        _TooLargeError: more than MAX_BODY_BYTES arrived.
    """
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"", False
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise _TooLargeError
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks), True


def _replay(body: bytes, receive: Any) -> Any:
    """A receive() that gives the buffered body once, then waits on the real one (disconnect)."""
    sent = False

    async def replay() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        message: dict[str, Any] = await receive()
        return message

    return replay


def _csrf_sent_ok(request: Request, cookie: str, body: bytes, key: bytes) -> bool:
    """Double-submit with a signed token: the form's hidden field (or the X-CSRF-Token header)
    equals the cookie, and the server signed it."""
    sent = parse_qs(body.decode("utf-8", "replace")).get(csrf.FIELD, [""])[0]
    sent = sent or request.headers.get(csrf.HEADER, "")
    return csrf.matches(cookie, sent, key)


def _fresh_token(scope: dict[str, Any], key: bytes) -> bytes:
    """A new signed token for this response's forms (csrf_token() reads it) and its cookie."""
    token = csrf.new_token(key)
    scope.setdefault("state", {})["csrf"] = token
    return csrf.set_cookie_header(token, scope["scheme"])


def _log_crash(scope: dict[str, Any], exc: Exception) -> None:
    """Where it failed, without the exception's message or the query: those may hold a
    client's data (health data stays out of the logs)."""
    frames = traceback.extract_tb(exc.__traceback__)[-5:]
    where = " <- ".join(f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno} {f.name}" for f in frames)
    method, path = scope["method"], scope["path"]
    log.error("internal error %s on %s %s at %s", type(exc).__name__, method, path, where)
