"""`mgadvisor backup` and `mgadvisor restore`: copy the records database to a file and back.

The database is the one `mgadvisor db` uses (MGADVISOR_DATABASE_URL, else the SQLite file in
the data folder). The work is done in :mod:`mgadvisor.records.backup`; see docs/deployment.md.
"""

# No `from __future__ import annotations`, as in the other command modules (see cli/app.py).
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from mgadvisor.cli.app import T, app, lang_of
from mgadvisor.cli.db_commands import _engine
from mgadvisor.errors import UserInputError
from mgadvisor.i18n import Translator

if TYPE_CHECKING:
    from sqlalchemy.engine import URL

R = TypeVar("R")


def _with_url(action: "Callable[[URL], R]") -> "tuple[URL, R]":
    """Run `action(url)` for the chosen database; a database error is one line."""
    from sqlalchemy.exc import SQLAlchemyError

    from mgadvisor.records.database import shown

    engine = _engine()  # one error line for a URL of another kind
    engine.dispose()
    try:
        return engine.url, action(engine.url)
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise UserInputError(
            "cannot use the database {url}: {reason}", url=shown(engine.url), reason=reason
        ) from None


@app.command("backup")
def backup_cmd(
    ctx: typer.Context,
    output: Annotated[
        Path, typer.Option("--output", "-o", help=T("The backup file to write (mode 0600)."))
    ],
    force: Annotated[
        bool, typer.Option("--force", help=T("Overwrite the backup file if it exists."))
    ] = False,
) -> None:
    """Back up the records database to a file (SQLite online backup, or pg_dump)."""
    from mgadvisor.records.backup import backup
    from mgadvisor.records.database import shown

    t = Translator(lang_of(ctx))
    url, _ = _with_url(lambda url: backup(url, output, force=force))
    typer.echo(t("{url}: backed up to {path}", url=shown(url), path=str(output)))


@app.command("restore")
def restore_cmd(
    ctx: typer.Context,
    source: Annotated[Path, typer.Argument(help=T("A file made by 'mgadvisor backup'."))],
    force: Annotated[
        bool,
        typer.Option("--force", help=T("Replace the contents of a database that is not empty.")),
    ] = False,
) -> None:
    """Restore the records database from a backup file (stop the app first)."""
    from mgadvisor.records.backup import restore
    from mgadvisor.records.database import head, shown

    t = Translator(lang_of(ctx))
    url, revision = _with_url(lambda url: restore(url, source, force=force))
    typer.echo(
        t(
            "{url}: restored from {path} (version {revision})",
            url=shown(url),
            path=str(source),
            revision=revision or t("none"),
        )
    )
    if revision != head():
        typer.echo(t("Run 'mgadvisor db upgrade' to migrate it."), err=True)
