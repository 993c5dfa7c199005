"""Accounts on SQLite and PostgreSQL: Argon2 passwords, TOTP with replay protection, recovery
codes, lock-out after failed logins (time injected), web sessions' idle and absolute expiry,
API tokens, secrets encrypted at rest, and an audit record for each event."""

from __future__ import annotations

from datetime import timedelta

import pyotp
import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from auth_support import PASSWORD, START, cipher, make_user
from mgadvisor.records import accounts, sessions
from mgadvisor.records.database import session_scope
from mgadvisor.records.errors import InvalidRecord
from mgadvisor.records.models import ApiToken, AuditEvent, RecoveryCode, User, WebSession


def _user(session: Session, email: str = "anna@zuid.example") -> User:
    user = accounts.find_user(session, email)
    assert user is not None
    return user


def _events(engine: Engine, code: str) -> list[AuditEvent]:
    with session_scope(engine) as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.event_code == code)))


def test_password_is_argon2_and_verifies(engine: Engine) -> None:
    make_user(engine, "Anna@Zuid.example")
    with session_scope(engine) as session:
        user = _user(session)
        assert user.password_hash is not None and user.password_hash.startswith("$argon2id$")
        assert PASSWORD not in user.password_hash
        assert accounts.verify_password(user, PASSWORD)
        assert not accounts.verify_password(user, PASSWORD + "x")
        assert not accounts.verify_password(None, PASSWORD)


def test_an_old_hash_is_rehashed_at_login(engine: Engine) -> None:
    make_user(engine, "anna@zuid.example")
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(PASSWORD)
    with session_scope(engine) as session:
        user = _user(session)
        user.password_hash = weak
        assert accounts.verify_password(user, PASSWORD)
        assert user.password_hash != weak and user.password_hash.startswith("$argon2id$")
        assert PasswordHasher().verify(user.password_hash, PASSWORD)


def test_a_short_password_is_refused_without_quoting_it(engine: Engine) -> None:
    with session_scope(engine) as session, pytest.raises(InvalidRecord) as caught:
        place = accounts.practice_named(session, "Praktijk Zuid", create=True)
        assert place is not None
        accounts.create_user(
            session,
            place,
            "b@zuid.example",
            "practitioner",
            "hunter2",
            accounts.system_actor(),
            cipher(),
        )
    assert caught.value.field == "password" and "hunter2" not in str(caught.value)


def test_totp_secret_is_encrypted_at_rest(engine: Engine) -> None:
    secret = make_user(engine, "anna@zuid.example")
    with session_scope(engine) as session:
        user = _user(session)
        assert user.totp_secret and secret not in user.totp_secret
        assert accounts.totp_secret(user, cipher()) == secret


def test_wrong_and_replayed_totp_codes_are_refused(engine: Engine) -> None:
    secret = make_user(engine, "anna@zuid.example")
    totp = pyotp.TOTP(secret)
    with session_scope(engine) as session:
        user = _user(session)
        wrong = f"{(int(totp.at(START)) + 1) % 1_000_000:06d}"
        assert not accounts.verify_totp(user, wrong, cipher(), START)
        assert accounts.verify_totp(user, totp.at(START), cipher(), START)
        assert not accounts.verify_totp(user, totp.at(START), cipher(), START)  # replay
        # the code of the step before is in the window, but older than the one used: refused
        earlier = START - timedelta(seconds=30)
        assert not accounts.verify_totp(user, totp.at(earlier), cipher(), START)
        later = START + timedelta(seconds=30)
        assert accounts.verify_totp(user, totp.at(later), cipher(), later)


def test_recovery_codes_work_once_and_are_stored_hashed(engine: Engine) -> None:
    make_user(engine, "anna@zuid.example")
    with session_scope(engine) as session:
        user = _user(session)
        codes = accounts.new_recovery_codes(session, user, START)
        assert len(codes) == 10 and len(set(codes)) == 10
        stored = [r.code_hash for r in session.scalars(select(RecoveryCode))]
        assert not set(codes) & set(stored)
        attempt = accounts.check_second_factor(session, user, codes[3], cipher(), None, START)
        assert attempt.user is user and attempt.via == "recovery"
        again = accounts.check_second_factor(session, user, codes[3], cipher(), None, START)
        assert again.user is None and again.refused == "invalid"
        assert accounts.unused_recovery_codes(session, user) == 9


