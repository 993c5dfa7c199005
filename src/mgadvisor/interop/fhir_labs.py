"""Observations → lab values and person facts (weight, height, pregnancy) of an intake.

Only final, amended or corrected Observations count. LOINC codes come from labs.yaml and
fhir_map.yaml, units from fhir_map.yaml (UCUM); a value in another accepted unit of the
analyte is converted to its canonical unit with `mgadvisor.units`. Of several values of one
analyte the latest is used and the others are reported as superseded.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from mgadvisor.errors import UserInputError
from mgadvisor.interop.fhir_common import LOINC, SNOMED, Resource, Unmapped, codings, unmapped
from mgadvisor.kb.base import KnowledgeBase

USED_STATUS = ("final", "amended", "corrected")
PERSON_UNITS = {"weight_kg": "kg", "height_cm": "cm", "pregnancy_week": "wk"}


@dataclass(frozen=True, slots=True)
class Reading:
    """One usable Observation: what it fills (a lab analyte or a person field) and its value."""

    target: str  # "lab:<analyte>" or "person:<field>"
    value: Any  # a lab dict, a number or a bool
    when: str  # sort key: the effective time, in UTC when it has a zone
    resource: Resource


def loinc_targets(kb: KnowledgeBase) -> dict[str, str]:
    """LOINC code -> "lab:<analyte>" or "person:<field>" (labs.yaml, then fhir_map.yaml)."""
    cached = kb._cache.get("fhir_loinc_targets")
    if isinstance(cached, dict):
        return cached
    targets = {code: f"lab:{lab.code}" for lab in kb.labs.values() for code in lab.loinc}
    for obs in kb.fhir_map.observations:
        targets[obs.loinc] = f"lab:{obs.analyte}" if obs.analyte else f"person:{obs.person}"
    kb._cache["fhir_loinc_targets"] = targets
    return targets


def ucum_units(kb: KnowledgeBase) -> dict[str, str]:
    """UCUM code (or printed unit) -> the intake's unit."""
    return {u.ucum: u.unit for u in kb.fhir_map.units}


def read_observations(
    kb: KnowledgeBase, observations: list[Resource]
) -> tuple[list[Reading], list[Unmapped]]:
    """The latest usable reading per target, and what was not used (with the reason)."""
    latest: dict[str, Reading] = {}
    report: list[Unmapped] = []
    for obs in observations:
        reading = _reading(kb, obs, report)
        if reading is None:
            continue
        older = latest.get(reading.target)
        if older is not None and older.when >= reading.when:
            report.append(_superseded(reading.resource))
            continue
        if older is not None:
            report.append(_superseded(older.resource))
        latest[reading.target] = reading
    return list(latest.values()), report


def _superseded(obs: Resource) -> Unmapped:
    code, display = _loinc(obs)
    return unmapped(obs, "Observation", "superseded", code=code, display=display)


def _loinc(obs: Resource) -> tuple[str | None, str | None]:
    for coding in codings(obs.get("code")):
        if coding.get("system") == LOINC:
            return coding.get("code"), coding.get("display")
    for coding in codings(obs.get("code")):
        return coding.get("code"), coding.get("display")
    return None, None


def _reading(kb: KnowledgeBase, obs: Resource, report: list[Unmapped]) -> Reading | None:
    """The reading of one Observation, or None (and the reason in `report`)."""
    code, display = _loinc(obs)
    targets = loinc_targets(kb)
    target = next(
        (
            targets[c["code"]]
            for c in codings(obs.get("code"))
            if c.get("system") == LOINC and c.get("code") in targets
        ),
        None,
    )
    if target is None:
        report.append(unmapped(obs, "Observation.code", "unknown_code", code=code, display=display))
        return None
    status = obs.get("status")
    if status not in USED_STATUS:
        report.append(
            unmapped(obs, "Observation.status", "status_not_final", code=code, given=status)
        )
        return None
    kind, _, name = target.partition(":")
    if kind == "person" and name in ("pregnant", "lactating"):
        value: Any = _coded_state(kb, obs, name)
    elif kind == "person":
        value = _quantity(kb, obs, PERSON_UNITS[name])
    else:
        value = _lab(kb, obs, name)
    if isinstance(value, Unmapped):
        report.append(value)
        return None
    return Reading(target, value, _when(obs), obs)


def _when(obs: Resource) -> str:
    period = obs.get("effectivePeriod") or {}
    for value in (
        obs.get("effectiveDateTime"),
        obs.get("effectiveInstant"),
        period.get("end"),
        period.get("start"),
        obs.get("issued"),
    ):
        if isinstance(value, str):
            return _sortable(value)
    return ""


