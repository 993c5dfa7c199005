"""/account: the logged-in user's API tokens, new recovery codes and password.

A new token and new recovery codes are shown once, on the page that made them; only their
hashes are kept. Each asks again for the password and a code of the authenticator app (a
password change: the current password); a wrong one counts towards the lock-out like a failed
login. A token lives at most 90 days. Every change is audited.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from mgadvisor.i18n import N_, Translator
from mgadvisor.records import accounts, sessions
from mgadvisor.records.errors import InvalidRecord
from mgadvisor.records.models import User
from mgadvisor.web.auth import (
    Principal,
    cipher,
    client_ip,
    now,
    page_user,
    render,
    user_row,
    user_session,
)

router = APIRouter(include_in_schema=False)

User_ = Annotated[Principal, Depends(page_user)]
Text = Annotated[str, Form(max_length=2000)]
MAX_TOKEN_DAYS = sessions.PERSONAL_TOKEN_DAYS


def _lang(request: Request) -> str:
    from mgadvisor.web.app import request_lang

    return request_lang(request)


def _account(
    request: Request, session: Session, user: User, status: int = 200, **context: Any
) -> HTMLResponse:
    context.setdefault("errors", {})
    context.setdefault("values", {})
    return render(
        request,
        "auth/account.html",
        status,
        me=user,
        tokens=sessions.personal_tokens(session, user),
        codes_left=accounts.unused_recovery_codes(session, user),
        now=now(request),
        **context,
    )


@router.get("/account", response_class=HTMLResponse)
def account(request: Request, principal: User_) -> HTMLResponse:
    with user_session(request, principal) as session:
        return _account(request, session, user_row(session, principal))


def token_expiry(days: str, t: Translator) -> int:
    """The days a new token lives ('': the longest); raises ValueError with the page's message."""
    text = days.strip()
    if not text:
        return MAX_TOKEN_DAYS
    if not text.isdigit() or not 1 <= int(text) <= MAX_TOKEN_DAYS:
        raise ValueError(
            t(
                "Valid for (days): expected a whole number from 1 to {most}, or nothing for "
                "{most} days; got '{given}'.",
                most=MAX_TOKEN_DAYS,
                given=text[:20],
            )
        )
    return int(text)


def _confirmed(
    request: Request,
    session: Session,
    user: User,
    fields: tuple[str, str | None],
    typed: tuple[str, str | None],
    step: str,
) -> dict[str, str]:
    """Ask again (accounts.confirm_identity): the page's errors, {} when it passed.
    `fields`: the form's names of the password and the code (None: no code asked)."""
    t = Translator(_lang(request))
    failed = accounts.confirm_identity(
        session, user, typed[0], typed[1], cipher(request), client_ip(request), now(request), step
    )
    if failed is None:
        return {}
    if failed == "code" and fields[1] is not None:
        return {fields[1]: t(WRONG_CODE)}
    message = LOCKED if failed == "locked" else WRONG_PASSWORD  # chosen outside t()
    return {fields[0]: t(message)}


@router.post("/account/tokens", response_class=HTMLResponse)
def new_token(
    request: Request,
    principal: User_,
    name: Text = "",
    days: Text = "",
    token_password: Text = "",
    token_code: Text = "",
) -> Response:
    t = Translator(_lang(request))
    errors: dict[str, str] = {}
    label = name.strip()
    if not 1 <= len(label) <= 100:
        errors["name"] = t("Name: expected 1 to 100 characters, got {count}.", count=len(label))
    try:
        valid_days = token_expiry(days, t)
    except ValueError as exc:
        errors["days"] = str(exc)
    with user_session(request, principal) as session:
        user = user_row(session, principal)
        if not errors:
            fields, typed = ("token_password", "token_code"), (token_password, token_code)
            errors = _confirmed(request, session, user, fields, typed, "token")
        if errors:
            values = {"name": name[:100], "days": days[:20]}
            return _account(request, session, user, 400, errors=errors, values=values)
        when = now(request)
        expires = when + timedelta(days=valid_days)
        row, token = sessions.issue_token(session, user, "personal", when, expires, label)
        actor = principal.actor("login")
        details = {"kind": "personal", "token_id": str(row.id)}
        accounts.audit(session, actor, "auth.token", "C", user=user, details=details)
        return _account(request, session, user, new_token=token)


@router.post("/account/tokens/{token_id}/revoke")
def revoke_token(request: Request, principal: User_, token_id: uuid.UUID) -> Response:
    with user_session(request, principal) as session:
        user = user_row(session, principal)
        row = sessions.user_token(session, user, token_id)
        if row is not None and row.revoked_at is None:
            sessions.revoke(row, now(request))
            details = {"kind": row.kind, "token_id": str(row.id)}
            actor = principal.actor("login")
            accounts.audit(session, actor, "auth.token", "D", user=user, details=details)
    return RedirectResponse("/account", status_code=303)


@router.post("/account/recovery-codes", response_class=HTMLResponse)
def new_codes(
    request: Request, principal: User_, codes_password: Text = "", codes_code: Text = ""
) -> Response:
    with user_session(request, principal) as session:
        user = user_row(session, principal)
        fields, typed = ("codes_password", "codes_code"), (codes_password, codes_code)
        errors = _confirmed(request, session, user, fields, typed, "recovery_codes")
        if errors:
            return _account(request, session, user, 400, errors=errors)
        codes = accounts.new_recovery_codes(session, user, now(request))
        accounts.audit(session, principal.actor("login"), "auth.recovery_codes", "U", user=user)
        return _account(request, session, user, new_codes=codes)


WRONG_PASSWORD = N_("Current password: expected your password, but it is not right.")
WRONG_CODE = N_("Code: expected the 6 digits your authenticator app shows now, or a recovery code.")
LOCKED = N_(
    "Too many failed attempts: this account is locked for a while. Try again later, or ask "
    "your practice's admin."
)


SAME_PASSWORD = N_("New password: expected a password other than the current one.")


def new_password_problem(t: Translator, exc: InvalidRecord) -> str:
    """The page's sentence for a new password `set_password` refused."""
    if exc.given.strip("'") == "the same":
        return t(SAME_PASSWORD)
    return t(
        "New password: expected {expected}, got {given}.",
        expected=exc.expected,
        given=exc.given.strip("'"),
    )


@router.post("/account/password", response_class=HTMLResponse)
def change_password(
    request: Request, principal: User_, current: Text = "", new: Text = "", repeat: Text = ""
) -> Response:
    t = Translator(_lang(request))
    with user_session(request, principal) as session:
        user = user_row(session, principal)
        fields, typed = ("current", None), (current, None)
        errors = _confirmed(request, session, user, fields, typed, "password_change")
        if not errors and new != repeat:
            errors["repeat"] = t("Repeat: expected the same new password twice.")
        if not errors:
            try:
                accounts.set_password(
                    session,
                    user,
                    new,
                    principal.actor("login"),
                    now(request),
                    keep=principal.session_id,
                )
            except InvalidRecord as exc:
                errors["new"] = new_password_problem(t, exc)
        if errors:
            return _account(request, session, user, 400, errors=errors)
        return _account(request, session, user, notice=t("Your password has been changed."))
