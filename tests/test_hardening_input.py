"""Issue 11, the input part: no number, text, YAML document or food table crashes, corrupts or
floods; the CLI never passes a control character to the terminal; Dutch error lines are Dutch.

Each test names the finding it guards (issue 11, items 2, 3, 4 and 9).
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from mgadvisor.errors import IntakeError, printable, quote
from mgadvisor.foods import importers
from mgadvisor.foods.store import FoodStore, SourceInfo, now
from mgadvisor.intake import parse_intake, read_intake_data
from mgadvisor.kb import KnowledgeBase
from mgadvisor.kb.loader import YamlLimitError, safe_yaml
from mgadvisor.pipeline import advice_document

FIXTURES = Path(__file__).parent / "fixtures"
ROOT = Path(__file__).resolve().parents[1]
PERSON = {"age": 50, "sex": "female"}


def problem(data: dict[str, Any], kb: KnowledgeBase) -> IntakeError:
    with pytest.raises(IntakeError) as caught:
        parse_intake(data, kb)
    return caught.value


def cli(*args: str, data_dir: Path | None = None, stdin: str | None = None) -> Any:
    env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": os.environ.get("HOME", "/tmp")}
    if data_dir is not None:
        env["MGADVISOR_DATA_DIR"] = str(data_dir)
    return subprocess.run(
        [sys.executable, "-m", "mgadvisor", *args],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        input=stdin,
    )


# -- item 2: every number has a bound -------------------------------------------------------


@pytest.mark.parametrize("unit", ["umol/L", "mg/dL"])
def test_creatinine_zero_is_a_field_error_not_a_division_by_zero(
    kb: KnowledgeBase, unit: str
) -> None:
    error = problem({"person": PERSON, "labs": [lab("creatinine", 0, unit)]}, kb)
    assert error.path == "labs[0].value"
    assert "a value from" in str(error) and unit in str(error)


def lab(analyte: str, value: float, unit: str, **extra: Any) -> dict[str, Any]:
    return {"analyte": analyte, "value": value, "unit": unit, **extra}


@pytest.mark.parametrize(
    ("data", "path"),
    [
        ({"labs": [lab("serum_magnesium", 0.8, "mmol/L", reference_range=[0.7, 1e28])]}, "labs"),
        ({"labs": [lab("serum_magnesium", 0.8, "mmol/L", reference_range=[0.7, 50])]}, "labs"),
        ({"labs": [lab("serum_magnesium", 1e28, "mmol/L")]}, "labs[0].value"),
        ({"labs": [lab("serum_magnesium", float("inf"), "mmol/L")]}, "labs[0].value"),
        ({"labs": [lab("creatinine", 1e-300, "umol/L")]}, "labs[0].value"),
        (
            {
                "loading_test": {
                    "infused_mmol": 1e-300,
                    "baseline_urine_mmol_24h": 4,
                    "post_load_urine_mmol_24h": 20,
                }
            },
            "loading_test.infused_mmol",
        ),
        (
            {"products": [{"compound": "magnesium citrate", "amount_mg": 5e-324}]},
            "products[0].amount_mg",
        ),
        ({"products": [{"amount_mg": float("nan")}]}, "products[0].amount_mg"),
    ],
)
def test_extreme_numbers_are_field_errors(kb: KnowledgeBase, data: Any, path: str) -> None:
    error = problem({"person": PERSON, **data}, kb)
    assert error.path.startswith(path), error


def test_the_api_answers_422_for_creatinine_zero() -> None:
    from mgadvisor.web.app import create_app

    client = TestClient(create_app(), raise_server_exceptions=False)
    intake = {"person": PERSON, "labs": [lab("creatinine", 0, "umol/L")]}
    response = client.post("/api/v1/advice", json=intake)
    assert response.status_code == 422, response.text[:300]
    assert "labs[0].value" in response.text


def test_the_cli_gives_one_line_for_creatinine_zero(tmp_path: Path) -> None:
    intake = tmp_path / "intake.json"
    intake.write_text(json.dumps({"person": PERSON, "labs": [lab("creatinine", 0, "umol/L")]}))
    proc = cli("--lang", "en", "advise", str(intake))
    assert proc.returncode == 2 and len(proc.stderr.splitlines()) == 1, proc.stderr
    assert proc.stderr.startswith("Error: labs[0].value: expected a value from 5 to 5000 umol/L")


def test_values_at_the_limits_still_get_an_advice(kb: KnowledgeBase) -> None:
    intake = parse_intake(
        {
            "person": {"age": 0, "sex": "female", "weight_kg": 0.3, "height_cm": 40},
            "labs": [lab("creatinine", 5, "umol/L"), lab("serum_magnesium", 10, "mmol/L")],
            "products": [{"compound": "magnesium citrate", "amount_mg": 0.1}],
            "loading_test": {
                "infused_mmol": 1,
                "baseline_urine_mmol_24h": 200,
                "post_load_urine_mmol_24h": 0,
            },
        },
        kb,
    )
    assert advice_document(intake, kb, as_of=date(2026, 1, 1))["dose"] is not None


def test_every_text_list_and_map_of_the_intake_is_bounded_in_the_schema() -> None:
    schema = json.loads((ROOT / "docs" / "schema" / "intake.schema.json").read_text())
    unbounded: list[str] = []

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            kind = node.get("type")
            if kind == "string" and not {"maxLength", "enum", "pattern", "const"} & set(node):
                unbounded.append(where)
            if kind == "array" and "maxItems" not in node:
                unbounded.append(where)
            extra = node.get("additionalProperties")
            if kind == "object" and isinstance(extra, dict) and "maxProperties" not in node:
                unbounded.append(where)
            if kind in ("number", "integer") and not (
                {"maximum", "exclusiveMaximum"} & set(node)
                and {"minimum", "exclusiveMinimum"} & set(node)
            ):
                unbounded.append(where)
            for key, value in node.items():
                walk(value, f"{where}.{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{where}[{i}]")

    walk(schema, "intake")
    assert not unbounded, unbounded


def test_a_huge_code_is_refused_and_quoted_short(kb: KnowledgeBase) -> None:
    error = problem({"person": PERSON, "complaints": ["x" * 1_000_000]}, kb)
    assert error.path == "complaints[0]" and len(str(error)) < 200


def test_tools_page_bounds_every_number() -> None:
    from mgadvisor.web.app import create_app

    client = TestClient(create_app(), raise_server_exceptions=False)
    for query in (
        "creatinine=80&age=50&sex=female&crea_unit=furlong",
        "creatinine=1e-300&age=50&sex=female",
        "mass=1e308&compound=magnesium%20citrate",
        "value=inf&from=mmol/L&to=mg/dL",
    ):
        response = client.get(f"/tools?lang=en&{query}")
        assert response.status_code == 200, (query, response.status_code)
        assert 'class="error"' in response.text, query


def test_cli_calculators_bound_their_numbers() -> None:
    for args in (
        ("elemental", "magnesium citrate", "1e308"),
        ("convert", "inf", "mmol/L", "mg/dL"),
        ("convert", "nan", "mmol/L", "mg/dL"),
    ):
        proc = cli("--lang", "en", *args)
        assert proc.returncode == 2 and proc.stderr.startswith("Error: "), (args, proc.stderr)
        assert len(proc.stderr.splitlines()) == 1, proc.stderr


# -- item 2: imported food tables -----------------------------------------------------------


def nevo_file(tmp_path: Path, edit: Any, name: str = "nevo.csv") -> Path:
    """The 2023 fixture (unquoted) with its one food row changed by `edit(fields)`."""
    header, row = (FIXTURES / "nevo" / "NEVO2023_test.csv").read_text().splitlines()[:2]
    fields = row.split("|")
    edit(fields)
    path = tmp_path / name
    path.write_text(header + "\n" + "|".join(fields) + "\n", encoding="utf-8")
    return path


MG, P = 40, 39  # columns of the 2023 fixture: "P (mg)", "MG (mg)"


@pytest.mark.parametrize("amount", ["inf", "1e308", "nan", "-0,5"])
def test_an_impossible_amount_in_a_food_table_stops_the_import(tmp_path: Path, amount: str) -> None:
    path = nevo_file(tmp_path, lambda f: f.__setitem__(MG, amount))
    with pytest.raises(importers.ImportFormatError, match="line 2"):
        list(importers.nevo(path).rows)


def test_an_impossible_amount_in_a_usda_table_stops_the_import(tmp_path: Path) -> None:
    (tmp_path / "food.csv").write_text((FIXTURES / "usda" / "food.csv").read_text())
    nutrients = (FIXTURES / "usda" / "food_nutrient.csv").read_text().splitlines()
    nutrients[1] = nutrients[1].replace('"592"', '"inf"')
    (tmp_path / "food_nutrient.csv").write_text("\n".join(nutrients) + "\n")
    with pytest.raises(importers.ImportFormatError, match=r"food_nutrient\.csv, line 2"):
        list(importers.usda(tmp_path).rows)


def test_an_older_store_with_an_infinite_amount_is_read_without_it(tmp_path: Path) -> None:
    store = FoodStore(tmp_path / "foods.sqlite3")
    good = importers.nevo(FIXTURES / "nevo" / "NEVO2023_test.csv")
    store.replace(SourceInfo("nevo:2023", "nevo", good.version, "a.csv", now(), 0), good.rows)
    with sqlite3.connect(store.path) as db:  # as an older version could have stored it
        db.execute(
            "INSERT INTO food VALUES ('nevo:2023', 'nevo_1', 'x', 'x', 'other', ?, NULL, '1')",
            (float("inf"),),
        )
    assert [f.code for f in store.foods()] == ["nevo_9101"]


# -- item 3: YAML and the size of what errors quote -----------------------------------------

LAUGHS = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{c}: &{c} [{', '.join([f'*{p}'] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi", strict=True)
)


def test_billion_laughs_is_refused_by_the_yaml_reader() -> None:
    with pytest.raises(YamlLimitError):
        safe_yaml(LAUGHS)


def test_billion_laughs_is_a_clear_intake_error(kb: KnowledgeBase) -> None:
    with pytest.raises(IntakeError) as caught:
        read_intake_data("person: {age: 50, sex: female}\n" + LAUGHS, "in.yaml")
    assert caught.value.path.startswith("in.yaml:") and "aliases" in str(caught.value)


@pytest.mark.parametrize(
    "text", ["&a [*a]", "[" * 5000 + "]" * 5000, "{a: " * 500 + "1" + "}" * 500]
)
def test_recursive_and_deep_yaml_is_a_clear_intake_error(text: str) -> None:
    with pytest.raises(IntakeError):
        read_intake_data(text)


def test_a_few_aliases_are_still_read() -> None:
    data = safe_yaml("m: &m {food: banaan, grams: 100}\ndays: [[*m, *m], [*m]]\n")
    assert data["days"][1][0] == {"food": "banaan", "grams": 100}


def test_error_messages_quote_a_bounded_part_of_the_input(kb: KnowledgeBase) -> None:
    huge = {"person": PERSON, "diet": {"ffq": {f"k{i}": {"frequency": "x"} for i in range(500)}}}
    error = problem(huge, kb)
    assert all(len(e.given) <= 60 for e in error.errors)
    key = problem({"person": PERSON, "k" * 100_000: 1}, kb)
    assert len(str(key)) < 400
    assert len(quote(["x" * 10_000] * 10_000)) <= 60


# -- item 4: the NEVO import never stores shifted or duplicate rows --------------------------


def shifted(fields: list[str]) -> None:
    """A '|' in the Dutch name; phosphorus 250 and magnesium 20 mg per 100 g."""
    fields[P], fields[MG] = "250", "20"
    fields[4] = "Testbrood | volkoren"


def test_a_pipe_in_an_unquoted_name_stops_the_import_with_the_line(tmp_path: Path) -> None:
    path = nevo_file(tmp_path, shifted)
    with pytest.raises(importers.ImportFormatError) as caught:
        list(importers.nevo(path).rows)
    assert "line 2" in str(caught.value) and "columns" in str(caught.value)


def test_a_pipe_in_a_name_in_the_2025_format_stops_the_import(tmp_path: Path) -> None:
    lines = (FIXTURES / "nevo" / "NEVO2025_test.csv").read_text(encoding="utf-8").splitlines()
    lines[2] = _split_name(lines[2])
    path = tmp_path / "nevo2025.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(importers.ImportFormatError, match="line 3"):
        list(importers.nevo(path).rows)


def _split_name(row: str) -> str:
    fields = row.split("|")
    fields[4] = fields[4][:4] + "|" + fields[4][4:]
    return "|".join(fields)


def test_duplicate_codes_and_huge_fields_give_one_line_and_keep_earlier_imports(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    good = cli(
        "foods", "import", "nevo", str(FIXTURES / "nevo" / "NEVO2023_test.csv"), data_dir=data
    )
    assert good.returncode == 0, good.stderr
    header, row = (FIXTURES / "nevo" / "NEVO2023_test.csv").read_text().splitlines()[:2]
    twice = tmp_path / "twice.csv"
    twice.write_text("\n".join([header, row, row]) + "\n", encoding="utf-8")
    fields = row.split("|")
    fields[6] = "x" * (130 * 1024)  # the synonym column
    huge = tmp_path / "huge.csv"
    huge.write_text(header + "\n" + "|".join(fields) + "\n", encoding="utf-8")
    for bad, words in ((twice, "line 3: code '9101' appears twice"), (huge, "line 2")):
        proc = cli("--lang", "en", "foods", "import", "nevo", str(bad), data_dir=data)
        assert proc.returncode == 2, proc.stderr[-500:]
        assert len(proc.stderr.splitlines()) == 1 and words in proc.stderr, proc.stderr[:300]
        assert "Traceback" not in proc.stderr and len(proc.stderr) < 300
    store = FoodStore(data / "foods.sqlite3")
    assert [f.code for f in store.foods()] == ["nevo_9101"]
    assert store.foods()[0].mg_per_100g == 66.5


def test_usda_duplicates_and_short_rows_stop_the_import(tmp_path: Path) -> None:
    food = (FIXTURES / "usda" / "food.csv").read_text().splitlines()
    nutrients = (FIXTURES / "usda" / "food_nutrient.csv").read_text().splitlines()
    for name, lines, line in (
        ("food.csv", [*food, food[1]], len(food) + 1),
        ("food_nutrient.csv", [*nutrients, nutrients[1]], len(nutrients) + 1),
        ("food_nutrient.csv", [*nutrients, '"9","9000001","1090"'], len(nutrients) + 1),
    ):
        (tmp_path / "food.csv").write_text("\n".join(food) + "\n")
        (tmp_path / "food_nutrient.csv").write_text("\n".join(nutrients) + "\n")
        (tmp_path / name).write_text("\n".join(lines) + "\n")
        with pytest.raises(importers.ImportFormatError, match=f"{name}, line {line}"):
            list(importers.usda(tmp_path).rows)


# -- item 9: the terminal, strict types, Dutch lines ----------------------------------------

ESC_INTAKE = """
person: {age: 50, sex: female}
medications: [{name: "Thyrax\\e]0;pwned\\a\\e[2J"}]
products: [{name: "Multi\\e[5m\\u009b31m", amount_mg: 50}]
diet: {diary: [{entries: [{food: "banaan\\e[31m", grams: 100}]}]}
"""


@pytest.mark.parametrize("fmt", ["text", "markdown", "json"])
def test_names_from_an_intake_never_reach_the_terminal_raw(fmt: str) -> None:
    proc = cli("--lang", "en", "advise", "-", "--format", fmt, stdin=ESC_INTAKE)
    assert proc.returncode == 0, proc.stderr
    assert "\x1b" not in proc.stdout and "\x9b" not in proc.stdout and "\x07" not in proc.stdout
    assert "\\x1b" in proc.stdout  # written out, so the practitioner sees it


def test_names_from_an_imported_table_never_reach_the_terminal_raw(tmp_path: Path) -> None:
    path = nevo_file(tmp_path, lambda f: f.__setitem__(4, "Testbrood\x1b[31m\x1b]0;x\x07"))
    proc = cli("foods", "import", "nevo", str(path), data_dir=tmp_path)
    assert proc.returncode == 0, proc.stderr
    search = cli("foods", "search", "testbrood", data_dir=tmp_path)
    assert "Testbrood" in search.stdout and "\x1b" not in search.stdout + search.stderr


def test_error_lines_escape_control_characters() -> None:
    proc = cli(
        "--lang", "en", "advise", "-", stdin='person: {age: 50, sex: female}\n"x\\e[2J": 1\n'
    )
    assert proc.returncode == 2 and "\x1b" not in proc.stderr and "\\x1b" in proc.stderr


def test_printable_writes_out_c0_c1_and_bidi_controls() -> None:
    assert printable("a\x1b[31mb\x9bc\u202ed\te") == "a\\x1b[31mb\\x9bc\\u202ed\\x09e"
    assert printable("Magnésium 100 µg") == "Magnésium 100 µg"


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("age", True, "a number"),
        ("age", "50", "a number"),
        ("weight_kg", False, "a number"),
        ("pregnancy_week", True, "a whole number"),
        ("pregnant", "yes", "true or false"),
        ("pregnant", 1, "true or false"),
    ],
)
def test_numbers_are_numbers_and_switches_are_booleans(
    kb: KnowledgeBase, field: str, value: Any, expected: str
) -> None:
    error = problem({"person": {**PERSON, field: value}}, kb)
    assert error.path == f"person.{field}" and expected in str(error)


# Words that show an English phrase slipped into a Dutch line (values and codes aside).
ENGLISH = re.compile(
    r"\b(expected|got|only|must|should|needs?|allows|Missing|Invalid|No such|Did you mean|"
    r"without|leave|give|the|lists|Usage|unexpected|Value error|Input should)\b"
)


@pytest.mark.parametrize(
    "intake",
    [
        {"person": {"age": 50, "sex": "male", "pregnant": True}},
        {"person": {"age": 70, "sex": "female", "lactating": True}},
        {"person": {"age": 50, "sex": "female", "pregnancy_week": 3, "pregnant": False}},
        {"person": PERSON, "medications": [{"months": 2}]},
        {"person": PERSON, "medications": [{"name": "x", "time": "08:00", "times": ["09:00"]}]},
        {"person": PERSON, "medications": [{"name": "x", "times": ["08:00", "08:00"]}]},
        {
            "person": PERSON,
            "medications": [{"name": "x", "frequency": "as_needed", "time": "08:00"}],
        },
        {
            "person": PERSON,
            "medications": [{"name": "x", "frequency": "daily", "times": ["08:00", "20:00"]}],
        },
        {
            "person": PERSON,
            "medications": [{"name": "x", "frequency": "twice_daily", "times": ["08:00"]}],
        },
        {"person": PERSON, "labs": [lab("serum_magnesium", 0.8, "mmol/L", reference_range=[2, 1])]},
        {"person": PERSON, "labs": [lab("creatinine", 0, "umol/L")]},
        {"person": PERSON, "products": [{"amount_mg": 5, "basis": "compound"}]},
        {"person": PERSON, "diet": {"diary": [{"entries": [{"food": "banaan"}]}]}},
        {"person": {"age": True, "sex": "female"}},
    ],
)
def test_every_dutch_intake_error_line_is_dutch(tmp_path: Path, intake: Any) -> None:
    path = tmp_path / "intake.json"
    path.write_text(json.dumps(intake))
    proc = cli("--lang", "nl", "advise", str(path))
    assert proc.returncode == 2
    line = _without_values(proc.stderr)
    assert line.startswith("Fout: ") and not ENGLISH.search(line), proc.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("advise",),
        ("advies", "x"),
        ("egfr", "--creatinine", "abc", "--age", "50", "--sex", "female"),
        ("egfr", "--creatinine", "0", "--age", "50", "--sex", "female"),
        ("egfr", "--creatinine", "80", "--age", "50", "--sex", "female", "extra"),
        ("egfr", "--creatinine"),
        ("advise", "x.yaml", "--format", "xml"),
        ("foods", "search", "x", "--limit", "0"),
        ("convert", "inf", "mmol/L", "mg/dL"),
        ("elemental", "magnesium citrate", "1e308"),
        ("advise", "-"),
    ],
)
def test_every_dutch_usage_error_line_is_dutch(args: tuple[str, ...]) -> None:
    proc = cli("--lang", "nl", *args, stdin="person: {age: 50, sex: female, pregnant: 1}\n")
    assert proc.returncode == 2
    line = _without_values(proc.stderr)
    assert line.startswith("Fout: ") and not ENGLISH.search(line), proc.stderr


def _without_values(text: str) -> str:
    """The line without what the user typed ('quoted', "quoted") and option names."""
    return re.sub(r"'[^']*'|\"[^\"]*\"|--\w+", "", text.strip())


def test_only_the_first_twenty_unknown_codes_get_a_suggestion(kb: KnowledgeBase) -> None:
    """Each suggestion is a fuzzy match against every name: an intake full of unknown codes
    must not cost one per code (the answer lists 20 problems anyway); every code is named."""
    from mgadvisor.errors import IntakeError
    from mgadvisor.intake import HINTED_PROBLEMS, parse_intake

    data = {"person": {"age": 40, "sex": "male"}, "complaints": ["muscle_crampz"] * 30}
    with pytest.raises(IntakeError) as caught:
        parse_intake(data, kb)
    hints = [error.hint for error in caught.value.errors]
    assert len(hints) == 30
    assert hints[:HINTED_PROBLEMS] == ["muscle_cramps"] * HINTED_PROBLEMS
    assert hints[HINTED_PROBLEMS:] == [""] * (30 - HINTED_PROBLEMS)
