"""Display labels for the codes of the schema, marked for translation (Babel extracts N_)."""

from __future__ import annotations

from typing import Any

from mgadvisor.i18n import N_
from mgadvisor.kb.evidence import Evidence

KIND_LABELS = {
    "compounds": N_("compound"),
    "applications": N_("application"),
    "symptoms": N_("symptom"),
    "conditions": N_("condition"),
    "risk_factors": N_("risk factor"),
    "interactions": N_("interaction"),
    "depleting": N_("magnesium-depleting medicine"),
    "synergy": N_("synergy"),
    "facts": N_("fact"),
    "foods": N_("food"),
    "references": N_("reference"),
    "conflicts": N_("seed versus authority"),
    "side_effects": N_("side effect"),
}

COUNT_LABELS = {
    "references": N_("references"),
    "compounds": N_("compounds"),
    "applications": N_("applications"),
    "symptoms": N_("symptoms"),
    "conditions": N_("conditions"),
    "risk_factors": N_("risk factors"),
    "interactions": N_("interactions"),
    "depleting": N_("magnesium-depleting medicines"),
    "medicine_names": N_("medicine names"),
    "authorities": N_("authorities (reference values)"),
    "foods": N_("foods"),
    "portions": N_("household portions"),
    "ffq_items": N_("food-frequency questions"),
    "facts": N_("facts"),
    "synergy": N_("synergies"),
    "labs": N_("lab analytes"),
    "parameters": N_("clinical parameters"),
    "messages": N_("message templates"),
    "alarms": N_("alarms (urgent combinations)"),
    "conflicts": N_("seed versus authority"),
    "side_effects": N_("side effects"),
}

EVIDENCE_LABELS = {
    Evidence.STRONG: N_("strong (meta-analysis)"),
    Evidence.MODERATE: N_("moderate (randomised trial or systematic review)"),
    Evidence.LIMITED: N_("limited (observational studies in humans)"),
    Evidence.PRECLINICAL: N_("preclinical only (animal or laboratory studies)"),
    Evidence.EXPERT_OPINION: N_("expert opinion (reviews, textbooks, guidelines)"),
}

STUDY_TYPE_LABELS = {
    "meta_analysis": N_("meta-analysis"),
    "systematic_review": N_("systematic review"),
    "rct": N_("randomised controlled trial"),
    "cohort_observational": N_("cohort or observational study"),
    "case_series": N_("case series"),
    "animal": N_("animal study"),
    "in_vitro": N_("in-vitro study"),
    "narrative_review": N_("narrative review"),
    "guideline_authority": N_("guideline or authority"),
    "textbook": N_("textbook"),
    "other": N_("other"),
}

ORIGIN_LABELS = {
    "article": N_("article (reference list)"),
    "article_text": N_("article (text only)"),
    "webinar": N_("webinar"),
    "authority": N_("authoritative source"),
    "seed": N_("seed document"),
    "convention": N_("mgadvisor convention"),
}

LEVEL_LABELS = {
    "low": N_("low"),
    "moderate": N_("moderate"),
    "high": N_("high"),
    "poor": N_("poor"),
    "good": N_("good"),
}

BASIS_LABELS = {
    "elemental": N_("elemental magnesium"),
    "compound": N_("mass of the salt"),
    "unspecified": N_("basis not stated in the source"),
}

COMPOUND_KIND_LABELS = {"organic": N_("organic"), "inorganic": N_("inorganic")}

FIELD_LABELS = {
    "summary": N_("Summary"),
    "description": N_("Description"),
    "claims": N_("Claims"),
    "absorption": N_("Absorption"),
    "solubility": N_("Solubility"),
    "laxative": N_("Laxative effect"),
    "timing": N_("Timing"),
    "notes": N_("Notes"),
    "mechanism": N_("Mechanism"),
    "advice": N_("Advice"),
    "statement": N_("Statement"),
    "risk_note": N_("Deficiency risk"),
    "safety_note": N_("Safety"),
    "study_doses": N_("Dose used in studies"),
    "seed": N_("Seed says"),
    "authority": N_("Authority says"),
    "remark": N_("Remark"),
    "chemical_name": N_("Chemical name"),
}

# Labels of the advice report.
RISK_LABELS = {"low": N_("low"), "moderate": N_("moderate"), "high": N_("high")}
# What a measured magnesium value says about the risk (Risk.status): the headline then says that.
RISK_STATUS = {
    "confirmed_low": N_("Deficiency confirmed: the measured magnesium is low"),
    "excluded_high": N_("No deficiency: the measured magnesium is above the range"),
}
URGENCY = {
    "emergency": N_("Urgent: get medical help now"),
    "same_day": N_("Today: contact a doctor"),
    "routine": N_("Refer to a doctor (normal appointment)"),
}
PRODUCT_ACTION = {
    "continue": N_("Current products: continue"),
    "adjust": N_("Current products: adjust"),
    "stop": N_("Current products: stop"),
}
LAB_FLAG = {"low": N_("low"), "normal": N_("normal"), "high": N_("high")}
STATUS = {
    "advised": N_("advised"),
    "medical_supervision": N_("only under medical supervision"),
    "on_hold": N_("on hold: no dose plan yet"),
    "withheld": N_("withheld: refer to a doctor first"),
}
SEVERITY = {
    "info": N_("info"),
    "caution": N_("caution"),
    "avoid": N_("avoid"),
    "referral": N_("referral"),
}
MATCH = {
    "atc": N_("by ATC code"),
    "exact": N_("exact"),
    "fuzzy": N_("probable, check"),
    "none": N_("none"),
}
MDS_PARTS = {
    "diuretic": N_("diuretic"),
    "ppi": N_("proton-pump inhibitor"),
    "heavy_drinking": N_("heavy drinking"),
    "egfr_60_89": N_("eGFR 60–89"),
    "egfr_below_60": N_("eGFR below 60"),
}

# Messages of the core's UserInputError and UnknownNameError, translated by the adapters.
ERROR_MESSAGES = (
    N_("unknown {kind} '{name}'."),
    N_("MG: expected a positive mass in mg, got {given}"),
    N_("--lang must be one of {choices}, got '{given}'"),
    N_("{path}: expected {expected}, got {given}"),
    N_("code"),
    N_("citation key"),
)
# How often a medicine is taken (medications[].frequency), for the intake form.
FREQUENCY_LABELS = {
    "daily": N_("once a day"),
    "twice_daily": N_("twice a day"),
    "three_times_daily": N_("three times a day"),
    "weekly": N_("once a week"),
    "monthly": N_("once a month"),
    "as_needed": N_("when needed"),
}


HELD_FOR_MEDICINE = "dose.on_hold_magnesium_medicine"  # the dose basis of a plan on hold
NO_VALID_TIME = "schedule.no_valid_time"  # the warning of a plan on hold


def hold_finding(document: dict[str, Any]) -> dict[str, Any] | None:
    """The finding that says why a plan is on hold: a magnesium medicine's amount is missing
    (in the dose basis), or no time of day keeps every medicine's gap (a warning)."""
    dose = document.get("dose") or {}
    if dose.get("status") != "on_hold":
        return None
    for finding in [*(dose.get("basis") or []), *(document.get("warnings") or [])]:
        if finding.get("code") in (HELD_FOR_MEDICINE, NO_VALID_TIME):
            return dict(finding)
    return None


def hold_reason(document: dict[str, Any]) -> str | None:
    """Why a plan is on hold, as the advice says it (the text of its finding)."""
    found = hold_finding(document)
    return str(found["text"]) if found is not None else None
