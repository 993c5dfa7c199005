"""Accounts and login: passwords (Argon2), the second factor (TOTP with replay protection,
one-time recovery codes), lock-out after failed logins, and the users' administration.

Every function works inside the caller's transaction (`session_scope`) and writes its audit
record there (`mgadvisor.records.audit.record`). A failed check is a result, not an exception,
so that the caller commits the failure count and its audit record with the rest.

    password ─► check_password_step ─► (TOTP enrolled?) ─► check_second_factor ─► complete_login
                    │ fails: failed_logins + 1, locked for 1, 2, 4 … 60 minutes after 5 failures
                    └► must_change_password (a temporary password an admin saw): set_password
                       first, then the enrolment (or the second factor)
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from cryptography.fernet import MultiFernet
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mgadvisor.i18n import N_
from mgadvisor.records import crypto
from mgadvisor.records.errors import InvalidRecord
from mgadvisor.records.models import ROLES, Practice, RecoveryCode, User, utcnow

if TYPE_CHECKING:
    from mgadvisor.records.audit import Actor

ISSUER = "mgadvisor"
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024
MAX_FAILURES = 5  # failed logins before the account locks
FIRST_LOCK = timedelta(minutes=1)  # doubled with every further failure …
LONGEST_LOCK = timedelta(hours=1)  # … up to this
RECOVERY_CODES = 10
TOTP_WINDOW = 1  # time steps accepted either side of now (clock drift of the phone)

_hasher = PasswordHasher()  # Argon2id with the library's (RFC 9106) parameters
# Checked against when the e-mail is unknown: a failed login takes as long either way.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated user (of a web session or a bearer token)."""

    user_id: uuid.UUID
    practice_id: uuid.UUID
    email: str
    role: str  # 'practitioner' | 'admin'
    access_point: str | None  # the client's IP address
    session_id: uuid.UUID | None = None
    token_id: uuid.UUID | None = None

    def actor(self, protocol: str = "care-relationship") -> Actor:
        """The audit actor for what this user does under `protocol`."""
        from mgadvisor.records.audit import Actor

        return Actor(self.user_id, self.role, self.access_point, protocol)

    @classmethod
    def of(cls, user: User, access_point: str | None, **ids: uuid.UUID | None) -> Principal:
        """The principal of `user` (ids: session_id or token_id)."""
        return cls(user.id, user.practice_id, user.email, user.role, access_point, **ids)


def user_actor(user: User | None, access_point: str | None, protocol: str) -> Actor:
    """The audit actor for `user` (None: anonymous)."""
    from mgadvisor.records.audit import Actor

    if user is None:
        return Actor(None, None, access_point, protocol)
    return Actor(user.id, user.role, access_point, protocol)


def system_actor() -> Actor:
    """The actor of the command line (`mgadvisor users ...`)."""
    from mgadvisor.records.audit import Actor

    return Actor(None, None, None, "system")


def audit(
    session: Session,
    actor: Actor,
    event_code: str,
    action: str,
    *,
    outcome: str = "success",
    user: User | None = None,
    details: Mapping[str, Any] | None = None,
) -> None:
    """One audit record about an account (`user`: the account the event is about)."""
    from mgadvisor.records.audit import record

    record(
        session,
        actor,
        event_code,
        action,
        outcome=outcome,
        object_type="user" if user is not None else None,
        object_id=str(user.id) if user is not None else None,
        details=details,
    )


# -- passwords ------------------------------------------------------------------------------


def check_new_password(password: str) -> None:
    """Raises InvalidRecord for a password too short or too long (the value is not quoted)."""
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise InvalidRecord(
            "password",
            f"{MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters",
            f"{len(password)} characters",
        )


def hash_password(password: str) -> str:
    """The Argon2id hash of `password`."""
    return _hasher.hash(password)


