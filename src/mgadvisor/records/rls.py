"""Row-level security (PostgreSQL): tell the database who the user of a transaction is.

Migration 0003 makes PostgreSQL filter clients, visits, care relationships, break-glass grants
and erasures by the settings `mgadvisor.user_id` and `mgadvisor.practice_id` of the transaction.
This module sets them, per transaction (`set_config(..., true)`, so a pooled connection keeps
nothing), from `session.info["user_id"]` and `session.info["practice_id"]`:

    with scoped_session(engine, principal) as session:   # a Principal, a User, anything with
        Records(session).clients(user)                   # .user_id/.id and .practice_id

or, for a session already open, :func:`identify`. An SQLAlchemy ``after_begin`` listener
(registered when this module is imported) sets them at the start of every transaction, and again
before a query or flush when `session.info` changed since; without a user both are empty and
PostgreSQL shows no client rows at all. On SQLite nothing is set
(there is no row-level security; the repository's filter is the only one).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from sqlalchemy import Connection, Engine, event, text
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction

USER_KEY = "user_id"
PRACTICE_KEY = "practice_id"
_APPLIED = "mgadvisor.rls.applied"  # (transaction, (user, practice)) last set on the database
_SET = text(
    "SELECT set_config('mgadvisor.user_id', :user_id, true), "
    "set_config('mgadvisor.practice_id', :practice_id, true)"
)


class Identified(Protocol):
    """Who a session works for: a Principal (``user_id``) or a User row (``id``)."""

    @property
    def practice_id(self) -> uuid.UUID: ...


def _user_id_of(who: Any) -> uuid.UUID:
    value = getattr(who, "user_id", None) or getattr(who, "id", None)
    if not isinstance(value, uuid.UUID):
        raise TypeError("expected a Principal or a User (with a UUID user_id or id)")
    return value


def _text(value: Any) -> str:
    return "" if value is None else str(uuid.UUID(str(value)))  # only a UUID reaches the SQL


def _wanted(session: Session) -> tuple[str, str]:
    return _text(session.info.get(USER_KEY)), _text(session.info.get(PRACTICE_KEY))


def _apply(session: Session, connection: Connection) -> None:
    """Name the user of `session.info` on the database (PostgreSQL; SQLite has no RLS)."""
    user_id, practice_id = wanted = _wanted(session)
    applied = session.info.get(_APPLIED)
    transaction = session.get_transaction()
    fresh = applied is None or applied[0] is not transaction
    # a new transaction starts with nobody: naming nobody then needs no round trip
    if connection.dialect.name == "postgresql" and (wanted != ("", "") or not fresh):
        connection.execute(_SET, {"user_id": user_id, "practice_id": practice_id})
    session.info[_APPLIED] = (transaction, wanted)


def _refresh(session: Session) -> None:
    """Apply `session.info` again when it changed since the transaction began (a caller that
    sets it after its first query still gets its rows filtered for the right user)."""
    transaction = session.get_transaction()
    if transaction is None or _current(session, transaction):
        return  # no transaction yet: its after_begin applies it
    connection = session.connection()  # may begin on the database: after_begin applies it
    if not _current(session, transaction):
        _apply(session, connection)


def _current(session: Session, transaction: SessionTransaction) -> bool:
    applied = session.info.get(_APPLIED)
    return applied is not None and applied[0] is transaction and applied[1] == _wanted(session)


@event.listens_for(Session, "after_begin")
def _after_begin(
    session: Session, _transaction: SessionTransaction, connection: Connection
) -> None:
    """Every transaction of every session starts with the user of `session.info` (or none)."""
    _apply(session, connection)


@event.listens_for(Session, "do_orm_execute")
def _before_execute(state: ORMExecuteState) -> None:
    _refresh(state.session)


@event.listens_for(Session, "before_flush")
def _before_flush(session: Session, _context: Any, _instances: Any) -> None:
    _refresh(session)


def identify(session: Session, user_id: uuid.UUID | None, practice_id: uuid.UUID | None) -> None:
    """Make `session` work for this user from now on: in `session.info` for the transactions to
    come, and at once in the transaction already running (if any). None for both: nobody."""
    session.info[USER_KEY] = user_id
    session.info[PRACTICE_KEY] = practice_id
    _refresh(session)


def forget(session: Session) -> None:
    """The session works for nobody from now on (no client rows on PostgreSQL)."""
    identify(session, None, None)


@contextmanager
def scoped_session(engine: Engine, who: Identified | None) -> Iterator[Session]:
    """A session in one transaction for `who` (None: nobody), committed at the end and rolled
    back on an error, like :func:`mgadvisor.records.database.session_scope`."""
    info: dict[str, Any] = {}
    if who is not None:
        info = {USER_KEY: _user_id_of(who), PRACTICE_KEY: who.practice_id}
    # as sessionmaker(...).begin(), without a new Session subclass per call (see session_scope)
    with Session(engine, expire_on_commit=False, info=info) as session, session.begin():
        yield session  # after_begin sets the user when the connection is taken
