"""MedicationStatement and MedicationRequest → the intake's medications.

A medicine is read by its ATC coding, else by its RxNorm code (fhir_map.yaml), else by name
(CodeableConcept.text or a display); the intake's name index resolves names and the advice
lists a name it does not know. Stopped, completed, cancelled, not-taken and entered-in-error
medicines are not used; each is reported.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from mgadvisor.intake import Medication
from mgadvisor.interop.fhir_common import (
    ATC_SYSTEMS,
    RXNORM,
    Resource,
    Unmapped,
    codings,
    concept_name,
    first_code,
    unmapped,
)
from mgadvisor.kb.base import KnowledgeBase

USED_STATUS = {
    "MedicationStatement": ("active", "intended", "unknown"),
    "MedicationRequest": ("active", "draft", "unknown"),
}
NOT_TAKEN_INTENTS = ("proposal", "plan")  # MedicationRequest.intent: not (yet) taken
_ATC = re.compile(r"^[A-Z]\d{2}([A-Z]([A-Z](\d{2})?)?)?$")
NAME_LIMIT = 120  # the intake's longest medicine name

# Timing.repeat (frequency, period, periodUnit) and Timing.code (v3 GTSAbbreviation) → the
# intake's frequency. Anything else keeps the default (daily) and is reported.
_REPEATS: dict[tuple[Any, Any, Any], str] = {
    (1, 1, "d"): "daily",
    (2, 1, "d"): "twice_daily",
    (3, 1, "d"): "three_times_daily",
    (1, 24, "h"): "daily",
    (1, 12, "h"): "twice_daily",
    (1, 8, "h"): "three_times_daily",
    (1, 1, "wk"): "weekly",
    (1, 1, "mo"): "monthly",
}
_TIMING_CODES = {
    "QD": "daily",
    "BID": "twice_daily",
    "TID": "three_times_daily",
    "WK": "weekly",
    "MO": "monthly",
}


def read_medications(
    kb: KnowledgeBase, resources: list[Resource], medications: list[Resource], as_of: date
) -> tuple[list[tuple[dict[str, Any], Resource]], list[Unmapped]]:
    """(intake medication, its resource) for each usable medicine, and what was not used."""
    out: list[tuple[dict[str, Any], Resource]] = []
    report: list[Unmapped] = []
    seen: set[str] = set()
    for res in resources:
        kind = str(res.get("resourceType"))
        concept = _concept(res, medications)
        status = res.get("status")
        if status not in USED_STATUS[kind]:
            code, display = first_code(concept)
            report.append(
                unmapped(
                    res,
                    f"{kind}.status",
                    "status_not_active",
                    code=code,
                    display=display,
                    given=str(status),
                )
            )
            continue
        ended = _ended(res, as_of)
        if ended is not None:
            code, display = first_code(concept)
            report.append(
                unmapped(
                    res,
                    f"{kind}.effectivePeriod.end",
                    "period_ended",
                    code=code,
                    display=display,
                    params={"date": ended},
                )
            )
            continue
        if kind == "MedicationRequest" and res.get("intent") in NOT_TAKEN_INTENTS:
            code, display = first_code(concept)
            report.append(
                unmapped(
                    res,
                    "MedicationRequest.intent",
                    "intent_not_taken",
                    code=code,
                    display=display,
                    given=str(res.get("intent")),
                )
            )
            continue
        med = _medicine(kb, res, concept, report)
        if med is None:
            continue
        med.update(_dosage(res, report))
        dosage_key = "dosage" if kind == "MedicationStatement" else "dosageInstruction"
        if not res.get(dosage_key) and not any(codings(concept)):  # a name typed in the EHR
            report.append(
                unmapped(res, f"{kind}.{dosage_key}", "no_dosage", display=med.get("name"))
            )
        months = _months(res, as_of)
        if months is not None:
            med["months"] = months
        key = med.get("atc") or str(med.get("name", "")).casefold()
        if key in seen:  # also ordered and also in the medication list: read once
            report.append(unmapped(res, f"{kind}.medication[x]", "duplicate", code=key))
            continue
        seen.add(key)
        out.append((med, res))
    return out, report


def _ended(res: Resource, as_of: date) -> str | None:
    """The end of a MedicationStatement's effectivePeriod when it lies before `as_of`."""
    end = (res.get("effectivePeriod") or {}).get("end")
    if not isinstance(end, str) or len(end) < 4:
        return None
    return end[:10] if end[:10] < as_of.isoformat()[: len(end[:10])] else None