def verify_password(user: User | None, password: str) -> bool:
    """Whether `password` is `user`'s; rehashes it when the Argon2 parameters changed.

    Without a user (or a hash) a dummy hash is checked, so the answer takes as long.
    """
    stored = user.password_hash if user is not None else None
    if len(password) > MAX_PASSWORD_LENGTH:  # never a stored password; Argon2 not run on it
        return False
    try:
        _hasher.verify(stored or _DUMMY_HASH, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    if user is None or stored is None:
        return False
    if _hasher.check_needs_rehash(stored):
        user.password_hash = _hasher.hash(password)
    return True


def set_password(
    session: Session,
    user: User,
    password: str,
    actor: Actor,
    now: datetime,
    keep: uuid.UUID | None = None,
) -> None:
    """A new password for `user` (checked for length; not the current one). Their other web
    sessions end (all but `keep`, the session asking) and all their API tokens are revoked: a
    password change shuts out whoever had it. Audited."""
    from mgadvisor.records.sessions import end_all

    check_new_password(password)
    if user.password_hash is not None and verify_password(user, password):
        raise InvalidRecord("password", N_("a password other than the current one"), "the same")
    user.password_hash = hash_password(password)
    user.must_change_password = False
    end_all(session, user, now, keep)
    audit(session, actor, "auth.password_change", "U", user=user)


# -- the second factor ------------------------------------------------------------------------


def new_totp_secret(user: User, cipher: MultiFernet) -> str:
    """A new (unconfirmed) TOTP secret for `user`, stored encrypted; returns it in clear."""
    secret = pyotp.random_base32()
    user.totp_secret = crypto.encrypt(cipher, secret)
    user.totp_confirmed_at = None
    user.totp_last_step = None
    return secret


def totp_secret(user: User, cipher: MultiFernet) -> str | None:
    """`user`'s TOTP secret in clear (None: none yet)."""
    return crypto.decrypt(cipher, user.totp_secret) if user.totp_secret else None


def provisioning_uri(user: User, secret: str) -> str:
    """The otpauth:// URI an authenticator app reads (from the QR code)."""
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def _digits(code: str) -> str:
    return "".join(code.split())


def verify_totp(user: User, code: str, cipher: MultiFernet, now: datetime) -> bool:
    """Whether `code` is a valid TOTP code of a time step not used before (replay refused);
    the step is remembered."""
    secret = totp_secret(user, cipher)
    code = _digits(code)
    if secret is None or not (code.isascii() and code.isdigit() and len(code) == 6):
        return False
    totp = pyotp.TOTP(secret)
    now_step = totp.timecode(now)
    for step in range(now_step - TOTP_WINDOW, now_step + TOTP_WINDOW + 1):
        if user.totp_last_step is not None and step <= user.totp_last_step:
            continue
        if hmac.compare_digest(totp.generate_otp(step), code):
            user.totp_last_step = step
            return True
    return False


def _code_hash(code: str) -> str:
    normal = "".join(ch for ch in code.lower() if ch.isalnum())
    return hashlib.sha256(normal.encode()).hexdigest()


def new_recovery_codes(session: Session, user: User, now: datetime | None = None) -> list[str]:
    """Ten new one-time recovery codes for `user` (the old ones are dropped), in clear, for
    showing once; only their SHA-256 is stored (80 random bits each)."""
    for old in session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == user.id)):
        session.delete(old)
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = secrets.token_hex(10)  # 80 bits
        code = "-".join(raw[i : i + 5] for i in range(0, 20, 5))
        session.add(
            RecoveryCode(user_id=user.id, code_hash=_code_hash(code), created_at=now or utcnow())
        )
        codes.append(code)
    session.flush()
    return codes


def use_recovery_code(session: Session, user: User, code: str, now: datetime) -> bool:
    """Whether `code` is one of `user`'s unused recovery codes; it is used up."""
    wanted = _code_hash(code)
    for row in session.scalars(
        select(RecoveryCode).where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
    ):
        if hmac.compare_digest(row.code_hash, wanted):
            row.used_at = now
            return True
    return False


