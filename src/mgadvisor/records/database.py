"""Which database, how to connect, and the migrations run in-process (no alembic.ini).

Default: SQLite in the user's data directory (``$MGADVISOR_DATA_DIR``, else platformdirs), file
mode 0600, WAL, ``foreign_keys=ON``, ``synchronous=FULL``. ``MGADVISOR_DATABASE_URL`` chooses
another database: ``sqlite:///PATH`` or ``postgresql+psycopg://USER@HOST/NAME``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session

from mgadvisor.i18n import N_
from mgadvisor.records.errors import InvalidRecord

ENV_URL = "MGADVISOR_DATABASE_URL"
SQLITE_FILE = "records.sqlite3"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
APP_ROLE = "mgadvisor_app"  # PostgreSQL: the role the app runs as (owns no table)
SUPPORTED = N_("sqlite:///PATH or postgresql+psycopg://USER@HOST/NAME")
READ_ONLY = "mgadvisor_read_only"  # execution option: a SQLite transaction that only reads


def data_dir() -> Path:
    """$MGADVISOR_DATA_DIR, else the platform's user data directory."""
    override = os.environ.get("MGADVISOR_DATA_DIR")
    if override:
        return Path(override)
    from platformdirs import user_data_dir

    return Path(user_data_dir("mgadvisor", appauthor=False))


def database_url(value: str | None = None) -> URL:
    """The database to use: `value`, else $MGADVISOR_DATABASE_URL, else the default SQLite file.

    Raises InvalidRecord (naming the variable) for a URL of another kind of database.
    """
    text = value if value is not None else os.environ.get(ENV_URL, "").strip()
    if not text:
        return make_url(f"sqlite:///{data_dir() / SQLITE_FILE}")
    try:
        url = make_url(text)
    except ArgumentError:
        raise InvalidRecord(ENV_URL, SUPPORTED, _hidden(text)) from None
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    if url.drivername not in ("sqlite", "sqlite+pysqlite", "postgresql+psycopg"):
        raise InvalidRecord(ENV_URL, SUPPORTED, url.render_as_string(hide_password=True))
    if url.get_backend_name() == "sqlite" and not url.database:
        raise InvalidRecord(ENV_URL, N_("a file path (no in-memory database)"), str(url))
    return url


def _hidden(text: str) -> str:
    """A URL for a message: anything between '//' and '@' is left out (it may hold a password)."""
    head, sep, rest = text.partition("//")
    return head + sep + ("…@" + rest.split("@", 1)[1] if "@" in rest else rest)


def shown(url: URL) -> str:
    """The URL as it may be printed: without the password."""
    return url.render_as_string(hide_password=True)


def _sqlite_file(path: Path) -> None:
    """Create the SQLite file with mode 0600 (its folder 0700) before SQLite opens it."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    os.close(fd)
    os.chmod(path, 0o600)  # also when it existed with wider rights


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # no BEGIN from pysqlite: see _sqlite_begin_immediate
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA busy_timeout=5000")
    finally:
        cursor.close()


def _sqlite_begin_immediate(connection: Any) -> None:
    """Every transaction takes the write lock at its start (SQLAlchemy's documented pattern:
    pysqlite's own BEGIN is turned off in `_sqlite_pragmas`), so that the audit chain's last
    record is read under the lock that its next record is written under. A transaction on an
    engine with the execution option READ_ONLY (`engine.execution_options(**{READ_ONLY:
    True})`) begins DEFERRED instead: a long read (an export) then never blocks the writers."""
    read_only = connection.get_execution_options().get(READ_ONLY, False)
    connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def make_engine(url: URL | str | None = None, **kwargs: Any) -> Engine:
    """An engine for `url` (default: :func:`database_url`), set up for the records."""
    resolved = database_url(url) if isinstance(url, str) or url is None else url
    if resolved.get_backend_name() == "sqlite":
        assert resolved.database is not None
        _sqlite_file(Path(resolved.database))
        engine = create_engine(resolved, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin_immediate)
        return engine
    return create_engine(resolved, pool_pre_ping=True, **kwargs)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session in one transaction: committed at the end, rolled back on an error."""
    # What sessionmaker(...).begin() does, without making a new Session subclass (and copying
    # the class's event listeners to it) on every call: ~0.2 ms per transaction.
    with Session(engine, expire_on_commit=False) as session, session.begin():
        yield session


def _alembic_config(engine: Engine) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> str | None:
    """Migrate the database to `revision` (default: the newest); returns the revision reached."""
    from alembic import command

    command.upgrade(_alembic_config(engine), revision)
    return current(engine)


def current(engine: Engine) -> str | None:
    """The database's revision, or None for a database no migration has touched."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head() -> str:
    """The newest revision the code knows."""
    from alembic.script import ScriptDirectory

    found = ScriptDirectory.from_config(
        _alembic_config(create_engine("sqlite://"))
    ).get_current_head()
    assert found is not None
    return found
