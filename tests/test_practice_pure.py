"""The pure parts of the practice pages: lab trends (unit conversion), the trend chart (SVG)
and the comparison of two visits, on real advice documents of the engine."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from mgadvisor.i18n import Translator
from mgadvisor.intake import parse_intake
from mgadvisor.kb import KnowledgeBase
from mgadvisor.pipeline import advice_document
from mgadvisor.records.compare import compare_visits
from mgadvisor.records.models import Visit
from mgadvisor.records.trends import intake_values, lab_trends
from mgadvisor.render.trend_svg import Point, Series, trend_svg
from mgadvisor.units import convert

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(autouse=True)
def _no_user_foods(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MGADVISOR_DATA_DIR", str(tmp_path))


def visit(
    kb: KnowledgeBase,
    when: date,
    intake: dict[str, Any],
    decision: str = "accepted",
    changes: dict[str, Any] | None = None,
) -> Visit:
    advice = advice_document(parse_intake(intake, kb), kb, as_of=when, lang="en")
    return Visit(
        visit_date=when,
        intake_json=json.dumps(intake),
        advice_json=json.dumps(advice),
        decision=decision,
        decision_changes_json=json.dumps(changes) if changes else None,
        created_at=datetime.combine(when, datetime.min.time(), UTC),
    )


FIRST = {
    "person": {"age": 72, "sex": "female"},
    "complaints": ["muscle_cramps", "fatigue"],
    "medications": [{"name": "furosemide"}],
    "labs": [
        {"analyte": "serum_magnesium", "value": 1.6, "unit": "mg/dL"},
        {"analyte": "creatinine", "value": 80, "unit": "umol/L"},
    ],
}
SECOND = {
    "person": {"age": 72, "sex": "female"},
    "complaints": ["fatigue"],
    "conditions": ["type2_diabetes"],
    "medications": [{"name": "furosemide"}, {"name": "omeprazole"}],
    "labs": [
        {"analyte": "serum_magnesium", "value": 0.82, "unit": "mmol/L"},
        {"analyte": "egfr", "value": 70, "unit": "mL/min/1.73m2"},
        {"analyte": "serum_potassium", "value": 4.1, "unit": "mmol/L"},
    ],
}


def test_intake_values_are_converted_to_the_canonical_unit(kb: KnowledgeBase) -> None:
    values = intake_values(FIRST, kb)
    assert values["serum_magnesium"] == pytest.approx(convert(1.6, "mg/dL", "mmol/L"))
    assert values["serum_magnesium"] == pytest.approx(0.658, abs=0.001)
    assert values["creatinine"] == 80
    assert intake_values({"labs": [{"analyte": "nonsense", "value": 1}]}, kb) == {}


def test_lab_trends_give_one_series_per_analyte_with_the_kb_band(kb: KnowledgeBase) -> None:
    visits = [visit(kb, date(2026, 9, 1), FIRST), visit(kb, date(2026, 11, 3), SECOND)]
    series = {s.code: s for s in lab_trends(reversed(visits), kb, "en")}
    assert list(series) == ["serum_magnesium", "egfr", "serum_potassium"]
    magnesium = series["serum_magnesium"]
    assert [p.when for p in magnesium.points] == [date(2026, 9, 1), date(2026, 11, 3)]
    assert [p.value for p in magnesium.points] == [pytest.approx(0.6583, abs=1e-4), 0.82]
    band = kb.labs["serum_magnesium"].default_range
    assert band is not None
    assert (magnesium.low, magnesium.high, magnesium.unit) == (band.low, band.high, "mmol/L")
    assert magnesium.name == "Serum magnesium"
    assert [magnesium.flag(p) for p in magnesium.points] == ["low", None]
    egfr = series["egfr"].points
    assert egfr[0].derived and 60 < egfr[0].value < 90  # calculated from creatinine
    assert not egfr[1].derived and egfr[1].value == 70  # as given
    assert len(series["serum_potassium"].points) == 1


def test_the_chart_has_title_band_points_and_marks_values_outside(kb: KnowledgeBase) -> None:
    series = Series(
        "Serum magnesium",
        "mmol/L",
        0.75,
        0.95,
        (Point(date(2026, 1, 5), 0.66), Point(date(2026, 3, 2), 0.8), Point(date(2026, 6, 1), 1.2)),
    )
    root = ET.fromstring(str(trend_svg(series, Translator("en"), "mg")))
    assert root.tag == f"{SVG}svg" and root.get("role") == "img"
    assert root.get("aria-labelledby") == "mg-title mg-desc"
    assert root.findtext(f"{SVG}title") == "Serum magnesium (mmol/L)"
    assert "3 values" in (root.findtext(f"{SVG}desc") or "")
    assert "2 outside the range" in (root.findtext(f"{SVG}desc") or "")
    band = [e for e in root.iter(f"{SVG}rect") if e.get("class") == "band"]
    assert len(band) == 1
    circles = list(root.iter(f"{SVG}circle"))
    triangles = list(root.iter(f"{SVG}polygon"))
    assert len(circles) == 1 and len(triangles) == 2  # a shape, not only a colour
    assert ["low" in (p.get("class") or "") for p in triangles] == [True, False]
    labels = [p.findtext(f"{SVG}title") for p in triangles]
    assert labels[0] is not None and "below the range" in labels[0]
    texts = [e.text for e in root.iter(f"{SVG}text")]
    assert "5 Jan 2026" in texts and "1 Jun 2026" in texts and "mmol/L" in texts
    # the band lies between the points' heights: 0.66 is below it, 1.2 above
    top, height = float(band[0].get("y") or 0), float(band[0].get("height") or 0)
    low_y = float((triangles[0].get("points") or "").split(",")[1].split()[0])
    assert low_y > top + height


def test_a_chart_of_one_value_and_of_none(kb: KnowledgeBase) -> None:
    one = Series("eGFR", "mL/min/1.73m2", 90, None, (Point(date(2026, 1, 5), 70),))
    root = ET.fromstring(str(trend_svg(one, Translator("nl"))))
    assert len(list(root.iter(f"{SVG}polygon"))) == 1
    assert "1 buiten het bereik" in (root.findtext(f"{SVG}desc") or "")
    assert str(trend_svg(Series("x", "u", None, None, ()), Translator("en"))) == ""


def test_comparison_names_what_changed(kb: KnowledgeBase) -> None:
    a = visit(kb, date(2026, 9, 1), FIRST)
    b = visit(
        kb,
        date(2026, 11, 3),
        SECOND,
        decision="changed",
        changes={"compound_name": "Magnesium citrate", "elemental_mg": 120},
    )
    diff = compare_visits(a, b, kb)
    assert diff.complaints.added == () and diff.complaints.removed == ("muscle_cramps",)
    assert diff.complaints.kept == ("fatigue",)
    assert diff.conditions.added == ("type2_diabetes",)
    assert diff.medicines.added == ("omeprazole",) and diff.medicines.kept == ("furosemide",)
    labs = {c.analyte: c for c in diff.labs}
    assert labs["serum_magnesium"].direction == "up"
    assert labs["serum_magnesium"].before == pytest.approx(0.658, abs=0.001)
    assert labs["creatinine"].direction == "gone" and labs["egfr"].direction == "new"
    assert diff.dose_mg.after == 120 and diff.compound.after == "Magnesium citrate"
    advice_a = json.loads(a.advice_json)
    assert diff.dose_mg.before == advice_a["dose"]["elemental_mg_per_day"]
    assert diff.risk.before == advice_a["risk"]["level"]
    assert diff.dose_mg.changed
    same = compare_visits(a, a, kb)
    assert not same.complaints.changed and not same.dose_mg.changed
    assert {c.direction for c in same.labs} == {"same"}