def unused_recovery_codes(session: Session, user: User) -> int:
    """How many of `user`'s recovery codes are left."""
    count = session.scalar(
        select(func.count())
        .select_from(RecoveryCode)
        .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
    )
    return int(count or 0)


# -- login ------------------------------------------------------------------------------------


def find_user(session: Session, email: str) -> User | None:
    """The user with this e-mail address (case and spaces ignored)."""
    return session.scalar(select(User).where(User.email == email.strip().lower()))


def locked(user: User, now: datetime) -> bool:
    """Whether `user` is locked out at `now`."""
    return user.locked_until is not None and now < user.locked_until


def _lock(session: Session, user: User) -> None:
    """Lock `user`'s row for this transaction (PostgreSQL: SELECT … FOR UPDATE; SQLite's
    records transactions are BEGIN IMMEDIATE already), so that concurrent login attempts
    cannot each read the same failure count, TOTP step or unused recovery code."""
    session.refresh(user, with_for_update=True)


def _failed(
    session: Session, user: User | None, access_point: str | None, now: datetime, step: str
) -> None:
    """Count a failure (locking the account after MAX_FAILURES) and audit it."""
    if user is not None:
        user.failed_logins = (user.failed_logins or 0) + 1
        over = user.failed_logins - MAX_FAILURES
        if over >= 0:
            user.locked_until = now + min(FIRST_LOCK * 2**over, LONGEST_LOCK)
    details = {"step": step, "locked": bool(user is not None and locked(user, now))}
    actor = user_actor(user, access_point, "login")
    audit(session, actor, "auth.login_failed", "E", outcome="failure", user=user, details=details)


@dataclass(frozen=True, slots=True)
class Attempt:
    """The outcome of a login step: `user` when it passed (`via`: password, totp, recovery),
    else why not (`refused`: invalid, locked)."""

    user: User | None
    refused: str | None = None
    via: str | None = None


def check_password_step(
    session: Session, email: str, password: str, access_point: str | None, now: datetime
) -> Attempt:
    """The first login step. Unknown e-mail, wrong password, a disabled and a locked account
    are the same `invalid`, and a locked account's answer takes as long (Argon2 runs on a dummy
    hash): nothing to learn about which accounts exist. The audit record says which it was."""
    user = find_user(session, email)
    if user is not None:
        _lock(session, user)
    if user is not None and locked(user, now):
        verify_password(None, password)  # the time of a wrong password, whatever was typed
        _failed_locked(session, user, access_point, "password")
        return Attempt(None, "invalid")
    ok = verify_password(user, password)
    if not ok or user is None or user.disabled:
        _failed(session, user, access_point, now, "password")
        return Attempt(None, "invalid")
    return Attempt(user, via="password")


def confirm_identity(
    session: Session,
    user: User,
    password: str,
    code: str | None,
    cipher: MultiFernet,
    access_point: str | None,
    now: datetime,
    step: str,
) -> str | None:
    """Ask a logged-in user again before a sensitive change (`step`: token, recovery_codes,
    password_change): the password and, unless `code` is None, a TOTP or recovery code.

    None when it passes, else what failed: `locked`, `password` or `code`. A failure counts as
    a failed login (the same lock-out) and is audited as `auth.login_failed` with the step.
    """
    _lock(session, user)
    if locked(user, now):
        verify_password(None, password)
        _failed_locked(session, user, access_point, step)
        return "locked"
    if not verify_password(user, password):
        _failed(session, user, access_point, now, step)
        return "password"
    if code is not None and not (
        verify_totp(user, code, cipher, now) or use_recovery_code(session, user, code, now)
    ):
        _failed(session, user, access_point, now, step)
        return "code"
    return None


def _failed_locked(session: Session, user: User, access_point: str | None, step: str) -> None:
    actor = user_actor(user, access_point, "login")
    details = {"step": step, "locked": True}
    audit(session, actor, "auth.login_failed", "E", outcome="denied", user=user, details=details)


