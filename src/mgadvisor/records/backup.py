"""Back up and restore the records database (`mgadvisor backup` / `mgadvisor restore`).

- SQLite: SQLite's online backup API, so the copy is consistent while the app writes; the copy
  is one self-contained file (journal mode DELETE), mode 0600, checked with
  ``PRAGMA integrity_check`` before it replaces the output file.
- PostgreSQL: ``pg_dump --format=custom`` (written straight into a 0600 file) and
  ``pg_restore --clean --if-exists --single-transaction``; both found on PATH. Row-level
  security (migration 0003) hides rows from every role but a superuser or a BYPASSRLS role,
  so run these as one of those (docs/deployment.md).

A restore refuses a database that holds any row unless `force` is given, and writes a
``records.restore`` event to the audit log afterwards (the log itself went back to the backup).
Errors are :class:`mgadvisor.errors.UserInputError` (one line, no password).
"""

from __future__ import annotations

import os
import secrets
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

from sqlalchemy import Engine, inspect, text
from sqlalchemy.engine import URL

from mgadvisor.errors import UserInputError
from mgadvisor.i18n import N_
from mgadvisor.records.database import current, head, make_engine, session_scope, shown

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_MAGIC = b"PGDMP"
NOT_DATA = ("alembic_version",)


def backup(url: URL, out: Path, *, force: bool = False) -> str:
    """Write a backup of the database at `url` to `out`; returns its kind (sqlite/postgresql)."""
    if out.exists() and not force:
        raise UserInputError(N_("{path} exists; give --force to overwrite it"), path=str(out))
    if not out.parent.is_dir():
        raise UserInputError(N_("folder {path} does not exist"), path=str(out.parent))
    part = out.with_name(f".{out.name}.{secrets.token_hex(4)}.part")
    try:
        if url.get_backend_name() == "sqlite":
            _sqlite_backup(_sqlite_path(url), part)
        else:
            _pg_dump(url, part)
        os.replace(part, out)
    finally:
        part.unlink(missing_ok=True)
    return url.get_backend_name()


def restore(url: URL, source: Path, *, force: bool = False) -> str | None:
    """Replace the database at `url` by the backup `source`; returns the revision restored."""
    kind = _backup_kind(source)
    if kind != url.get_backend_name():
        raise UserInputError(
            N_("{path} is a {kind} backup; the database {url} is not"),
            path=str(source),
            kind=kind,
            url=shown(url),
        )
    engine = make_engine(url)
    try:
        if not force and not _empty(engine):
            raise UserInputError(
                N_("the database {url} is not empty; give --force to replace its contents"),
                url=shown(url),
            )
        if kind == "sqlite":
            _sqlite_restore(source, _sqlite_path(url))
        else:
            _pg_restore(url, source)
        revision = current(engine)
        if revision == head():  # an older backup is logged after `mgadvisor db upgrade`
            _log_restore(engine, revision)
        return revision
    finally:
        engine.dispose()


# -- SQLite ----------------------------------------------------------------------------------


def _sqlite_path(url: URL) -> Path:
    assert url.database is not None  # database_url refuses an SQLite URL without a path
    return Path(url.database)


@contextmanager
def _sqlite(path: Path, *, readonly: bool = False) -> Iterator[sqlite3.Connection]:
    uri = f"{path.resolve().as_uri()}?mode={'ro' if readonly else 'rw'}"
    try:
        connection = sqlite3.connect(uri, uri=True)
    except sqlite3.Error as exc:
        raise UserInputError(
            N_("cannot open {path}: {reason}"), path=str(path), reason=str(exc)
        ) from None
    with closing(connection):
        yield connection


def _check_integrity(connection: sqlite3.Connection, path: Path) -> None:
    try:
        found = connection.execute("PRAGMA integrity_check").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        found = str(exc)
    if found != "ok":
        raise UserInputError(
            N_("{path} failed the integrity check: {reason}"), path=str(path), reason=found
        )