def test_the_account_locks_after_five_failures_for_growing_periods(engine: Engine) -> None:
    make_user(engine, "anna@zuid.example")
    when = START
    for _ in range(accounts.MAX_FAILURES):
        with session_scope(engine) as session:
            attempt = accounts.check_password_step(
                session, "anna@zuid.example", "wrong", None, when
            )
            assert attempt.user is None
    with session_scope(engine) as session:
        # locked: even the right password is refused, for one minute (as a wrong one)
        locked = accounts.check_password_step(session, "anna@zuid.example", PASSWORD, None, when)
        assert locked.user is None and locked.refused == "invalid"
        assert _user(session).locked_until == when + timedelta(minutes=1)
    when += timedelta(minutes=1, seconds=1)
    with session_scope(engine) as session:
        accounts.check_password_step(session, "anna@zuid.example", "wrong", None, when)
        assert _user(session).locked_until == when + timedelta(minutes=2)  # doubled
    when += timedelta(minutes=2, seconds=1)
    with session_scope(engine) as session:
        ok = accounts.check_password_step(session, "anna@zuid.example", PASSWORD, None, when)
        assert ok.user is not None
        accounts.complete_login(session, ok.user, None, when, "totp")
        assert ok.user.failed_logins == 0 and ok.user.locked_until is None
    failed = _events(engine, "auth.login_failed")
    assert len(failed) == 7 and {e.outcome for e in failed} == {"failure", "denied"}
    assert all(e.authorisation_protocol == "login" for e in failed)
    assert len(_events(engine, "auth.login")) == 1


def test_unknown_email_and_disabled_account_fail_the_same_way(engine: Engine) -> None:
    make_user(engine, "anna@zuid.example")
    with session_scope(engine) as session:
        accounts.disable_user(session, _user(session), accounts.system_actor(), START)
    with session_scope(engine) as session:
        disabled = accounts.check_password_step(session, "anna@zuid.example", PASSWORD, None, START)
        unknown = accounts.check_password_step(
            session, "nobody@zuid.example", PASSWORD, None, START
        )
    assert disabled.refused == unknown.refused == "invalid"
    anonymous = [e for e in _events(engine, "auth.login_failed") if e.user_id is None]
    assert len(anonymous) == 1 and "nobody" not in (anonymous[0].details or "")


def test_sessions_end_when_idle_or_at_their_limit_or_at_logout(engine: Engine) -> None:
    make_user(engine, "anna@zuid.example")
    idle, absolute = timedelta(minutes=15), timedelta(hours=12)
    with session_scope(engine) as session:
        user = _user(session)
        _, token = sessions.open_session(session, user, "full", "127.0.0.1", START, absolute)
        _, other = sessions.open_session(session, user, "full", "127.0.0.1", START, absolute)
    when = START
    for _ in range(60):  # kept alive every 14 minutes: lives until the absolute limit
        when += timedelta(minutes=14)
        with session_scope(engine) as session:
            found = sessions.find_session(session, token, when, idle)
        if when < START + absolute:
            assert found is not None
        else:
            assert found is None
            break
    with session_scope(engine) as session:  # the other was left alone for 15 minutes
        assert sessions.find_session(session, other, START + idle, idle) is None
        assert sessions.find_session(session, other, START, idle) is None  # ended stays ended
        row = session.scalar(select(WebSession).where(WebSession.token_hash != ""))
        assert row is not None and token not in row.token_hash and len(row.token_hash) == 64


