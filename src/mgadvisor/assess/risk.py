"""Deficiency risk: explainable points from the seeds' risk groups, symptoms, medicines and labs.

Each rule adds risk factors (findings with points) that rest on the knowledge entry it read;
`risk.level` sums them and applies the sourced thresholds. Factors from labs, medicines, the
diet and the kidneys come from the rules of those topics.
"""

from __future__ import annotations

from typing import Any

from mgadvisor.advice import Finding, Risk
from mgadvisor.engine import Context, rule
from mgadvisor.kb.models import Condition, RiskFactor, Symptom


def _factor(c: Context, entry: RiskFactor, **params: Any) -> Finding | None:
    if entry.points <= 0:
        return None
    return c.finding(f"risk.{entry.code}", points=entry.points, cites=[entry.statement], **params)


@rule("risk.age", gives=("risk_factors",))
def age(c: Context) -> list[Finding]:
    """Age groups the sources name (older adults, adolescents, children 9-13), whole years,
    both bounds inclusive as in the data."""
    years = int(c.intake.person.age)
    found = []
    for entry in c.kb.risk_factors.values():
        low, high = entry.params.get("min_age"), entry.params.get("max_age")
        if low is None and high is None:
            continue
        if float(low or 0) <= years <= float(high if high is not None else 200):
            factor = _factor(c, entry, age=years)
            if factor is not None:
                found.append(factor)
    return found


@rule("risk.pregnancy", gives=("risk_factors",))
def pregnancy(c: Context) -> Finding | None:
    """Pregnancy raises the need for magnesium."""
    person = c.intake.person
    return _factor(c, c.kb.risk_factors["pregnancy"]) if person.pregnant else None


@rule("risk.lactation", gives=("risk_factors",))
def lactation(c: Context) -> Finding | None:
    """Breastfeeding raises the need for magnesium."""
    person = c.intake.person
    return _factor(c, c.kb.risk_factors["lactation"]) if person.lactating else None


@rule("risk.athlete", gives=("risk_factors",), needs=("athlete",))
def athlete(c: Context) -> Finding | None:
    """Athletes lose extra magnesium through sweat and urine."""
    if not c.value("athlete"):
        return None
    hours = c.intake.lifestyle.sport_hours_per_week
    return _factor(c, c.kb.risk_factors["athlete"], hours=hours)


@rule("risk.chronic_stress", gives=("risk_factors",))
def chronic_stress(c: Context) -> Finding | None:
    """Long-lasting (high) stress uses up magnesium."""
    if c.intake.lifestyle.stress != "high":
        return None
    return _factor(c, c.kb.risk_factors["chronic_stress"])


@rule("risk.alcohol", gives=("risk_factors",), needs=("heavy_drinker",))
def alcohol(c: Context) -> Finding | None:
    """Heavy drinking (Fan 2021's definition) raises urinary magnesium loss."""
    if not c.value("heavy_drinker"):
        return None
    units = c.intake.lifestyle.alcohol_units_per_week
    return _factor(c, c.kb.risk_factors["alcohol"], units_per_week=units)


@rule("risk.condition", gives=("risk_factors",))
def conditions(c: Context) -> list[Finding]:
    """A condition that disturbs the magnesium balance adds its points."""
    found = []
    for code in c.intake.conditions:
        entry = c.kb.conditions[code]
        if entry.risk_points > 0:
            note = entry.risk_note or entry.description
            found.append(
                c.finding("risk.condition", points=entry.risk_points, cites=[note], condition=code)
            )
    return found


@rule("risk.symptom", gives=("risk_factors",))
def symptoms(c: Context) -> list[Finding]:
    """A complaint that fits a deficiency adds its points."""
    found = []
    for code in c.intake.complaints:
        entry = c.kb.symptoms[code]
        if entry.risk_points > 0:
            found.append(
                c.finding(
                    "risk.symptom",
                    points=entry.risk_points,
                    cites=[entry.description],
                    symptom=code,
                )
            )
    return found


def counted_once(c: Context, factors: list[Finding]) -> list[Finding]:
    """Leave out a complaint's or condition's factor when the risk factor its knowledge entry
    names (`risk_counted_as`) is there too: one risk, counted once (a named kidney disease
    beside a measured reduced eGFR; the complaint stress beside persistent high stress)."""
    present = {f.code for f in factors}
    kept = []
    for factor in factors:
        entry: Condition | Symptom | None = None
        if factor.code == "risk.condition":
            entry = c.kb.conditions[factor.params["condition"]]
        elif factor.code == "risk.symptom":
            entry = c.kb.symptoms[factor.params["symptom"]]
        if entry is not None and entry.risk_counted_as in present:
            continue
        kept.append(factor)
    return kept


@rule("risk.level", gives=("risk",), needs=("risk_factors", "lab_flags", "serum_status"))
def level(c: Context) -> Risk:
    """The sum of the factors' points against the moderate and high thresholds; a measured low
    magnesium confirms the deficiency (at least high), a high one excludes it."""
    factors = counted_once(c, c.sections["risk_factors"])
    score = sum(f.points or 0 for f in factors)
    if score >= c.param("risk_high_from"):
        found: str = "high"
    elif score >= c.param("risk_moderate_from"):
        found = "moderate"
    else:
        found = "low"
    serum = c.value("serum_status")
    flags: dict[str, str] = c.value("lab_flags")
    if (serum is not None and serum.status == "low") or flags.get("ionized_magnesium") == "low":
        return Risk("high", score, factors, "confirmed_low")
    if (serum is not None and serum.status == "high") or flags.get("ionized_magnesium") == "high":
        return Risk("low", score, factors, "excluded_high")
    return Risk(found, score, factors)  # type: ignore[arg-type]
