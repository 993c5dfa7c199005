"""The report of what FHIR data could not be used, one translated line per item."""

from __future__ import annotations

from collections.abc import Callable

from mgadvisor.i18n import N_
from mgadvisor.interop.fhir_common import Unmapped

# Each reason code of `Unmapped.reason` and what it means, as an English msgid.
REASONS = {
    "unknown_code": N_("the code is not in mgadvisor's mapping table"),
    "unknown_unit": N_("the unit is not known"),
    "unit_not_for_analyte": N_("the unit does not fit this lab value"),
    "no_quantity": N_("no numeric value"),
    "comparator": N_("a value with < or > cannot be used"),
    "unknown_value": N_("the coded value is not known"),
    "status_not_final": N_("the result is not final"),
    "status_not_active": N_("the medicine is not (or no longer) in use"),
    "superseded": N_("a later result of the same test is used"),
    "not_active": N_("the condition is not active"),
    "refuted": N_("the diagnosis is refuted or entered in error"),
    "not_applicable": N_("pregnancy and breast-feeding apply only to a woman aged 10 to 60"),
    "other_patient": N_("about another patient"),
    "resource_type_not_used": N_("mgadvisor does not read this kind of resource"),
    "operation_outcome": N_("a message of the FHIR server (OperationOutcome)"),
    "invalid_resource": N_("not valid FHIR R4B"),
    "reference_range_incomplete": N_(
        "the lab's reference range lacks an end or a known unit; the default range is used"
    ),
    "code_unknown_name_used": N_("the code is not known; the name is used instead"),
    "medication_reference_unresolved": N_("the Medication it refers to is not in the data"),
    "dosage_not_mapped": N_("the dosage timing cannot be read; taken as once a day"),
    "times_not_used": N_("the times of day do not fit the frequency; left out"),
    "rejected_by_intake": N_("the intake does not accept it"),
    "duplicate": N_("the same medicine is already read from another resource"),
    "birth_date_partial": N_(
        "the birth date has no day or month; the age counts from its first day"
    ),
}


def unmapped_line(item: Unmapped, t: Callable[..., str]) -> str:
    """One item of the report in the translator's language, e.g.
    ``Observation o1 (Observation.status, LOINC 2601-3): the result is not final [preliminary]``.
    """
    what = item.resource_type + (f" {item.id}" if item.id else "")
    detail = ", ".join(part for part in (item.path, item.code, item.display) if part)
    reason = t(REASONS.get(item.reason, item.reason))
    line = t("{what} ({detail}): {reason}", what=what, detail=detail, reason=reason)
    if item.given:
        line += f" [{t(item.given)}]"
    return line