def check_second_factor(
    session: Session,
    user: User,
    code: str,
    cipher: MultiFernet,
    access_point: str | None,
    now: datetime,
) -> Attempt:
    """The second step: a TOTP code, or a recovery code (used up). Failures count as above."""
    _lock(session, user)
    if locked(user, now):
        _failed_locked(session, user, access_point, "totp")
        return Attempt(None, "locked")
    if user.disabled:
        _failed(session, user, access_point, now, "totp")
        return Attempt(None, "invalid")
    if verify_totp(user, code, cipher, now):
        return Attempt(user, via="totp")
    if use_recovery_code(session, user, code, now):
        audit(
            session, user_actor(user, access_point, "login"), "auth.recovery_code", "E", user=user
        )
        return Attempt(user, via="recovery")
    _failed(session, user, access_point, now, "totp")
    return Attempt(None, "locked" if locked(user, now) else "invalid")


def complete_login(
    session: Session, user: User, access_point: str | None, now: datetime, how: str
) -> None:
    """Both factors passed: the failure count starts again; audited as `auth.login`. Old
    sessions and access tokens (of anyone) are cleared away on the way."""
    from mgadvisor.records.sessions import prune

    prune(session, now)
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    actor = user_actor(user, access_point, "login")
    audit(session, actor, "auth.login", "E", user=user, details={"via": how})


def confirm_enrolment(
    session: Session,
    user: User,
    code: str,
    cipher: MultiFernet,
    access_point: str | None,
    now: datetime,
) -> list[str] | None:
    """Confirm the TOTP secret with a first code: the new recovery codes (None: wrong code)."""
    _lock(session, user)
    if locked(user, now) or not verify_totp(user, code, cipher, now):
        _failed(session, user, access_point, now, "enrol")
        return None
    user.totp_confirmed_at = now
    # Codes given when the account was made (`mgadvisor users add`) stay valid.
    codes = [] if unused_recovery_codes(session, user) else new_recovery_codes(session, user, now)
    audit(session, user_actor(user, access_point, "login"), "auth.totp_enrol", "U", user=user)
    return codes


# -- administration -------------------------------------------------------------------------


def practice_named(session: Session, name: str, create: bool = False) -> Practice | None:
    """The practice called `name` (made when `create` and missing)."""
    name = name.strip()
    if not name or len(name) > 200:
        raise InvalidRecord("practice", N_("a practice name of 1 to 200 characters"), name[:40])
    practice = session.scalar(select(Practice).where(Practice.name == name))
    if practice is None and create:
        practice = Practice(name=name)
        session.add(practice)
        session.flush()
    return practice


def check_email(email: str) -> str:
    """The address in its stored form; raises InvalidRecord for one that is not an address."""
    address = email.strip().lower()
    local, _, domain = address.partition("@")
    if not local or "." not in domain or len(address) > 320 or any(c.isspace() for c in address):
        raise InvalidRecord("email", N_("an e-mail address such as name@example.org"), "no address")
    return address


def create_user(
    session: Session,
    practice: Practice,
    email: str,
    role: str,
    password: str,
    actor: Actor,
    cipher: MultiFernet,
    *,
    temporary: bool = False,
) -> tuple[User, str]:
    """A new user with a TOTP secret to confirm at the first login; returns (user, secret).
    `temporary`: someone else (an admin) saw the password, so the first login changes it.

    Raises InvalidRecord for a bad role, address or password, or an address in use.
    """
    if role not in ROLES:
        raise InvalidRecord("role", "one of " + ", ".join(ROLES), role)
    address = check_email(email)
    check_new_password(password)
    if find_user(session, address) is not None:
        raise InvalidRecord("email", N_("an address not in use yet"), "an address in use")
    user = User(
        practice_id=practice.id,
        email=address,
        role=role,
        password_hash=hash_password(password),
        disabled=False,
        failed_logins=0,
        must_change_password=temporary,
    )
    session.add(user)
    session.flush()
    secret = new_totp_secret(user, cipher)
    audit(session, actor, "user.create", "C", user=user, details={"role": role})
    return user, secret


