"""Shared fixtures: the bundled knowledge base, loaded once per session."""

from __future__ import annotations

from typing import Any

import pytest

from mgadvisor.kb import KnowledgeBase, load_knowledge

pytest_plugins = ["case_plugin"]


@pytest.fixture(scope="session")
def kb() -> KnowledgeBase:
    return load_knowledge()


@pytest.fixture(scope="session", autouse=True)
def _data_dir(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """No test touches the user's real data folder (records, key file, food tables): the data
    directory is a temporary folder for the whole run (a test may still point it elsewhere)."""
    import os

    folder = tmp_path_factory.mktemp("data")
    before = os.environ.get("MGADVISOR_DATA_DIR")
    os.environ["MGADVISOR_DATA_DIR"] = str(folder)
    yield folder
    if before is None:
        os.environ.pop("MGADVISOR_DATA_DIR", None)
    else:
        os.environ["MGADVISOR_DATA_DIR"] = before


# -- records (issue 13): every records test on SQLite and on PostgreSQL ---------------------
# PostgreSQL: 127.0.0.1:5432, user postgres, trust auth; each test gets a new database with a
# random name, dropped after it. Unreachable: a failure in CI ($CI set), else a loud skip.
PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
_PG_NOT_RUN: list[str] = []


def _pg_unreachable() -> str | None:
    import os

    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import OperationalError

    admin = create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
    try:
        with admin.connect() as connection:
            connection.execute(text("SELECT 1"))
    except OperationalError as exc:
        reason = f"PostgreSQL at 127.0.0.1:5432 is unreachable ({str(exc).splitlines()[0]})"
        if os.environ.get("CI"):
            pytest.fail(reason + ": the records tests must run on PostgreSQL in CI")
        _PG_NOT_RUN.append(reason)
        return reason
    finally:
        admin.dispose()
    return None


@pytest.fixture
def records_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The URL of a new, empty database of each kind (`sqlite`, `postgresql`) for one test."""
    import secrets

    from sqlalchemy import create_engine, text

    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('records') / 'records.sqlite3'}"
        return
    reason = _pg_unreachable()
    if reason:
        pytest.skip(reason + ": the PostgreSQL half of the records tests was NOT run")
    name = f"mgadvisor_test_{secrets.token_hex(6)}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name}"))
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


@pytest.fixture
def engine(records_url: str) -> Any:
    """A migrated records engine on a new database of each kind (a test file may define its
    own `engine`, e.g. an empty database for the migration tests)."""
    from mgadvisor.records.database import make_engine, upgrade

    engine = make_engine(records_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def owner(engine: Any) -> Any:
    """The migrated records engine as the database's owner (the role that ran the migrations),
    next to the app's roles of the row-level-security tests."""
    return engine


@pytest.fixture
def app_as(records_url: str, owner: Any) -> Any:
    """PostgreSQL only: `app_as(**engine_options)` gives an engine logged in as a new user in
    the app's role (row-level security applies); the users are dropped after the test."""
    from mgadvisor.records.database import APP_ROLE
    from records_support import drop_role, login_role

    if not records_url.startswith("postgresql"):
        pytest.skip("row-level security exists on PostgreSQL only")
    made: list[tuple[str, Any]] = []

    def make(**engine_options: Any) -> Any:
        login, app = login_role(owner, f"IN ROLE {APP_ROLE}", **engine_options)
        made.append((login, app))
        return app

    yield make
    for login, app in made:
        drop_role(owner, login, app)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "records_url" in metafunc.fixturenames:
        metafunc.parametrize("records_url", ["sqlite", "postgresql"], indirect=True)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _PG_NOT_RUN:
        terminalreporter.write_line(
            f"!!! The PostgreSQL half of the records tests was NOT run: {_PG_NOT_RUN[0]}",
            red=True,
            bold=True,
        )
