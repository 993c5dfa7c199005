"""The API's login: a short-lived access token for e-mail, password and TOTP code, and
personal access tokens (named, optional expiry, revocable; shown once, stored hashed).

    POST   /api/v1/auth/token          {email, password, totp} → {access_token, token_type,
                                       expires_in}
    GET    /api/v1/auth/tokens         the caller's personal tokens (never the tokens themselves)
    POST   /api/v1/auth/tokens         {name, expires_in_days? (1-90, default 90)} → the new
                                       token, once
    DELETE /api/v1/auth/tokens/{id}    revoke

A personal token is made only with an access token (a fresh login with both factors), so a
leaked personal token cannot make more.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from mgadvisor.i18n import N_, Translator
from mgadvisor.records import accounts, sessions
from mgadvisor.records.database import session_scope
from mgadvisor.records.models import ApiToken
from mgadvisor.records.sessions import PERSONAL_TOKEN_DAYS
from mgadvisor.web.auth import (
    Principal,
    api_user,
    cipher,
    client_ip,
    login_settings,
    now,
    records_engine,
    throttle,
    user_row,
    user_session,
)

router = APIRouter(prefix="/api/v1/auth", tags=["login"])
Caller = Annotated[Principal, Depends(api_user)]


class Credentials(BaseModel):
    """E-mail address, password and the current code of the authenticator app."""

    model_config = ConfigDict(extra="forbid")
    email: str = Field(min_length=3, max_length=320)
    password: str = Field(min_length=1, max_length=1024)
    totp: str = Field(min_length=6, max_length=40, description="TOTP code (or a recovery code)")


class AccessToken(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int = Field(description="seconds")


class NewToken(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100)
    expires_in_days: int = Field(
        default=PERSONAL_TOKEN_DAYS, ge=1, le=PERSONAL_TOKEN_DAYS, description="at most 90"
    )


class TokenInfo(BaseModel):
    id: uuid.UUID
    name: str | None
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


class CreatedToken(TokenInfo):
    token: str = Field(description="shown only now; store it safely")


def _refused(request: Request, status: int, summary: str, msg: str, loc: list[str]) -> Response:
    from mgadvisor.web.app import api_lang, error_body

    t = Translator(api_lang(request))
    body = error_body(t(summary), [{"loc": loc, "msg": t(msg)}])
    headers = {"WWW-Authenticate": 'Bearer realm="mgadvisor"'} if status == 401 else None
    return JSONResponse(body, status, headers)


WRONG = N_(
    "email, password, totp: expected an account's e-mail, password and current code (an account "
    "is locked for a while after too many failed attempts)"
)
LOCKED = N_("too many failed attempts: the account is locked for a while")
NOT_ENROLLED = N_("totp: two-step verification is not set up yet; log in on the website first")
TEMPORARY = N_("password: a temporary password is changed first; log in on the website")


@router.post("/token", response_model=AccessToken)
def token(request: Request, body: Credentials) -> Any:
    """A bearer token for the API, valid for MGADVISOR_ACCESS_TOKEN_MINUTES (15)."""
    ip, when, ttl = client_ip(request), now(request), login_settings(request).access_token
    if throttle(request).blocked(ip):
        return _refused(request, 429, N_("too many failed logins"), LOCKED, ["body"])
    refused: tuple[int, str] | None = None
    with session_scope(records_engine(request)) as session:
        attempt = accounts.check_password_step(session, body.email, body.password, ip, when)
        user = attempt.user
        if user is not None and user.must_change_password:
            refused = (403, TEMPORARY)
        elif user is not None and user.totp_confirmed_at is None:
            refused = (403, NOT_ENROLLED)
        elif user is not None:
            attempt = accounts.check_second_factor(
                session, user, body.totp, cipher(request), ip, when
            )
        if refused is None and attempt.user is not None:
            accounts.complete_login(session, attempt.user, ip, when, "api")
            row, issued = sessions.issue_token(session, attempt.user, "access", when, when + ttl)
            actor = accounts.user_actor(attempt.user, ip, "login")
            details = {"kind": "access", "token_id": str(row.id)}
            accounts.audit(session, actor, "auth.token", "C", user=attempt.user, details=details)
    if refused is not None:
        loc = ["body", "password" if refused[1] == TEMPORARY else "totp"]
        return _refused(request, refused[0], N_("not logged in"), refused[1], loc)
    if attempt.user is None:
        throttle(request).failed(ip)
        message = LOCKED if attempt.refused == "locked" else WRONG
        return _refused(request, 401, N_("not logged in"), message, ["body"])
    return AccessToken(access_token=issued, expires_in=int(ttl.total_seconds()))


def _info(row: ApiToken) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "created_at": row.created_at,
        "expires_at": row.expires_at,
        "revoked_at": row.revoked_at,
        "last_used_at": row.last_used_at,
    }


@router.get("/tokens", response_model=list[TokenInfo])
def tokens(request: Request, caller: Caller) -> Any:
    """The caller's personal tokens (also revoked and expired ones)."""
    with user_session(request, caller) as session:
        user = user_row(session, caller)
        return [_info(row) for row in sessions.personal_tokens(session, user)]


@router.post("/tokens", response_model=CreatedToken, status_code=201)
def new_token(request: Request, caller: Caller, body: NewToken) -> Any:
    """A personal token (needs an access token from /api/v1/auth/token)."""
    when = now(request)
    with user_session(request, caller) as session:
        user = user_row(session, caller)
        used = session.get(ApiToken, caller.token_id) if caller.token_id else None
        if used is None or used.kind != "access":
            return _refused(
                request,
                403,
                N_("forbidden"),
                N_("Authorization: expected an access token from /api/v1/auth/token"),
                ["header", "Authorization"],
            )
        expires = when + timedelta(days=body.expires_in_days)
        row, issued = sessions.issue_token(session, user, "personal", when, expires, body.name)
        details = {"kind": "personal", "token_id": str(row.id)}
        accounts.audit(
            session, caller.actor("api-token"), "auth.token", "C", user=user, details=details
        )
        return {**_info(row), "token": issued}


@router.delete("/tokens/{token_id}", status_code=204)
def revoke(request: Request, caller: Caller, token_id: uuid.UUID) -> Response:
    """Revoke one of the caller's tokens (404: no such token of theirs)."""
    with user_session(request, caller) as session:
        user = user_row(session, caller)
        row = sessions.user_token(session, user, token_id)
        if row is None:
            return _refused(
                request,
                404,
                N_("not found"),
                N_("token_id: expected one of your tokens"),
                ["path", "token_id"],
            )
        if row.revoked_at is None:
            sessions.revoke(row, now(request))
            details = {"kind": row.kind, "token_id": str(row.id)}
            accounts.audit(
                session, caller.actor("api-token"), "auth.token", "D", user=user, details=details
            )
    return Response(status_code=204)
