"""When to look again (follow-up)."""

from __future__ import annotations

from mgadvisor.advice import Finding
from mgadvisor.advise.dose import URGENT
from mgadvisor.engine import Context, rule

URGENCY_ORDER = ("emergency", "same_day", "routine")  # most urgent first (messages.yaml)


@rule(
    "followup.reevaluate",
    gives=("follow_up_weeks", "follow_up"),
    needs=(
        "dose_target",
        "kidney_reduced",
        "medications",
        "withheld",
        "products",
        "magnesium_medicines_daily",
        "plan",
    ),
)
def reevaluate(c: Context) -> int | None:
    """With a dose, or products the client goes on taking (adjusted) while the advice adds
    none: when to look again (sooner and with labs where kidneys or digoxin ask for it; else
    the chosen goal's study duration, else the default); lower the dose on diarrhoea. Without
    a plan (withheld, waiting for a magnesium medicine's amount, or no time of day that keeps
    every medicine's gap): no re-evaluation."""
    if c.value("dose_target") <= 0:
        waits = c.value("withheld") or c.value("magnesium_medicines_daily")
        if waits or not c.value("products"):
            return None
    elif not c.value("plan").intakes:  # no time keeps every gap: the pharmacist first
        return None
    with c.scope():
        weeks, labs = _weeks(c)
        week = c.intake.person.pregnancy_week
        if week is not None:  # look again before the birth, when the advice changes anyway
            c.cite(c.kb.risk_factors["pregnancy"].statement)
            weeks = max(1, min(weeks, int(c.param("pregnancy_term_weeks")) - week))
        code = "followup.with_labs" if labs else "followup.reevaluate"
        c.emit(c.finding(code, weeks=weeks), "follow_up")
    c.fact("dosage_saturation_sign")
    c.fact("dosage_saturation_not_a_test")
    c.emit(c.finding("followup.diarrhoea_lower_dose"), "follow_up")
    return weeks


@rule("followup.measure_status", gives=("follow_up",))
def measure_status(c: Context) -> Finding:
    """Status is best judged by serum with red-cell and urine magnesium together."""
    c.fact("authority_best_assessment")
    c.fact("measurement_rbc_urine")
    return c.finding("followup.measure_status")


@rule("followup.kidney_monitor", gives=("follow_up",), needs=("kidney_reduced",))
def kidney_monitor(c: Context) -> Finding | None:
    """Reduced kidney function, or a kidney condition: check kidney function regularly."""
    if not c.value("kidney_reduced"):
        return None
    return c.finding("followup.kidney_monitor", months=c.param("kidney_monitor_months"))


@rule("followup.ppi_check", gives=("follow_up",), needs=("medications",))
def ppi_check(c: Context) -> Finding | None:
    """On a proton-pump inhibitor: have magnesium checked now and then."""
    ppis = [dep for _, dep in c.value("medications").depleting if dep.mds_component == "ppi"]
    if not ppis:
        return None
    return c.finding("followup.ppi_check", cites=[ppis[0].statement])


@rule("referral.urgency", gives=("urgency",), needs=("referral", "dose_referral"))
def urgency(c: Context) -> str | None:
    """The most urgent referral decides: emergency, then same day, then routine (the urgency
    of each referral message in messages.yaml); None without a referral."""
    found = {
        c.kb.messages[f.code].urgency
        for f in [*c.sections["referral"], *c.sections["dose_referral"]]
    }
    return next((level for level in URGENCY_ORDER if level in found), None)


@rule("action.urgent", gives=("actions",), needs=("urgency",))
def urgent_action(c: Context) -> Finding | None:
    """An emergency or same-day referral: say first what to do now, and that no supplement
    plan follows until a doctor has assessed."""
    level: str | None = c.value("urgency")
    if level not in URGENT:
        return None
    reasons = [f for f in c.sections["referral"] if c.kb.messages[f.code].urgency == level]
    return c.finding(f"action.{level}", severity="critical", cites=reasons)


def _weeks(c: Context) -> tuple[int, bool]:
    """The interval to the next evaluation, and whether it comes with labs: sooner, with labs,
    for kidney disease, reduced kidney function or the medicines the knowledge base names
    (digoxin); else the longest study duration of a chosen goal's study dose (e.g. migraine
    12 weeks); else the default."""
    kidney: bool = c.value("kidney_reduced")
    watched = c.kb.facts["followup_with_labs_interactions"].codes
    taken = any(h.interaction in watched for h in c.value("medications").interactions)
    if kidney or taken:
        if taken:
            c.fact("followup_with_labs_interactions")
        return int(c.param("followup_with_labs_weeks")), True
    studies = [
        study
        for goal in c.intake.goals
        for study in c.kb.applications[goal].study_doses
        if study.duration_weeks and not c.kb.applications[goal].medical_only
    ]
    if studies:
        longest = max(studies, key=lambda study: study.duration_weeks or 0)
        c.cite(longest)
        return int(longest.duration_weeks or 0), False
    return int(c.param("reevaluate_after_weeks")), False