def _sortable(text: str) -> str:
    """A FHIR dateTime as text that sorts in time order: a time with a zone in UTC; a date
    (or year-month) stays as it is and sorts before the times of that day."""
    if "T" not in text:
        return text
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")


def _coded_state(kb: KnowledgeBase, obs: Resource, name: str) -> bool | Unmapped:
    """A pregnancy (or lactation) status Observation: true, false or not understood."""
    if isinstance(obs.get("valueBoolean"), bool):
        return bool(obs["valueBoolean"])
    states = {c.snomed: c.person for c in kb.fhir_map.conditions if c.person}
    for coding in codings(obs.get("valueCodeableConcept")):
        state = states.get(str(coding.get("code"))) if coding.get("system") == SNOMED else None
        if state is not None:
            return state == name
    code, display = _loinc(obs)
    return unmapped(obs, "Observation.value[x]", "unknown_value", code=code, display=display)


def _quantity(
    kb: KnowledgeBase, obs: Resource, wanted: str | None
) -> tuple[float, str] | float | Unmapped:
    """The value of valueQuantity: (value, intake unit) for a lab, a number in `wanted`."""
    code, _ = _loinc(obs)
    quantity = obs.get("valueQuantity")
    if not isinstance(quantity, dict) or not isinstance(quantity.get("value"), int | float):
        return unmapped(obs, "Observation.value[x]", "no_quantity", code=code)
    if quantity.get("comparator"):
        return unmapped(
            obs,
            "Observation.valueQuantity.comparator",
            "comparator",
            code=code,
            given=str(quantity["comparator"]),
        )
    given = quantity.get("code") or quantity.get("unit")
    unit = ucum_units(kb).get(str(given)) if given is not None else None
    if unit is None or (wanted is not None and unit != wanted):
        return unmapped(
            obs, "Observation.valueQuantity", "unknown_unit", code=code, given=str(given)
        )
    value = float(quantity["value"])
    return value if wanted is not None else (value, unit)


def _lab(kb: KnowledgeBase, obs: Resource, analyte: str) -> dict[str, Any] | Unmapped:
    """A lab value of the intake (in the unit given when the analyte accepts it, else in the
    analyte's canonical unit), with the lab's own reference range when it has both ends."""
    from mgadvisor.units import QUANTITY_OF_ANALYTE, convert

    found = _quantity(kb, obs, None)
    if isinstance(found, Unmapped) or not isinstance(found, tuple):
        return found if isinstance(found, Unmapped) else unmapped(obs, "Observation", "no_quantity")
    value, unit = found
    lab = kb.labs[analyte]
    accepted = {_plain(u) for u in lab.units}
    target = unit if _plain(unit) in accepted else lab.canonical_unit
    try:
        converted = convert(value, unit, target, QUANTITY_OF_ANALYTE.get(analyte))
    except UserInputError:
        code, _ = _loinc(obs)
        return unmapped(
            obs, "Observation.valueQuantity", "unit_not_for_analyte", code=code, given=unit
        )
    out: dict[str, Any] = {"analyte": analyte, "value": _round(converted), "unit": target}
    low_high = _range(kb, obs)
    if low_high is not None:
        with contextlib.suppress(UserInputError):  # else reported as an incomplete range
            out["reference_range"] = [
                _round(convert(v, low_high[2], target, QUANTITY_OF_ANALYTE.get(analyte)))
                for v in low_high[:2]
            ]
    return out


def _range(kb: KnowledgeBase, obs: Resource) -> tuple[float, float, str] | None:
    """(low, high, intake unit) of the first referenceRange with both ends in a known unit."""
    units = ucum_units(kb)
    for rng in obs.get("referenceRange") or []:
        low, high = rng.get("low") or {}, rng.get("high") or {}
        lu = units.get(str(low.get("code") or low.get("unit")))
        hu = units.get(str(high.get("code") or high.get("unit")))
        if (
            lu
            and lu == hu
            and isinstance(low.get("value"), int | float)
            and isinstance(high.get("value"), int | float)
        ):
            return float(low["value"]), float(high["value"]), lu
    return None


def range_dropped(kb: KnowledgeBase, obs: Resource, lab: dict[str, Any]) -> Unmapped | None:
    """The report for a reference range that was given but could not be used."""
    if obs.get("referenceRange") and "reference_range" not in lab:
        code, _ = _loinc(obs)
        return unmapped(obs, "Observation.referenceRange", "reference_range_incomplete", code=code)
    return None


def _plain(unit: str) -> str:
    return unit.replace("µ", "u").replace(" ", "").lower()


def _round(value: float) -> float:
    """Four significant decimals: enough for any lab value, without float noise."""
    return float(f"{value:.6g}")
