"""Lab values: convert to canonical units; interpret against the lab's own or a sourced range."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from mgadvisor.advice import Finding, LabResult
from mgadvisor.assess.kidney import shown_egfr
from mgadvisor.engine import Context, rule
from mgadvisor.intake import Lab, LoadingTest, bound_sign
from mgadvisor.kb.base import KnowledgeBase
from mgadvisor.units import to_canonical


@dataclass(slots=True)
class LabReading:
    analyte: str
    value: float  # canonical unit
    unit: str
    low: float | None
    high: float | None
    range_from_lab: bool
    range_sources: list[str]


@dataclass(slots=True)
class SerumStatus:
    """Serum magnesium classified: low, high, borderline or normal, with the numbers shown."""

    status: str
    params: dict[str, Any]


def read(kb: KnowledgeBase, lab: Lab, age: float = 18) -> LabReading:
    """The value in its canonical unit with the range to read it against: the lab's own, else
    the default range (an adults-only default is not used for a child)."""
    analyte = kb.labs[lab.analyte]
    unit = analyte.canonical_unit
    value = to_canonical(lab.analyte, lab.read_value, lab.unit, unit)
    if lab.reference_range is not None:
        low = to_canonical(lab.analyte, lab.reference_range[0], lab.unit, unit)
        high = to_canonical(lab.analyte, lab.reference_range[1], lab.unit, unit)
        return LabReading(lab.analyte, value, unit, low, high, True, [])
    rng = analyte.default_range
    if rng is None or (rng.adults_from_age is not None and age < rng.adults_from_age):
        return LabReading(lab.analyte, value, unit, None, None, False, [])
    return LabReading(lab.analyte, value, unit, rng.low, rng.high, False, list(rng.sources))


def retention_pct(test: LoadingTest) -> float:
    """% of an IV magnesium load retained (Ryzen 1985): 1 - (post - baseline urine) / load."""
    excreted = test.post_load_urine_mmol_24h - test.baseline_urine_mmol_24h
    return (1 - excreted / test.infused_mmol) * 100


def _r(value: float, digits: int = 2) -> float:
    return round(value, digits)


@rule("labs.readings", gives=("lab_readings",))
def readings(c: Context) -> dict[str, LabReading]:
    """Every lab value in its canonical unit, with the lab's own range or the default one."""
    age = c.intake.person.age
    return {lab.analyte: read(c.kb, lab, age) for lab in c.intake.labs}


# The far end of a value given only as a bound: ">0.7" may be any value above it.
_OPEN_END = {">": math.inf, ">=": math.inf, "<": -math.inf, "<=": -math.inf}


def _flag(
    value: float, low: float | None, high: float | None, comparator: str | None = None
) -> str | None:
    """low, normal or high; None without a range, or for a bound whose open side reaches
    another flag (">0.7" against 0.75-1.0 may be low or normal: it is not read as low)."""
    if low is None and high is None:
        return None
    flag = "low" if low is not None and value < low else "normal"
    if high is not None and value > high:
        flag = "high"
    end = _OPEN_END.get(comparator or "")
    if end is not None and _flag(end, low, high) != flag:
        return None
    return flag


def _result(kb: KnowledgeBase, lab: Lab, age: float, derived: bool = False) -> LabResult:
    reading = read(kb, lab, age)
    source = (
        "lab" if reading.range_from_lab else "default" if reading.low or reading.high else "none"
    )
    return LabResult(
        analyte=lab.analyte,
        value=lab.value,
        unit=lab.unit,
        value_canonical=_r(reading.value, 3),
        unit_canonical=reading.unit,
        range_low=reading.low,
        range_high=reading.high,
        range_source=source,  # type: ignore[arg-type]
        flag=_flag(reading.value, reading.low, reading.high, lab.comparator),  # type: ignore[arg-type]
        derived=derived,
        comparator=lab.comparator,
    )


def corrected_calcium(calcium_mmol_l: float, albumin_g_l: float) -> float:
    """Albumin-corrected calcium (Payne 1973): calcium + 0.02 × (40 − albumin in g/L).

    Example:
        >>> corrected_calcium(2.0, 30)
        2.2
    """
    return max(0.0, round(calcium_mmol_l + 0.02 * (40 - albumin_g_l), 2))