def test_api_tokens_expire_and_are_revoked(engine: Engine) -> None:
    make_user(engine, "anna@zuid.example")
    with session_scope(engine) as session:
        user = _user(session)
        _, short = sessions.issue_token(
            session, user, "access", START, START + timedelta(minutes=15)
        )
        row, personal = sessions.issue_token(session, user, "personal", START, None, "script")
        token_id = row.id
    with session_scope(engine) as session:
        assert sessions.find_token(session, short, START + timedelta(minutes=14)) is not None
        assert sessions.find_token(session, short, START + timedelta(minutes=15)) is None
        # a personal token without an end date (made before the cap) lives 90 days
        late = START + timedelta(days=sessions.PERSONAL_TOKEN_DAYS)
        assert sessions.find_token(session, personal, late - timedelta(seconds=1)) is not None
        assert sessions.find_token(session, personal, late) is None
        stored = session.get(ApiToken, token_id)
        assert stored is not None and stored.token_hash == sessions.token_hash(personal)
        sessions.revoke(stored, START)
    with session_scope(engine) as session:
        assert sessions.find_token(session, personal, START) is None
        assert sessions.find_token(session, "mga_made-up", START) is None


def test_reset_of_the_second_factor_ends_sessions_and_needs_enrolment(engine: Engine) -> None:
    old = make_user(engine, "anna@zuid.example")
    with session_scope(engine) as session:
        user = _user(session)
        accounts.new_recovery_codes(session, user, START)
        _, token = sessions.open_session(session, user, "full", None, START, timedelta(hours=1))
        new = accounts.reset_second_factor(session, user, accounts.system_actor(), cipher(), START)
    assert new != old
    with session_scope(engine) as session:
        user = _user(session)
        assert user.totp_confirmed_at is None and accounts.unused_recovery_codes(session, user) == 0
        assert sessions.find_session(session, token, START, timedelta(minutes=15)) is None
    events = _events(engine, "user.reset_2fa")
    assert len(events) == 1 and events[0].authorisation_protocol == "system"


def test_enrolment_confirms_with_a_code_and_gives_recovery_codes(engine: Engine) -> None:
    secret = make_user(engine, "anna@zuid.example", enrolled=False)
    with session_scope(engine) as session:
        user = _user(session)
        assert accounts.confirm_enrolment(
            session, user, "000000", cipher(), None, START
        ) is None or (pyotp.TOTP(secret).at(START) == "000000")
        codes = accounts.confirm_enrolment(
            session, user, pyotp.TOTP(secret).at(START), cipher(), None, START
        )
        assert codes is not None and len(codes) == 10 and user.totp_confirmed_at == START
    assert len(_events(engine, "auth.totp_enrol")) == 1
    assert len(_events(engine, "user.create")) == 1


def test_a_password_longer_than_the_limit_never_verifies(engine: Engine) -> None:
    longest = "p" * accounts.MAX_PASSWORD_LENGTH
    make_user(engine, "anna@zuid.example", password=longest)
    with session_scope(engine) as session:
        user = _user(session)
        assert accounts.verify_password(user, longest)
        assert not accounts.verify_password(user, longest + "extra")


def test_a_login_clears_away_old_sessions_and_access_tokens(engine: Engine) -> None:
    make_user(engine, "anna@zuid.example")
    hour = timedelta(hours=1)
    with session_scope(engine) as session:
        user = _user(session)
        old, _ = sessions.open_session(session, user, "full", None, START, hour)
        sessions.end_session(old, START)
        live, _ = sessions.open_session(session, user, "full", None, START, timedelta(days=3))
        sessions.issue_token(session, user, "access", START, START + hour)  # spent later
        personal, _ = sessions.issue_token(session, user, "personal", START, START + hour, "x")
        kept = {live.id, personal.id}
    later = START + timedelta(days=1, hours=2)
    with session_scope(engine) as session:
        accounts.complete_login(session, _user(session), None, later, "totp")
    with session_scope(engine) as session:
        left = {r.id for r in session.scalars(select(WebSession))}
        left |= {r.id for r in session.scalars(select(ApiToken))}
    assert left == kept
