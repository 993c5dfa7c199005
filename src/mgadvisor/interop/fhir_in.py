"""FHIR R4B in: a Bundle, a list of resources or a CDS Hooks prefetch map → an intake.

:func:`intake_from_fhir` reads the Patient (sex, age from birthDate on `as_of`),
Observations (labs by LOINC, weight, height, pregnancy), Conditions (SNOMED CT) and
MedicationStatements/MedicationRequests (ATC, RxNorm, name) into an intake that
``Intake.model_validate`` accepts. Whatever could not be used is listed in
``FhirIntake.unmapped`` with the reason, never dropped silently. The codes come from the
knowledge base (labs.yaml, fhir_map.yaml).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from mgadvisor.errors import IntakeError, quote
from mgadvisor.i18n import N_
from mgadvisor.interop.fhir_collect import Collected, collect
from mgadvisor.interop.fhir_common import SNOMED, Resource, Unmapped, codings, first_code, unmapped
from mgadvisor.interop.fhir_labs import (
    BOUND_KEY,
    day_of,
    months_before,
    range_dropped,
    read_observations,
)
from mgadvisor.interop.fhir_meds import read_medications
from mgadvisor.kb.base import KnowledgeBase

if TYPE_CHECKING:
    from mgadvisor.intake import Intake

__all__ = ["FhirIntake", "InvalidPatientError", "Unmapped", "intake_from_fhir"]

USED_CLINICAL = ("active", "recurrence", "relapse")
NOT_USED_VERIFICATION = ("refuted", "entered-in-error")
UNCONFIRMED_VERIFICATION = ("provisional", "differential", "unconfirmed")
LIFE_STAGE_AGES = (10, 60)  # the intake accepts pregnancy and lactation only at these ages
MAX_PRUNE_ROUNDS = 8


@dataclass(slots=True)
class FhirIntake:
    """The intake read from FHIR data, what could not be used, and where each part came from.

    `sources` maps an intake path ("person", "labs[0]", "conditions[1]", "medications[0]")
    to the reference of the resource it came from (fullUrl, else ``Type/id``). `parsed` is
    `intake` as checked by ``parse_intake`` (it is checked once, here; do not change `intake`
    after reading it).
    """

    intake: dict[str, Any]
    unmapped: list[Unmapped] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)
    patient_ref: str | None = None
    parsed: Intake | None = None
    names: dict[str, tuple[str, str | None]] = field(default_factory=dict)  # ref → (type, id)
    # analyte → (comparator, bound, value read) of a lab given as a bound ("<30"); the intake
    # keeps the bound and its comparator, every output shows the bound (render.bounds)
    bounds: dict[str, tuple[str, float, float]] = field(default_factory=dict)

    def named(self, ref: str, path: str, reason: str, given: str | None = None) -> Unmapped:
        """A report item about the resource `ref` refers to (its type and id, not its URL)."""
        kind, rid = self.names.get(ref, ("?", ref or None))
        return Unmapped(kind, rid, path, reason, given=given)


@dataclass
class InvalidPatientError(IntakeError):
    """The Patient resource is not valid FHIR R4B, so it could not be read: the patient's age
    and sex are unknown. `path` is the element that failed, `given` why in words (from the R4B
    model's error type, never the value: not the name, not the birth date)."""

    def line(self, t: Callable[..., str], count_others: bool = True) -> str:
        return t(
            "{path}: the Patient resource is not valid FHIR R4B ({reason}); the patient's age "
            "and sex are unknown",
            path=self.path,
            reason=t(self.given),
        )


# Why an R4B element failed, in words, by the model's error type (fhir_collect's `given`).
INVALID_WHY = {
    "date_from_datetime_parsing": N_("not a valid date"),
    "date_from_datetime_inexact": N_("not a valid date"),
    "date_parsing": N_("not a valid date"),
    "date_type": N_("not a valid date"),
    "list_type": N_("not a list"),
    "string_type": N_("not text"),
    "bool_parsing": N_("not true or false"),
    "bool_type": N_("not true or false"),
    "extra_forbidden": N_("an element R4B does not have"),
    "missing": N_("a required element is missing"),
    "too_deep": N_("nested too deep"),
}
DATE_ELEMENTS = ("Patient.birthDate", "Patient.deceasedDateTime")


def invalid_patient(item: Unmapped) -> InvalidPatientError:
    """The error for a Patient that `collect` reported as not valid R4B (`item`)."""
    code = item.given or ""
    why = INVALID_WHY.get(code)
    if why is None and item.path in DATE_ELEMENTS:
        why = N_("not a valid date")  # the date pattern's value_error
    path = item.path if len(item.path) <= 120 else item.path[:117] + "..."
    return InvalidPatientError(
        path, N_("a Patient resource that is valid FHIR R4B"), why or N_("not valid R4B")
    )


def intake_from_fhir(resources: Any, *, as_of: date, kb: KnowledgeBase | None = None) -> FhirIntake:
    """Read a Bundle dict, a list of resources or a CDS Hooks prefetch map into an intake.

    Raises:
        IntakeError: no usable Patient (none, no birthDate, gender not female/male), or
            `resources` is not FHIR data; the path names what was expected.
        InvalidPatientError: the only Patient is not valid FHIR R4B (the element and why).
    """
    if kb is None:
        from mgadvisor.kb import load_knowledge

        kb = load_knowledge()
    found = collect(resources)
    patient, others = _patient(found)
    result = FhirIntake({}, list(found.unmapped), patient_ref=found.ref(patient))
    for kind, items in found.by_type.items():
        for res in items:
            rid = res.get("id")
            result.names[found.ref(res)] = (kind, rid if isinstance(rid, str) else None)
    result.unmapped += [unmapped(p, "Patient", "other_patient") for p in others]
    mine = _for_patient(found, patient, result.unmapped)
    person = _person(patient, as_of)
    result.sources["person"] = found.ref(patient)
    if len(str(patient.get("birthDate"))) < len("YYYY-MM-DD"):
        result.unmapped.append(unmapped(patient, "Patient.birthDate", "birth_date_partial"))
    _add_observations(kb, found, mine.get("Observation", []), person, result, as_of)
    _add_conditions(kb, found, mine.get("Condition", []), person, result, as_of)
    meds = mine.get("MedicationStatement", []) + mine.get("MedicationRequest", [])
    read, report = read_medications(kb, meds, found.of("Medication"), as_of)
    result.unmapped += report
    read = _fewer_medicines(kb, read, result.unmapped)
    result.intake["medications"] = [med for med, _ in read]
    for i, (_, res) in enumerate(read):
        result.sources[f"medications[{i}]"] = found.ref(res)
    _life_stage(person, result)
    result.intake = {"person": person, **{k: v for k, v in result.intake.items() if v}}
    _prune(kb, result)
    return result


def _patient(found: Collected) -> tuple[Resource, list[Resource]]:
    patients = found.of("Patient")
    invalid = [u for u in found.unmapped if u.resource_type == "Patient"]
    if not patients and any(u.reason == "invalid_resource" for u in invalid):
        raise invalid_patient(next(u for u in invalid if u.reason == "invalid_resource"))
    if not patients:
        raise IntakeError(
            "Patient", N_("a Patient resource with birthDate and gender"), N_("nothing")
        )
    return patients[0], patients[1:]


def _for_patient(
    found: Collected, patient: Resource, report: list[Unmapped]
) -> dict[str, list[Resource]]:
    """The resources about `patient` (or about no one in particular), by type."""
    own = {found.ref(patient), f"Patient/{patient.get('id')}"}
    out: dict[str, list[Resource]] = {}
    for kind in ("Observation", "Condition", "MedicationStatement", "MedicationRequest"):
        for res in found.of(kind):
            ref = (res.get("subject") or res.get("patient") or {}).get("reference")
            if (
                isinstance(ref, str)
                and ref not in own
                and not any(ref.endswith("/" + o) for o in own if not o.startswith("urn:"))
            ):
                report.append(unmapped(res, f"{kind}.subject", "other_patient"))
                continue
            out.setdefault(kind, []).append(res)
    return out


def _person(patient: Resource, as_of: date) -> dict[str, Any]:
    deceased = patient.get("deceasedDateTime") or patient.get("deceasedBoolean") is True
    if deceased:
        raise IntakeError("Patient.deceased[x]", N_("a living patient"), N_("deceased"))
    gender = patient.get("gender")
    if gender not in ("female", "male"):
        raise IntakeError(
            "Patient.gender", N_("female or male"), quote(gender) if gender else N_("nothing")
        )
    born = patient.get("birthDate")
    if not isinstance(born, str):
        raise IntakeError("Patient.birthDate", N_("a birth date"), N_("nothing"))
    age = age_on(born, as_of)
    if age is None:
        raise IntakeError(
            "Patient.birthDate", N_("a birth date before the advice date"), N_("a later date")
        )
    return {"age": age, "sex": gender}


def age_on(born: str, as_of: date) -> float | None:
    """Age in whole years on `as_of` (a year with two decimals under 2 years), or None when
    born after `as_of`. A birthDate of only a year or year-month counts from its first day.

    Example:
        >>> age_on("1954-12-02", date(2026, 12, 1))
        71
        >>> age_on("1954-12-01", date(2026, 12, 1))
        72
    """
    parts = [int(p) for p in born.split("-")] + [1, 1]
    birth = date(parts[0], parts[1], parts[2])
    if birth > as_of:
        return None
    years = as_of.year - birth.year - ((as_of.month, as_of.day) < (birth.month, birth.day))
    if years >= 2:
        return years
    return round((as_of - birth).days / 365.25, 2)


def _add_observations(
    kb: KnowledgeBase,
    found: Collected,
    obs: list[Resource],
    person: dict[str, Any],
    result: FhirIntake,
    as_of: date,
) -> None:
    readings, report = read_observations(kb, obs, as_of)
    result.unmapped += report
    labs: list[dict[str, Any]] = []
    for reading in readings:
        kind, _, name = reading.target.partition(":")
        if kind == "person":
            person[name] = reading.value
            result.sources[f"person.{name}"] = found.ref(reading.resource)
            continue
        bound = reading.value.pop(BOUND_KEY, None)
        if bound is not None:
            result.bounds[name] = bound
        dropped = range_dropped(kb, reading.resource, reading.value)
        if dropped is not None:
            result.unmapped.append(dropped)
        result.sources[f"labs[{len(labs)}]"] = found.ref(reading.resource)
        labs.append(reading.value)
    result.intake["labs"] = labs


def _add_conditions(
    kb: KnowledgeBase,
    found: Collected,
    conditions: list[Resource],
    person: dict[str, Any],
    result: FhirIntake,
    as_of: date,
) -> None:
    table = {c.snomed: c for c in kb.fhir_map.conditions}
    codes: list[str] = []
    for res in conditions:
        code, display = first_code(res.get("code"))
        clinical, _ = first_code(res.get("clinicalStatus"))
        verification, _ = first_code(res.get("verificationStatus"))
        abated = any(key.startswith("abatement") for key in res)
        if clinical is None and abated:
            clinical = "resolved"  # abated: inactive, resolved or remission (invariant con-4)
        if clinical is not None and clinical not in USED_CLINICAL:
            result.unmapped.append(
                unmapped(
                    res,
                    "Condition.clinicalStatus",
                    "not_active",
                    code=code,
                    display=display,
                    given=clinical,
                )
            )
            continue
        if verification in NOT_USED_VERIFICATION:
            result.unmapped.append(
                unmapped(
                    res,
                    "Condition.verificationStatus",
                    "refuted",
                    code=code,
                    display=display,
                    given=verification,
                )
            )
            continue
        entry = next(
            (
                table[str(c.get("code"))]
                for c in codings(res.get("code"))
                if c.get("system") == SNOMED and str(c.get("code")) in table
            ),
            None,
        )
        if entry is None:
            result.unmapped.append(
                unmapped(res, "Condition.code", "unknown_code", code=code, display=display)
            )
            continue
        if verification in UNCONFIRMED_VERIFICATION:
            result.unmapped.append(
                unmapped(
                    res,
                    "Condition.verificationStatus",
                    "verification_unconfirmed",
                    code=code,
                    display=display,
                    given=verification,
                )
            )
        if abated:
            result.unmapped.append(
                unmapped(res, "Condition.abatement[x]", "abated", code=code, display=display)
            )
        if entry.person == "pregnant" and _outdated_pregnancy(kb, res, as_of, result):
            continue
        if entry.person is not None:
            person[entry.person if entry.person != "not_pregnant" else "pregnant"] = (
                entry.person != "not_pregnant"
            )
            result.sources[f"person.{entry.person}"] = found.ref(res)
        elif entry.condition is not None and entry.condition not in codes:
            result.sources[f"conditions[{len(codes)}]"] = found.ref(res)
            codes.append(entry.condition)
    result.intake["conditions"] = codes


def _outdated_pregnancy(kb: KnowledgeBase, res: Resource, as_of: date, result: FhirIntake) -> bool:
    """True (and reported) for a pregnancy Condition begun `pregnancy_max_months` or more
    before `as_of` (its onset; without a dated onset, when it was recorded): that pregnancy
    has ended. A recent recordedDate does not renew an old onset."""
    period = res.get("onsetPeriod") or {}
    onset = [res.get("onsetDateTime"), period.get("start") if isinstance(period, dict) else None]
    days = [d for d in (day_of(x) for x in onset if isinstance(x, str)) if d is not None]
    if not days:
        recorded = res.get("recordedDate")
        day = day_of(recorded) if isinstance(recorded, str) else None
        days = [day] if day is not None else []
    if not days:
        return False
    latest = max(days)
    months = months_before(latest, as_of)
    if months < kb.fhir_map.dates.pregnancy_max_months:
        return False
    code, display = first_code(res.get("code"))
    params = {"date": latest.isoformat(), "months": str(months)}
    result.unmapped.append(
        unmapped(
            res,
            "Condition.onset[x]",
            "pregnancy_outdated",
            code=code,
            display=display,
            params=params,
        )
    )
    return True


def _fewer_medicines(
    kb: KnowledgeBase, read: list[tuple[dict[str, Any], Resource]], report: list[Unmapped]
) -> list[tuple[dict[str, Any], Resource]]:
    """At most the intake's number of medicines: first those that matter for magnesium (an
    ATC code of an interaction or of a magnesium-depleting medicine in the knowledge base),
    then the others in the order given; each one left out is reported."""
    from mgadvisor.intake import Intake

    limit = _max_medicines(Intake)
    if len(read) <= limit:
        return read
    ranked = ranked_medicines(kb, [med for med, _ in read])
    kept = sorted(ranked[:limit])
    for i in ranked[limit:]:
        med, res = read[i]
        report.append(
            unmapped(
                res,
                f"{res.get('resourceType')}.medication[x]",
                "too_many_medicines",
                code=med.get("atc"),
                display=med.get("name"),
                params={"count": str(limit)},
            )
        )
    return [read[i] for i in kept]


def ranked_medicines(kb: KnowledgeBase, meds: list[dict[str, Any]]) -> list[int]:
    """The indexes of `meds`, first those that matter for magnesium (an ATC code of an
    interaction or of a magnesium-depleting medicine in the knowledge base), else in order."""
    prefixes = tuple(a for i in kb.interactions.values() for a in i.atc)
    prefixes += tuple(a for d in kb.depleting.values() for a in d.atc)

    def matters(med: dict[str, Any]) -> bool:
        atc = _atc_of(kb, med)
        return bool(atc) and atc.startswith(prefixes)

    return sorted(range(len(meds)), key=lambda i: (not matters(meds[i]), i))


def max_medicines() -> int:
    """The intake's limit on `medications`."""
    from mgadvisor.intake import Intake

    return _max_medicines(Intake)


def _max_medicines(intake: Any) -> int:
    """The intake's limit on `medications` (its max_length)."""
    for meta in intake.model_fields["medications"].metadata:
        if getattr(meta, "max_length", None) is not None:
            return int(meta.max_length)
    return 50


def _atc_of(kb: KnowledgeBase, med: dict[str, Any]) -> str:
    """The ATC code of an intake medicine: its own, else the one its name resolves to."""
    if med.get("atc"):
        return str(med["atc"])
    from mgadvisor.assess.medication import resolve
    from mgadvisor.intake import Medication

    return resolve(kb, Medication(name=str(med.get("name", "")))).atc or ""


def _life_stage(person: dict[str, Any], result: FhirIntake) -> None:
    """Pregnancy and lactation only where the intake accepts them (a woman of 10-60)."""
    low, high = LIFE_STAGE_AGES
    fits = person["sex"] == "female" and low <= person["age"] <= high
    for key in ("pregnant", "pregnancy_week", "lactating"):
        if key in person and not fits and person[key]:
            ref = result.sources.pop(f"person.{key}", "")
            result.unmapped.append(result.named(ref, f"person.{key}", "not_applicable"))
            del person[key]
        elif key in person and not person[key]:
            del person[key]  # false: the default
    if "pregnancy_week" in person:
        person["pregnant"] = True
        person["pregnancy_week"] = round(person["pregnancy_week"])


def _prune(kb: KnowledgeBase, result: FhirIntake) -> None:
    """Leave out what the intake itself refuses (a value beyond what can be measured, a
    unit an analyte does not take), each reported, until the intake is valid (`parsed`)."""
    from mgadvisor.intake import parse_intake

    for _ in range(MAX_PRUNE_ROUNDS):
        try:
            result.parsed = parse_intake(result.intake, kb)
            return
        except IntakeError as exc:
            errors = exc.errors
        if not _drop(result, errors[0]):
            raise errors[0]
    result.parsed = parse_intake(result.intake, kb)


def _drop(result: FhirIntake, error: IntakeError) -> bool:
    """Remove the intake part `error` points at (a list item or a person field)."""
    head = error.path.split(".")[0]
    name, _, index = head.partition("[")
    ref = ""
    if index and name in result.intake:
        i = int(index.rstrip("]"))
        del result.intake[name][i]
        ref = _shift(result.sources, name, i)
        if not result.intake[name]:
            del result.intake[name]
    elif name == "person" and "." in error.path:
        key = error.path.split(".")[1].split("[")[0]
        if key in ("age", "sex") or key not in result.intake["person"]:
            return False
        del result.intake["person"][key]
        ref = result.sources.pop(f"person.{key}", "")
    else:
        return False
    result.unmapped.append(
        result.named(ref, error.path, "rejected_by_intake", given=error.expected_text())
    )
    return True


def _shift(sources: dict[str, str], name: str, removed: int) -> str:
    """Drop the source of `name[removed]` and renumber the later ones; its reference."""
    gone = sources.pop(f"{name}[{removed}]", "")
    later = sorted(
        (int(k[len(name) + 1 : -1]), v) for k, v in sources.items() if k.startswith(f"{name}[")
    )
    for i, ref in later:
        if i > removed:
            del sources[f"{name}[{i}]"]
            sources[f"{name}[{i - 1}]"] = ref
    return gone