@rule("labs.results", gives=("lab_results",), needs=("lab_readings",))
def results(c: Context) -> list[LabResult]:
    """One row per lab entered: canonical value, the range used (the lab's own wins) and its
    flag; plus the albumin-corrected calcium when calcium and albumin are given."""
    age = c.intake.person.age
    rows = [_result(c.kb, lab, age) for lab in c.intake.labs]
    readings: dict[str, LabReading] = c.value("lab_readings")
    calcium, albumin = readings.get("serum_calcium"), readings.get("albumin")
    corrected = c.kb.labs["serum_calcium"].read_as
    if calcium is not None and albumin is not None and corrected and corrected not in readings:
        c.cite(*c.kb.labs[corrected].notes)
        value = corrected_calcium(calcium.value, albumin.value)
        own = None
        if calcium.range_from_lab and calcium.low is not None and calcium.high is not None:
            own = (calcium.low, calcium.high)
        derived = Lab(analyte=corrected, value=value, unit="mmol/L", reference_range=own)
        rows.append(_result(c.kb, derived, age, derived=True))
    return rows


@rule("labs.flags", gives=("lab_flags",), needs=("lab_results",))
def flags(c: Context) -> dict[str, str]:
    """Each analyte's flag (low, normal, high); calcium is read albumin-corrected when it can."""
    found = {row.analyte: row.flag for row in c.value("lab_results") if row.flag is not None}
    for code in list(found):
        better = c.kb.labs[code].read_as
        if better is not None and better in found:
            found[code] = found[better]
    return found


@rule("lab.flagged", gives=("labs",), needs=("lab_results",))
def flagged(c: Context) -> list[Finding]:
    """A value below or above its range, for the analytes whose low or high value the
    knowledge base interprets (potassium, calcium, phosphate, ionised magnesium)."""
    found = []
    rows: list[LabResult] = c.value("lab_results")
    present = {row.analyte for row in rows}
    for row in rows:
        analyte = c.kb.labs[row.analyte]
        child = _adult_range_only(c, row)
        if child is not None:
            found.append(child)
            continue
        code = {"low": analyte.low_message, "high": analyte.high_message}.get(row.flag or "")
        if code is None or (analyte.read_as and analyte.read_as in present):
            continue
        with c.scope():
            if row.range_source == "default" and analyte.default_range is not None:
                c.cite(analyte.default_range)
            c.cite(*analyte.notes)
            params: dict[str, Any] = {
                "analyte": row.analyte,
                "value": row.value_canonical,
                "low": row.range_low,
                "high": row.range_high,
                "own_range": row.range_source == "lab",
            }
            found.append(c.finding(code, severity="warning", **params))
    return found


def _adult_range_only(c: Context, row: LabResult) -> Finding | None:
    """A child's value of an analyte the knowledge base reads against an adults-only range,
    without the lab's own range: not read as low or high (the adult range does not apply);
    a note asks for the lab's range for the child's age."""
    analyte = c.kb.labs[row.analyte]
    rng = analyte.default_range
    if row.range_source != "none" or rng is None or rng.adults_from_age is None:
        return None
    if not (analyte.low_message or analyte.high_message) or row.derived:
        return None
    c.cite(rng)
    params: dict[str, Any] = {
        "analyte": row.analyte,
        "value": row.value_canonical,
        "unit": row.unit_canonical,
        "age_from": rng.adults_from_age,
    }
    return c.finding("lab.adult_range_not_for_child", severity="warning", **params)


@rule("labs.serum_status", gives=("serum_status",), needs=("lab_readings",))
def serum_status(c: Context) -> SerumStatus | None:
    """Below the lab's own range (when given), else below the default range or the deficiency
    cut-off: low; above the range or the symptomatic level: high; up to the sufficiency
    cut-off: borderline; else normal (Costello 2017). The lab's own range always wins."""
    reading: LabReading | None = c.value("lab_readings").get("serum_magnesium")
    if reading is None:
        return None
    deficient = c.param("serum_mg_likely_deficient_below")
    low = reading.low if reading.low is not None else deficient
    if not reading.range_from_lab:
        low = max(low, deficient)
    params: dict[str, Any] = {
        "analyte": "serum_magnesium",
        "value": _r(reading.value),
        "low": _r(low),
        "high": reading.high and _r(reading.high),
    }
    symptomatic = c.param("serum_mg_symptomatic_above")
    sufficient = c.param("serum_mg_likely_sufficient_above")

    def status(value: float) -> str:
        if value < low:
            return "low"
        if value > symptomatic or (reading.high is not None and value > reading.high):
            return "high"
        return "borderline" if value <= sufficient else "normal"

    found = status(reading.value)
    lab = next((x for x in c.intake.labs if x.analyte == "serum_magnesium"), None)
    end = _OPEN_END.get(lab.comparator or "") if lab is not None else None
    if end is not None and status(end) != found:
        return None  # a bound whose open side reaches another status: not read (lab.bound_*)
    return SerumStatus(found, params)


