"""Food importers on fixture files in the official formats; the SQLite store; the catalogue."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mgadvisor.foods import importers
from mgadvisor.foods.catalog import FoodCatalog
from mgadvisor.foods.store import FoodStore, SourceInfo, now
from mgadvisor.kb import KnowledgeBase

FIXTURES = Path(__file__).parent / "fixtures"


def test_nevo_2025_format(tmp_path: Path) -> None:
    table = importers.nevo(FIXTURES / "nevo" / "NEVO2025_test.csv")
    rows = {row.code: row for row in table.rows}
    assert table.version == "NEVO-Online 2025 9.0"
    # Decimal comma, quoted numbers, BOM, a trailing '|': 250,5 -> 250.5.
    assert rows["nevo_9001"].mg_per_100g == 250.5 and rows["nevo_9001"].ca_per_100g == 120
    assert rows["nevo_9001"].name_nl == "Testnoten ongezouten"
    assert rows["nevo_9001"].name_en == "Test nuts unsalted"
    # A food with magnesium "not analysed" is left out rather than counted as zero.
    assert "nevo_9003" not in rows


def test_nevo_2023_format_unquoted() -> None:
    table = importers.nevo(FIXTURES / "nevo" / "NEVO2023_test.csv")
    rows = list(table.rows)
    assert table.version == "NEVO-Online 2023 8.0"
    assert [(r.code, r.mg_per_100g) for r in rows] == [("nevo_9101", 66.5)]


def test_malformed_nevo_names_the_line_and_keeps_earlier_imports(tmp_path: Path) -> None:
    store = FoodStore(tmp_path / "foods.sqlite3")
    good = importers.nevo(FIXTURES / "nevo" / "NEVO2023_test.csv")
    store.replace(SourceInfo("nevo:2023", "nevo", good.version, "a.csv", now(), 0), good.rows)
    bad = importers.nevo(FIXTURES / "nevo" / "NEVO2025_bad_number.csv")
    with pytest.raises(importers.ImportFormatError) as caught:
        store.replace(SourceInfo("nevo:2025", "nevo", bad.version, "b.csv", now(), 0), bad.rows)
    assert "line 3" in str(caught.value) and "veertig" in str(caught.value)
    # Nothing of the failed import is stored, and the earlier table is intact.
    assert [s.id for s in store.sources()] == ["nevo:2023"]
    assert [f.code for f in store.foods()] == ["nevo_9101"]


def test_not_a_nevo_file(tmp_path: Path) -> None:
    other = tmp_path / "other.csv"
    other.write_text("a,b,c\n1,2,3\n", encoding="utf-8")
    with pytest.raises(importers.ImportFormatError, match="line 1: not a NEVO-online CSV"):
        importers.nevo(other)


def test_usda_download() -> None:
    table = importers.usda(FIXTURES / "usda")
    rows = {row.code: row for row in table.rows}
    assert rows["fdc_9000001"].mg_per_100g == 592 and rows["fdc_9000001"].ca_per_100g == 46
    assert rows["fdc_9000002"].mg_per_100g == 79
    assert "fdc_9000003" not in rows  # no magnesium value: not a row
    assert table.version == "FDC sr_legacy_food 2019-04-01"


def test_usda_missing_file(tmp_path: Path) -> None:
    with pytest.raises(importers.ImportFormatError, match="file not found"):
        importers.usda(tmp_path)


def test_reimport_replaces_the_same_version(tmp_path: Path) -> None:
    store = FoodStore(tmp_path / "foods.sqlite3")
    for _ in range(2):
        table = importers.usda(FIXTURES / "usda")
        store.replace(
            SourceInfo(f"usda:{table.version}", "usda", table.version, "x", now(), 0), table.rows
        )
    assert len(store.sources()) == 1 and len(store.foods()) == 2


def test_catalog_search_and_resolve(kb: KnowledgeBase, tmp_path: Path) -> None:
    store = FoodStore(tmp_path / "foods.sqlite3")
    table = importers.nevo(FIXTURES / "nevo" / "NEVO2025_test.csv")
    store.replace(SourceInfo("nevo:t", "nevo", table.version, "f", now(), 0), table.rows)
    catalog = store.catalog(FoodCatalog.bundled(kb))
    assert catalog.resolve("testnoten ongezouten") is not None
    assert catalog.resolve("nevo_9002") is not None
    hits = [f.code for f, _ in catalog.search("spinazie", limit=5)]
    assert any("spinach" in code for code in hits)
    assert catalog.resolve("qqqq zzz") is None


def run_cli(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "MGADVISOR_DATA_DIR": str(data_dir)}
    return subprocess.run(
        [sys.executable, "-m", "mgadvisor", *args],
        capture_output=True,
        text=True,
        check=False,
        env={**env, "HOME": os.environ.get("HOME", "/tmp")},
    )


def test_import_commands_end_to_end(tmp_path: Path) -> None:
    proc = run_cli(
        "--lang",
        "en",
        "foods",
        "import",
        "nevo",
        str(FIXTURES / "nevo" / "NEVO2025_test.csv"),
        data_dir=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Imported 2 foods" in proc.stdout
    proc = run_cli(
        "--lang",
        "en",
        "foods",
        "import",
        "nevo",
        str(FIXTURES / "nevo" / "NEVO2025_bad_number.csv"),
        data_dir=tmp_path,
    )
    assert (
        proc.returncode == 2
        and "line 3" in proc.stderr
        and len(proc.stderr.strip().splitlines()) == 1
    )
    proc = run_cli("foods", "sources", "--format", "json", data_dir=tmp_path)
    data = json.loads(proc.stdout)
    assert [s["id"] for s in data["imported"]] == ["nevo:NEVO-Online 2025 9.0"]
    proc = run_cli("foods", "search", "testnoten", "--format", "json", data_dir=tmp_path)
    assert json.loads(proc.stdout)[0]["code"] == "nevo_9001"
