"""The parser part of the fuzz gate (issue 11): the intake parser, the YAML reader and both food
importers on generated input. Every outcome is a result or a clear user error (one line, a
place, bounded in size), never a traceback. Examples are bounded so the gate takes seconds.
"""

from __future__ import annotations

import math
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mgadvisor.errors import IntakeError, UserInputError
from mgadvisor.foods import importers
from mgadvisor.foods.store import FoodStore, SourceInfo, now
from mgadvisor.intake import parse_intake, read_intake_data
from mgadvisor.kb import load_knowledge
from mgadvisor.pipeline import advice_document

KB = load_knowledge()
FIXTURES = Path(__file__).parent / "fixtures"
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))

# Numbers that broke something once (issue 11) or sit on an edge, next to ordinary ones.
NASTY_NUMBERS = st.sampled_from(
    [0, -0.0, 5e-324, 1e-300, 1e28, 1e308, math.inf, -math.inf, math.nan, True, False, "50", 2**64]
)
NUMBER = st.one_of(NASTY_NUMBERS, st.floats(), st.integers(-(10**6), 10**6))
TEXT = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["\x1b[31m", "x" * 5000, "", "magnesium citrate", "creatinine", "umol/L"]),
)
LEAF = st.one_of(st.none(), st.booleans(), NUMBER, TEXT)
ANY = st.recursive(
    LEAF,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(TEXT, inner, max_size=5),
    max_leaves=25,
)
KB_CODES = st.sampled_from(
    [*KB.labs, *KB.symptoms, *KB.conditions, *KB.applications, "serum_magnesium", "x"]
)
LAB = st.fixed_dictionaries(
    {
        "analyte": st.one_of(st.sampled_from(list(KB.labs)), TEXT),
        "value": NUMBER,
        "unit": st.one_of(st.sampled_from(["mmol/L", "mg/dL", "umol/L", "g/L", "%"]), TEXT),
    },
    optional={"reference_range": st.one_of(st.tuples(NUMBER, NUMBER).map(list), ANY)},
)
INTAKE = st.fixed_dictionaries(
    {
        "person": st.one_of(
            st.fixed_dictionaries(
                {"age": NUMBER, "sex": st.sampled_from(["female", "male", "x"])},
                optional={
                    "weight_kg": NUMBER,
                    "height_cm": NUMBER,
                    "pregnant": st.one_of(st.booleans(), NUMBER, TEXT),
                    "pregnancy_week": NUMBER,
                },
            ),
            ANY,
        )
    },
    optional={
        "labs": st.one_of(st.lists(LAB, max_size=4), ANY),
        "complaints": st.lists(st.one_of(KB_CODES, TEXT), max_size=4),
        "loading_test": st.fixed_dictionaries(
            {
                "infused_mmol": NUMBER,
                "baseline_urine_mmol_24h": NUMBER,
                "post_load_urine_mmol_24h": NUMBER,
            }
        ),
        "products": st.lists(
            st.fixed_dictionaries(
                {"amount_mg": NUMBER},
                optional={
                    "compound": st.one_of(st.just("magnesium citrate"), TEXT),
                    "units_per_day": NUMBER,
                },
            ),
            max_size=2,
        ),
        "medications": st.one_of(
            st.lists(st.fixed_dictionaries({"name": TEXT}, optional={"months": NUMBER})), ANY
        ),
        "diet": st.one_of(
            st.fixed_dictionaries(
                {
                    "water": st.fixed_dictionaries(
                        {"liters_per_day": NUMBER, "magnesium_mg_per_l": NUMBER}
                    )
                }
            ),
            ANY,
        ),
        "preferences": ANY,
    },
)


def clear(error: UserInputError) -> None:
    """A user error people can act on: one line, bounded, naming a place."""
    text = str(error)
    assert "\n" not in text and len(text) < 1000, text[:300]
    if isinstance(error, IntakeError):
        assert error.path and all(len(e.given) <= 60 for e in error.errors), text[:300]


@SETTINGS
@given(INTAKE)
def test_the_intake_parser_gives_an_advice_or_a_field_error(data: dict[str, Any]) -> None:
    try:
        intake = parse_intake(data, KB)
    except IntakeError as exc:
        clear(exc)
        return
    advice_document(intake, KB, as_of=date(2026, 1, 1))


YAML_PIECES = st.sampled_from(
    [
        "person: {age: 50, sex: female}\n",
        "a: &a [1, 2, 3]\n",
        "b: [*a, *a, *a]\n",
        "&x [*x]\n",
        "[" * 60,
        "]" * 60,
        "{",
        ": :",
        "- - -\n",
        "!!python/object:os.system ls\n",
        "age: .inf\n",
        "\t\x00\x1b",
        "? complex\n: key\n",
        "---\n",
        '"\\e[31m": 1\n',
    ]
)


@SETTINGS
@given(st.lists(st.one_of(YAML_PIECES, st.text(max_size=20)), max_size=12).map("".join))
def test_the_yaml_reader_gives_data_or_a_syntax_error(text: str) -> None:
    try:
        data = read_intake_data(text, "fuzz.yaml")
    except IntakeError as exc:
        clear(exc)
        return
    try:
        parse_intake(data, KB)
    except IntakeError as exc:
        clear(exc)


HEADER, ROW = (FIXTURES / "nevo" / "NEVO2023_test.csv").read_text().splitlines()[:2]
FIELD = st.one_of(
    st.sampled_from(["", "1,5", "inf", "1e308", "nan", "-1", '"2"', "|", '"a|b"', "\x1b[2J", "x"]),
    st.text(max_size=10),
)


@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    st.lists(
        st.dictionaries(st.integers(0, 150), FIELD, max_size=4),
        min_size=1,
        max_size=3,
    )
)
def test_the_nevo_importer_stores_clean_rows_or_stops_with_the_line(
    edits: list[dict[int, str]],
) -> None:
    rows = []
    for edit in edits:
        fields = ROW.split("|")
        for index, value in edit.items():
            if index < len(fields):
                fields[index] = value
        rows.append("|".join(fields))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "nevo.csv"
        path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
        _import(importers.nevo, path, Path(folder))


NUTRIENT_LINE = st.builds(
    lambda fdc, nutrient, amount: f'"1","{fdc}","{nutrient}","{amount}","","","","","","",""',
    st.sampled_from(["9000001", "9000002", "x", ""]),
    st.sampled_from(["1090", "1087", "1089"]),
    FIELD,
)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.one_of(NUTRIENT_LINE, FIELD), max_size=4))
def test_the_usda_importer_stores_clean_rows_or_stops_with_the_line(lines: list[str]) -> None:
    nutrients = (FIXTURES / "usda" / "food_nutrient.csv").read_text().splitlines()
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        (base / "food.csv").write_text((FIXTURES / "usda" / "food.csv").read_text())
        (base / "food_nutrient.csv").write_text("\n".join([*nutrients, *lines]) + "\n")
        _import(importers.usda, base, base)


def _import(reader: Any, path: Path, folder: Path) -> None:
    store = FoodStore(folder / "foods.sqlite3")
    try:
        table = reader(path)
        store.replace(SourceInfo("t", table.kind, table.version, "f", now(), 0), table.rows)
    except importers.ImportFormatError as exc:
        clear(exc)
        assert "line" in str(exc) or "not found" in str(exc), str(exc)
        assert store.foods() == []  # nothing of a failed import is kept
        return
    for food in store.foods():
        assert 0 <= food.mg_per_100g <= 100_000 and "\x1b" not in food.name_nl
        assert food.ca_per_100g is None or 0 <= food.ca_per_100g <= 100_000
