"""The FHIR collector's fast JSON form of a validated model is exactly the model's own
`model_dump(mode="json", by_alias=True, exclude_none=True)` (element order included)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from mgadvisor.interop import fhir_collect

AS_OF = date(2026, 12, 1)
ROOT = Path(__file__).resolve().parents[1]
FILES = [
    ROOT / "examples" / "fhir" / "patient-72-omeprazole-furosemide.json",
    ROOT / "tests" / "fixtures" / "cds" / "prefetch-72.json",
]
# values the models convert (text to number or boolean, dates with a time zone, decimals
# with trailing zeros), primitive extensions, contained resources, empty lists
ODD: list[dict[str, Any]] = [
    {
        "resourceType": "Patient",
        "id": "p1",
        "gender": "female",
        "birthDate": "1954-03",
        "active": "true",
        "_gender": {"extension": [{"url": "http://example.org/x", "valueString": "a"}]},
        "_birthDate": {"id": "b1"},
    },
    {
        "resourceType": "Observation",
        "id": "o1",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "19123-9"}]},
        "effectiveDateTime": "2026-11-20T10:00:00.000+01:00",
        "valueQuantity": {"value": "0.70", "unit": "mmol/L"},
        "issued": "2026-11-20T10:00:00Z",
        "referenceRange": [{"low": {"value": 1e2}, "high": {"value": 100.50}}],
        "contained": [{"resourceType": "Patient", "id": "x", "birthDate": "2020"}],
        "meta": {"lastUpdated": "2026-01-01T00:00:00.123456Z"},
    },
    {
        "resourceType": "Observation",
        "status": "final",
        "code": {"text": "x"},
        "effectivePeriod": {"start": "2026"},
        "valueInteger": 3.0,
        "component": [],
    },
    {
        "resourceType": "MedicationStatement",
        "status": "active",
        "subject": {"reference": "Patient/p1"},
        "medicationCodeableConcept": {"text": "x"},
        "dosage": [
            {
                "timing": {"repeat": {"timeOfDay": ["08:00:00"], "frequency": "2"}},
                "doseAndRate": [{"doseQuantity": {"value": 1.0}}],
            }
        ],
    },
]


def _resources() -> list[dict[str, Any]]:
    found = list(ODD)
    for path in FILES:
        data = json.loads(path.read_text(encoding="utf-8"))
        found += [raw for raw, _ in fhir_collect._walk(data, "x", 0)]
    return found


@pytest.mark.parametrize("raw", _resources(), ids=lambda r: str(r.get("resourceType")))
def test_fast_json_is_the_models_own_dump(raw: dict[str, Any]) -> None:
    from fhir.resources.R4B import get_fhir_model_class

    model = get_fhir_model_class(raw["resourceType"]).model_validate(raw)
    expected = model.model_dump(mode="json", by_alias=True, exclude_none=True)
    fast = fhir_collect._as_json(model)
    assert fast == expected
    assert json.dumps(fast) == json.dumps(expected)  # the same order of elements


def test_unusual_values_fall_back_to_the_models_dump() -> None:
    from fhir.resources.R4B import get_fhir_model_class

    raw = {"resourceType": "Patient", "id": "p1", "gender": "female", "birthDate": "1954-03-15"}
    model = get_fhir_model_class("Patient").model_validate(raw)
    model.__dict__["fhir_comments"] = ["a comment"]
    with pytest.raises(fhir_collect._UnusualError):
        fhir_collect._as_json(model)
    out = fhir_collect.Collected()
    assert fhir_collect._parse(raw, out) == raw


def test_the_cards_supplement_request_is_the_bundles() -> None:
    from mgadvisor.interop.fhir_in import intake_from_fhir
    from mgadvisor.interop.fhir_out import advice_bundle, supplement_request
    from mgadvisor.kb import load_knowledge
    from mgadvisor.pipeline import advise_and_render

    kb = load_knowledge()
    data = json.loads(FILES[0].read_text(encoding="utf-8"))
    for lang in ("nl", "en"):
        read = intake_from_fhir(data, as_of=AS_OF, kb=kb)
        assert read.parsed is not None
        doc = advise_and_render(read.parsed, kb, as_of=AS_OF, lang=lang).document
        bundle = advice_bundle(dict(doc), {}, patient_ref="Patient/p1", kb=kb)
        found = [e["resource"] for e in bundle["entry"]]
        request = next(r for r in found if r["resourceType"] == "MedicationRequest")
        request = {k: v for k, v in request.items() if k not in ("id", "detectedIssue")}
        assert supplement_request(dict(doc), patient_ref="Patient/p1", kb=kb) == request
        assert json.dumps(supplement_request(dict(doc), patient_ref="Patient/p1")) == json.dumps(
            request
        )


def test_a_decimal_beyond_float_range_is_dumped_as_the_model_dumps_it() -> None:
    """A valid FHIR decimal (given as a JSON string) finite as a Decimal but not as a float:
    the model's dump gives null; the fast path must not give infinity (found in review)."""
    from fhir.resources.R4B import get_fhir_model_class

    raw = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"text": "x"},
        "valueQuantity": {"value": "1" + "0" * 310 + ".5", "unit": "mmol/L"},
    }
    model = get_fhir_model_class("Observation").model_validate(raw)
    expected = model.model_dump(mode="json", by_alias=True, exclude_none=True)
    assert expected["valueQuantity"]["value"] is None
    assert fhir_collect._parse(raw, fhir_collect.Collected()) == expected
