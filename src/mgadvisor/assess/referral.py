"""Referrals: what the seeds and authorities reserve for a doctor becomes a referral, not a dose.

Referrals from labs, kidneys and medicines live with the rules of those topics. A referral
whose message is marked ``withholds_dose`` in messages.yaml means no dose at all until a doctor
has decided (see `dose.withheld`).
"""

from __future__ import annotations

from mgadvisor.advice import Finding, Indicator
from mgadvisor.engine import Context, rule
from mgadvisor.kb.models import Safety


@rule("referral.young_child", gives=("referral",))
def young_child(c: Context) -> Finding | None:
    """Below the age limit, magnesium supplements are a doctor's decision."""
    age = c.intake.person.age
    if age >= c.param("young_child_below_age"):
        return None
    return c.finding("referral.young_child", severity="critical", age=age)


def _conditions(c: Context, safety: Safety, code: str, severity: Indicator) -> list[Finding]:
    """A finding for each condition in the intake with this safety level, citing its note."""
    found = []
    for condition in c.intake.conditions:
        entry = c.kb.conditions[condition]
        if entry.safety is safety:
            note = entry.safety_note or entry.description
            found.append(c.finding(code, severity=severity, cites=[note], condition=condition))
    return found


@rule("referral.condition_contraindicated", gives=("referral",))
def condition_contraindicated(c: Context) -> list[Finding]:
    """A condition with which magnesium is contraindicated."""
    return _conditions(c, Safety.CONTRAINDICATED, "referral.condition_contraindicated", "critical")


@rule("referral.condition_supervision", gives=("referral",))
def condition_supervision(c: Context) -> list[Finding]:
    """A condition with which magnesium is taken only under a doctor's supervision."""
    return _conditions(c, Safety.MEDICAL_SUPERVISION, "referral.condition_supervision", "warning")


@rule("referral.preeclampsia_check", gives=("referral",))
def preeclampsia_check(c: Context) -> Finding | None:
    """Pregnant with a warning sign of pre-eclampsia (high blood pressure, headache): a doctor
    must exclude it. Not in a pregnancy known to be before week 20: it starts after that."""
    person = c.intake.person
    if not person.pregnant:
        return None
    if person.pregnancy_week is not None and person.pregnancy_week < c.param(
        "preeclampsia_from_week", cite=False
    ):
        return None
    entry = c.kb.conditions["preeclampsia"]
    given = [*c.intake.conditions, *c.intake.complaints]
    signs = [code for code in given if code in entry.warning_signs]
    if not signs:
        return None
    notes = [entry.description, entry.safety_note] if entry.safety_note else [entry.description]
    return c.finding("referral.preeclampsia_check", severity="critical", cites=notes, signs=signs)


@rule("referral.pregnancy_hypertension", gives=("referral",))
def pregnancy_hypertension(c: Context) -> Finding | None:
    """Pregnant before week 20 with high blood pressure (a condition among pre-eclampsia's
    warning signs): no pre-eclampsia yet, but the pressure belongs with obstetric care and the
    chance of pre-eclampsia from week 20 is higher (from week 20 `preeclampsia_check` says so)."""
    person = c.intake.person
    week = person.pregnancy_week
    if not person.pregnant or week is None or week >= c.param("preeclampsia_from_week"):
        return None
    entry = c.kb.conditions["preeclampsia"]
    signs = [code for code in c.intake.conditions if code in entry.warning_signs]
    if not signs:
        return None
    return c.finding(
        "referral.pregnancy_hypertension", cites=[entry.description], week=week, signs=signs
    )


@rule("referral.specialist_medicine", gives=("referral",), needs=("medications",))
def specialist_medicine(c: Context) -> list[Finding]:
    """A magnesium-lowering medicine that a specialist team gives and follows (chemotherapy, IV
    antimicrobials, transplant medicines: `specialist` in depleting.yaml): its label leaves the
    magnesium dose to the prescriber, so the plan goes through that team."""
    return [
        c.finding(
            "referral.specialist_medicine",
            cites=[dep.statement],
            medication=match.input,
            atc=match.atc,
            group=dep.code,
        )
        for match, dep in c.value("medications").depleting
        if dep.specialist
    ]


@rule("referral.symptom", gives=("referral",))
def red_flag_symptoms(c: Context) -> list[Finding]:
    """A complaint that belongs with a doctor whatever else is found."""
    return [
        c.finding(
            "referral.symptom",
            severity="warning",
            cites=[c.kb.symptoms[code].description],
            symptom=code,
        )
        for code in c.intake.complaints
        if c.kb.symptoms[code].red_flag
    ]


@rule("referral.medical_goal", gives=("referral",))
def medical_goals(c: Context) -> list[Finding]:
    """A goal that is a medical treatment, not self-care."""
    return [
        c.finding(
            "referral.medical_goal",
            severity="warning",
            cites=[c.kb.applications[code].summary],
            goal=code,
        )
        for code in c.intake.goals
        if c.kb.applications[code].medical_only
    ]
