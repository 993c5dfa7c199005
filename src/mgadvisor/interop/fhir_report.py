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
    "comparator_bound": N_(
        "the result is given as a bound ({given}); the bound is used as the value"
    ),
    "comparator_open_bound": N_(
        "the result is given as a bound ({given}); read as just beyond it, so that every "
        "limit at the bound applies"
    ),
    "after_as_of": N_("dated after the advice date"),
    "old_result": N_("used, but it dates from {date}, {months} months before the advice"),
    "pregnancy_outdated": N_(
        "the pregnancy record dates from {date}, {months} months before the advice; "
        "not read as pregnant"
    ),
    "period_ended": N_("the period of use ended before the advice date ({date})"),
    "too_many_medicines": N_(
        "more than {count} medicines; those that matter for magnesium are kept, this one is not"
    ),
    "no_dosage": N_("no dosage given; taken as once a day"),
    "entry_without_resource": N_("a Bundle entry without a resource; skipped"),
    "intent_not_taken": N_("a proposal or plan, not a medicine being taken"),
    "verification_unconfirmed": N_(
        "the diagnosis is not confirmed (provisional or differential); used as given"
    ),
    "abated": N_("the condition is active but has an end date (abatement); used as active"),
    "unknown_value": N_("the coded value is not known"),
    "status_not_final": N_("the result is not final"),
    "status_not_active": N_("the medicine is not (or no longer) in use"),
    "superseded": N_("a later result of the same test is used"),
    "superseded_same_time": N_("another result of the same test at the same time is used"),
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


# Reasons for data that WAS used, with a remark: the CLI prints them as notes, not as unused.
NOTES = frozenset(
    {
        "comparator_bound",
        "comparator_open_bound",
        "old_result",
        "verification_unconfirmed",
        "abated",
        "birth_date_partial",
        "no_dosage",
    }
)


def unmapped_line(item: Unmapped, t: Callable[..., str]) -> str:
    """One item of the report in the translator's language, e.g.
    ``Observation o1 (Observation.status, LOINC 2601-3): the result is not final [preliminary]``.
    """
    what = item.resource_type + (f" {item.id}" if item.id else "")
    detail = ", ".join(part for part in (item.path, item.code, item.display) if part)
    params = dict(item.params)
    msgid = REASONS.get(item.reason, item.reason)
    if "{given}" in msgid:
        params.setdefault("given", item.given or "")
    reason = t(msgid, **params)
    line = t("{what} ({detail}): {reason}", what=what, detail=detail, reason=reason)
    if item.given and "{given}" not in msgid:
        line += f" [{t(item.given)}]"
    return line
