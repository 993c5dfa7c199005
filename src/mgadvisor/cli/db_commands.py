"""`mgadvisor db`: the practice records' database (issue 13): migrate it, show its revision.

The database is SQLite in the user's data directory unless MGADVISOR_DATABASE_URL names another
(``postgresql+psycopg://USER@HOST/NAME``); see docs/records.md. SQLAlchemy and Alembic are
imported inside the commands, so the other commands start as fast as before.
"""

# No `from __future__ import annotations`, as in the other command modules (see cli/app.py).
from typing import Any

import typer

from mgadvisor.cli.app import T, app, lang_of
from mgadvisor.errors import UserInputError, invalid_value
from mgadvisor.i18n import Translator

db_app = typer.Typer(
    help=T("The practice records' database: migrate it and show its version."),
    no_args_is_help=True,
)
app.add_typer(db_app, name="db")


def _engine() -> Any:
    from mgadvisor.records.database import make_engine
    from mgadvisor.records.errors import InvalidRecord

    try:
        return make_engine()
    except InvalidRecord as exc:
        raise invalid_value(exc.field, exc.expected, exc.given) from None


def _run(action: Any) -> Any:
    """Run `action(engine)`; a database that cannot be reached is one line, not a traceback."""
    from sqlalchemy.exc import SQLAlchemyError

    from mgadvisor.records.database import shown

    engine = _engine()
    try:
        return engine, action(engine)
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise UserInputError(
            "cannot use the database {url}: {reason}", url=shown(engine.url), reason=reason
        ) from None
    finally:
        engine.dispose()


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context) -> None:
    """Create or migrate the records database to the newest version."""
    from mgadvisor.records.database import shown, upgrade

    t = Translator(lang_of(ctx))
    engine, revision = _run(upgrade)
    typer.echo(t("{url}: at version {revision}", url=shown(engine.url), revision=revision))


@db_app.command("current")
def db_current(ctx: typer.Context) -> None:
    """Show the records database's version (exit 1 when it needs `mgadvisor db upgrade`)."""
    from mgadvisor.records.database import current, head, shown

    t = Translator(lang_of(ctx))
    engine, revision = _run(current)
    newest = head()
    typer.echo(
        t(
            "{url}: at version {revision} (newest: {newest})",
            url=shown(engine.url),
            revision=revision or t("none"),
            newest=newest,
        )
    )
    if revision != newest:
        typer.echo(t("Run 'mgadvisor db upgrade' to migrate it."), err=True)
        raise typer.Exit(1)
