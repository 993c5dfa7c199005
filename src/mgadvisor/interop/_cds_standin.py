"""TEMPORARY stand-in for H5's intake_from_fhir (deleted once fhir_in.py is committed)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any


@dataclass
class FhirIntake:
    intake: dict[str, Any]
    unmapped: list[Any] = field(default_factory=list)


def _resources(data: Any) -> list[dict[str, Any]]:
    if isinstance(data, list):
        return [r for d in data for r in _resources(d)]
    if not isinstance(data, dict):
        return []
    if data.get("resourceType") == "Bundle":
        return [r for e in data.get("entry", []) for r in _resources(e.get("resource"))]
    if "resourceType" in data:
        return [data]
    return [r for v in data.values() for r in _resources(v)]


def intake_from_fhir(resources: Any, *, as_of: date, kb: Any = None) -> FhirIntake:
    intake: dict[str, Any] = {}
    meds = []
    labs = []
    for r in _resources(resources):
        kind = r["resourceType"]
        if kind == "Patient" and r.get("birthDate"):
            born = date.fromisoformat(r["birthDate"])
            age = as_of.year - born.year - ((as_of.month, as_of.day) < (born.month, born.day))
            intake["person"] = {"age": age, "sex": r.get("gender")}
        elif kind in ("MedicationRequest", "MedicationStatement") and r.get("status") == "active":
            for c in r.get("medicationCodeableConcept", {}).get("coding", []):
                if c.get("system") == "http://www.whocc.no/atc":
                    meds.append({"atc": c["code"]})
        elif kind == "Observation":
            codes = [c.get("code") for c in r.get("code", {}).get("coding", [])]
            if "2601-3" in codes:
                q = r["valueQuantity"]
                labs.append({"analyte": "serum_magnesium", "value": q["value"], "unit": q["unit"]})
    if meds:
        intake["medications"] = meds
    if labs:
        intake["labs"] = labs
    return FhirIntake(intake)
