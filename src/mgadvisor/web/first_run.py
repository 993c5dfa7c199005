"""The first run: the records are made at start, and while no user exists the server prints a
one-time set-up link (`http://127.0.0.1:8000/setup?code=…`, like Jupyter's token) where the
first admin and their practice are created. Without the code, and after its use, /setup is not
found.
"""

from __future__ import annotations

import hmac
import logging
import secrets
import sys

from fastapi import FastAPI

from mgadvisor.i18n import Translator, detect_lang
from mgadvisor.records.database import session_scope
from mgadvisor.records.errors import RecordsError
from mgadvisor.web.auth import start_records


def start(app: FastAPI) -> None:
    """At server start: make the records (SQLite migrated) and, with no user yet, print the
    set-up link. A database that needs `mgadvisor db upgrade`, or a missing key, stops the
    start with one line (the server's traceback of the stop is left out)."""
    t = Translator(detect_lang())
    try:
        start_records(app)
    except RecordsError as exc:
        print(f"mgadvisor: {exc.as_user_error().render(t)}", file=sys.stderr, flush=True)
        logging.getLogger("uvicorn.error").addFilter(_no_traceback)
        raise SystemExit(2) from None
    code = setup_code(app)
    if code:
        print(setup_line(app, code, t), file=sys.stderr, flush=True)


def setup_line(app: FastAPI, code: str, t: Translator) -> str:
    """What the console says while no user exists: the full set-up link (with host and port,
    so a terminal makes it clickable) when the app knows where it listens (`mgadvisor serve`,
    `make run`); under another server, the path to add to its address."""
    path = f"/setup?code={code}"
    base: str | None = getattr(app.state, "base_url", None)
    if base:
        return t(
            "No user yet. To create the first admin and the practice, open {url}",
            url=base + path,
        )
    return t(
        "No user yet. To create the first admin and the practice, open the address above "
        "followed by {path}",
        path=path,
    )


def _no_traceback(record: logging.LogRecord) -> bool:
    """Leave out the traceback uvicorn logs when the start is stopped on purpose."""
    return "Traceback (most recent call last)" not in str(record.msg)


def setup_code(app: FastAPI) -> str | None:
    """The set-up code while the database has no user (made once per process), else None."""
    from mgadvisor.records.accounts import any_user

    engine = start_records(app)
    with session_scope(engine) as session:
        if any_user(session):
            app.state.setup_code = None
            return None
    code: str | None = getattr(app.state, "setup_code", None)
    if code is None:
        code = app.state.setup_code = secrets.token_urlsafe(24)
    return code


def setup_open(app: FastAPI, given: str) -> bool:
    """Whether `given` is the set-up code and the set-up is still open."""
    code = setup_code(app)
    if not code or not given:
        return False
    return hmac.compare_digest(code.encode(), given.encode("utf-8", "replace"))


def setup_done(app: FastAPI) -> None:
    """The first admin exists: the code is used up."""
    app.state.setup_code = None
