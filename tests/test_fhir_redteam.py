"""FHIR in, the red team's findings (H1, H2, H4, M1, M2, M4, H3's names and the low ones):
bounds, dates, deceased patients, ended medicines, Bundle entries without a resource, more
medicines than the intake takes, and the SNOMED CT codes and medicine names added."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from mgadvisor.errors import IntakeError
from mgadvisor.i18n import Translator
from mgadvisor.interop.fhir_in import FhirIntake, intake_from_fhir
from mgadvisor.interop.fhir_report import unmapped_line
from mgadvisor.kb import KnowledgeBase
from test_fhir_in import bundle, condition, observation, patient, statement

AS_OF = date(2026, 12, 1)
ATC = "http://www.whocc.no/atc"


def read(data: Any, kb: KnowledgeBase) -> FhirIntake:
    return intake_from_fhir(data, as_of=AS_OF, kb=kb)


def why(result: FhirIntake) -> dict[str, str]:
    """Reason by resource id."""
    return {str(u.id): u.reason for u in result.unmapped}


def lines(result: FhirIntake, lang: str = "en") -> str:
    t = Translator(lang)
    return "\n".join(unmapped_line(u, t) for u in result.unmapped)


# -- H1: a value with a comparator counts as its bound, and says so ---------------------------


@pytest.mark.parametrize(
    ("loinc", "value", "unit", "comparator", "read_as", "reason"),
    [
        ("2601-3", 0.3, "mmol/L", "<", 0.299, "comparator_open_bound"),
        ("98979-8", 90, "mL/min/{1.73_m2}", ">", 90.001, "comparator_open_bound"),
        ("2601-3", 0.3, "mmol/L", "<=", 0.299, "comparator_bound"),
        ("98979-8", 90, "mL/min/{1.73_m2}", ">=", 90.001, "comparator_bound"),
    ],
)
def test_a_bound_is_read_just_beyond_it_and_reported(
    kb: KnowledgeBase,
    loinc: str,
    value: float,
    unit: str,
    comparator: str,
    read_as: float,
    reason: str,
) -> None:
    """An open bound ("<0.3") as just below it, so a strict limit at the bound ("below 0.3")
    fires as for any value under it; "<=" and ">=" are read the same way (the lab could not say
    more, so the value may be beyond the bound)."""
    obs = observation(loinc, value, unit, oid="b")
    obs["valueQuantity"]["comparator"] = comparator
    result = read(bundle(patient(), obs), kb)
    lab = result.intake["labs"][0]  # the bound as given, with its comparator
    assert (lab["value"], lab["comparator"]) == (value, comparator)
    assert result.parsed is not None and result.parsed.labs[0].read_value == read_as
    assert list(result.bounds.values()) == [(comparator, value, read_as)]
    assert why(result) == {"b": reason}
    assert f"{comparator}{value}" in lines(result)
    assert f"{comparator}{value}" in lines(result, "nl")


def test_a_bound_low_serum_magnesium_gives_the_urgent_referral(kb: KnowledgeBase) -> None:
    from mgadvisor.pipeline import advise_and_render

    obs = observation("2601-3", 0.3, "mmol/L")
    obs["valueQuantity"]["comparator"] = "<"
    result = read(bundle(patient(), obs), kb)
    assert result.parsed is not None
    doc = advise_and_render(result.parsed, kb, as_of=AS_OF, lang="en").document
    exact = read(bundle(patient(), observation("2601-3", 0.3, "mmol/L")), kb)
    assert exact.parsed is not None
    same = advise_and_render(exact.parsed, kb, as_of=AS_OF, lang="en").document
    assert doc["referral"]["needed"] and doc["referral"]["urgency"] == same["referral"]["urgency"]
    codes = [r["code"] for r in doc["referral"]["reasons"]]
    assert codes == [r["code"] for r in same["referral"]["reasons"]]


# -- H4: dates -------------------------------------------------------------------------------


def test_a_result_after_the_advice_date_is_not_used(kb: KnowledgeBase) -> None:
    now = observation("2601-3", 0.8, "mmol/L", oid="now", when="2026-11-20")
    later = observation("2601-3", 0.5, "mmol/L", oid="later", when="2027-06-01")
    result = read(bundle(patient(), now, later), kb)
    assert result.intake["labs"][0]["value"] == 0.8
    assert why(result) == {"later": "after_as_of"}


def test_a_result_late_on_the_advice_day_west_of_greenwich_is_not_after_it(
    kb: KnowledgeBase,
) -> None:
    # 23:30 at UTC-12 on the advice day is the next day in UTC: still the advice day
    late = observation("2601-3", 0.62, "mmol/L", oid="late", when="2026-12-01T23:30:00-12:00")
    result = read(bundle(patient(), late), kb)
    assert result.intake["labs"][0]["value"] == 0.62
    assert why(result) == {}


def test_an_old_result_is_used_and_reported_with_its_date(kb: KnowledgeBase) -> None:
    old = observation("2601-3", 0.62, "mmol/L", oid="old", when="2023-01-10")
    result = read(bundle(patient(), old), kb)
    assert result.intake["labs"][0]["value"] == 0.62
    assert why(result) == {"old": "old_result"}
    assert "2023-01-10, 46 months before the advice" in lines(result)
    assert "2023-01-10" in lines(result, "nl") and "46" in lines(result, "nl")
    recent = observation("2601-3", 0.62, "mmol/L", oid="new", when="2026-06-01")
    assert why(read(bundle(patient(), recent), kb)) == {}


def test_an_old_pregnancy_status_or_condition_does_not_make_pregnant(kb: KnowledgeBase) -> None:
    young = patient(born="1991-05-01")
    status = {
        "resourceType": "Observation",
        "id": "ps",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "82810-3"}]},
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": "2023-01-01",
        "valueCodeableConcept": {
            "coding": [{"system": "http://snomed.info/sct", "code": "77386006"}]
        },
    }
    result = read(bundle(young, status), kb)
    assert "pregnant" not in result.intake["person"]
    assert why(result) == {"ps": "pregnancy_outdated"}
    recent = dict(status, effectiveDateTime="2026-10-01")
    assert read(bundle(young, recent), kb).intake["person"]["pregnant"] is True
    old = condition("77386006", cid="pc")
    old["onsetDateTime"] = "2024-02-01"
    result = read(bundle(young, old), kb)
    assert "pregnant" not in result.intake["person"]
    assert why(result) == {"pc": "pregnancy_outdated"}
    # the onset decides: a recent recordedDate does not renew an old pregnancy
    old["recordedDate"] = "2026-11-01"
    result = read(bundle(young, old), kb)
    assert "pregnant" not in result.intake["person"]
    assert why(result) == {"pc": "pregnancy_outdated"}


# -- M1: a deceased patient gets no advice ---------------------------------------------------


@pytest.mark.parametrize(
    "deceased", [{"deceasedBoolean": True}, {"deceasedDateTime": "2026-01-02"}]
)
def test_a_deceased_patient_is_refused(kb: KnowledgeBase, deceased: dict[str, Any]) -> None:
    with pytest.raises(IntakeError) as caught:
        read(bundle({**patient(), **deceased}), kb)
    assert caught.value.path == "Patient.deceased[x]"


def fhir_intake_cli(tmp_path: Path, data: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    """`mgadvisor --lang en fhir intake` of `data` (a Bundle), run as a user would."""
    path = tmp_path / "b.json"
    path.write_text(json.dumps(data))
    return subprocess.run(
        [sys.executable, "-m", "mgadvisor", "--lang", "en", "fhir", "intake", str(path)],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
    )


def test_the_cli_refuses_a_deceased_patient_with_one_line(tmp_path: Path) -> None:
    run = fhir_intake_cli(tmp_path, bundle({**patient(), "deceasedBoolean": True}))
    assert run.returncode == 2
    assert run.stdout == ""
    assert run.stderr.strip().splitlines() == [
        "Error: Patient.deceased[x]: expected a living patient, got deceased"
    ]


# -- M2 and the low ones on medicines --------------------------------------------------------


def test_a_statement_whose_period_ended_is_not_current(kb: KnowledgeBase) -> None:
    ended = statement({"coding": [{"system": ATC, "code": "A02BC01"}]}, mid="e")
    ended["effectivePeriod"] = {"start": "2020-01-01", "end": "2024-01-01"}
    running = statement({"coding": [{"system": ATC, "code": "C03CA01"}]}, mid="r")
    running["effectivePeriod"] = {"start": "2020-01-01", "end": "2027-01-01"}
    result = read(bundle(patient(), ended, running), kb)
    assert result.intake["medications"] == [{"atc": "C03CA01", "months": 83}]
    assert why(result) == {"e": "period_ended"}
    assert "2024-01-01" in lines(result)


def test_a_proposal_is_not_a_medicine_taken(kb: KnowledgeBase) -> None:
    proposal = {
        "resourceType": "MedicationRequest",
        "id": "p",
        "status": "active",
        "intent": "proposal",
        "subject": {"reference": "Patient/p1"},
        "medicationCodeableConcept": {"coding": [{"system": ATC, "code": "A02BC01"}]},
    }
    result = read(bundle(patient(), proposal), kb)
    assert "medications" not in result.intake
    assert why(result) == {"p": "intent_not_taken"}


def test_a_typed_name_without_dosage_is_noted(kb: KnowledgeBase) -> None:
    result = read(bundle(patient(), statement({"text": "omeprazol"}, mid="t")), kb)
    assert why(result) == {"t": "no_dosage"}


# -- H2: Bundle entries without a resource; more medicines than the intake takes ------------


def test_a_bundle_entry_without_resource_is_skipped_and_reported(kb: KnowledgeBase) -> None:
    data = bundle(patient(), observation("2601-3", 0.62, "mmol/L"))
    data["entry"].append({"fullUrl": "urn:uuid:x", "request": {"method": "GET", "url": "x"}})
    result = read(data, kb)
    assert result.intake["labs"][0]["value"] == 0.62
    assert [(u.resource_type, u.reason) for u in result.unmapped] == [
        ("Bundle", "entry_without_resource")
    ]


def test_more_than_fifty_medicines_keeps_those_that_matter(kb: KnowledgeBase) -> None:
    filler = [
        statement({"coding": [{"system": ATC, "code": "C09AA02"}]}, mid=f"f{i}") for i in range(55)
    ]
    # each ATC only once in the intake (duplicates are read once): vary the filler's codes
    for i, res in enumerate(filler):
        res["medicationCodeableConcept"] = {"text": f"filler {i}"}
        res["dosage"] = [{"text": "1x"}]
    doxy = statement({"coding": [{"system": ATC, "code": "J01AA02"}]}, mid="doxy")
    mg = statement({"coding": [{"system": ATC, "code": "A12CC04"}]}, mid="mg")
    result = read(bundle(patient(), *filler, doxy, mg), kb)
    atcs = [m.get("atc") for m in result.intake["medications"]]
    assert len(atcs) == 50 and "J01AA02" in atcs and "A12CC04" in atcs
    dropped = [u for u in result.unmapped if u.reason == "too_many_medicines"]
    assert len(dropped) == 7
    assert "more than 50 medicines" in unmapped_line(dropped[0], Translator("en"))


# -- M4 and H3: codes and names --------------------------------------------------------------


@pytest.mark.parametrize(
    ("snomed", "code"),
    [
        ("195042002", "heart_block"),  # second degree AV block
        ("721000119107", "ckd"),  # CKD stage 4 due to type 2 diabetes
        ("90751000119109", "ckd"),  # CKD stage 4 due to type 1 diabetes
        ("129151000119102", "ckd"),  # CKD stage 4 due to hypertension
    ],
)
def test_more_snomed_codes(kb: KnowledgeBase, snomed: str, code: str) -> None:
    assert read(bundle(patient(), condition(snomed)), kb).intake["conditions"] == [code]


@pytest.mark.parametrize(
    ("name", "atc"),
    [
        ("Magnesiumcitraat 400 mg", "A12CC04"),
        ("magnesium citraat", "A12CC04"),
        ("Magnesium bisglycinaat", "A12CC"),
        ("Magnesii oxidum 500 mg", "A12CC10"),
    ],
)
def test_dutch_magnesium_names_are_magnesium(kb: KnowledgeBase, name: str, atc: str) -> None:
    from mgadvisor.assess.medication import resolve
    from mgadvisor.intake import Medication

    found = resolve(kb, Medication(name=name))
    assert (found.match, found.atc) == ("exact", atc)


# -- low: the report names resources, not their urn:uuid; equal times ------------------------


def test_report_names_the_resource_not_its_urn(kb: KnowledgeBase) -> None:
    pregnant = condition("77386006", cid="preg")
    data = bundle(patient(gender="male"), pregnant)
    data["entry"][1]["fullUrl"] = "urn:uuid:4f1f0c1a-0000-4000-8000-000000000001"
    result = read(data, kb)
    item = next(u for u in result.unmapped if u.reason == "not_applicable")
    assert (item.resource_type, item.id) == ("Condition", "preg")


def test_two_results_at_the_same_time_are_not_called_later(kb: KnowledgeBase) -> None:
    one = observation("2601-3", 0.8, "mmol/L", oid="a")
    two = observation("2601-3", 0.7, "mmol/L", oid="b")
    assert why(read(bundle(patient(), one, two), kb)) == {"b": "superseded_same_time"}


def test_entries_without_a_resource_count_toward_the_limit(kb: KnowledgeBase) -> None:
    from mgadvisor.interop.fhir_collect import MAX_RESOURCES

    data = bundle(patient())
    data["entry"] += [{} for _ in range(MAX_RESOURCES)]
    with pytest.raises(IntakeError) as refused:
        read(data, kb)
    assert refused.value.path == "resources"
