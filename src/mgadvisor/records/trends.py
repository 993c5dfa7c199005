"""Lab values over a client's visits, as series for the trend charts (render/trend_svg.py).

Each value is read from the visit's intake as given and converted to the analyte's canonical
unit with the engine's own conversion (:mod:`mgadvisor.units`), so 1.9 mg/dL and 0.78 mmol/L
land on one axis. An eGFR the intake does not give, but the stored advice calculated (from
creatinine), is taken from the advice and marked as calculated. The band is the knowledge
base's default reference range of the analyte.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from mgadvisor.errors import UserInputError
from mgadvisor.kb.base import KnowledgeBase
from mgadvisor.records.models import Visit
from mgadvisor.render.trend_svg import Point, Series
from mgadvisor.units import to_canonical

# The lab values charted on a client's page, in this order.
TREND_ANALYTES = ("serum_magnesium", "rbc_magnesium", "egfr", "serum_potassium", "serum_calcium")
CALCULATED = "egfr"  # read from the advice's calculations when the intake has no value


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return float(value)
    except ValueError:
        return None


def intake_values(intake: Mapping[str, Any], kb: KnowledgeBase) -> dict[str, float]:
    """The intake's lab values in each analyte's canonical unit (unknown or unreadable
    values are left out: the intake was checked when it was stored)."""
    out: dict[str, float] = {}
    labs = intake.get("labs")
    for lab in labs if isinstance(labs, list) else []:
        if not isinstance(lab, Mapping):
            continue
        analyte = kb.labs.get(str(lab.get("analyte")))
        value = _number(lab.get("value"))
        if analyte is None or value is None:
            continue
        unit = str(lab.get("unit") or analyte.canonical_unit)
        try:
            out[analyte.code] = to_canonical(analyte.code, value, unit, analyte.canonical_unit)
        except UserInputError:
            continue
    return out


def _calculated(advice: Mapping[str, Any]) -> float | None:
    calculations = advice.get("calculations")
    if not isinstance(calculations, Mapping) or calculations.get("egfr_source") == "given":
        return None
    return _number(calculations.get(CALCULATED))


def lab_trends(
    visits: Iterable[Visit],
    kb: KnowledgeBase,
    lang: str,
    analytes: Iterable[str] = TREND_ANALYTES,
) -> list[Series]:
    """One series per analyte that has at least one value, points oldest first."""
    rows: list[tuple[date, dict[str, float], float | None]] = []
    for visit in sorted(visits, key=lambda v: (v.visit_date, v.created_at)):
        intake = json.loads(visit.intake_json)
        advice = json.loads(visit.advice_json)
        values = intake_values(intake if isinstance(intake, dict) else {}, kb)
        rows.append(
            (visit.visit_date, values, _calculated(advice if isinstance(advice, dict) else {}))
        )
    series = []
    for code in analytes:
        analyte = kb.labs[code]
        points = []
        for when, values, egfr in rows:
            if code in values:
                points.append(Point(when, round(values[code], 4)))
            elif code == CALCULATED and egfr is not None:
                points.append(Point(when, egfr, derived=True))
        if not points:
            continue
        band = analyte.default_range
        series.append(
            Series(
                name=analyte.name.get(lang),
                unit=analyte.canonical_unit,
                low=band.low if band is not None else None,
                high=band.high if band is not None else None,
                points=tuple(points),
                code=code,
            )
        )
    return series