def _concept(res: Resource, medications: list[Resource]) -> Any:
    """The medicine's CodeableConcept, also through a reference to a Medication resource."""
    if "medicationCodeableConcept" in res:
        return res["medicationCodeableConcept"]
    ref = (res.get("medicationReference") or {}).get("reference")
    if not isinstance(ref, str):
        return None
    for med in [*res.get("contained", []), *medications]:
        rid = med.get("id")
        if (
            med.get("resourceType") == "Medication"
            and rid
            and (ref in (f"#{rid}", f"Medication/{rid}") or ref.endswith(f"/Medication/{rid}"))
        ):
            return med.get("code")
    return None


def _medicine(
    kb: KnowledgeBase, res: Resource, concept: Any, report: list[Unmapped]
) -> dict[str, Any] | None:
    """{"atc": ..., "name": ...} by ATC, by RxNorm alias, or by name; None if nothing fits."""
    kind = str(res.get("resourceType"))
    path = f"{kind}.medication[x]"
    name = concept_name(concept)
    name = name[:NAME_LIMIT] if name else None
    for coding in codings(concept):
        code = str(coding.get("code") or "").strip().upper()
        if coding.get("system") in ATC_SYSTEMS and _ATC.match(code):
            return {"atc": code, **({"name": name} if name else {})}
    aliases = {m.rxnorm: m.atc for m in kb.fhir_map.medications}
    for coding in codings(concept):
        atc = aliases.get(str(coding.get("code"))) if coding.get("system") == RXNORM else None
        if atc is not None:
            return {"atc": atc, **({"name": name} if name else {})}
    first, display = first_code(concept)
    if name is None:
        reason = "medication_reference_unresolved" if concept is None else "unknown_code"
        report.append(unmapped(res, path, reason, code=first, display=display))
        return None
    if first is not None:  # a code we do not know: the name is used instead, and said so
        report.append(unmapped(res, path, "code_unknown_name_used", code=first, display=name))
    atc = _ingredient_atc(kb, name)
    return {"atc": atc, "name": name} if atc else {"name": name}


def _ingredient_atc(kb: KnowledgeBase, name: str) -> str | None:
    """The ATC code of a clinical-drug name as RxNorm and many EHRs write it ("Omeprazole 20
    MG Delayed Release Oral Capsule"): the words before the strength, when they are exactly a
    known medicine name and the whole name is not."""
    from mgadvisor.assess.medication import resolve

    if resolve(kb, Medication(name=name)).match == "exact":
        return None  # the engine finds it as written
    words = name.split()
    if len(words) > 2 and words[0].isdigit() and words[1].upper() == "HR":
        words = words[2:]  # "24 HR Niacin 500 MG Extended Release Oral Tablet"
    cut = next((i for i, word in enumerate(words) if word[:1].isdigit()), len(words))
    head = " ".join(words[:cut])
    if not head or cut == len(words):
        return None
    found = resolve(kb, Medication(name=head))
    return found.atc if found.match == "exact" else None


def _dosage(res: Resource, report: list[Unmapped]) -> dict[str, Any]:
    """frequency and time(s) of the first dosage, when they can be read."""
    kind = str(res.get("resourceType"))
    key = "dosage" if kind == "MedicationStatement" else "dosageInstruction"
    dosages = res.get(key) or []
    if not dosages:
        return {}
    dosage = dosages[0]
    if dosage.get("asNeededBoolean") or "asNeededCodeableConcept" in dosage:
        return {"frequency": "as_needed"}
    timing = dosage.get("timing") or {}
    repeat = timing.get("repeat") or {}
    code, _ = first_code(timing.get("code"))
    frequency = _TIMING_CODES.get(str(code)) or _REPEATS.get(
        (repeat.get("frequency", 1), repeat.get("period"), repeat.get("periodUnit"))
    )
    if frequency is None:
        if timing or dosage.get("text"):
            report.append(unmapped(res, f"{kind}.{key}[0].timing", "dosage_not_mapped"))
        return {}
    out: dict[str, Any] = {"frequency": frequency}
    times = list(dict.fromkeys(str(t)[:5] for t in repeat.get("timeOfDay") or []))
    if times and len(times) != max(Medication.DOSES[frequency], 1):
        report.append(unmapped(res, f"{kind}.{key}[0].timing.repeat.timeOfDay", "times_not_used"))
        return out
    if len(times) == 1:
        out["time"] = times[0]
    elif times:
        out["times"] = times
    return out


def _months(res: Resource, as_of: date) -> int | None:
    """Whole months the medicine has been used, from its start (or the order's date)."""
    period = res.get("effectivePeriod") or {}
    start = period.get("start") or res.get("effectiveDateTime") or res.get("authoredOn")
    if not isinstance(start, str) or len(start) < 7:
        return None
    try:
        year, month = int(start[:4]), int(start[5:7])
    except ValueError:
        return None
    months = (as_of.year - year) * 12 + (as_of.month - month)
    return months if 0 <= months <= 1200 else None