def _sqlite_backup(database: Path, part: Path) -> None:
    if not database.is_file():
        raise UserInputError(N_("there is no database at {path}"), path=str(database))
    os.close(os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    with _sqlite(database) as source, _sqlite(part) as copy:
        source.execute("PRAGMA busy_timeout=5000")
        source.backup(copy)  # a consistent snapshot, also while the app writes
        copy.execute("PRAGMA journal_mode=DELETE")  # one file, no -wal beside it
        _check_integrity(copy, part)
    os.chmod(part, 0o600)


def _sqlite_restore(source: Path, database: Path) -> None:
    with _sqlite(source, readonly=True) as backup_db:
        _check_integrity(backup_db, source)
        tables = {row[0] for row in backup_db.execute("SELECT name FROM sqlite_master")}
        if "alembic_version" not in tables:
            raise UserInputError(
                N_("{path} is not a backup of the records (no version table)"), path=str(source)
            )
        with _sqlite(database) as target:
            target.execute("PRAGMA busy_timeout=5000")
            backup_db.backup(target)
            _check_integrity(target, database)


# -- PostgreSQL ------------------------------------------------------------------------------


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise UserInputError(
            N_("{tool} was not found on PATH; install the PostgreSQL client tools"), tool=name
        )
    return found


def _libpq_env(url: URL) -> dict[str, str]:
    """The connection as libpq's variables (the password never on a command line)."""
    env = dict(os.environ)
    for name, value in (
        ("PGHOST", url.host),
        ("PGPORT", url.port),
        ("PGUSER", url.username),
        ("PGPASSWORD", url.password),
        ("PGDATABASE", url.database),
    ):
        if value is not None:
            env[name] = str(value)
    return env


def _run(command: list[str], url: URL, **kwargs: object) -> None:
    done = subprocess.run(  # a tool from PATH, our own arguments, no shell
        command,
        env=_libpq_env(url),
        stderr=subprocess.PIPE,
        text=True,
        check=False,
        **kwargs,  # type: ignore[call-overload]
    )
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        if "row-level security" in done.stderr:
            raise UserInputError(
                N_(
                    "{tool} cannot read every row as {user}: row-level security hides them; "
                    "run it as a superuser or a BYPASSRLS role (docs/deployment.md)"
                ),
                tool=Path(command[0]).name,
                user=url.username or "",
            )
        raise UserInputError(
            N_("{tool} failed for {url}: {reason}"),
            tool=Path(command[0]).name,
            url=shown(url),
            reason=lines[0] if lines else f"exit {done.returncode}",
        )


def _pg_dump(url: URL, part: Path) -> None:
    pg_dump = _tool("pg_dump")
    fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        _run([pg_dump, "--format=custom", "--no-password"], url, stdout=out)


def _pg_restore(url: URL, source: Path) -> None:
    pg_restore = _tool("pg_restore")
    command = [pg_restore, "--clean", "--if-exists", "--single-transaction", "--exit-on-error"]
    _run([*command, "--no-password", f"--dbname={url.database}", str(source)], url)


# -- both --------------------------------------------------------------------------------------


def _backup_kind(source: Path) -> str:
    try:
        with source.open("rb") as handle:
            head = handle.read(len(SQLITE_MAGIC))
    except OSError as exc:
        raise UserInputError(
            N_("cannot read {path}: {reason}"), path=str(source), reason=exc.strerror
        ) from None
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PG_MAGIC):
        return "postgresql"
    raise UserInputError(
        N_("{path} is not a backup made by 'mgadvisor backup' (SQLite file or pg_dump archive)"),
        path=str(source),
    )


def _empty(engine: Engine) -> bool:
    """True when no table of the database holds a row (a migrated, unused database is empty)."""
    names = [name for name in inspect(engine).get_table_names() if name not in NOT_DATA]
    with engine.connect() as connection:
        for name in names:
            quoted = engine.dialect.identifier_preparer.quote(name)
            if connection.execute(text(f"SELECT 1 FROM {quoted} LIMIT 1")).first():
                return False
    return True


def _log_restore(engine: Engine, revision: str | None) -> None:
    from mgadvisor.records.audit import record

    with session_scope(engine) as session:
        record(
            session,
            None,
            "records.restore",
            "E",
            object_type="database",
            details={"revision": revision},
        )
