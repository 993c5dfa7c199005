"""Practice records (issue 13): clients, visits and the audit trail, on SQLite or PostgreSQL.

Part 1 is the storage layer only: the models (:mod:`.models`), the migrations (run with
:func:`.database.upgrade`, the ``mgadvisor db upgrade`` command) and a small repository
(:mod:`.repository`) that reads a client only through a care relationship. Nothing here is used
by the web app or the existing commands yet (``docs/records.md`` lists what is still to build).
"""

from mgadvisor.records import rls as _rls  # noqa: F401  (sets the user of each transaction)
from mgadvisor.records.errors import InvalidRecord, NotFound, RecordsError

__all__ = ["InvalidRecord", "NotFound", "RecordsError"]
