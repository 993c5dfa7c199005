"""FHIR R4B out: the advice document as a Bundle (type collection) of draft resources.

- RiskAssessment: the deficiency risk (qualitative, from the advice's risk level) with its
  factors as notes and, when known, the resources it rests on as `basis`;
- DetectedIssue: each interaction and each referral reason that withholds or stops magnesium
  (a contraindication), with the spacing or the reason as mitigation;
- MedicationRequest (status draft, intent proposal): the supplement, ATC A12CC plus the
  compound, one dosageInstruction per time of day, doses in mg elemental magnesium;
- NutritionOrder (draft, proposal): with diet data, the magnesium goal and the food advice;
- CarePlan (draft, proposal): re-evaluate in N weeks, the follow-up advice, the proposals.

Codes come from the knowledge base and the advice (finding codes under our own code system);
texts are in the advice's language. Nothing here decides anything clinical.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from mgadvisor.i18n import N_, Translator
from mgadvisor.intake import Intake
from mgadvisor.interop.fhir_common import ATC, UCUM
from mgadvisor.kb.base import KnowledgeBase

__all__ = ["FINDING_SYSTEM", "INTERACTION_SYSTEM", "advice_bundle", "supplement_request"]

# Our own code systems: a finding code of messages.yaml, an interaction code of
# interactions.yaml. Declared once; every resource uses these.
FINDING_SYSTEM = "https://mgadvisor.org/fhir/CodeSystem/finding"
INTERACTION_SYSTEM = "https://mgadvisor.org/fhir/CodeSystem/interaction"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
RISK_PROBABILITY = "http://terminology.hl7.org/CodeSystem/risk-probability"

_FINDING_SEVERITY = {"critical": "high", "warning": "moderate", "info": "low"}
_INTERACTION_SEVERITY = {"referral": "high", "avoid": "high", "caution": "moderate"}


def advice_bundle(
    advice_document: dict[str, Any],
    intake: Intake | dict[str, Any],
    *,
    patient_ref: str | None,
    basis: list[str] | None = None,
    sources: Mapping[str, str] | None = None,
    kb: KnowledgeBase | None = None,
) -> dict[str, Any]:
    """The advice as a FHIR R4B Bundle (type collection, fullUrl ``urn:uuid:`` ids).

    Args:
        advice_document: the advice document (`mgadvisor.pipeline.advice_document`).
        intake: the intake it was made for (its sex when no patient is referred to).
        patient_ref: the Patient the advice is about; None adds an anonymous Patient.
        basis: references of the resources the risk rests on (RiskAssessment.basis);
            default: every source but the Patient.
        sources: intake path → the resource it was read from (`FhirIntake.sources`); a
            DetectedIssue then names the medicine's resource under `implicated`.
    """
    if kb is None:
        from mgadvisor.kb import load_knowledge

        kb = load_knowledge()
    data = intake.model_dump(mode="json") if isinstance(intake, Intake) else intake
    out = _Builder(advice_document, kb, sources or {})
    if basis is None:
        basis = [ref for key, ref in out.sources.items() if not key.startswith("person")]
    subject = patient_ref or out.add(_patient(data))
    risk = out.add(_risk(out, subject, list(dict.fromkeys(basis))))
    issues = [out.add(issue) for issue in _issues(out, subject)]
    proposal = _proposal(out, subject, issues)
    request = out.add(proposal) if proposal is not None else None
    diet = _nutrition(out, subject)
    orders = [ref for ref in (request, out.add(diet) if diet is not None else None) if ref]
    out.add(_care_plan(out, subject, [risk, *issues], orders))
    return {"resourceType": "Bundle", "type": "collection", "entry": out.entries}


def supplement_request(
    advice_document: dict[str, Any], *, patient_ref: str, kb: KnowledgeBase | None = None
) -> dict[str, Any] | None:
    """The Bundle's draft MedicationRequest of the supplement alone (None: no dose advised),
    without its Bundle id and links to the Bundle's other resources (`detectedIssue`)."""
    if kb is None:
        from mgadvisor.kb import load_knowledge

        kb = load_knowledge()
    return _proposal(_Builder(advice_document, kb, {}), patient_ref, [])


class _Builder:
    """Collects the entries, each with a new ``urn:uuid:`` fullUrl."""

    def __init__(
        self, document: dict[str, Any], kb: KnowledgeBase, sources: Mapping[str, str]
    ) -> None:
        self.doc = document
        self.kb = kb
        self.sources = sources
        self.t = Translator(str(document.get("lang") or "nl"))
        self.as_of = str(document.get("as_of") or "")
        self.entries: list[dict[str, Any]] = []

    def add(self, resource: dict[str, Any]) -> str:
        rid = str(uuid.uuid4())
        url = f"urn:uuid:{rid}"
        self.entries.append({"fullUrl": url, "resource": {**resource, "id": rid}})
        return url


