"""Imported food tables, stored in SQLite in the user's data directory (platformdirs).

Each import is one transaction: a malformed file rolls back, so nothing imported earlier is
lost. A table is replaced only by a complete new import of the same source and version.

What is read back is checked again, for stores written by older versions: a row with an
amount that is not a number from 0 to 100,000 mg per 100 g (inf, nan) is left out, and
control characters in names and versions are written out, never passed to a terminal.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from mgadvisor.errors import printable
from mgadvisor.foods.catalog import CatalogFood, FoodCatalog

# The importers' bound (foods/importers.py), repeated in SQL: 100 g of pure mineral per 100 g.
_SANE_AMOUNTS = (
    "mg_per_100g BETWEEN 0 AND 100000 AND (ca_per_100g IS NULL OR ca_per_100g BETWEEN 0 AND 100000)"
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS source (
    id TEXT PRIMARY KEY,          -- e.g. 'nevo:NEVO2025 9.0'
    kind TEXT NOT NULL,           -- 'nevo' | 'usda'
    version TEXT NOT NULL,
    file TEXT NOT NULL,
    imported_at TEXT NOT NULL,
    rows INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS food (
    source_id TEXT NOT NULL REFERENCES source(id) ON DELETE CASCADE,
    code TEXT NOT NULL,
    name_nl TEXT NOT NULL,
    name_en TEXT NOT NULL,
    food_group TEXT NOT NULL,
    mg_per_100g REAL NOT NULL,
    ca_per_100g REAL,
    food_id TEXT NOT NULL,
    PRIMARY KEY (source_id, code)
);
"""


def data_dir() -> Path:
    """Where imported tables live: $MGADVISOR_DATA_DIR, else the platform's user data dir."""
    override = os.environ.get("MGADVISOR_DATA_DIR")
    if override:
        return Path(override)
    from platformdirs import user_data_dir

    return Path(user_data_dir("mgadvisor", appauthor=False))


@dataclass(frozen=True)
class SourceInfo:
    id: str
    kind: str
    version: str
    file: str
    imported_at: str
    rows: int


class FoodStore:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path or data_dir() / "foods.sqlite3"

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, isolation_level=None)  # transactions are explicit
        try:
            db.execute("PRAGMA foreign_keys = ON")
            db.executescript(SCHEMA)
            yield db
        finally:
            db.close()

    def replace(self, info: SourceInfo, rows: Iterable[CatalogFood]) -> int:
        """Store a complete table in one transaction; on any error nothing changes."""
        insert = "INSERT INTO food VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
        with self.connect() as db:
            try:
                db.execute("BEGIN")
                db.execute("DELETE FROM source WHERE id = ?", (info.id,))
                db.execute(
                    "INSERT INTO source VALUES (?, ?, ?, ?, ?, 0)",
                    (info.id, info.kind, info.version, info.file, info.imported_at),
                )
                count = 0
                for row in rows:  # a generator: a malformed line raises mid-way
                    db.execute(
                        insert,
                        (
                            info.id,
                            row.code,
                            row.name_nl,
                            row.name_en,
                            row.group,
                            row.mg_per_100g,
                            row.ca_per_100g,
                            row.source_food_id,
                        ),
                    )
                    count += 1
                db.execute("UPDATE source SET rows = ? WHERE id = ?", (count, info.id))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return count

    def sources(self) -> list[SourceInfo]:
        if not self.path.exists():
            return []
        with self.connect() as db:
            rows = db.execute(
                "SELECT id, kind, version, file, imported_at, rows FROM source ORDER BY imported_at"
            )
            return [
                SourceInfo(printable(i), k, printable(v), printable(f), at, n)
                for i, k, v, f, at, n in rows
            ]

    def foods(self) -> list[CatalogFood]:
        if not self.path.exists():
            return []
        with self.connect() as db:
            rows = db.execute(
                "SELECT code, name_nl, name_en, food_group, mg_per_100g, ca_per_100g, source_id,"
                f" food_id FROM food WHERE {_SANE_AMOUNTS} ORDER BY source_id, code"
            )
            return [
                CatalogFood(
                    printable(c), printable(nl), printable(en), printable(g), mg, ca, src, fid
                )
                for c, nl, en, g, mg, ca, src, fid in rows
            ]

    def catalog(self, base: FoodCatalog) -> FoodCatalog:
        """The bundled catalogue extended with every imported table."""
        return base.with_imported(self.foods(), [s.id for s in self.sources()])


def now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()
