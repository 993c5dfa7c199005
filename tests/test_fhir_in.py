"""FHIR R4B in (issue 14 §1): Bundles, resource lists and prefetch maps → an intake, with every
part that could not be used reported (never dropped)."""

from __future__ import annotations

import copy
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from mgadvisor.errors import IntakeError
from mgadvisor.intake import Intake, parse_intake
from mgadvisor.interop.fhir_in import FhirIntake, intake_from_fhir
from mgadvisor.kb import KnowledgeBase

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "fhir"
DONE_WHEN = EXAMPLE / "patient-72-omeprazole-furosemide.json"
AS_OF = date(2026, 12, 1)
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ATC = "http://www.whocc.no/atc"


def patient(gender: str = "female", born: str = "1954-03-15", pid: str = "p1") -> dict[str, Any]:
    return {"resourceType": "Patient", "id": pid, "gender": gender, "birthDate": born}


def observation(
    loinc: str,
    value: float,
    unit: str,
    *,
    oid: str = "o1",
    status: str = "final",
    when: str = "2026-11-20",
    subject: str = "Patient/p1",
    low_high: tuple[float, float] | None = None,
) -> dict[str, Any]:
    obs: dict[str, Any] = {
        "resourceType": "Observation",
        "id": oid,
        "status": status,
        "code": {"coding": [{"system": LOINC, "code": loinc}]},
        "subject": {"reference": subject},
        "effectiveDateTime": when,
        "valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": unit},
    }
    if low_high is not None:
        low, high = ({"value": v, "unit": unit, "system": UCUM, "code": unit} for v in low_high)
        obs["referenceRange"] = [{"low": low, "high": high}]
    return obs


def condition(snomed: str, *, cid: str = "c1", clinical: str | None = "active") -> dict[str, Any]:
    res: dict[str, Any] = {
        "resourceType": "Condition",
        "id": cid,
        "code": {"coding": [{"system": SNOMED, "code": snomed}]},
        "subject": {"reference": "Patient/p1"},
    }
    if clinical is not None:
        res["clinicalStatus"] = {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                    "code": clinical,
                }
            ]
        }
    return res


def statement(
    concept: dict[str, Any], *, mid: str = "m1", status: str = "active"
) -> dict[str, Any]:
    return {
        "resourceType": "MedicationStatement",
        "id": mid,
        "status": status,
        "medicationCodeableConcept": concept,
        "subject": {"reference": "Patient/p1"},
    }


def bundle(*resources: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": r} for r in resources],
    }


def read(data: Any, kb: KnowledgeBase, as_of: date = AS_OF) -> FhirIntake:
    result = intake_from_fhir(data, as_of=as_of, kb=kb)
    Intake.model_validate(result.intake)  # the promise: always a valid intake
    parse_intake(result.intake, kb)
    return result


def reasons(result: FhirIntake) -> list[tuple[str, str | None, str]]:
    """The report without the note on a typed name without a dosage (tested on its own)."""
    return [(u.resource_type, u.id, u.reason) for u in result.unmapped if u.reason != "no_dosage"]


# -- the done-when Bundle -------------------------------------------------------------------


def test_the_done_when_bundle_gives_the_intake(kb: KnowledgeBase) -> None:
    result = read(json.loads(DONE_WHEN.read_text(encoding="utf-8")), kb)
    intake = result.intake
    assert intake["person"] == {"age": 72, "sex": "female"}
    assert intake["labs"] == [
        {
            "analyte": "serum_magnesium",
            "value": 0.62,
            "unit": "mmol/L",
            "reference_range": [0.7, 1.0],
        }
    ]
    atcs = [m["atc"] for m in intake["medications"]]
    assert atcs == ["A02BC01", "C03CA01"]  # omeprazole by ATC, furosemide by its RxNorm alias
    assert intake["medications"][0]["time"] == "07:30"
    assert reasons(result) == []
    assert result.patient_ref == result.sources["person"]
    assert result.sources["labs[0]"].startswith("urn:uuid:")


