"""Importers for the official food composition downloads.

- NEVO-online (RIVM): one CSV, pipe-delimited, decimal comma, UTF-8 possibly with a BOM; values
  quoted in 2025 v9.0, unquoted in 2023 v8.0; an empty value means "not analysed".
- USDA FoodData Central (CSV download): `food.csv` and `food_nutrient.csv` in one folder;
  magnesium is nutrient 1090 and calcium 1087, amounts per 100 g.

Rows are yielded lazily; a malformed line raises :class:`ImportFormatError` with its line
number, and the store's transaction then keeps what was imported before. Malformed means: a
row whose column count differs from the header's (a '|' in an unquoted name shifts every
later column: magnesium would be read from the phosphorus column), a code given twice, a
field over 128 KB, or an amount that is not a number from 0 to 100,000 mg per 100 g.
Control characters in names are written out (``\\x1b``), so no name can steer a terminal.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from mgadvisor.errors import UserInputError, printable, quote
from mgadvisor.foods.catalog import CatalogFood
from mgadvisor.i18n import N_

NEVO_CODE = "NEVO-code"
NEVO_NL = "Voedingsmiddelnaam/Dutch food name"
NEVO_EN = "Engelse naam/Food name"
NEVO_MG = "MG (mg)"
NEVO_CA = "CA (mg)"
NEVO_VERSION = "NEVO-versie/NEVO-version"
NEVO_GROUP = "Food group"
NEVO_QUANTITY = "Hoeveelheid/Quantity"
NEVO_REQUIRED = (NEVO_CODE, NEVO_NL, NEVO_EN, NEVO_MG, NEVO_CA)

NOT_A_NUMBER = N_("{file}, line {line}: column '{column}' should be a number, got {given}")
OUT_OF_RANGE = N_(
    "{file}, line {line}: column '{column}' should be at most {limit} mg per 100 g, got {given}"
)
DUPLICATE = N_("{file}, line {line}: code {code} appears twice (first on line {first})")
BAD_CSV = N_("{file}, line {line}: not a readable CSV line")
TOO_LONG = N_("{file}, line {line}: a field longer than {limit} characters")
MAX_MG_PER_100G = 100_000.0  # 100 g of pure mineral: anything above is not a food
FIELD_LIMIT = 128 * 1024  # csv's default limit per field (131,072 characters)

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
    """An amount per 100 g in NEVO (decimal comma) or FDC notation, from 0 to 100,000 (so
    never inf or nan); None when empty."""
    value = text.strip().strip('"').replace(",", ".")
    if not value:
        return None
    try:
        number = float(value)
    except ValueError:
        number = -1.0  # reported below, like a negative amount
    if not number >= 0:  # negative, text or nan (nan compares false)
        raise ImportFormatError(
            NOT_A_NUMBER, file=file, line=line, column=column, given=quote(text)
        )
    if number > MAX_MG_PER_100G:  # also inf and 1e308
        raise ImportFormatError(
            OUT_OF_RANGE,
            file=file,
            line=line,
            column=column,
            limit="100000",
            given=quote(text),
        )
    return number


def _name(text: str) -> str:
    return printable(text.strip().strip('"'))


# NEVO's quantity column says what the amounts are per ("per 100g", "per 100ml") in every row.
_PER_AMOUNT = re.compile(r'"?per\s*\d')


def _records(
    reader: Iterable[list[str]], stream: _Counting, file: str
) -> Iterator[tuple[int, list[str], str]]:
    """(line, fields, raw text) per CSV record; a broken record is one line of error."""
    line = 2
    iterator = iter(reader)
    while True:
        try:
            fields = next(iterator)
        except StopIteration:
            return
        except csv.Error as exc:
            raise _csv_error(exc, file, line) from None
        raw = "".join(stream.taken)
        stream.taken.clear()
        yield line, fields, raw
        line += raw.count("\n") or 1


def _csv_error(exc: csv.Error, file: str, line: int) -> ImportFormatError:
    """csv's own (English) complaint as one of ours: a field over the limit, or a bad line."""
    if "field larger than field limit" in str(exc):
        return ImportFormatError(TOO_LONG, file=file, line=line, limit=FIELD_LIMIT)
    return ImportFormatError(BAD_CSV, file=file, line=line)


