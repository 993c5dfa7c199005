"""Open the records for a program that serves them (the web app, `mgadvisor users`).

SQLite is migrated on the spot (zero set-up); PostgreSQL must be at the newest version already
(the app's role may not migrate: `mgadvisor db upgrade` runs as the database's owner). The
cipher of the secrets at rest comes from MGADVISOR_RECORDS_KEY (see crypto.py).
"""

from __future__ import annotations

from cryptography.fernet import MultiFernet
from sqlalchemy import Engine

from mgadvisor.i18n import N_
from mgadvisor.records.errors import RecordsError


class NeedsUpgrade(RecordsError):  # noqa: N818 - reads as the situation it names
    """The database is behind the code's migrations."""

    msgid = N_(
        "the records database is at version {at}, this version of mgadvisor needs {newest}: "
        "run 'mgadvisor db upgrade' (as the database's owner) first"
    )

    def __init__(self, at: str | None, newest: str) -> None:
        self.params = {"at": at or "none", "newest": newest}
        super().__init__(self.msgid.format(**self.params))


def open_records(url: str | None = None) -> tuple[Engine, MultiFernet]:
    """The engine (default: MGADVISOR_DATABASE_URL, else the default SQLite file) and cipher.

    Raises:
        InvalidRecord: a database URL or key that is not valid (named).
        KeyMissing: no key for a database other than the default SQLite file.
        NeedsUpgrade: PostgreSQL not at the newest version.
    """
    from mgadvisor.records.crypto import load_cipher
    from mgadvisor.records.database import current, head, make_engine, upgrade

    engine = make_engine(url)
    try:
        if engine.url.get_backend_name() == "sqlite":
            upgrade(engine)
        else:
            at = current(engine)
            if at != head():
                raise NeedsUpgrade(at, head())
        return engine, load_cipher(engine.url)
    except BaseException:
        engine.dispose()
        raise