# -- labs: each code and unit ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("loinc", "value", "unit", "analyte", "expected", "expected_unit"),
    [
        ("2601-3", 0.62, "mmol/L", "serum_magnesium", 0.62, "mmol/L"),
        ("19123-9", 1.5, "mg/dL", "serum_magnesium", 1.5, "mg/dL"),
        ("2601-3", 1.6, "meq/L", "serum_magnesium", 1.6, "mEq/L"),
        ("2597-3", 2.1, "mmol/L", "rbc_magnesium", 2.1, "mmol/L"),
        ("2600-5", 0.5, "mmol/L", "ionized_magnesium", 0.5, "mmol/L"),
        ("24447-5", 90, "mg/(24.h)", "urine_magnesium_24h", 90, "mg/24h"),
        ("2599-9", 3.5, "mmol/(24.h)", "urine_magnesium_24h", 3.5, "mmol/24h"),
        ("2160-0", 1.2, "mg/dL", "creatinine", 1.2, "mg/dL"),
        ("14682-9", 95, "umol/L", "creatinine", 95, "umol/L"),
        ("98979-8", 55, "mL/min/{1.73_m2}", "egfr", 55, "mL/min/1.73m2"),
        ("62238-1", 48, "mL/min/{1.73_m2}", "egfr", 48, "mL/min/1.73m2"),
        ("33914-3", 40, "mL/min/{1.73_m2}", "egfr", 40, "mL/min/1.73m2"),
        ("2823-3", 4.1, "mmol/L", "serum_potassium", 4.1, "mmol/L"),
        ("17861-6", 9.2, "mg/dL", "serum_calcium", 9.2, "mg/dL"),
        ("1751-7", 40, "g/L", "albumin", 40, "g/L"),
        ("2777-1", 1.1, "mmol/L", "phosphate", 1.1, "mmol/L"),
    ],
)
def test_each_loinc_code_and_unit_maps(
    kb: KnowledgeBase,
    loinc: str,
    value: float,
    unit: str,
    analyte: str,
    expected: float,
    expected_unit: str,
) -> None:
    result = read(bundle(patient(), observation(loinc, value, unit)), kb)
    assert result.intake["labs"] == [{"analyte": analyte, "value": expected, "unit": expected_unit}]
    assert result.unmapped == []


def test_a_unit_the_analyte_does_not_take_is_converted_to_its_canonical_unit(
    kb: KnowledgeBase,
) -> None:
    # calcium in mEq/L: units.py knows it (divalent), the intake's calcium entry does not
    result = read(bundle(patient(), observation("17861-6", 4.8, "meq/L", low_high=(4.2, 5.2))), kb)
    assert result.intake["labs"] == [
        {
            "analyte": "serum_calcium",
            "value": 2.4,
            "unit": "mmol/L",
            "reference_range": [2.1, 2.6],
        }
    ]


@pytest.mark.parametrize(
    ("loinc", "unit", "reason"),
    [
        ("2601-3", "mg/L", "unknown_unit"),  # UCUM, but not in the table
        ("2601-3", "umol/L", "unit_not_for_analyte"),  # known unit, not a magnesium unit
        ("2951-2", "mmol/L", "unknown_code"),  # sodium: no intake field
        ("2598-1", "mmol/L", "unknown_code"),  # spot urine magnesium: only 24-h urine is read
    ],
)
def test_an_unknown_code_or_unit_is_reported(
    kb: KnowledgeBase, loinc: str, unit: str, reason: str
) -> None:
    result = read(bundle(patient(), observation(loinc, 1.0, unit)), kb)
    assert "labs" not in result.intake
    assert reasons(result) == [("Observation", "o1", reason)]
    assert result.unmapped[0].code == loinc


@pytest.mark.parametrize("status", ["preliminary", "registered", "cancelled", "entered-in-error"])
def test_a_non_final_observation_is_not_used(kb: KnowledgeBase, status: str) -> None:
    result = read(bundle(patient(), observation("2601-3", 0.5, "mmol/L", status=status)), kb)
    assert "labs" not in result.intake
    assert reasons(result) == [("Observation", "o1", "status_not_final")]
    assert result.unmapped[0].given == status


@pytest.mark.parametrize("status", ["amended", "corrected"])
def test_an_amended_or_corrected_observation_is_used(kb: KnowledgeBase, status: str) -> None:
    result = read(bundle(patient(), observation("2601-3", 0.8, "mmol/L", status=status)), kb)
    assert result.intake["labs"][0]["value"] == 0.8


