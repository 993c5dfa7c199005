"""The login pages: e-mail and password, then the second factor (or its enrolment), logout.

    /login ─► /login/totp (TOTP or recovery code) ─► next (a local path only)
          ├─► /login/enrol (first login: QR code, secret, a first code; recovery codes once)
          └─► /login/password (a temporary password from an admin: a new one first, then
              /login/enrol or /login/totp)

Each step that passes gives a new session token (no fixation); the full session starts only
after the second factor. The account and admin pages are in account_pages.py, admin_pages.py.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from mgadvisor.i18n import N_, Translator
from mgadvisor.records import accounts, sessions
from mgadvisor.records.database import session_scope
from mgadvisor.records.models import User
from mgadvisor.web import account_pages, admin_pages
from mgadvisor.web.auth import (
    cipher,
    clear_session_cookie,
    client_ip,
    login_settings,
    now,
    records_engine,
    render,
    session_token,
    set_session_cookie,
    throttle,
)

router = APIRouter(include_in_schema=False)
router.include_router(account_pages.router)
router.include_router(admin_pages.router)

PARTIAL_STAGE_MINUTES = 10  # a session between the password and the second factor
REFUSALS = {
    # the same for a locked account: the page must not tell which accounts exist
    "invalid": N_(
        "The e-mail address or the password is not right, or the account is locked for a while "
        "after too many failed attempts."
    ),
    "locked": N_(
        "Too many failed attempts: this account is locked for a while. Try again later, or ask "
        "your practice's admin."
    ),
    # What to check, the same for every refused code (wrong, used already, or an account that
    # cannot log in now): it tells nothing about the account.
    "code": N_(
        "The code was not accepted. Check that you typed the 6-digit code your authenticator "
        "app shows now for mgadvisor: a code changes every 30 seconds, so wait for the next one "
        "when it is about to change. If codes keep failing, check that the clock of your phone "
        "is set automatically. You can also use one of your recovery codes."
    ),
    "enrol": N_(
        "The code was not accepted. Check that you typed the 6-digit code the app shows now for "
        "the account you just added: a code changes every 30 seconds, so wait for the next one "
        "when it is about to change. If codes keep failing, check that the clock of your phone "
        "is set automatically."
    ),
    "busy": N_("Too many failed logins from your address: wait a few minutes and try again."),
}

Text = Annotated[str, Form(max_length=2000)]


def safe_next(value: str | None) -> str:
    """`value` when it is a path on this site (`/…`, not `//…` nor `/\\…`), else `/`."""
    text = (value or "").strip()
    if (
        not text.startswith("/")
        or text.startswith(("//", "/\\"))
        or any(ord(ch) < 32 or ch == "\\" for ch in text)
        or len(text) > 500
    ):
        return "/"
    return text


def _login_page(
    request: Request, status: int = 200, *, email: str = "", next_path: str = "/", **errors: str
) -> HTMLResponse:
    return render(
        request, "auth/login.html", status, email=email, next_path=next_path, errors=errors
    )


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/") -> HTMLResponse:
    return _login_page(request, next_path=safe_next(next))


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    email: Text = "",
    password: Text = "",
    next: Text = "/",
) -> Response:
    t = Translator(_lang(request))
    next_path = safe_next(next)
    address, ip = email.strip()[:320], client_ip(request)
    if not address or not password:
        return _login_page(
            request,
            400,
            email=address,
            next_path=next_path,
            **_missing(t, email=address, password=password),
        )
    if throttle(request).blocked(ip):
        return _login_page(
            request, 429, email=address, next_path=next_path, form=t(REFUSALS["busy"])
        )
    when, settings = now(request), login_settings(request)
    with session_scope(records_engine(request)) as session:
        attempt = accounts.check_password_step(session, address, password, ip, when)
        user = attempt.user
        if user is not None:
            _end_current(request, session)
            stage = "password" if user.totp_confirmed_at else "enrol"
            change = bool(user.must_change_password)
            limit = min(settings.absolute, _partial_limit())
            _, token = sessions.open_session(session, user, stage, ip, when, limit)
    if user is None:
        throttle(request).failed(ip)
        message = t(REFUSALS["invalid"])
        return _login_page(request, 400, email=address, next_path=next_path, form=message)
    step = "/login/totp" if stage == "password" else "/login/enrol"
    if change:
        step = "/login/password"
    response = RedirectResponse(f"{step}?next={_quoted(next_path)}", status_code=303)
    set_session_cookie(request, response, token)
    return response


def _missing(t: Translator, **given: str) -> dict[str, str]:
    labels = {"email": N_("E-mail address"), "password": N_("Password")}
    return {
        name: t("{field}: expected a value, got nothing.", field=t(labels[name]))
        for name, value in given.items()
        if not value
    }


def _partial_limit() -> Any:
    from datetime import timedelta

    return timedelta(minutes=PARTIAL_STAGE_MINUTES)


def _quoted(path: str) -> str:
    from urllib.parse import quote

    return quote(path, safe="/")


def _lang(request: Request) -> str:
    from mgadvisor.web.app import request_lang

    return request_lang(request)


def _end_current(request: Request, session: Any) -> None:
    """End the session the browser came with, if any (a new one replaces it)."""
    token = session_token(request)
    if token:
        found = sessions.find_session(session, token, now(request), login_settings(request).idle)
        if found is not None:
            sessions.end_session(found[0], now(request))


def _partial(request: Request, session: Any, stage: str) -> tuple[Any, User] | None:
    """The request's live session at `stage` and its user (None while the user must change a
    temporary password first, or the stage is another)."""
    found = sessions.find_session(
        session, session_token(request), now(request), login_settings(request).idle
    )
    if found is None or found[0].stage != stage or found[1].must_change_password:
        return None
    return found


def _changing(request: Request, session: Any) -> tuple[Any, User] | None:
    """The request's partial session (after the password) of a user who must change it."""
    found = sessions.find_session(
        session, session_token(request), now(request), login_settings(request).idle
    )
    if found is None or found[0].stage not in ("password", "enrol"):
        return None
    return found if found[1].must_change_password else None


