"""`mgadvisor users`: the accounts of the practice records (issue 13): add, list, disable,
enable, reset the second factor. Each change is audited with the command line as actor
(protocol `system`). A password is read from standard input or typed hidden, never an argument.
"""

# No `from __future__ import annotations`, as in the other command modules (see cli/app.py).
import sys
from collections.abc import Callable
from typing import Annotated, Any

import typer

from mgadvisor.cli.app import T, app, lang_of
from mgadvisor.errors import UserInputError, invalid_value
from mgadvisor.i18n import N_, Translator

users_app = typer.Typer(
    help=T("The accounts of the practice records: add, list, disable, reset 2FA."),
    no_args_is_help=True,
)
app.add_typer(users_app, name="users")


def _records() -> Any:
    """(engine, cipher); a bad setting or a database that cannot be used is one line."""
    from sqlalchemy.exc import SQLAlchemyError

    from mgadvisor.records.errors import RecordsError
    from mgadvisor.records.store import open_records

    try:
        return open_records()
    except RecordsError as exc:
        raise exc.as_user_error() from None
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise UserInputError(
            N_("cannot use the records database: {reason}"), reason=reason
        ) from None


def _invalid(exc: Any) -> UserInputError:
    return invalid_value(exc.field, exc.expected, exc.given)


def _in_transaction(action: Callable[[Any, Any], Any]) -> Any:
    """Run `action(session, cipher)` in one transaction; InvalidRecord becomes one line."""
    from mgadvisor.records.database import session_scope
    from mgadvisor.records.errors import InvalidRecord

    engine, cipher = _records()
    try:
        with session_scope(engine) as session:
            return action(session, cipher)
    except InvalidRecord as exc:
        raise _invalid(exc) from None
    finally:
        engine.dispose()


def _user(session: Any, email: str) -> Any:
    from mgadvisor.records.accounts import find_user

    user = find_user(session, email)
    if user is None:
        raise UserInputError(
            N_("EMAIL: expected the address of an account, got an unknown address")
        )
    return user


def _read_password(from_stdin: bool, t: Translator) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise UserInputError(N_("--password-stdin: expected it when the input is not a terminal"))
    return str(typer.prompt(t("Password"), hide_input=True, confirmation_prompt=True))


def _show_enrolment(t: Translator, uri: str, codes: list[str] | None) -> None:
    typer.echo(
        t("Add this account to an authenticator app (or scan the QR code at the first login):")
    )
    typer.echo(f"  {uri}")
    if sys.stdout.isatty():
        import segno

        segno.make(uri, error="m").terminal(compact=True)
    if codes:
        typer.echo(t("Recovery codes (each works once; shown only now):"))
        for code in codes:
            typer.echo(f"  {code}")


@users_app.command("add")
def users_add(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument(help=T("The user's e-mail address."))],
    role: Annotated[str, typer.Option(help=T("practitioner or admin."))] = "practitioner",
    practice: Annotated[
        str, typer.Option(help=T("The practice's name (made when it does not exist)."))
    ] = "",
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help=T("Read the password from standard input."))
    ] = False,
) -> None:
    """Add a user; prints the otpauth:// address for the authenticator app and recovery codes."""
    from mgadvisor.records import accounts

    t = Translator(lang_of(ctx))
    if not practice.strip():
        raise UserInputError(N_("--practice: expected the practice's name, got nothing"))
    password = _read_password(password_stdin, t)

    def add(session: Any, cipher: Any) -> tuple[str, list[str]]:
        place = accounts.practice_named(session, practice, create=True)
        assert place is not None  # made when missing
        user, secret = accounts.create_user(
            session, place, email, role, password, accounts.system_actor(), cipher
        )
        return accounts.provisioning_uri(user, secret), accounts.new_recovery_codes(session, user)

    uri, codes = _in_transaction(add)
    typer.echo(
        t(
            "Added {email} ({role}) to {practice}.",
            email=email.strip().lower(),
            role=t(role),
            practice=practice.strip(),
        )
    )
    _show_enrolment(t, uri, codes)


@users_app.command("list")
def users_list(
    ctx: typer.Context,
    practice: Annotated[str, typer.Option(help=T("Only this practice's users."))] = "",
) -> None:
    """List the users: e-mail, role, practice, status, last login."""
    from mgadvisor.records import accounts
    from mgadvisor.records.models import Practice

    t = Translator(lang_of(ctx))

    def rows(session: Any, _cipher: Any) -> list[tuple[str, ...]]:
        place = accounts.practice_named(session, practice) if practice.strip() else None
        if practice.strip() and place is None:
            raise UserInputError(
                N_("--practice: expected the name of a practice, got an unknown name")
            )
        names = {p.id: p.name for p in session.query(Practice)}
        return [
            (
                u.email,
                t(u.role),
                names.get(u.practice_id, "?"),
                _status(t, u),
                u.last_login_at.strftime("%Y-%m-%d %H:%M") if u.last_login_at else "-",
            )
            for u in accounts.list_users(session, place)
        ]

    for row in _in_transaction(rows):
        typer.echo("\t".join(row))


def _status(t: Translator, user: Any) -> str:
    """The account's state for `users list` (as on the admin's page)."""
    if user.disabled:
        return t("disabled")
    if user.must_change_password:
        return t("temporary password not changed yet")
    if user.totp_confirmed_at:
        return t("active")
    return t("two-step verification not set up yet")


@users_app.command("disable")
def users_disable(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument(help=T("The user's e-mail address."))],
) -> None:
    """Disable a user: no login; their sessions end and tokens are revoked."""
    from mgadvisor.records import accounts
    from mgadvisor.records.models import utcnow

    t = Translator(lang_of(ctx))
    _in_transaction(
        lambda s, _c: accounts.disable_user(s, _user(s, email), accounts.system_actor(), utcnow())
    )
    typer.echo(t("Disabled {email}.", email=email.strip().lower()))


@users_app.command("enable")
def users_enable(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument(help=T("The user's e-mail address."))],
) -> None:
    """Enable a disabled or locked-out user again."""
    from mgadvisor.records import accounts

    t = Translator(lang_of(ctx))
    _in_transaction(lambda s, _c: accounts.enable_user(s, _user(s, email), accounts.system_actor()))
    typer.echo(t("Enabled {email}.", email=email.strip().lower()))


@users_app.command("reset-2fa")
def users_reset_2fa(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument(help=T("The user's e-mail address."))],
) -> None:
    """Reset a user's two-step verification; prints the new otpauth:// address."""
    from mgadvisor.records import accounts
    from mgadvisor.records.models import utcnow

    t = Translator(lang_of(ctx))

    def reset(session: Any, cipher: Any) -> str:
        user = _user(session, email)
        secret = accounts.reset_second_factor(
            session, user, accounts.system_actor(), cipher, utcnow()
        )
        return accounts.provisioning_uri(user, secret)

    uri = _in_transaction(reset)
    typer.echo(
        t(
            "Two-step verification of {email} is reset; it is confirmed at the next login.",
            email=email.strip().lower(),
        )
    )
    _show_enrolment(t, uri, None)


@users_app.command("rotate-key")
def users_rotate_key(ctx: typer.Context) -> None:
    """Re-encrypt the stored TOTP secrets under the first key of MGADVISOR_RECORDS_KEY."""
    from mgadvisor.records import accounts

    t = Translator(lang_of(ctx))
    count = _in_transaction(lambda s, c: accounts.rotate_secrets(s, c, accounts.system_actor()))
    typer.echo(t("Re-encrypted {count} secrets with the first key.", count=count))
