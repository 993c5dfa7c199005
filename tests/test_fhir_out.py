"""FHIR R4B out (issue 14 §1): the advice as a Bundle of draft resources, each valid under the
R4B models of fhir.resources and the official FHIR JSON Schema (tests/fixtures/fhir)."""

from __future__ import annotations

import functools
import gzip
import json
from datetime import date
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from fastapi.testclient import TestClient
from fhir.resources.R4B import get_fhir_model_class

from mgadvisor.intake import Intake, parse_intake
from mgadvisor.interop.fhir_in import intake_from_fhir
from mgadvisor.interop.fhir_out import FINDING_SYSTEM, INTERACTION_SYSTEM, advice_bundle
from mgadvisor.kb import KnowledgeBase
from mgadvisor.pipeline import advice_document

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "tests" / "fixtures" / "fhir" / "fhir.schema.json.gz"
DONE_WHEN = ROOT / "examples" / "fhir" / "patient-72-omeprazole-furosemide.json"
AS_OF = date(2026, 12, 1)


@functools.lru_cache(maxsize=1)
def _definitions() -> dict[str, Any]:
    schema = json.loads(gzip.decompress(SCHEMA.read_bytes()))
    assert schema["id"] == "http://hl7.org/fhir/json-schema/4.0"
    definitions: dict[str, Any] = schema["definitions"]
    return definitions


@functools.lru_cache(maxsize=32)
def _validator(kind: str) -> jsonschema.Draft6Validator:
    return jsonschema.Draft6Validator(
        {"$ref": f"#/definitions/{kind}", "definitions": _definitions()}
    )


def schema_errors(resource: dict[str, Any]) -> list[str]:
    """Problems of `resource` under the official FHIR JSON Schema (draft-06)."""
    kind = resource["resourceType"]
    validator = _validator(kind)
    return [f"{kind} {list(e.path)}: {e.message[:200]}" for e in validator.iter_errors(resource)]


def assert_valid(bundle: dict[str, Any]) -> None:
    """The Bundle and every resource in it: valid R4B (fhir.resources) and valid JSON Schema."""
    get_fhir_model_class("Bundle").model_validate(bundle)
    problems = schema_errors(bundle)
    for entry in bundle["entry"]:
        resource = entry["resource"]
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)
        problems += schema_errors(resource)
        assert entry["fullUrl"] == f"urn:uuid:{resource['id']}"
    assert not problems, "\n".join(problems)


