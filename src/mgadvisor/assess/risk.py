"""Deficiency risk: explainable points from the seeds' risk groups, symptoms, medicines and labs.

Each rule is one small function that names its condition and returns a Finding with the points
and the sources of the knowledge entry it rests on.
"""

from __future__ import annotations

from mgadvisor.advice import Finding, Risk
from mgadvisor.intake import Intake
from mgadvisor.kb.base import KnowledgeBase
from mgadvisor.kb.models import Depleting, RiskFactor


def _factor(entry: RiskFactor, **params: object) -> Finding:
    return Finding(
        code=f"risk.{entry.code}",
        severity="info",
        params=dict(params),
        sources=list(entry.statement.sources),
        points=entry.points,
    )


def _age_band(entry: RiskFactor, age: float) -> bool:
    low = float(entry.params.get("min_age", 0))
    high = float(entry.params.get("max_age", 200))
    return low <= age <= high  # both bounds inclusive, in whole years (as in the data)


def is_athlete(kb: KnowledgeBase, intake: Intake) -> bool:
    return intake.lifestyle.sport_hours_per_week >= kb.param("athlete_min_sport_hours_per_week")


def is_heavy_drinker(kb: KnowledgeBase, intake: Intake) -> bool:
    """Fan 2021's definition: more than 1 drink a day (women) or 2 (men), from units per week."""
    params = kb.risk_factors["alcohol"].params
    per_day = intake.lifestyle.alcohol_units_per_week / 7
    limit = (
        params["women_drinks_per_day_over"]
        if intake.person.sex == "female"
        else params["men_drinks_per_day_over"]
    )
    return per_day > float(limit)


def person_factors(kb: KnowledgeBase, intake: Intake) -> list[Finding]:
    person, found = intake.person, []
    rf = kb.risk_factors
    age = int(person.age)
    for code in ("older_adult", "adolescent", "child_9_13"):
        if code in rf and _age_band(rf[code], age) and rf[code].points > 0:
            found.append(_factor(rf[code], age=age))
    if person.pregnant and rf["pregnancy"].points > 0:
        found.append(_factor(rf["pregnancy"]))
    if person.lactating and rf["lactation"].points > 0:
        found.append(_factor(rf["lactation"]))
    if is_athlete(kb, intake):
        found.append(_factor(rf["athlete"], hours=intake.lifestyle.sport_hours_per_week))
    if intake.lifestyle.stress == "high":
        found.append(_factor(rf["chronic_stress"]))
    if is_heavy_drinker(kb, intake):
        found.append(_factor(rf["alcohol"], units_per_week=intake.lifestyle.alcohol_units_per_week))
    return found


def condition_factors(kb: KnowledgeBase, intake: Intake) -> list[Finding]:
    found = []
    for code in intake.conditions:
        cond = kb.conditions[code]
        if cond.risk_points > 0:
            note = cond.risk_note or cond.description
            found.append(
                Finding(
                    code="risk.condition",
                    params={"condition": code},
                    sources=list(note.sources),
                    points=cond.risk_points,
                )
            )
    return found


def symptom_factors(kb: KnowledgeBase, intake: Intake) -> list[Finding]:
    found = []
    for code in intake.complaints:
        symptom = kb.symptoms[code]
        if symptom.risk_points > 0:
            found.append(
                Finding(
                    code="risk.symptom",
                    params={"symptom": code},
                    sources=list(symptom.description.sources),
                    points=symptom.risk_points,
                )
            )
    return found


def medicine_factors(depleting: list[tuple[str, Depleting]]) -> list[Finding]:
    seen: set[str] = set()
    found = []
    for name, dep in depleting:
        if dep.code in seen or dep.risk_points == 0:
            continue
        seen.add(dep.code)
        found.append(
            Finding(
                code="risk.medicine",
                params={"medication": name, "group": dep.code},
                sources=list(dep.statement.sources),
                points=dep.risk_points,
            )
        )
    return found


def level(kb: KnowledgeBase, score: int) -> str:
    if score >= kb.param("risk_high_from"):
        return "high"
    if score >= kb.param("risk_moderate_from"):
        return "moderate"
    return "low"


def assess_risk(kb: KnowledgeBase, factors: list[Finding]) -> Risk:
    score = sum(f.points or 0 for f in factors)
    return Risk(level=level(kb, score), score=score, factors=factors)
