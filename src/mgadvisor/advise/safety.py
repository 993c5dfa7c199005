"""Safety: what the seeds and authorities reserve for a doctor becomes a referral, not a dose.

Each rule is a named check returning Findings with the sources of the knowledge it rests on.
Referral codes in WITHHOLD mean no dose is advised at all until a doctor has decided.
"""

from __future__ import annotations

from mgadvisor.advice import Finding, InteractionHit, MedicationMatch, TraceStep
from mgadvisor.intake import Intake
from mgadvisor.kb.base import KnowledgeBase
from mgadvisor.kb.models import Depleting, Safety

WITHHOLD = frozenset(
    {
        "referral.interaction_avoid",
        "referral.kidney_contraindicated",
        "referral.condition_contraindicated",
        "referral.serum_high",
        "referral.young_child",
    }
)

PREECLAMPSIA_SIGNS_CONDITIONS = ("hypertension", "preeclampsia")
PREECLAMPSIA_SIGNS_COMPLAINTS = ("headache", "migraine")


def kidney(kb: KnowledgeBase, egfr: float | None) -> list[Finding]:
    """eGFR < 30: contraindicated (EU SmPC); eGFR < 60: only under medical supervision (seed)."""
    if egfr is None:
        return []
    contraindicated = kb.parameters["egfr_contraindicated_below"]
    supervision = kb.parameters["egfr_supervision_below"]
    params = {"egfr": round(egfr), "limit": contraindicated.value}
    if egfr < contraindicated.value:
        return [
            Finding(
                code="referral.kidney_contraindicated",
                severity="critical",
                params=params,
                sources=list(contraindicated.sources),
            )
        ]
    if egfr < supervision.value:
        return [
            Finding(
                code="referral.kidney_supervision",
                severity="warning",
                params={"egfr": round(egfr), "limit": supervision.value},
                sources=list(supervision.sources),
            )
        ]
    return []


def conditions(kb: KnowledgeBase, intake: Intake) -> list[Finding]:
    found = []
    for code in intake.conditions:
        cond = kb.conditions[code]
        note = cond.safety_note or cond.description
        if cond.safety is Safety.CONTRAINDICATED:
            found.append(
                Finding(
                    code="referral.condition_contraindicated",
                    severity="critical",
                    params={"condition": code},
                    sources=list(note.sources),
                )
            )
        elif cond.safety is Safety.MEDICAL_SUPERVISION:
            found.append(
                Finding(
                    code="referral.condition_supervision",
                    severity="warning",
                    params={"condition": code},
                    sources=list(note.sources),
                )
            )
    return found


def medicines(hits: list[InteractionHit]) -> list[Finding]:
    """Digoxin-like interactions go to the doctor; 'not with magnesium at all' (raltegravir)
    means no magnesium until the prescriber has decided, however far apart."""
    found: dict[tuple[str, str], Finding] = {}
    for hit in hits:
        params = {"medication": hit.name or hit.medication, "interaction": hit.interaction}
        if hit.severity == "referral":
            code, severity = "referral.medicine", "warning"
        elif hit.severity == "avoid":
            code, severity = "referral.interaction_avoid", "critical"
        else:
            continue
        # One reason per medicine, however many doses a day were entered.
        found[(code, hit.interaction)] = Finding(
            code=code,
            severity=severity,
            params=params,
            sources=hit.sources,
        )
    return list(found.values())


def pregnancy_signs(kb: KnowledgeBase, intake: Intake) -> list[Finding]:
    """Pregnant with high blood pressure or headache: pre-eclampsia must be excluded by a doctor."""
    if not intake.person.pregnant:
        return []
    signs = [c for c in intake.conditions if c in PREECLAMPSIA_SIGNS_CONDITIONS]
    signs += [c for c in intake.complaints if c in PREECLAMPSIA_SIGNS_COMPLAINTS]
    if not signs:
        return []
    cond = kb.conditions["preeclampsia"]
    sources = list(
        dict.fromkeys(
            [*cond.description.sources, *(cond.safety_note.sources if cond.safety_note else [])]
        )
    )
    return [
        Finding(
            code="referral.preeclampsia_check",
            severity="critical",
            params={"signs": signs},
            sources=sources,
        )
    ]


def ppi_with_symptoms(
    kb: KnowledgeBase, intake: Intake, depleting: list[tuple[MedicationMatch, Depleting]]
) -> list[Finding]:
    """Long-term proton-pump inhibitor with deficiency symptoms: a doctor should check serum Mg."""
    early = kb.parameters["ppi_early_months"]
    symptomatic = [c for c in intake.complaints if kb.symptoms[c].risk_points > 0]
    if not symptomatic:
        return []
    found = []
    for match, dep in depleting:
        if dep.mds_component != "ppi":
            continue
        months = next(
            (m.months for m in intake.medications if (m.name or m.atc) == match.input), None
        )
        if months is None or months >= early.value:
            found.append(
                Finding(
                    code="referral.ppi_symptoms",
                    severity="warning",
                    params={"medication": match.input, "months": months, "symptoms": symptomatic},
                    sources=list(dict.fromkeys([*early.sources, *dep.statement.sources])),
                )
            )
    return found


def red_flag_symptoms(kb: KnowledgeBase, intake: Intake) -> list[Finding]:
    return [
        Finding(
            code="referral.symptom",
            severity="warning",
            params={"symptom": code},
            sources=list(kb.symptoms[code].description.sources),
        )
        for code in intake.complaints
        if kb.symptoms[code].red_flag
    ]


def medical_goals(kb: KnowledgeBase, intake: Intake) -> list[Finding]:
    return [
        Finding(
            code="referral.medical_goal",
            severity="warning",
            params={"goal": code},
            sources=list(kb.applications[code].summary.sources),
        )
        for code in intake.goals
        if kb.applications[code].medical_only
    ]


def young_child(kb: KnowledgeBase, intake: Intake) -> list[Finding]:
    limit = kb.parameters["young_child_below_age"]
    if intake.person.age < limit.value:
        return [
            Finding(
                code="referral.young_child",
                severity="critical",
                params={"age": intake.person.age},
                sources=list(limit.sources),
            )
        ]
    return []


def referral_reasons(
    kb: KnowledgeBase,
    intake: Intake,
    egfr: float | None,
    hits: list[InteractionHit],
    depleting: list[tuple[MedicationMatch, Depleting]],
    lab_referrals: list[Finding],
    trace: list[TraceStep],
) -> list[Finding]:
    reasons = [
        *young_child(kb, intake),
        *kidney(kb, egfr),
        *conditions(kb, intake),
        *pregnancy_signs(kb, intake),
        *lab_referrals,
        *medicines(hits),
        *ppi_with_symptoms(kb, intake, depleting),
        *red_flag_symptoms(kb, intake),
        *medical_goals(kb, intake),
    ]
    for reason in reasons:
        trace.append(
            TraceStep(
                rule=reason.code, facts=reason.params, result="referral", sources=reason.sources
            )
        )
    return reasons