def test_the_latest_of_several_observations_is_used(kb: KnowledgeBase) -> None:
    older = observation("2601-3", 0.81, "mmol/L", oid="old", when="2026-01-05")
    latest = observation("19123-9", 1.5, "mg/dL", oid="new", when="2026-10-01T09:00:00+02:00")
    middle = observation("2601-3", 0.7, "mmol/L", oid="mid", when="2026-06-30")
    result = read(bundle(patient(), older, latest, middle), kb)
    assert result.intake["labs"] == [{"analyte": "serum_magnesium", "value": 1.5, "unit": "mg/dL"}]
    assert sorted(reasons(result)) == [
        ("Observation", "mid", "superseded"),
        ("Observation", "old", "superseded"),
    ]


def test_a_value_beyond_what_can_be_measured_is_reported_not_passed_on(
    kb: KnowledgeBase,
) -> None:
    result = read(bundle(patient(), observation("2601-3", 50, "mmol/L")), kb)
    assert "labs" not in result.intake
    assert reasons(result) == [("Observation", "o1", "rejected_by_intake")]


# -- the person -----------------------------------------------------------------------------


def test_age_counts_from_the_birth_date_on_the_advice_date(kb: KnowledgeBase) -> None:
    birthday_tomorrow = read(bundle(patient(born="1954-12-02")), kb)
    birthday_today = read(bundle(patient(born="1954-12-01")), kb)
    assert birthday_tomorrow.intake["person"]["age"] == 71
    assert birthday_today.intake["person"]["age"] == 72
    assert (
        read(bundle(patient(born="1954-12-02")), kb, date(2026, 12, 2)).intake["person"]["age"]
        == 72
    )


def test_a_child_of_ten_passes_on_its_age(kb: KnowledgeBase) -> None:
    result = read(bundle(patient(gender="male", born="2016-05-01")), kb)
    assert result.intake["person"] == {"age": 10, "sex": "male"}


def test_a_pregnant_woman_by_condition_or_observation(kb: KnowledgeBase) -> None:
    by_condition = read(bundle(patient(born="1994-02-01"), condition("77386006")), kb)
    assert by_condition.intake["person"]["pregnant"] is True
    status = observation("82810-3", 0, "mmol/L", oid="preg")
    del status["valueQuantity"]
    status["valueCodeableConcept"] = {"coding": [{"system": SNOMED, "code": "77386006"}]}
    week = observation("49051-6", 24, "wk", oid="week")
    by_observation = read(bundle(patient(born="1994-02-01"), status, week), kb)
    assert by_observation.intake["person"]["pregnant"] is True
    assert by_observation.intake["person"]["pregnancy_week"] == 24


def test_pregnancy_of_a_man_or_a_woman_of_72_is_reported_not_passed_on(
    kb: KnowledgeBase,
) -> None:
    result = read(bundle(patient(), condition("77386006", cid="preg")), kb)
    assert "pregnant" not in result.intake["person"]
    assert reasons(result) == [("Condition", "preg", "not_applicable")]


@pytest.mark.parametrize(
    ("patient_resource", "path"),
    [
        ({"resourceType": "Patient", "id": "p1", "birthDate": "1954-03-15"}, "Patient.gender"),
        (
            {"resourceType": "Patient", "id": "p1", "gender": "other", "birthDate": "1954-03-15"},
            "Patient.gender",
        ),
        ({"resourceType": "Patient", "id": "p1", "gender": "female"}, "Patient.birthDate"),
        (
            {"resourceType": "Patient", "id": "p1", "gender": "female", "birthDate": "2030-01-01"},
            "Patient.birthDate",
        ),
    ],
)
def test_a_patient_without_sex_or_birth_date_is_an_error(
    kb: KnowledgeBase, patient_resource: dict[str, Any], path: str
) -> None:
    with pytest.raises(IntakeError) as caught:
        intake_from_fhir(bundle(patient_resource), as_of=AS_OF, kb=kb)
    assert caught.value.path == path


def test_no_patient_is_an_error(kb: KnowledgeBase) -> None:
    with pytest.raises(IntakeError) as caught:
        intake_from_fhir(bundle(observation("2601-3", 0.6, "mmol/L")), as_of=AS_OF, kb=kb)
    assert caught.value.path == "Patient"


def test_a_resource_about_another_patient_is_not_used(kb: KnowledgeBase) -> None:
    other = observation("2601-3", 0.6, "mmol/L", subject="Patient/someone-else")
    result = read(bundle(patient(), other), kb)
    assert "labs" not in result.intake
    assert reasons(result) == [("Observation", "o1", "other_patient")]


