"""Importers for the official food composition downloads.

- NEVO-online (RIVM): one CSV, pipe-delimited, decimal comma, UTF-8 possibly with a BOM; values
  quoted in 2025 v9.0, unquoted in 2023 v8.0; an empty value means "not analysed".
- USDA FoodData Central (CSV download): `food.csv` and `food_nutrient.csv` in one folder;
  magnesium is nutrient 1090 and calcium 1087, amounts per 100 g.

Rows are yielded lazily; a malformed line raises :class:`ImportFormatError` with its line
number, and the store's transaction then keeps what was imported before.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from mgadvisor.errors import UserInputError
from mgadvisor.foods.catalog import CatalogFood
from mgadvisor.i18n import N_

NEVO_CODE = "NEVO-code"
NEVO_NL = "Voedingsmiddelnaam/Dutch food name"
NEVO_EN = "Engelse naam/Food name"
NEVO_MG = "MG (mg)"
NEVO_CA = "CA (mg)"
NEVO_VERSION = "NEVO-versie/NEVO-version"
NEVO_GROUP = "Food group"
NEVO_REQUIRED = (NEVO_CODE, NEVO_NL, NEVO_EN, NEVO_MG, NEVO_CA)

NOT_A_NUMBER = N_("{file}, line {line}: column '{column}' should be a number, got '{given}'")

FDC_MAGNESIUM = "1090"
FDC_CALCIUM = "1087"

Progress = Callable[[int], None]  # called with bytes read so far


class ImportFormatError(UserInputError):
    """A file that does not follow the official format (with the line number)."""


@dataclass(frozen=True)
class Table:
    kind: str
    version: str
    rows: Iterator[CatalogFood]
    size: int  # bytes, for a progress bar


def _number(text: str, file: str, line: int, column: str) -> float | None:
    """A non-negative amount in NEVO (decimal comma) or FDC notation; None when empty."""
    value = text.strip().strip('"').replace(",", ".")
    if not value:
        return None
    try:
        number = float(value)
    except ValueError:
        number = -1.0  # reported below, like a negative amount
    if not number >= 0:
        raise ImportFormatError(NOT_A_NUMBER, file=file, line=line, column=column, given=text)
    return number


class _Counting(io.TextIOBase):
    """A text stream that reports how many bytes were read (for the progress bar)."""

    def __init__(self, path: Path, progress: Progress | None) -> None:
        self._raw = path.open("rb")
        self._text = io.TextIOWrapper(self._raw, encoding="utf-8-sig", newline="")
        self._progress = progress

    def readline(self, size: int | None = -1) -> str:  # type: ignore[override]
        line = self._text.readline(size if size is not None else -1)
        if self._progress is not None:
            self._progress(self._raw.tell())
        return line

    def __iter__(self) -> Iterator[str]:  # type: ignore[override]
        while line := self.readline():
            yield line

    def close(self) -> None:
        self._text.close()


def nevo(path: Path, progress: Progress | None = None) -> Table:
    """A NEVO-online CSV as a table of foods (codes `nevo_<NEVO-code>`)."""
    name = path.name
    if not path.is_file():
        raise ImportFormatError(N_("file not found: {path}"), path=str(path))
    with path.open(encoding="utf-8-sig", newline="") as handle:
        header = next(csv.reader(handle, delimiter="|"), [])
    missing = [c for c in NEVO_REQUIRED if c not in header]
    if missing:
        raise ImportFormatError(
            N_(
                "{file}, line 1: not a NEVO-online CSV (pipe-delimited); missing columns: {columns}"
            ),
            file=name,
            columns=", ".join(missing),
        )

    def rows() -> Iterator[CatalogFood]:
        stream = _Counting(path, progress)
        try:
            reader = csv.DictReader(stream, delimiter="|")
            for line, row in enumerate(reader, start=2):
                extra = row.pop(None, None) or []
                # NEVO rows may end with one trailing '|': an empty extra field is harmless.
                short = sum(v is None for v in row.values())
                if short or any(str(e).strip() for e in extra):
                    raise ImportFormatError(
                        N_("{file}, line {line}: expected {expected} columns, found {found}"),
                        file=name,
                        line=line,
                        expected=len(header),
                        found=len(header) - short + len(extra),
                    )
                code = row[NEVO_CODE].strip().strip('"')
                if not code.isdigit():
                    raise ImportFormatError(
                        NOT_A_NUMBER,
                        file=name,
                        line=line,
                        column=NEVO_CODE,
                        given=code,
                    )
                mg = _number(row[NEVO_MG], name, line, NEVO_MG)
                if mg is None:
                    continue  # not analysed: no row rather than a false zero
                group = (row.get(NEVO_GROUP) or "other").strip().strip('"') or "other"
                yield CatalogFood(
                    code=f"nevo_{code}",
                    name_nl=row[NEVO_NL].strip().strip('"'),
                    name_en=row[NEVO_EN].strip().strip('"'),
                    group=group,
                    mg_per_100g=mg,
                    ca_per_100g=_number(row[NEVO_CA], name, line, NEVO_CA),
                    source=f"nevo:{version}",
                    source_food_id=code,
                )
        finally:
            stream.close()

    version = _nevo_version(path) or path.stem
    return Table("nevo", version, rows(), path.stat().st_size)


def _nevo_version(path: Path) -> str | None:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle, delimiter="|")
        first = next(reader, None)
    if first and first.get(NEVO_VERSION):
        return str(first[NEVO_VERSION]).strip().strip('"')
    return None


def usda(folder: Path, progress: Progress | None = None) -> Table:
    """A FoodData Central CSV download (food.csv + food_nutrient.csv): codes `fdc_<fdc_id>`."""
    food_csv, nutrient_csv = folder / "food.csv", folder / "food_nutrient.csv"
    for needed in (food_csv, nutrient_csv):
        if not needed.is_file():
            raise ImportFormatError(N_("file not found: {path}"), path=str(needed))
    names: dict[str, str] = {}
    with food_csv.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        for column in ("fdc_id", "description"):
            if column not in (reader.fieldnames or []):
                raise ImportFormatError(
                    N_("{file}, line 1: missing column '{column}'"), file="food.csv", column=column
                )
        for row in reader:
            names[row["fdc_id"]] = row["description"]
    version = _fdc_version(food_csv)

    def rows() -> Iterator[CatalogFood]:
        amounts: dict[str, dict[str, float]] = {}
        stream = _Counting(nutrient_csv, progress)
        try:
            reader = csv.DictReader(stream)
            for column in ("fdc_id", "nutrient_id", "amount"):
                if column not in (reader.fieldnames or []):
                    raise ImportFormatError(
                        N_("{file}, line 1: missing column '{column}'"),
                        file="food_nutrient.csv",
                        column=column,
                    )
            for line, row in enumerate(reader, start=2):
                nutrient = (row.get("nutrient_id") or "").strip()
                if nutrient not in (FDC_MAGNESIUM, FDC_CALCIUM):
                    continue
                amount = _number(row.get("amount") or "", "food_nutrient.csv", line, "amount")
                if amount is not None:
                    amounts.setdefault(row["fdc_id"], {})[nutrient] = amount
        finally:
            stream.close()
        for fdc_id, values in amounts.items():
            if FDC_MAGNESIUM not in values or fdc_id not in names:
                continue
            yield CatalogFood(
                code=f"fdc_{fdc_id}",
                name_nl=names[fdc_id],  # FoodData Central has English names only
                name_en=names[fdc_id],
                group="other",
                mg_per_100g=values[FDC_MAGNESIUM],
                ca_per_100g=values.get(FDC_CALCIUM),
                source=f"usda:{version}",
                source_food_id=fdc_id,
            )

    return Table("usda", version, rows(), nutrient_csv.stat().st_size)


def _fdc_version(food_csv: Path) -> str:
    with food_csv.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        first = next(reader, None)
    if first and first.get("publication_date"):
        return f"FDC {first.get('data_type', '')} {first['publication_date']}".strip()
    return "FDC"