def _password_page(
    request: Request, next_path: str, status: int = 200, **errors: str
) -> HTMLResponse:
    return render(request, "auth/password.html", status, next_path=next_path, errors=errors)


@router.get("/login/password", response_class=HTMLResponse)
def new_password_form(request: Request, next: str = "/") -> Response:
    next_path = safe_next(next)
    with session_scope(records_engine(request)) as session:
        if _changing(request, session) is None:
            return _back_to_login(next_path)
    return _password_page(request, next_path)


@router.post("/login/password", response_class=HTMLResponse)
def new_password(request: Request, new: Text = "", repeat: Text = "", next: Text = "/") -> Response:
    """A temporary password (an admin saw it) is replaced before the second factor; all the
    user's sessions end and the next step starts with a new session token."""
    from mgadvisor.records.errors import InvalidRecord
    from mgadvisor.web.account_pages import new_password_problem

    t = Translator(_lang(request))
    next_path, ip, when = safe_next(next), client_ip(request), now(request)
    with session_scope(records_engine(request)) as session:
        found = _changing(request, session)
        if found is None:
            return _back_to_login(next_path)
        row, user = found
        if new != repeat:
            problem = {"repeat": t("Repeat: expected the same new password twice.")}
            return _password_page(request, next_path, 400, **problem)
        try:
            accounts.set_password(session, user, new, accounts.user_actor(user, ip, "login"), when)
        except InvalidRecord as exc:
            return _password_page(request, next_path, 400, new=new_password_problem(t, exc))
        limit = min(login_settings(request).absolute, _partial_limit())
        _, token = sessions.open_session(session, user, row.stage, ip, when, limit)
        step = "/login/totp" if row.stage == "password" else "/login/enrol"
    response = RedirectResponse(f"{step}?next={_quoted(next_path)}", status_code=303)
    set_session_cookie(request, response, token)
    return response


def _back_to_login(next_path: str) -> RedirectResponse:
    return RedirectResponse(f"/login?next={_quoted(next_path)}", status_code=303)


@router.get("/login/totp", response_class=HTMLResponse)
def totp_form(request: Request, next: str = "/") -> Response:
    next_path = safe_next(next)
    with session_scope(records_engine(request)) as session:
        if _partial(request, session, "password") is None:
            return _back_to_login(next_path)
    return render(request, "auth/totp.html", next_path=next_path, errors={})