def of_type(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def advise(intake: dict[str, Any], kb: KnowledgeBase, lang: str = "en") -> tuple[Any, Intake]:
    parsed = parse_intake(intake, kb)
    return advice_document(parsed, kb, as_of=AS_OF, lang=lang), parsed


# -- the schema check itself can fail -------------------------------------------------------


def test_the_schema_check_catches_what_the_models_let_through() -> None:
    bad = {"resourceType": "Patient", "gender": "f"}  # fhir.resources accepts this code
    get_fhir_model_class("Patient").model_validate(bad)
    assert schema_errors(bad)
    assert schema_errors({"resourceType": "RiskAssessment", "status": "final"})  # no subject
    assert not schema_errors({"resourceType": "Patient", "gender": "female"})


# -- the done-when: Bundle → intake → advice → Bundle ---------------------------------------


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_the_done_when_bundle_gives_a_valid_advice_bundle(kb: KnowledgeBase, lang: str) -> None:
    read = intake_from_fhir(json.loads(DONE_WHEN.read_text(encoding="utf-8")), as_of=AS_OF, kb=kb)
    document, intake = advise(read.intake, kb, lang)
    basis = [ref for key, ref in read.sources.items() if key != "person"]
    bundle = advice_bundle(document, intake, patient_ref=read.patient_ref, basis=basis, kb=kb)
    assert bundle["type"] == "collection"
    assert_valid(bundle)
    assert not of_type(bundle, "Patient")  # the patient is referred to, not copied
    risk = of_type(bundle, "RiskAssessment")[0]
    assert risk["subject"] == {"reference": read.patient_ref}
    assert risk["prediction"][0]["qualitativeRisk"]["coding"][0]["code"] == "high"
    assert {b["reference"] for b in risk["basis"]} == set(basis)
    assert ("0,62" if lang == "nl" else "0.62") in risk["prediction"][0]["rationale"]
    request = of_type(bundle, "MedicationRequest")[0]
    assert (request["status"], request["intent"]) == ("draft", "proposal")
    atc = [c["code"] for c in request["medicationCodeableConcept"]["coding"]]
    assert atc[0] == "A12CC"
    dose = request["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]
    assert dose["code"] == "mg" and dose["value"] == document["dose"]["elemental_mg_per_day"]
    plan = of_type(bundle, "CarePlan")[0]
    weeks = document["follow_up_weeks"]
    first = plan["activity"][0]["detail"]
    assert str(weeks) in first["description"]
    assert (
        first["scheduledPeriod"]["start"]
        == date.fromordinal(AS_OF.toordinal() + 7 * weeks).isoformat()
    )
    request_url = next(e["fullUrl"] for e in bundle["entry"] if e["resource"] is request)
    assert {"reference": {"reference": request_url}} in plan["activity"]


def test_without_a_patient_an_anonymous_one_is_added(kb: KnowledgeBase) -> None:
    document, intake = advise({"person": {"age": 40, "sex": "male"}, "goals": ["sleep"]}, kb)
    bundle = advice_bundle(document, intake, patient_ref=None, kb=kb)
    assert_valid(bundle)
    patients = of_type(bundle, "Patient")
    assert patients == [{"resourceType": "Patient", "gender": "male", "id": patients[0]["id"]}]
    risk = of_type(bundle, "RiskAssessment")[0]
    assert risk["subject"]["reference"] == f"urn:uuid:{patients[0]['id']}"
    assert "basis" not in risk


# -- interactions, contraindications, timing ------------------------------------------------


def test_an_interaction_is_a_detected_issue_with_its_spacing_as_mitigation(
    kb: KnowledgeBase,
) -> None:
    intake = {
        "person": {"age": 50, "sex": "female"},
        "goals": ["sleep"],
        "medications": [
            {"name": "ciprofloxacin", "frequency": "twice_daily", "times": ["08:00", "20:00"]}
        ],
    }
    document, parsed = advise(intake, kb)
    bundle = advice_bundle(document, parsed, patient_ref="Patient/p1", kb=kb)
    assert_valid(bundle)
    hit = document["interactions"][0]
    issue = of_type(bundle, "DetectedIssue")[0]
    codes = {(c["system"], c["code"]) for c in issue["code"]["coding"]}
    assert (INTERACTION_SYSTEM, hit["interaction"]) in codes
    assert issue["severity"] == "moderate"  # caution
    assert issue["mitigation"][0]["action"]["text"] == hit["advice"]
    request = of_type(bundle, "MedicationRequest")[0]
    issue_url = next(e["fullUrl"] for e in bundle["entry"] if e["resource"] is issue)
    assert {"reference": issue_url} in request["detectedIssue"]
    times = [d["timing"]["repeat"]["timeOfDay"][0] for d in request["dosageInstruction"]]
    assert times == [f"{i['time']}:00" for i in document["dose"]["intakes"]]


def test_a_contraindication_is_a_detected_issue_and_no_supplement_is_proposed(
    kb: KnowledgeBase,
) -> None:
    intake = {"person": {"age": 70, "sex": "male"}, "conditions": ["heart_block"]}
    document, parsed = advise(intake, kb)
    bundle = advice_bundle(document, parsed, patient_ref="Patient/p1", kb=kb)
    assert_valid(bundle)
    issues = of_type(bundle, "DetectedIssue")
    found = {
        c["code"] for i in issues for c in i["code"]["coding"] if c["system"] == FINDING_SYSTEM
    }
    reasons = {r["code"] for r in document["referral"]["reasons"]}
    assert found and found <= reasons
    assert all(i["severity"] in ("high", "moderate") for i in issues)
    assert document["dose"]["status"] == "withheld"
    assert not of_type(bundle, "MedicationRequest")


@pytest.mark.parametrize(
    "intake",
    [
        {"person": {"age": 10, "sex": "male"}, "goals": ["sleep"]},
        {"person": {"age": 30, "sex": "female", "pregnancy_week": 24}, "complaints": ["fatigue"]},
        {
            "person": {"age": 80, "sex": "female"},
            "labs": [{"analyte": "egfr", "value": 25, "unit": "mL/min/1.73m2"}],
        },
    ],
)
def test_other_advices_give_valid_bundles(kb: KnowledgeBase, intake: dict[str, Any]) -> None:
    for lang in ("nl", "en"):
        document, parsed = advise(intake, kb, lang)
        assert_valid(advice_bundle(document, parsed, patient_ref=None, kb=kb))


# -- the API --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def client() -> TestClient:
    from mgadvisor.web.app import create_app

    return TestClient(create_app())


def test_the_api_gives_a_fhir_bundle_on_request(client: TestClient) -> None:
    intake = {
        "person": {"age": 72, "sex": "female"},
        "medications": [{"atc": "A02BC01"}, {"name": "furosemide"}],
        "labs": [{"analyte": "serum_magnesium", "value": 0.62, "unit": "mmol/L"}],
    }
    answer = client.post("/api/v1/advice?format=fhir&lang=nl&as_of=2026-12-01", json=intake)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/fhir+json")
    assert_valid(answer.json())
    plain = client.post("/api/v1/advice?as_of=2026-12-01", json=intake)
    assert plain.headers["content-type"].startswith("application/json")
    assert plain.json()["risk"]["level"] == "high"


def test_the_api_refuses_an_unknown_format_and_a_bad_intake_as_before(
    client: TestClient,
) -> None:
    unknown = client.post("/api/v1/advice?format=xml", json={"person": {"age": 40, "sex": "male"}})
    assert unknown.status_code == 422
    assert unknown.json()["errors"]
    bad = client.post("/api/v1/advice?format=fhir&lang=en", json={"person": {"age": 40}})
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/json")
    assert bad.json()["errors"][0]["loc"] == "person.sex"


def test_the_openapi_document_names_the_fhir_format(client: TestClient) -> None:
    post = client.get("/openapi.json").json()["paths"]["/api/v1/advice"]["post"]
    names = {p["name"] for p in post["parameters"]}
    assert "format" in names
    assert "application/fhir+json" in post["responses"]["200"]["content"]


CASES = sorted((ROOT / "tests" / "cases").glob("*.yaml"))


def test_every_case_gives_a_valid_bundle(kb: KnowledgeBase) -> None:
    """All example intakes (referrals, contraindications, children, pregnancy, products)."""
    import yaml

    kinds: set[str] = set()
    for i, path in enumerate(CASES):
        intake = yaml.safe_load(path.read_text(encoding="utf-8"))["intake"]
        document, parsed = advise(intake, kb, ("nl", "en")[i % 2])
        bundle = advice_bundle(document, parsed, patient_ref="Patient/p1", kb=kb)
        try:
            assert_valid(bundle)
        except AssertionError as exc:
            raise AssertionError(f"{path.name}: {exc}") from None
        kinds |= {e["resource"]["resourceType"] for e in bundle["entry"]}
    assert len(CASES) > 50
    assert kinds >= {"RiskAssessment", "DetectedIssue", "MedicationRequest", "CarePlan"}


def test_diet_data_give_a_nutrition_order(kb: KnowledgeBase) -> None:
    import yaml

    intake = yaml.safe_load((ROOT / "examples" / "diet-ffq.yaml").read_text(encoding="utf-8"))
    document, parsed = advise(intake, kb, "nl")
    bundle = advice_bundle(document, parsed, patient_ref="Patient/p1", kb=kb)
    assert_valid(bundle)
    order = of_type(bundle, "NutritionOrder")[0]
    assert (order["status"], order["intent"]) == ("draft", "proposal")
    nutrient = order["oralDiet"]["nutrient"][0]
    assert nutrient["amount"]["value"] == document["diet"]["reference_intake_mg"]
    assert nutrient["modifier"]["text"] == "Magnesium"
    plan = of_type(bundle, "CarePlan")[0]
    order_url = next(e["fullUrl"] for e in bundle["entry"] if e["resource"] is order)
    assert {"reference": {"reference": order_url}} in plan["activity"]
    no_diet, parsed = advise({"person": {"age": 40, "sex": "male"}}, kb)
    assert not of_type(advice_bundle(no_diet, parsed, patient_ref=None, kb=kb), "NutritionOrder")


@pytest.mark.parametrize(
    ("resources", "typed"),
    [
        (
            [
                {
                    "resourceType": "Patient",
                    "id": "p1",
                    "gender": "female",
                    "birthDate": "1994-02-01",
                },
                {
                    "resourceType": "Condition",
                    "id": "c",
                    "subject": {"reference": "Patient/p1"},
                    "code": {"coding": [{"system": "http://snomed.info/sct", "code": "77386006"}]},
                },
            ],
            {"person": {"age": 32, "sex": "female", "pregnant": True}},
        ),
        (
            [{"resourceType": "Patient", "id": "p1", "gender": "male", "birthDate": "2016-05-01"}],
            {"person": {"age": 10, "sex": "male"}},
        ),
    ],
)
def test_a_pregnant_woman_and_a_child_get_the_advice_of_their_typed_intake(
    kb: KnowledgeBase, resources: list[dict[str, Any]], typed: dict[str, Any]
) -> None:
    read = intake_from_fhir(resources, as_of=AS_OF, kb=kb)
    from_fhir, _ = advise(read.intake, kb)
    by_hand, _ = advise(typed, kb)
    assert from_fhir == by_hand
    if typed["person"].get("pregnant"):
        assert "risk.pregnancy" in {f["code"] for f in from_fhir["risk"]["factors"]}
    assert from_fhir["calculations"]["age"] == typed["person"]["age"]


def test_an_interaction_names_the_medicine_resource_it_comes_from(kb: KnowledgeBase) -> None:
    def statement(mid: str, atc: str) -> dict[str, Any]:
        return {
            "fullUrl": f"urn:uuid:00000000-0000-4000-8000-00000000000{mid}",
            "resource": {
                "resourceType": "MedicationStatement",
                "id": f"m{mid}",
                "status": "active",
                "medicationCodeableConcept": {
                    "coding": [{"system": "http://www.whocc.no/atc", "code": atc}]
                },
                "subject": {"reference": "Patient/p1"},
            },
        }

    source = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {
                "resource": {
                    "resourceType": "Patient",
                    "id": "p1",
                    "gender": "female",
                    "birthDate": "1970-01-01",
                }
            },
            statement("1", "A02BC01"),
            statement("2", "J01MA02"),
        ],
    }
    read = intake_from_fhir(source, as_of=AS_OF, kb=kb)
    document, intake = advise({**read.intake, "goals": ["sleep"]}, kb)
    bundle = advice_bundle(
        document, intake, patient_ref=read.patient_ref, sources=read.sources, kb=kb
    )
    assert_valid(bundle)
    issue = of_type(bundle, "DetectedIssue")[0]
    assert issue["implicated"] == [{"reference": "urn:uuid:00000000-0000-4000-8000-000000000002"}]
    risk = of_type(bundle, "RiskAssessment")[0]
    assert [b["reference"] for b in risk["basis"]] == [
        "urn:uuid:00000000-0000-4000-8000-000000000001",
        "urn:uuid:00000000-0000-4000-8000-000000000002",
    ]
