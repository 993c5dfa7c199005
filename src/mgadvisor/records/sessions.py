"""Web sessions and API bearer tokens, kept in the database; only SHA-256 of a token is stored.

A web session is `password` after the password, `enrol` while the second factor is set up, and
`full` after it; the cookie's token of a `full` session is a new one (no session fixation).
A session ends after `idle` without a request, at its absolute limit, or at logout.
API tokens are `access` (short-lived, from /api/v1/auth/token) or `personal` (named,
revocable, at most PERSONAL_TOKEN_DAYS old: a personal token made before the cap without an
expiry stops working then too). The caller owns the transaction.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from mgadvisor.records.models import ApiToken, User, WebSession

TOKEN_PREFIX = "mga_"  # API tokens are recognisable (e.g. by secret scanners)
PERSONAL_TOKEN_DAYS = 90  # the longest (and the default) life of a personal token
KEPT_AFTER_END = timedelta(days=1)  # ended sessions and spent access tokens, then deleted


def token_hash(token: str) -> str:
    """The stored form of a token: hex SHA-256."""
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


# -- web sessions ---------------------------------------------------------------------------


def open_session(
    session: Session,
    user: User,
    stage: str,
    access_point: str | None,
    now: datetime,
    absolute: timedelta,
) -> tuple[WebSession, str]:
    """A new web session of `user` at `stage`; returns it and the cookie's token."""
    token = secrets.token_urlsafe(32)
    row = WebSession(
        token_hash=token_hash(token),
        user_id=user.id,
        stage=stage,
        created_at=now,
        last_seen_at=now,
        expires_at=now + absolute,
        access_point=(access_point or "")[:100] or None,
    )
    session.add(row)
    session.flush()
    return row, token


# The idle timer is written at most this often: every page would otherwise commit a write
# (measured: one of the two commits of a client page). The idle limit is 15 minutes.
TOUCH_EVERY = timedelta(minutes=1)


def find_session(
    session: Session, token: str, now: datetime, idle: timedelta
) -> tuple[WebSession, User] | None:
    """The live session of `token` and its (enabled) user; touching it restarts the idle
    timer. An idle or expired session is ended on the way."""
    if not token or len(token) > 100:
        return None
    row = session.scalar(select(WebSession).where(WebSession.token_hash == token_hash(token)))
    if row is None or row.ended_at is not None:
        return None
    if now >= row.expires_at or now - row.last_seen_at >= idle:
        row.ended_at = now
        return None
    user = session.get(User, row.user_id)
    if user is None or user.disabled:
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:  # a write at most once a minute, not every page
        row.last_seen_at = now
    return row, user


def end_session(row: WebSession, now: datetime) -> None:
    """End `row` (logout)."""
    if row.ended_at is None:
        row.ended_at = now


def end_all(session: Session, user: User, now: datetime, keep: uuid.UUID | None = None) -> None:
    """End all of `user`'s sessions (but `keep`, the one asking) and revoke all their tokens."""
    for row in session.scalars(
        select(WebSession).where(WebSession.user_id == user.id, WebSession.ended_at.is_(None))
    ):
        if row.id != keep:
            row.ended_at = now
    for token in session.scalars(
        select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
    ):
        token.revoked_at = now


# -- API tokens -----------------------------------------------------------------------------


def issue_token(
    session: Session,
    user: User,
    kind: str,
    now: datetime,
    expires_at: datetime | None,
    name: str | None = None,
) -> tuple[ApiToken, str]:
    """A new bearer token; returns its row and the token itself (shown once)."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        token_hash=token_hash(token),
        user_id=user.id,
        kind=kind,
        name=name,
        created_at=now,
        expires_at=expires_at,
    )
    session.add(row)
    session.flush()
    return row, token


def find_token(session: Session, token: str, now: datetime) -> tuple[ApiToken, User] | None:
    """The live token and its (enabled) user: not revoked, not expired."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 100:
        return None
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash(token)))
    if row is None or row.revoked_at is not None:
        return None
    if row.expires_at is not None and now >= row.expires_at:
        return None
    if row.kind == "personal" and now >= row.created_at + timedelta(days=PERSONAL_TOKEN_DAYS):
        return None
    user = session.get(User, row.user_id)
    if user is None or user.disabled:
        return None
    row.last_used_at = now
    return row, user


def personal_tokens(session: Session, user: User) -> Sequence[ApiToken]:
    """`user`'s personal tokens (also revoked and expired ones), newest first."""
    return session.scalars(
        select(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.kind == "personal")
        .order_by(ApiToken.created_at.desc())
    ).all()


def user_token(session: Session, user: User, token_id: uuid.UUID) -> ApiToken | None:
    """`user`'s token with this id (None: no such token of theirs)."""
    row = session.get(ApiToken, token_id)
    return row if row is not None and row.user_id == user.id else None


def revoke(row: ApiToken, now: datetime) -> None:
    """Revoke the token."""
    if row.revoked_at is None:
        row.revoked_at = now


def prune(session: Session, now: datetime) -> None:
    """Delete sessions ended or expired, and access tokens expired or revoked, more than a day
    ago (personal tokens stay listed as revoked or expired)."""
    before = now - KEPT_AFTER_END
    session.execute(
        delete(WebSession).where(or_(WebSession.expires_at < before, WebSession.ended_at < before))
    )
    session.execute(
        delete(ApiToken).where(
            ApiToken.kind == "access",
            or_(ApiToken.expires_at < before, ApiToken.revoked_at < before),
        )
    )
