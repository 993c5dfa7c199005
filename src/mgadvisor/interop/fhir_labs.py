"""Observations → lab values and person facts (weight, height, pregnancy) of an intake.

Only final, amended or corrected Observations count. LOINC codes come from labs.yaml and
fhir_map.yaml, units from fhir_map.yaml (UCUM); a value in another accepted unit of the
analyte is converted to its canonical unit with `mgadvisor.units`. Of several values of one
analyte the latest is used and the others are reported as superseded.

Dates (thresholds in fhir_map.yaml `dates`): a result dated after the advice date is not used;
a pregnancy record older than `pregnancy_max_months` is not used; a used lab result older than
`old_result_months` is reported with its date. A value with a comparator is reported: a lab's
`<0.3` is read as just below 0.3 (`>` just above; `<=`, `>=` and a person's value as the bound).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from mgadvisor.errors import UserInputError
from mgadvisor.interop.fhir_common import LOINC, SNOMED, Resource, Unmapped, codings, unmapped
from mgadvisor.kb.base import KnowledgeBase

USED_STATUS = ("final", "amended", "corrected")
PERSON_UNITS = {"weight_kg": "kg", "height_cm": "cm", "pregnancy_week": "wk"}
BOUNDS = ("<", "<=", ">", ">=")  # Quantity.comparator values read as their bound ("ad" is not)
# A lab value given as "<30" goes to the intake as the bound with its comparator (in the
# analyte's canonical unit for "<" and ">": the intake reads it just beyond the bound, and the
# step is meant in that unit), so every rule on "below 30" fires as for any value under 30 and
# every output shows "<30" (intake.Lab.read_value, render.bounds).
OPEN_BOUNDS = ("<", ">")
PREGNANCY = ("person:pregnant", "person:pregnancy_week")


@dataclass(frozen=True, slots=True)
class Reading:
    """One usable Observation: what it fills (a lab analyte or a person field) and its value."""

    target: str  # "lab:<analyte>" or "person:<field>"
    value: Any  # a lab dict, a number or a bool
    when: str  # sort key: the effective time, in UTC when it has a zone
    resource: Resource
    notes: tuple[Unmapped, ...] = field(default=())  # used, with a remark (a bound, an age)


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
    kb: KnowledgeBase, observations: list[Resource], as_of: date | None = None
) -> tuple[list[Reading], list[Unmapped]]:
    """The latest usable reading per target, and what was not used (with the reason); with
    `as_of`, the date rules of fhir_map.yaml `dates` (see the module docstring)."""
    latest: dict[str, Reading] = {}
    report: list[Unmapped] = []
    for obs in observations:
        reading = _reading(kb, obs, report)
        if reading is None or (as_of is not None and not _in_time(kb, reading, as_of, report)):
            continue
        older = latest.get(reading.target)
        if older is not None and older.when >= reading.when:
            report.append(_superseded(reading.resource, same=older.when == reading.when))
            continue
        if older is not None:
            report.append(_superseded(older.resource))
        latest[reading.target] = reading
    for reading in latest.values():
        report += reading.notes
        if as_of is not None and reading.target.startswith("lab:"):
            report += _old(kb, reading, as_of)
    return list(latest.values()), report


def day_of(text: str) -> date | None:
    """The day of a FHIR date or dateTime (a year or year-month: its first day).

    Example:
        >>> day_of("2023-01-10T08:00:00+01:00"), day_of("2023-04")
        (datetime.date(2023, 1, 10), datetime.date(2023, 4, 1))
    """
    parts = [*text[:10].split("-"), "1", "1"]
    try:
        return date(int(parts[0]), int(parts[1]), int(parts[2]))
    except ValueError:
        return None


def months_before(day: date, as_of: date) -> int:
    """Whole months from `day` to `as_of`."""
    return (as_of.year - day.year) * 12 + as_of.month - day.month - (as_of.day < day.day)


def _in_time(kb: KnowledgeBase, reading: Reading, as_of: date, report: list[Unmapped]) -> bool:
    """False (and why, in `report`) for a result after `as_of` or an outdated pregnancy. The
    day is the one the result gives in its own time zone (not in UTC): a result drawn late in
    the evening west of Greenwich is not "after today"."""
    written = _written_when(reading.resource)
    day = day_of(written) if written else None
    if day is None:
        return True
    code, display = _loinc(reading.resource)
    when = {"date": day.isoformat(), "months": str(months_before(day, as_of))}
    if day > as_of:
        report.append(
            unmapped(
                reading.resource,
                "Observation.effective[x]",
                "after_as_of",
                code=code,
                display=display,
                given=day.isoformat(),
            )
        )
        return False
    if (
        reading.target in PREGNANCY
        and months_before(day, as_of) >= kb.fhir_map.dates.pregnancy_max_months
    ):
        report.append(
            unmapped(
                reading.resource,
                "Observation.effective[x]",
                "pregnancy_outdated",
                code=code,
                display=display,
                params=when,
            )
        )
        return False
    return True


def _old(kb: KnowledgeBase, reading: Reading, as_of: date) -> list[Unmapped]:
    """The note for a used lab result older than `old_result_months`."""
    day = day_of(reading.when) if reading.when else None
    if day is None or months_before(day, as_of) < kb.fhir_map.dates.old_result_months:
        return []
    code, display = _loinc(reading.resource)
    when = {"date": day.isoformat(), "months": str(months_before(day, as_of))}
    return [
        unmapped(
            reading.resource,
            "Observation.effective[x]",
            "old_result",
            code=code,
            display=display,
            params=when,
        )
    ]


def _superseded(obs: Resource, *, same: bool = False) -> Unmapped:
    code, display = _loinc(obs)
    reason = "superseded_same_time" if same else "superseded"
    return unmapped(obs, "Observation", reason, code=code, display=display)


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
    notes: list[Unmapped] = []
    if kind == "person" and name in ("pregnant", "lactating"):
        value: Any = _coded_state(kb, obs, name)
    elif kind == "person":
        value = _quantity(kb, obs, PERSON_UNITS[name], notes)
    else:
        value = _lab(kb, obs, name, notes)
    if isinstance(value, Unmapped):
        report.append(value)
        return None
    return Reading(target, value, _when(obs), obs, tuple(notes))


def _when(obs: Resource) -> str:
    written = _written_when(obs)
    return _sortable(written) if written else ""


def _written_when(obs: Resource) -> str:
    """When the result was taken, as the resource writes it."""
    period = obs.get("effectivePeriod") or {}
    if not isinstance(period, dict):
        period = {}
    for value in (
        obs.get("effectiveDateTime"),
        obs.get("effectiveInstant"),
        period.get("end"),
        period.get("start"),
        obs.get("issued"),
    ):
        if isinstance(value, str):
            return value
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
    kb: KnowledgeBase, obs: Resource, wanted: str | None, notes: list[Unmapped]
) -> tuple[float, str] | float | Unmapped:
    """The value of valueQuantity: (value, intake unit) for a lab, a number in `wanted`. A
    bound (`<0.3`) counts as its value, with a note in `notes`: every rule on a low (or high)
    value then fires at least as it would at the bound."""
    code, display = _loinc(obs)
    quantity = obs.get("valueQuantity")
    if not isinstance(quantity, dict) or not isinstance(quantity.get("value"), int | float):
        return unmapped(obs, "Observation.value[x]", "no_quantity", code=code)
    comparator = quantity.get("comparator")
    if comparator in BOUNDS:
        bound = (
            f"{comparator}{quantity['value']} {quantity.get('unit') or quantity.get('code') or ''}"
        )
        open_bound = comparator in OPEN_BOUNDS and wanted is None
        notes.append(
            unmapped(
                obs,
                "Observation.valueQuantity.comparator",
                "comparator_open_bound" if open_bound else "comparator_bound",
                code=code,
                display=display,
                given=bound.strip(),
            )
        )
    elif comparator:
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


def _lab(
    kb: KnowledgeBase, obs: Resource, analyte: str, notes: list[Unmapped]
) -> dict[str, Any] | Unmapped:
    """A lab value of the intake (in the unit given when the analyte accepts it, else in the
    analyte's canonical unit), with the lab's own reference range when it has both ends."""
    from mgadvisor.intake import Lab
    from mgadvisor.units import QUANTITY_OF_ANALYTE, convert

    found = _quantity(kb, obs, None, notes)
    if isinstance(found, Unmapped) or not isinstance(found, tuple):
        return found if isinstance(found, Unmapped) else unmapped(obs, "Observation", "no_quantity")
    value, unit = found
    lab = kb.labs[analyte]
    accepted = {_plain(u) for u in lab.units}
    comparator = (obs.get("valueQuantity") or {}).get("comparator")
    target = unit if _plain(unit) in accepted else lab.canonical_unit
    if comparator in OPEN_BOUNDS:
        target = lab.canonical_unit  # the step is in the canonical unit
    try:
        converted = convert(value, unit, target, QUANTITY_OF_ANALYTE.get(analyte))
    except UserInputError:
        code, _ = _loinc(obs)
        return unmapped(
            obs, "Observation.valueQuantity", "unit_not_for_analyte", code=code, given=unit
        )
    out: dict[str, Any] = {"analyte": analyte, "value": _round(converted), "unit": target}
    if comparator in BOUNDS:  # the bound as given: the intake's comparator says how it is read
        out["comparator"] = comparator
        read_as = Lab(analyte=analyte, value=out["value"], unit=target, comparator=comparator)
        out[BOUND_KEY] = (comparator, out["value"], read_as.read_value)
    low_high = _range(kb, obs)
    if low_high is not None:
        with contextlib.suppress(UserInputError):  # else reported as an incomplete range
            out["reference_range"] = [
                _round(convert(v, low_high[2], target, QUANTITY_OF_ANALYTE.get(analyte)))
                for v in low_high[:2]
            ]
    return out


BOUND_KEY = "_bound"  # on a lab read from a bound: (comparator, bound, value used); popped


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