def _serum(c: Context, status: str) -> tuple[LabReading, dict[str, Any]] | None:
    found: SerumStatus | None = c.value("serum_status")
    if found is None or found.status != status:
        return None
    reading: LabReading = c.value("lab_readings")["serum_magnesium"]
    c.cite(reading.range_sources)
    return reading, found.params


@rule(
    "lab.serum_low",
    gives=("labs", "referral", "risk_factors"),
    needs=("serum_status", "lab_readings"),
)
def serum_low(c: Context) -> list[Finding] | None:
    """Low serum magnesium: a likely deficiency, and a doctor looks for the cause."""
    found = _serum(c, "low")
    if found is None:
        return None
    params = found[1]
    c.param("serum_mg_likely_deficient_below")
    return [
        c.finding("lab.serum_low", severity="critical", **params),
        c.finding("referral.serum_low", severity="critical", **params),
        c.finding(
            "risk.lab_serum_low",
            severity="warning",
            points=int(c.param("lab_points_deficient")),
            **params,
        ),
    ]


@rule("lab.serum_high", gives=("labs", "referral"), needs=("serum_status", "lab_readings"))
def serum_high(c: Context) -> list[Finding] | None:
    """Serum magnesium above the range: no supplement, a doctor checks why."""
    found = _serum(c, "high")
    if found is None:
        return None
    c.param("serum_mg_symptomatic_above")
    return [
        c.finding("lab.serum_high", severity="critical", **found[1]),
        c.finding("referral.serum_high", severity="critical", **found[1]),
    ]


@rule("lab.serum_borderline", gives=("labs", "risk_factors"), needs=("serum_status",))
def serum_borderline(c: Context) -> list[Finding] | None:
    """Serum between the deficiency and sufficiency cut-offs: a deficiency is possible."""
    found: SerumStatus | None = c.value("serum_status")
    if found is None or found.status != "borderline":
        return None
    sufficient = c.param("serum_mg_likely_sufficient_above")
    params = {**found.params, "sufficient": sufficient}
    borderline = c.finding("lab.serum_borderline", severity="warning", **params)
    points = int(c.param("lab_points_borderline"))
    return [borderline, c.finding("risk.lab_serum_borderline", points=points, **found.params)]


@rule("lab.serum_normal", gives=("labs",), needs=("serum_status",))
def serum_normal(c: Context) -> Finding | None:
    """Serum above the sufficiency cut-off."""
    found: SerumStatus | None = c.value("serum_status")
    if found is None or found.status != "normal":
        return None
    c.param("serum_mg_likely_sufficient_above")
    return c.finding("lab.serum_normal", **found.params)


@rule("lab.serum_not_conclusive", gives=("labs",), needs=("lab_readings", "serum_status"))
def serum_not_conclusive(c: Context) -> Finding | None:
    """A serum value that is not low or high: serum holds under 1 % of the body's magnesium,
    so it does not rule out a deficiency."""
    found: SerumStatus | None = c.value("serum_status")
    if found is None or found.status in ("low", "high"):
        return None
    c.fact("measurement_serum_not_status")
    return c.finding("lab.serum_not_conclusive")


def _range_basis(c: Context, reading: LabReading) -> None:
    """A lab's own range rests on the lab; without a default range, on the general fact."""
    if reading.range_sources:
        c.cite(reading.range_sources)
    else:
        c.fact("measurement_rbc_urine")


@rule("lab.rbc", gives=("labs", "risk_factors"), needs=("lab_readings",))
def rbc(c: Context) -> list[Finding] | None:
    """Magnesium in red blood cells below its range points at a deficiency."""
    reading: LabReading | None = c.value("lab_readings").get("rbc_magnesium")
    if reading is None or reading.low is None:
        return None
    params: dict[str, Any] = {
        "analyte": "rbc_magnesium",
        "value": _r(reading.value),
        "low": _r(reading.low),
        "high": reading.high and _r(reading.high),
        "own_range": reading.range_from_lab,
    }
    _range_basis(c, reading)
    if reading.value >= reading.low:
        return [c.finding("lab.rbc_normal", **params)]
    low = c.finding("lab.rbc_low", severity="warning", **params)
    points = int(c.param("lab_points_deficient"))
    return [low, c.finding("risk.lab_rbc_low", severity="warning", points=points, **params)]