@router.post("/login/totp", response_class=HTMLResponse)
def totp(request: Request, code: Text = "", next: Text = "/") -> Response:
    t = Translator(_lang(request))
    next_path, ip, when = safe_next(next), client_ip(request), now(request)
    if throttle(request).blocked(ip):
        errors = {"code": t(REFUSALS["busy"])}
        return render(request, "auth/totp.html", 429, next_path=next_path, errors=errors)
    with session_scope(records_engine(request)) as session:
        found = _partial(request, session, "password")
        if found is None:
            return _back_to_login(next_path)
        row, user = found
        attempt = accounts.check_second_factor(session, user, code, cipher(request), ip, when)
        if attempt.user is not None:
            token = _full_session(request, session, row, user, attempt.via or "totp")
    if attempt.user is None:
        throttle(request).failed(ip)
        key = "locked" if attempt.refused == "locked" else "code"
        errors = {"code": t(REFUSALS[key])}
        return render(request, "auth/totp.html", 400, next_path=next_path, errors=errors)
    response = RedirectResponse(_home(next_path, user), status_code=303)
    set_session_cookie(request, response, token)
    return response


HOMES = {"practitioner": "/practice", "admin": "/admin/users"}


def _home(next_path: str, user: User) -> str:
    """Where a login ends: `next`, or, when it asked for nothing in particular, the user's start
    page (a practitioner's follow-up list, the admin's users)."""
    return HOMES.get(user.role, "/") if next_path == "/" else next_path


def _full_session(request: Request, session: Any, row: Any, user: User, via: str) -> str:
    """End the partial session `row`, start a full one (a new token), audit the login."""
    when, ip = now(request), client_ip(request)
    sessions.end_session(row, when)
    full, token = sessions.open_session(
        session, user, "full", ip, when, login_settings(request).absolute
    )
    accounts.complete_login(session, user, ip, when, via)
    request.state.principal = accounts.Principal.of(user, ip, session_id=full.id)  # the header
    return token


def _enrol_context(request: Request, session: Any, user: User) -> dict[str, Any]:
    import segno

    key = cipher(request)
    secret = accounts.totp_secret(user, key) or accounts.new_totp_secret(user, key)
    uri = accounts.provisioning_uri(user, secret)
    t = Translator(_lang(request))
    qr = segno.make(uri, error="m").svg_inline(
        scale=5, title=t("QR code for your authenticator app"), svgclass="qr", lineclass=None
    )
    grouped = " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
    return {"qr_svg": qr, "secret": grouped, "account": user.email}


@router.get("/login/enrol", response_class=HTMLResponse)
def enrol_form(request: Request, next: str = "/") -> Response:
    next_path = safe_next(next)
    with session_scope(records_engine(request)) as session:
        found = _partial(request, session, "enrol")
        if found is None:
            return _back_to_login(next_path)
        context = _enrol_context(request, session, found[1])
    return render(request, "auth/enrol.html", next_path=next_path, errors={}, **context)


@router.post("/login/enrol", response_class=HTMLResponse)
def enrol(request: Request, code: Text = "", next: Text = "/") -> Response:
    t = Translator(_lang(request))
    next_path, ip, when = safe_next(next), client_ip(request), now(request)
    with session_scope(records_engine(request)) as session:
        found = _partial(request, session, "enrol")
        if found is None:
            return _back_to_login(next_path)
        row, user = found
        codes = accounts.confirm_enrolment(session, user, code, cipher(request), ip, when)
        if codes is None:
            context = _enrol_context(request, session, user)
        else:
            token = _full_session(request, session, row, user, "enrol")
    if codes is None:
        errors = {"code": t(REFUSALS["enrol"])}
        return render(
            request, "auth/enrol.html", 400, next_path=next_path, errors=errors, **context
        )
    response = render(request, "auth/recovery.html", codes=codes, next_path=_home(next_path, user))
    set_session_cookie(request, response, token)
    return response


@router.post("/logout")
def logout(request: Request) -> Response:
    """End the session (server-side) and remove its cookie."""
    token = session_token(request)
    if token:
        with session_scope(records_engine(request)) as session:
            found = sessions.find_session(
                session, token, now(request), login_settings(request).idle
            )
            if found is not None:
                row, user = found
                sessions.end_session(row, now(request))
                actor = accounts.user_actor(user, client_ip(request), "login")
                accounts.audit(session, actor, "auth.logout", "E", user=user)
    response = RedirectResponse("/login", status_code=303)
    clear_session_cookie(request, response)
    return response


__all__ = ["router", "safe_next"]