def _ref(url: str) -> dict[str, str]:
    return {"reference": url}


def _finding_coding(finding: dict[str, Any]) -> dict[str, str]:
    return {"system": FINDING_SYSTEM, "code": str(finding["code"])}


def _patient(intake: dict[str, Any]) -> dict[str, Any]:
    """An anonymous Patient: only the sex the advice was made for."""
    sex = (intake.get("person") or {}).get("sex")
    patient: dict[str, Any] = {"resourceType": "Patient"}
    if sex in ("female", "male"):
        patient["gender"] = sex
    return patient


def _risk(out: _Builder, subject: str, basis: list[str]) -> dict[str, Any]:
    risk = out.doc.get("risk") or {}
    level = risk.get("level")
    prediction: dict[str, Any] = {
        "outcome": {"text": out.t("Magnesium deficiency")},
    }
    if level in ("low", "moderate", "high"):
        prediction["qualitativeRisk"] = {
            "coding": [{"system": RISK_PROBABILITY, "code": level}],
            "text": out.t(_LEVELS[level]),
        }
    factors = [f for f in risk.get("factors") or [] if f.get("text")]
    if factors:
        prediction["rationale"] = " ".join(str(f["text"]) for f in factors)
    resource: dict[str, Any] = {
        "resourceType": "RiskAssessment",
        "status": "preliminary",
        "subject": _ref(subject),
        "code": {"text": out.t("Magnesium deficiency risk")},
        "prediction": [prediction],
    }
    if out.as_of:
        resource["occurrenceDateTime"] = out.as_of
    if basis:
        resource["basis"] = [_ref(ref) for ref in basis]
    if factors:
        resource["note"] = [{"text": str(f["text"])} for f in factors]
    return resource


_LEVELS = {"low": N_("Low risk"), "moderate": N_("Moderate risk"), "high": N_("High risk")}


def _issues(out: _Builder, subject: str) -> list[dict[str, Any]]:
    """A DetectedIssue per interaction and per contraindication (a referral reason whose
    message withholds the dose or stops magnesium products)."""
    issues = [_interaction_issue(out, subject, hit) for hit in out.doc.get("interactions") or []]
    for reason in (out.doc.get("referral") or {}).get("reasons") or []:
        message = out.kb.messages.get(str(reason.get("code")))
        if message is not None and (message.withholds_dose or message.stops_products):
            issues.append(_contraindication_issue(out, subject, reason))
    return issues


def _interaction_issue(out: _Builder, subject: str, hit: dict[str, Any]) -> dict[str, Any]:
    issue: dict[str, Any] = {
        "resourceType": "DetectedIssue",
        "status": "preliminary",
        "code": {
            "coding": [
                {"system": ACT_CODE, "code": "DRG", "display": "Drug Interaction Alert"},
                {"system": INTERACTION_SYSTEM, "code": str(hit["interaction"])},
            ],
            "text": out.t("Interaction with {medicine}", medicine=hit.get("name") or hit["atc"]),
        },
        "severity": _INTERACTION_SEVERITY.get(str(hit.get("severity")), "low"),
        "patient": _ref(subject),
        "detail": str(hit.get("mechanism") or hit.get("rule")),
    }
    if out.as_of:
        issue["identifiedDateTime"] = out.as_of
    implicated = _medicine_sources(out, str(hit.get("atc")))
    if implicated:
        issue["implicated"] = [_ref(ref) for ref in implicated]
    mitigation = hit.get("advice") or hit.get("rule")
    if mitigation:
        issue["mitigation"] = [{"action": {"text": str(mitigation)}}]
    return issue


def _medicine_sources(out: _Builder, atc: str) -> list[str]:
    """The resources of the medicines with this ATC code (the advice lists the intake's
    medicines in their order, resolved)."""
    found = []
    for i, med in enumerate(out.doc.get("medications") or []):
        ref = out.sources.get(f"medications[{i}]")
        if ref is not None and med.get("atc") == atc:
            found.append(ref)
    return list(dict.fromkeys(found))


def _contraindication_issue(out: _Builder, subject: str, reason: dict[str, Any]) -> dict[str, Any]:
    issue: dict[str, Any] = {
        "resourceType": "DetectedIssue",
        "status": "preliminary",
        "code": {
            "coding": [
                {"system": ACT_CODE, "code": "COND", "display": "Condition Alert"},
                _finding_coding(reason),
            ],
            "text": out.t("Magnesium not now: see a doctor first"),
        },
        "severity": _FINDING_SEVERITY.get(str(reason.get("severity")), "low"),
        "patient": _ref(subject),
        "detail": str(reason.get("text") or reason["code"]),
        "mitigation": [{"action": {"text": out.t("Do not start magnesium; refer to a doctor")}}],
    }
    if out.as_of:
        issue["identifiedDateTime"] = out.as_of
    return issue


