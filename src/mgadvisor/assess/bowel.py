"""Constipation: alarm signs go to the GP first, and the laxative dose the sources give.

A complaint marked `bowel_alarm` in symptoms.yaml (blood in the stool, unintended weight loss,
new-onset constipation from the age in its `alarm_from_age`) is a routine GP referral, and
while it stands the laxative use of magnesium waits for the doctor: no laxative dose, and the
compound choice does not aim at laxation (`advise.compounds`).
"""

from __future__ import annotations

from mgadvisor.advice import Finding
from mgadvisor.chemistry import composition, elemental_mg
from mgadvisor.engine import Context, rule
from mgadvisor.intake import Intake
from mgadvisor.kb.base import KnowledgeBase
from mgadvisor.kb.models import DoseBasis, LaxativeDose


def alarm_signs(kb: KnowledgeBase, intake: Intake) -> list[str]:
    """The person's complaints that are bowel alarm signs at their age."""
    age = intake.person.age
    signs = []
    for code in intake.complaints:
        entry = kb.symptoms[code]
        if entry.bowel_alarm and (entry.alarm_from_age is None or age >= entry.alarm_from_age):
            signs.append(code)
    return signs


@rule("referral.bowel_alarm", gives=("referral",))
def bowel_alarm(c: Context) -> list[Finding]:
    """An alarm sign with the bowels: an ordinary GP appointment to find the cause; no laxative
    plan meanwhile."""
    return [
        c.finding(
            "referral.bowel_alarm",
            severity="warning",
            cites=[c.kb.symptoms[code].description],
            symptom=code,
        )
        for code in alarm_signs(c.kb, c.intake)
    ]


def _elemental_per_day(c: Context, dose: LaxativeDose) -> tuple[float, float]:
    """Elemental magnesium a day at the dose's fewest and most units."""
    compound = c.kb.compounds[dose.compound]
    per_unit = dose.amount_mg
    if dose.basis is DoseBasis.COMPOUND:
        comp = composition(compound.formula, compound.water_of_hydration)
        per_unit = elemental_mg(dose.amount_mg, comp)
    low, high = dose.units_per_day
    return round(per_unit * low), round(per_unit * high)


@rule("dose.laxative_use", gives=("dose_basis",), needs=("withheld", "kidney_reduced"))
def laxative_use(c: Context) -> list[Finding]:
    """With the goal of relieving constipation: the laxative doses of the sources, for the ages
    they are given for, beside (never instead of) the supplement dose; not with an alarm sign,
    when the plan is withheld, or with reduced kidney function (a measured eGFR below the
    supervision limit, or a kidney condition), where such doses are not for self-care."""
    if c.value("withheld") or alarm_signs(c.kb, c.intake):
        return []
    if c.value("kidney_reduced"):
        return []
    found = []
    for goal in c.intake.goals:
        for dose in c.kb.applications[goal].laxative_doses:
            if c.intake.person.age < dose.age_from:
                continue
            low, high = _elemental_per_day(c, dose)
            found.append(
                c.finding(
                    "dose.laxative_use",
                    cites=[dose],
                    goal=goal,
                    compound=dose.compound,
                    amount=dose.amount_mg,
                    units_from=dose.units_per_day[0],
                    units_to=dose.units_per_day[1],
                    elemental_from=low,
                    elemental_to=high,
                )
            )
    return found