# -- conditions -----------------------------------------------------------------------------


def test_conditions_by_snomed(kb: KnowledgeBase) -> None:
    result = read(
        bundle(
            patient(),
            condition("709044004", cid="ckd"),
            condition("433144002", cid="ckd3"),
            condition("44054006", cid="dm2"),
        ),
        kb,
    )
    assert result.intake["conditions"] == ["ckd", "type2_diabetes"]
    assert result.unmapped == []


def test_an_unknown_or_resolved_condition_is_reported(kb: KnowledgeBase) -> None:
    result = read(
        bundle(
            patient(),
            condition("190855004", cid="hypomg"),  # hypomagnesaemia: the lab value counts
            condition("84114007", cid="hf", clinical="resolved"),
        ),
        kb,
    )
    assert "conditions" not in result.intake
    assert reasons(result) == [
        ("Condition", "hypomg", "unknown_code"),
        ("Condition", "hf", "not_active"),
    ]


# -- medications ----------------------------------------------------------------------------


def test_medication_by_atc_by_rxnorm_alias_and_by_name(kb: KnowledgeBase) -> None:
    by_atc = statement({"coding": [{"system": ATC, "code": "J01MA02"}]}, mid="a")
    by_rxnorm = statement({"coding": [{"system": RXNORM, "code": "10582"}]}, mid="r")
    by_name = statement({"text": "Nexium 40 mg"}, mid="n")
    result = read(bundle(patient(), by_atc, by_rxnorm, by_name), kb)
    assert result.intake["medications"] == [
        {"atc": "J01MA02"},
        {"atc": "H03AA01"},
        {"name": "Nexium 40 mg"},
    ]
    assert reasons(result) == []


def test_an_unknown_medication_code_falls_back_to_its_name_and_says_so(
    kb: KnowledgeBase,
) -> None:
    concept = {"coding": [{"system": RXNORM, "code": "999999", "display": "Pantozol 40 mg"}]}
    result = read(bundle(patient(), statement(concept)), kb)
    assert result.intake["medications"] == [{"name": "Pantozol 40 mg"}]
    assert reasons(result) == [("MedicationStatement", "m1", "code_unknown_name_used")]


def test_a_medication_without_a_code_we_know_or_a_name_is_reported(kb: KnowledgeBase) -> None:
    concept = {"coding": [{"system": "urn:oid:2.16.840.1.113883.2.4.4.10", "code": "12345"}]}
    result = read(bundle(patient(), statement(concept)), kb)
    assert "medications" not in result.intake
    assert reasons(result) == [("MedicationStatement", "m1", "unknown_code")]


@pytest.mark.parametrize("status", ["entered-in-error", "stopped", "completed", "not-taken"])
def test_a_stopped_or_erroneous_statement_is_not_used(kb: KnowledgeBase, status: str) -> None:
    concept = {"coding": [{"system": ATC, "code": "A02BC01"}]}
    result = read(bundle(patient(), statement(concept, status=status)), kb)
    assert "medications" not in result.intake
    assert reasons(result) == [("MedicationStatement", "m1", "status_not_active")]


@pytest.mark.parametrize("status", ["cancelled", "entered-in-error", "stopped", "completed"])
def test_a_cancelled_request_is_not_used(kb: KnowledgeBase, status: str) -> None:
    request = {
        "resourceType": "MedicationRequest",
        "id": "rq",
        "status": status,
        "intent": "order",
        "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": "4603"}]},
        "subject": {"reference": "Patient/p1"},
    }
    result = read(bundle(patient(), request), kb)
    assert "medications" not in result.intake
    assert reasons(result) == [("MedicationRequest", "rq", "status_not_active")]


# -- containers and bad data ----------------------------------------------------------------