def _proposal(out: _Builder, subject: str, issues: list[str]) -> dict[str, Any] | None:
    """The supplement as a draft MedicationRequest (intent proposal), if a dose is advised."""
    dose = out.doc.get("dose") or {}
    intakes = [i for i in dose.get("intakes") or [] if i.get("elemental_mg")]
    if dose.get("status") not in ("advised", "medical_supervision") or not intakes:
        return None
    compound = out.kb.compounds.get(str(intakes[0].get("compound")))
    name = compound.name.nl if out.t.lang == "nl" and compound else None
    name = name or (compound.name.en if compound else out.t("Magnesium"))
    group = out.kb.fhir_map.supplement  # the ATC group of magnesium (fhir_map.yaml)
    coding = [{"system": ATC, "code": group.atc, "display": group.display}] if group else []
    coding += [{"system": ATC, "code": code} for code in (compound.atc if compound else [])]
    request: dict[str, Any] = {
        "resourceType": "MedicationRequest",
        "status": "draft",
        "intent": "proposal",
        "medicationCodeableConcept": {"coding": coding, "text": name},
        "subject": _ref(subject),
        "dosageInstruction": [_dosage(out, moment, name) for moment in intakes],
    }
    if out.as_of:
        request["authoredOn"] = out.as_of
    if issues:
        request["detectedIssue"] = [_ref(ref) for ref in issues]
    if dose.get("status") == "medical_supervision":
        request["note"] = [{"text": out.t("Only under medical supervision.")}]
    return request


def _dosage(out: _Builder, moment: dict[str, Any], name: str) -> dict[str, Any]:
    mg = float(moment["elemental_mg"])
    repeat: dict[str, Any] = {"frequency": 1, "period": 1, "periodUnit": "d"}
    time = moment.get("time")
    if isinstance(time, str) and len(time) == 5:
        repeat["timeOfDay"] = [f"{time}:00"]
    text = out.t(
        "{mg} mg elemental magnesium as {name}, daily at {time}",
        mg=out.t.num(mg, 0),
        name=name,
        time=time or "-",
    )
    return {
        "text": text,
        "timing": {"repeat": repeat},
        "doseAndRate": [
            {"doseQuantity": {"value": mg, "unit": "mg", "system": UCUM, "code": "mg"}}
        ],
    }


def _nutrition(out: _Builder, subject: str) -> dict[str, Any] | None:
    """The dietary advice as a draft NutritionOrder, when the intake had diet data: the
    day's magnesium reference intake as the nutrient goal, the food advice as instruction."""
    diet = out.doc.get("diet")
    if not isinstance(diet, dict) or not out.as_of:
        return None
    oral: dict[str, Any] = {}
    goal = diet.get("reference_intake_mg")
    if isinstance(goal, int | float) and goal > 0:
        amount = {"value": goal, "unit": "mg", "system": UCUM, "code": "mg"}
        oral["nutrient"] = [{"modifier": {"text": out.t("Magnesium")}, "amount": amount}]
    advice = [str(f["text"]) for f in out.doc.get("food_advice") or [] if f.get("text")]
    if advice:
        oral["instruction"] = " ".join(advice)
    if not oral:
        return None
    return {
        "resourceType": "NutritionOrder",
        "status": "draft",
        "intent": "proposal",
        "patient": _ref(subject),
        "dateTime": out.as_of,
        "oralDiet": oral,
    }


def _care_plan(
    out: _Builder, subject: str, addresses: list[str], orders: list[str]
) -> dict[str, Any]:
    """Follow-up: re-evaluate in N weeks (a scheduled period), the follow-up advice and the
    proposed supplement and diet as activities."""
    weeks = out.doc.get("follow_up_weeks")
    activities: list[dict[str, Any]] = []
    if isinstance(weeks, int | float) and weeks > 0 and out.as_of:
        start = date.fromisoformat(out.as_of) + timedelta(weeks=float(weeks))
        activities.append(
            {
                "detail": {
                    "status": "not-started",
                    "code": {"text": out.t("Re-evaluate magnesium status")},
                    "description": out.t("Re-evaluate in {weeks} weeks", weeks=weeks),
                    "scheduledPeriod": {"start": start.isoformat()},
                }
            }
        )
    for finding in out.doc.get("follow_up") or []:
        activities.append(
            {
                "detail": {
                    "status": "not-started",
                    "code": {"coding": [_finding_coding(finding)]},
                    "description": str(finding.get("text") or finding["code"]),
                }
            }
        )
    activities += [{"reference": _ref(ref)} for ref in orders]
    plan: dict[str, Any] = {
        "resourceType": "CarePlan",
        "status": "draft",
        "intent": "proposal",
        "title": out.t("Magnesium advice"),
        "subject": _ref(subject),
        "supportingInfo": [_ref(ref) for ref in addresses],
    }
    if out.as_of:
        plan["period"] = {"start": out.as_of}
    if activities:
        plan["activity"] = activities
    return plan