def disable_user(session: Session, user: User, actor: Actor, now: datetime) -> None:
    """Disable `user`: no login; their sessions end and their tokens are revoked."""
    from mgadvisor.records.sessions import end_all

    user.disabled = True
    end_all(session, user, now)
    audit(session, actor, "user.disable", "U", user=user)


def enable_user(session: Session, user: User, actor: Actor) -> None:
    """Enable `user` again (and lift a lock-out)."""
    user.disabled = False
    user.failed_logins = 0
    user.locked_until = None
    audit(session, actor, "user.enable", "U", user=user)


def reset_second_factor(
    session: Session,
    user: User,
    actor: Actor,
    cipher: MultiFernet,
    now: datetime,
    *,
    new_password: bool = False,
) -> str:
    """A new TOTP secret to enrol at the next login (old recovery codes dropped, sessions
    ended, tokens revoked); returns the secret in clear. `new_password` (a reset by an admin):
    the next login also changes the password first, so whoever may know an old (temporary)
    password cannot enrol a phone of their own with it alone."""
    from mgadvisor.records.sessions import end_all

    if new_password:
        user.must_change_password = True
    secret = new_totp_secret(user, cipher)
    for old in session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == user.id)):
        session.delete(old)
    end_all(session, user, now)
    audit(session, actor, "user.reset_2fa", "U", user=user)
    return secret


def rotate_secrets(session: Session, cipher: MultiFernet, actor: Actor) -> int:
    """Re-encrypt every stored TOTP secret under the cipher's first key (key rotation: put the
    new key first in MGADVISOR_RECORDS_KEY, run this, then drop the old key). Audited."""
    count = 0
    for user in session.scalars(select(User).where(User.totp_secret.is_not(None))):
        assert user.totp_secret is not None
        user.totp_secret = crypto.rotate(cipher, user.totp_secret)
        count += 1
    audit(session, actor, "records.key_rotate", "U", details={"secrets": count})
    return count


def list_users(session: Session, practice: Practice | None = None) -> Sequence[User]:
    """The users (of one practice), by e-mail address."""
    query = select(User).order_by(User.email)
    if practice is not None:
        query = query.where(User.practice_id == practice.id)
    return session.scalars(query).all()


def any_user(session: Session) -> bool:
    """Whether the database has a user at all (else the first-run set-up is open)."""
    return session.scalar(select(User.id).limit(1)) is not None


def issue_temporary_password(user: User) -> str:
    """A new random temporary password for `user`, returned in clear to show once (an admin
    sees it): the old password stops working and the next login must replace this one."""
    temporary = random_password()
    user.password_hash = hash_password(temporary)
    user.must_change_password = True
    return temporary


def random_password() -> str:
    """A temporary password (16 characters from an unambiguous alphabet)."""
    alphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _ in range(16))


@dataclass(frozen=True, slots=True)
class LoginSettings:
    """The login's time limits, from the environment."""

    idle: timedelta = timedelta(minutes=15)  # MGADVISOR_SESSION_IDLE_MINUTES
    absolute: timedelta = timedelta(hours=12)  # MGADVISOR_SESSION_MAX_HOURS
    access_token: timedelta = timedelta(minutes=15)  # MGADVISOR_ACCESS_TOKEN_MINUTES

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> LoginSettings:
        """Raises InvalidRecord for a value that is not a positive number."""
        env = os.environ if env is None else env
        return cls(
            idle=timedelta(minutes=_positive(env, "MGADVISOR_SESSION_IDLE_MINUTES", 15)),
            absolute=timedelta(hours=_positive(env, "MGADVISOR_SESSION_MAX_HOURS", 12)),
            access_token=timedelta(minutes=_positive(env, "MGADVISOR_ACCESS_TOKEN_MINUTES", 15)),
        )


def _positive(env: Mapping[str, str], name: str, default: float) -> float:
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value < 1e5:
        raise InvalidRecord(name, N_("a positive number"), text[:40])
    return value