def test_a_list_and_a_prefetch_map_read_like_a_bundle(kb: KnowledgeBase) -> None:
    mg = observation("2601-3", 0.62, "mmol/L")
    as_list = read([patient(), mg], kb)
    prefetch = {
        "patient": patient(),
        "mg": {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": mg}]},
        "egfr": None,
    }
    as_prefetch = read(prefetch, kb)
    assert as_list.intake == as_prefetch.intake
    assert as_list.intake["labs"][0]["value"] == 0.62


def test_other_resource_types_and_invalid_resources_are_reported(kb: KnowledgeBase) -> None:
    broken = observation("2601-3", 0.62, "mmol/L", oid="broken")
    del broken["code"]
    allergy = {"resourceType": "AllergyIntolerance", "id": "al", "patient": {"reference": "x"}}
    result = read(bundle(patient(), broken, allergy), kb)
    assert reasons(result) == [
        ("Observation", "broken", "invalid_resource"),
        ("AllergyIntolerance", "al", "resource_type_not_used"),
    ]


@pytest.mark.parametrize("data", [42, "Bundle", [1, 2], {"resourceType": "Bundle", "entry": [1]}])
def test_data_that_is_not_fhir_is_an_error(kb: KnowledgeBase, data: Any) -> None:
    with pytest.raises(IntakeError):
        intake_from_fhir(data, as_of=AS_OF, kb=kb)


def test_the_input_is_not_changed(kb: KnowledgeBase) -> None:
    data = json.loads(DONE_WHEN.read_text(encoding="utf-8"))
    before = copy.deepcopy(data)
    read(data, kb)
    assert data == before


# -- more medication, dosage and data shapes ------------------------------------------------


def test_a_medication_reference_to_a_contained_or_bundled_medication(kb: KnowledgeBase) -> None:
    medication = {
        "resourceType": "Medication",
        "id": "med-ppi",
        "code": {"coding": [{"system": ATC, "code": "A02BC02"}], "text": "Pantozol"},
    }
    contained = statement({}, mid="c")
    del contained["medicationCodeableConcept"]
    inner = {"coding": [{"system": ATC, "code": "A02BC05"}], "text": "Nexium"}
    contained["contained"] = [{**medication, "id": "inner", "code": inner}]
    contained["medicationReference"] = {"reference": "#inner"}
    bundled = statement({}, mid="b")
    del bundled["medicationCodeableConcept"]
    bundled["medicationReference"] = {"reference": "Medication/med-ppi"}
    missing = statement({}, mid="m")
    del missing["medicationCodeableConcept"]
    missing["medicationReference"] = {"reference": "Medication/elsewhere"}
    result = read(bundle(patient(), medication, contained, bundled, missing), kb)
    assert result.intake["medications"] == [
        {"atc": "A02BC05", "name": "Nexium"},
        {"atc": "A02BC02", "name": "Pantozol"},
    ]
    assert reasons(result) == [("MedicationStatement", "m", "medication_reference_unresolved")]


@pytest.mark.parametrize(
    ("dosage", "expected", "reason"),
    [
        ({"timing": {"code": {"coding": [{"code": "BID"}]}}}, {"frequency": "twice_daily"}, None),
        (
            {
                "timing": {
                    "repeat": {
                        "frequency": 2,
                        "period": 1,
                        "periodUnit": "d",
                        "timeOfDay": ["08:00:00", "20:00:00"],
                    }
                }
            },
            {"frequency": "twice_daily", "times": ["08:00", "20:00"]},
            None,
        ),
        (
            {"timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "wk"}}},
            {"frequency": "weekly"},
            None,
        ),
        ({"asNeededBoolean": True}, {"frequency": "as_needed"}, None),
        (
            {
                "timing": {
                    "repeat": {
                        "frequency": 1,
                        "period": 1,
                        "periodUnit": "d",
                        "timeOfDay": ["08:00:00", "20:00:00"],
                    }
                }
            },
            {"frequency": "daily"},
            "times_not_used",
        ),
        (
            {"timing": {"repeat": {"frequency": 4, "period": 1, "periodUnit": "d"}}},
            {},
            "dosage_not_mapped",
        ),
    ],
)
def test_the_dosage_timing(
    kb: KnowledgeBase, dosage: dict[str, Any], expected: dict[str, Any], reason: str | None
) -> None:
    res = statement({"coding": [{"system": ATC, "code": "J01AA02"}]})
    res["dosage"] = [dosage]
    result = read(bundle(patient(), res), kb)
    assert result.intake["medications"] == [{"atc": "J01AA02", **expected}]
    assert reasons(result) == ([("MedicationStatement", "m1", reason)] if reason else [])


def test_months_of_use_from_the_start(kb: KnowledgeBase) -> None:
    res = statement({"coding": [{"system": ATC, "code": "A02BC01"}]})
    res["effectivePeriod"] = {"start": "2024-11-15"}
    result = read(bundle(patient(), res), kb)
    assert result.intake["medications"][0]["months"] == 25


def test_weight_height_and_breast_feeding(kb: KnowledgeBase) -> None:
    weight = observation("29463-7", 64.5, "kg", oid="w")
    height = observation("8302-2", 168, "cm", oid="h")
    pounds = observation("29463-7", 140, "[lb_av]", oid="lb", when="2026-01-01")
    result = read(
        bundle(
            patient(born="1990-01-01"), weight, height, pounds, condition("169750002", cid="bf")
        ),
        kb,
    )
    assert result.intake["person"] == {
        "age": 36,
        "sex": "female",
        "weight_kg": 64.5,
        "height_cm": 168,
        "lactating": True,
    }
    assert reasons(result) == [("Observation", "lb", "unknown_unit")]


def test_a_comparator_or_a_missing_value_is_reported(kb: KnowledgeBase) -> None:
    below = observation("2601-3", 0.3, "mmol/L", oid="lt")
    below["valueQuantity"]["comparator"] = "ad"  # "sufficient to achieve": no bound to use
    empty = observation("98979-8", 1, "mL/min/{1.73_m2}", oid="none")
    del empty["valueQuantity"]
    empty["dataAbsentReason"] = {"text": "not done"}
    result = read(bundle(patient(), below, empty), kb)
    assert "labs" not in result.intake
    assert reasons(result) == [
        ("Observation", "lt", "comparator"),
        ("Observation", "none", "no_quantity"),
    ]


def test_an_incomplete_reference_range_is_reported_and_the_value_used(kb: KnowledgeBase) -> None:
    obs = observation("2601-3", 0.62, "mmol/L")
    obs["referenceRange"] = [{"low": {"value": 0.7, "unit": "mmol/L", "code": "mmol/L"}}]
    result = read(bundle(patient(), obs), kb)
    assert result.intake["labs"] == [
        {"analyte": "serum_magnesium", "value": 0.62, "unit": "mmol/L"}
    ]
    assert reasons(result) == [("Observation", "o1", "reference_range_incomplete")]


def test_a_prefetch_with_an_operation_outcome_and_a_second_patient(kb: KnowledgeBase) -> None:
    prefetch = {
        "patient": patient(),
        "other": patient(pid="p2"),
        "labs": {
            "resourceType": "OperationOutcome",
            "id": "oo",
            "issue": [{"severity": "error", "code": "processing"}],
        },
    }
    result = read(prefetch, kb)
    assert sorted(reasons(result)) == [
        ("OperationOutcome", "oo", "operation_outcome"),
        ("Patient", "p2", "other_patient"),
    ]


def test_the_same_resource_in_two_prefetch_keys_counts_once(kb: KnowledgeBase) -> None:
    mg = observation("2601-3", 0.62, "mmol/L")
    result = read({"patient": patient(), "a": mg, "b": bundle(mg)}, kb)
    assert result.intake["labs"] == [
        {"analyte": "serum_magnesium", "value": 0.62, "unit": "mmol/L"}
    ]
    assert result.unmapped == []


def test_the_mapping_table_is_cross_checked(tmp_path: Path) -> None:
    import shutil

    from mgadvisor.errors import KnowledgeError
    from mgadvisor.kb import KNOWLEDGE_DIR, load_knowledge

    folder = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE_DIR, folder)
    table = folder / "fhir_map.yaml"
    text = table.read_text(encoding="utf-8")
    text = text.replace("condition: ckd, sources", "condition: kidney_disease, sources", 1)
    text = text.replace("atc: C03CA01", "atc: C03CA99", 1)
    text = text.replace('loinc: "62238-1"', 'loinc: "2601-3"', 1)  # already in labs.yaml
    table.write_text(text, encoding="utf-8")
    with pytest.raises(KnowledgeError) as caught:
        load_knowledge(folder)
    message = str(caught.value)
    assert "unknown condition 'kidney_disease'" in message
    assert "C03CA99" in message
    assert "2601-3" in message


def test_the_latest_counts_across_time_zones(kb: KnowledgeBase) -> None:
    amsterdam = observation("2601-3", 0.7, "mmol/L", oid="ams", when="2026-10-01T09:00:00+02:00")
    utc = observation("2601-3", 0.8, "mmol/L", oid="utc", when="2026-10-01T08:00:00Z")
    result = read(bundle(patient(), utc, amsterdam), kb)
    assert result.intake["labs"][0]["value"] == 0.8  # 08:00 UTC is after 07:00 UTC
    assert reasons(result) == [("Observation", "ams", "superseded")]


def test_a_condition_without_status_but_with_an_end_is_not_active(kb: KnowledgeBase) -> None:
    ended = condition("84114007", cid="hf", clinical=None)
    ended["abatementDateTime"] = "2025-01-01"
    unknown = condition("38341003", cid="htn", clinical=None)
    result = read(bundle(patient(), ended, unknown), kb)
    assert result.intake["conditions"] == ["hypertension"]
    assert reasons(result) == [("Condition", "hf", "not_active")]


@pytest.mark.parametrize(("born", "age"), [("1954", 72), ("1955-06", 71)])
def test_a_partial_birth_date_counts_from_its_first_day_and_says_so(
    kb: KnowledgeBase, born: str, age: int
) -> None:
    result = read(bundle(patient(born=born)), kb)
    assert result.intake["person"]["age"] == age
    assert reasons(result) == [("Patient", "p1", "birth_date_partial")]


def test_a_resource_nested_too_deep_is_reported_not_a_crash(kb: KnowledgeBase) -> None:
    extension: dict[str, Any] = {"url": "http://example.org/x", "valueString": "a"}
    for _ in range(300):
        extension = {"url": "http://example.org/x", "extension": [extension]}
    deep = observation("2601-3", 0.62, "mmol/L", oid="deep")
    deep["extension"] = [extension]
    result = read(bundle(patient(), deep), kb)
    assert "labs" not in result.intake
    assert reasons(result) == [("Observation", "deep", "invalid_resource")]
    assert result.unmapped[0].given == "too_deep"


def test_the_report_quotes_long_texts_only_in_part(kb: KnowledgeBase) -> None:
    long_name = "x" * 5000
    res = {
        "resourceType": "Condition",
        "id": "c1",
        "code": {"coding": [{"system": SNOMED, "code": "1" * 18, "display": long_name}]},
        "subject": {"reference": "Patient/p1"},
    }
    result = read(bundle(patient(), res), kb)
    assert result.unmapped[0].display is not None
    assert len(result.unmapped[0].display) <= 120


def test_an_rxnorm_clinical_drug_name_counts_by_its_ingredient(kb: KnowledgeBase) -> None:
    scd = {
        "coding": [
            {
                "system": RXNORM,
                "code": "198211",
                "display": "Omeprazole 20 MG Delayed Release Oral Capsule",
            }
        ]
    }
    typed = statement({"text": "Nexium 40 mg"}, mid="n")
    unknown = statement({"text": "Zyxqvir 20 MG Oral Tablet"}, mid="u")
    extended = statement({"text": "24 HR Furosemide 40 MG Extended Release Oral Tablet"}, mid="x")
    result = read(bundle(patient(), statement(scd, mid="s"), extended, typed, unknown), kb)
    assert result.intake["medications"] == [
        {"atc": "A02BC01", "name": "Omeprazole 20 MG Delayed Release Oral Capsule"},
        {"atc": "C03CA01", "name": "24 HR Furosemide 40 MG Extended Release Oral Tablet"},
        {"name": "Nexium 40 mg"},  # found as written: the engine resolves it
        {"name": "Zyxqvir 20 MG Oral Tablet"},  # unknown: left to the engine, which says so
    ]
    assert reasons(result) == [("MedicationStatement", "s", "code_unknown_name_used")]


def test_a_medicine_listed_and_ordered_is_read_once(kb: KnowledgeBase) -> None:
    listed = statement({"coding": [{"system": ATC, "code": "C03CA01"}]}, mid="s")
    ordered = {
        "resourceType": "MedicationRequest",
        "id": "r",
        "status": "active",
        "intent": "order",
        "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": "4603"}]},
        "subject": {"reference": "Patient/p1"},
    }
    result = read(bundle(patient(), ordered, listed), kb)
    assert result.intake["medications"] == [{"atc": "C03CA01"}]
    assert reasons(result) == [("MedicationRequest", "r", "duplicate")]
