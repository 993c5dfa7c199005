"""Login roles for the PostgreSQL row-level-security tests: a role that logs in (in the app's
group, or with other grants), an engine for it, and its removal with everything it owns."""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import Engine, create_engine, text


def login_role(owner: Engine, *grants: str, **engine_options: Any) -> tuple[str, Engine]:
    """A new login role (`CREATE ROLE ... LOGIN <grants>`) and an engine connecting as it."""
    login = f"mgadvisor_t_{secrets.token_hex(5)}"
    with owner.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text(f"CREATE ROLE {login} LOGIN " + " ".join(grants)))
    return login, create_engine(owner.url.set(username=login), **engine_options)


def drop_role(owner: Engine, login: str, engine: Engine) -> None:
    """Close the role's engine, then drop what it owns or was granted, and the role."""
    engine.dispose()
    with owner.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text(f"DROP OWNED BY {login}"))
        connection.execute(text(f"DROP ROLE {login}"))