class _Duplicates:
    """Codes seen so far, with their line: a second row for a code is an error."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.first: dict[str, int] = {}

    def check(self, code: str, line: int) -> None:
        first = self.first.setdefault(code, line)
        if first != line:
            raise ImportFormatError(
                DUPLICATE, file=self.file, line=line, code=quote(code), first=first
            )


class _Counting(io.TextIOBase):
    """A text stream that reports how many bytes were read (for the progress bar)."""

    def __init__(self, path: Path, progress: Progress | None) -> None:
        self._raw = path.open("rb")
        self._text = io.TextIOWrapper(self._raw, encoding="utf-8-sig", newline="")
        self._progress = progress
        self.taken: list[str] = []  # the lines read since the consumer last cleared it

    def readline(self, size: int | None = -1) -> str:  # type: ignore[override]
        line = self._text.readline(size if size is not None else -1)
        self.taken.append(line)
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
        try:
            header = next(csv.reader(handle, delimiter="|"), [])
        except csv.Error as exc:
            raise _csv_error(exc, name, 1) from None
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
        seen = _Duplicates(name)
        try:
            reader = csv.reader(stream, delimiter="|")
            next(reader, None)  # the header, checked above
            stream.taken.clear()
            for line, fields, _raw in _records(reader, stream, name):
                if not any(f.strip() for f in fields):
                    continue  # an empty line
                _check_columns(fields, header, name, line)
                row = dict(zip(header, fields, strict=False))
                code = row[NEVO_CODE].strip().strip('"')
                if not code.isdigit():
                    raise ImportFormatError(
                        NOT_A_NUMBER,
                        file=name,
                        line=line,
                        column=NEVO_CODE,
                        given=quote(code),
                    )
                seen.check(code, line)
                mg = _number(row[NEVO_MG], name, line, NEVO_MG)
                if mg is None:
                    continue  # not analysed: no row rather than a false zero
                group = _name(row.get(NEVO_GROUP) or "other") or "other"
                yield CatalogFood(
                    code=f"nevo_{code}",
                    name_nl=_name(row[NEVO_NL]),
                    name_en=_name(row[NEVO_EN]),
                    group=group,
                    mg_per_100g=mg,
                    ca_per_100g=_number(row[NEVO_CA], name, line, NEVO_CA),
                    source=f"nevo:{version}",
                    source_food_id=code,
                )
        finally:
            stream.close()

    version = _nevo_version(path) or printable(path.stem)
    return Table("nevo", version, rows(), path.stat().st_size)


def _check_columns(fields: list[str], header: list[str], file: str, line: int) -> None:
    """The row has the header's columns. One empty field more may be a trailing '|' (some NEVO
    rows end with one), or a '|' inside a name that shifted every later column by one (then
    magnesium would be read from the phosphorus column). It counts as a trailing '|' only
    when the columns after the names are still in place: the quantity column says "per 100g"
    in every NEVO row, and after a shift it holds the synonym or a piece of a name instead."""
    found, expected = len(fields), len(header)
    trailing = (
        found == expected + 1
        and not fields[-1].strip()
        and NEVO_QUANTITY in header
        and _PER_AMOUNT.match(fields[header.index(NEVO_QUANTITY)].strip()) is not None
    )
    if found != expected and not trailing:
        raise ImportFormatError(
            N_(
                "{file}, line {line}: expected {expected} columns, found {found}"
                " (a '|' inside an unquoted value?)"
            ),
            file=file,
            line=line,
            expected=expected,
            found=found,
        )


def _nevo_version(path: Path) -> str | None:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle, delimiter="|")
        try:
            first = next(reader, None)
        except csv.Error:
            return None  # the rows report it, with the line
    if first and first.get(NEVO_VERSION):
        return _name(str(first[NEVO_VERSION]))[:120]
    return None


def usda(folder: Path, progress: Progress | None = None) -> Table:
    """A FoodData Central CSV download (food.csv + food_nutrient.csv): codes `fdc_<fdc_id>`."""
    food_csv, nutrient_csv = folder / "food.csv", folder / "food_nutrient.csv"
    for needed in (food_csv, nutrient_csv):
        if not needed.is_file():
            raise ImportFormatError(N_("file not found: {path}"), path=str(needed))
    names: dict[str, str] = {}
    seen_foods = _Duplicates("food.csv")
    stream = _Counting(food_csv, None)
    try:
        for line, row in _csv_rows(stream, "food.csv", ("fdc_id", "description")):
            seen_foods.check(row["fdc_id"], line)
            names[row["fdc_id"]] = _name(row["description"])
    finally:
        stream.close()
    version = _fdc_version(food_csv)

    def rows() -> Iterator[CatalogFood]:
        amounts: dict[str, dict[str, float]] = {}
        seen = _Duplicates("food_nutrient.csv")
        stream = _Counting(nutrient_csv, progress)
        try:
            needed = ("fdc_id", "nutrient_id", "amount")
            for line, row in _csv_rows(stream, "food_nutrient.csv", needed):
                nutrient = row["nutrient_id"].strip()
                if nutrient not in (FDC_MAGNESIUM, FDC_CALCIUM):
                    continue
                seen.check(f"{row['fdc_id']}/{nutrient}", line)
                amount = _number(row["amount"], "food_nutrient.csv", line, "amount")
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
                source_food_id=printable(fdc_id),
            )

    return Table("usda", version, rows(), nutrient_csv.stat().st_size)


def _csv_rows(
    stream: _Counting, file: str, needed: tuple[str, ...]
) -> Iterator[tuple[int, dict[str, str]]]:
    """(line, row) of a comma-separated file with a header naming `needed` columns; every row
    has the header's number of columns."""
    reader = csv.reader(stream)
    try:
        header = next(reader, [])
    except csv.Error as exc:
        raise _csv_error(exc, file, 1) from None
    stream.taken.clear()
    for column in needed:
        if column not in header:
            raise ImportFormatError(
                N_("{file}, line 1: missing column '{column}'"), file=file, column=column
            )
    for line, fields, _raw in _records(reader, stream, file):
        if not fields:
            continue  # an empty line
        if len(fields) != len(header):
            raise ImportFormatError(
                N_("{file}, line {line}: expected {expected} columns, found {found}"),
                file=file,
                line=line,
                expected=len(header),
                found=len(fields),
            )
        yield line, dict(zip(header, fields, strict=True))


def _fdc_version(food_csv: Path) -> str:
    with food_csv.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        first = next(reader, None)
    if first and first.get("publication_date"):
        text = f"FDC {first.get('data_type') or ''} {first['publication_date']}".strip()
        return printable(text)[:120]
    return "FDC"