@rule("lab.urine", gives=("labs", "risk_factors"), needs=("lab_readings", "serum_status"))
def urine(c: Context) -> list[Finding] | None:
    """Low 24-hour urine magnesium: the body holds on to it; with low serum and ongoing loss,
    the kidneys may be losing it (a doctor's question)."""
    reading: LabReading | None = c.value("lab_readings").get("urine_magnesium_24h")
    if reading is None:
        return None
    params: dict[str, Any] = {
        "analyte": "urine_magnesium_24h",
        "value": _r(reading.value),
        "low": reading.low and _r(reading.low),
        "high": reading.high and _r(reading.high),
    }
    _range_basis(c, reading)
    serum: SerumStatus | None = c.value("serum_status")
    if reading.low is not None and reading.value < reading.low:
        low = c.finding("lab.urine_low", severity="warning", **params)
        points = int(c.param("lab_points_borderline"))
        return [low, c.finding("risk.lab_urine_low", points=points, **params)]
    if serum is not None and serum.status == "low" and reading.low is not None:
        return [c.finding("lab.urine_renal_loss", severity="warning", **params)]
    return [c.finding("lab.urine_normal", **params)]


@rule("labs.loading_retention", gives=("loading_retention_pct",))
def loading_retention(c: Context) -> float | None:
    """% of an IV load retained (Ryzen 1985), when a loading test was done."""
    test = c.intake.loading_test
    return round(retention_pct(test), 1) if test is not None else None


def _loading_kidney(c: Context) -> tuple[str, dict[str, Any]] | None:
    """Why a loading test cannot be read for these kidneys (the finding's code and numbers):
    an eGFR below the limit, or, without an eGFR, a kidney condition named."""
    measured: float | None = c.value("egfr")
    if measured is not None:
        limit = c.param("loading_test_egfr_min")
        if measured >= limit:
            return None
        return "lab.loading_not_interpretable_kidney", {
            "egfr": shown_egfr(measured),
            "limit": limit,
        }
    named = [code for code in c.intake.conditions if c.kb.conditions[code].monitor_kidney]
    if not named:
        return None
    c.param("loading_test_egfr_min")
    return "lab.loading_not_interpretable_kidney_condition", {"condition": named[0]}


@rule(
    "lab.loading_retention",
    gives=("labs", "risk_factors"),
    needs=("loading_retention_pct", "egfr", "medications"),
)
def loading_result(c: Context) -> list[Finding] | None:
    """Retaining more of the load than the threshold points at a deficiency. With reduced
    kidney function the test cannot be read (the kidneys pass less of the load, so more seems
    retained): no result and no risk points. With a loop or thiazide diuretic (a diuretic of
    the Magnesium Depletion Score) the kidneys lose magnesium: a low retention does not rule a
    deficiency out, and a high one is often seen on long-term diuretics; said with the result."""
    pct: float | None = c.value("loading_retention_pct")
    if pct is None:
        return None
    threshold = c.param("loading_retention_deficient_above_pct")
    params: dict[str, Any] = {"retention_pct": pct, "threshold_pct": threshold}
    kidney = _loading_kidney(c)
    if kidney is not None:
        c.cite(*c.kb.labs["magnesium_loading_test"].notes)
        return [c.finding(kidney[0], severity="warning", **params, **kidney[1])]
    review = c.value("medications")
    diuretic = next(((m, d) for m, d in review.depleting if d.mds_component == "diuretic"), None)
    caveat: list[Finding] = []
    if diuretic is not None:
        match, dep = diuretic
        with c.scope():
            c.cite(*c.kb.labs["magnesium_loading_test"].notes)
            code = "lab.loading_diuretic_low" if pct <= threshold else "lab.loading_diuretic_high"
            caveat.append(
                c.finding(
                    code,
                    severity="warning",
                    cites=[dep.statement],
                    medication=match.input,
                    group=dep.code,
                    **params,
                )
            )
    if pct <= threshold:
        return caveat or [c.finding("lab.loading_retention_normal", **params)]
    high = c.finding("lab.loading_retention_high", severity="warning", **params)
    points = int(c.param("lab_points_deficient"))
    return [
        high,
        c.finding("risk.lab_loading_retention", severity="warning", points=points, **params),
        *caveat,
    ]


@rule("lab.bound_undecided", gives=("labs",), needs=("lab_results", "lab_readings"))
def bound_undecided(c: Context) -> list[Finding]:
    """A value the lab gave only as a bound whose open side reaches past its range (">0.7"
    against 0.75-1.0 may be low or normal): not read as low, normal or high; ask the number."""
    found = []
    readings: dict[str, LabReading] = c.value("lab_readings")
    for row in c.value("lab_results"):
        if row.comparator and row.flag is None and row.analyte in readings:
            if row.range_low is None and row.range_high is None:
                continue
            with c.scope():
                c.cite(readings[row.analyte].range_sources)
                found.append(
                    c.finding(
                        "lab.bound_undecided",
                        severity="warning",
                        analyte=row.analyte,
                        sign=bound_sign(row.comparator),
                        bound=row.value,
                        unit=row.unit,
                    )
                )
    return found
