"""A Patient that is not valid FHIR R4B is reported as such (the element and why, never the
name or the birth date), not as "no patient data"; the card and the CLI say its age and sex
are unknown because the Patient was invalid."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from mgadvisor.errors import IntakeError
from mgadvisor.i18n import Translator
from mgadvisor.interop.fhir_in import InvalidPatientError, intake_from_fhir
from mgadvisor.kb import KnowledgeBase
from test_cds_hooks import (
    MAGNESIUM,
    _order,
    call,
    client,  # noqa: F401  (the fixture)
    load,
    order_call,
    patient_view,
)
from test_cds_redteam import cards_of, topics
from test_fhir_in import bundle, patient

AS_OF = date(2026, 12, 1)
NAME = [{"family": "Jansen", "given": ["Anna"]}]

# (what is wrong, the element named, why in words); the birth dates are distinctive so that a
# test can see they are never repeated
MALFORMED = [
    ({"birthDate": "1961-13-45"}, "Patient.birthDate", "not a valid date"),
    ({"birthDate": "1961-02-30"}, "Patient.birthDate", "not a valid date"),
    ({"birthDate": "15-03-1961"}, "Patient.birthDate", "not a valid date"),
    ({"gender": 7}, "Patient.gender", "not text"),
    ({"name": "Anna Jansen"}, "Patient.name", "not a list"),
    ({"active": "maybe"}, "Patient.active", "not true or false"),
]


def bad_patient(change: dict[str, Any]) -> dict[str, Any]:
    return {**patient(), "name": NAME, **change}


@pytest.mark.parametrize(("change", "path", "why"), MALFORMED)
def test_an_invalid_patient_is_named_not_called_missing(
    kb: KnowledgeBase, change: dict[str, Any], path: str, why: str
) -> None:
    with pytest.raises(InvalidPatientError) as caught:
        intake_from_fhir(bundle(bad_patient(change)), as_of=AS_OF, kb=kb)
    error = caught.value
    assert isinstance(error, IntakeError)  # every adapter handles it as bad input
    assert (error.path, error.given) == (path, why)
    line = error.line(Translator("en"))
    assert line == (
        f"{path}: the Patient resource is not valid FHIR R4B ({why}); the patient's age and "
        "sex are unknown"
    )
    assert "no patient data" not in line
    for secret in ("Jansen", "Anna", "1961", "maybe", "13-45"):
        assert secret not in line and secret not in str(error)
    dutch = error.line(Translator("nl"))
    assert "leeftijd en geslacht" in dutch and "Jansen" not in dutch


def test_no_patient_at_all_is_still_no_patient_data(kb: KnowledgeBase) -> None:
    with pytest.raises(IntakeError) as caught:
        intake_from_fhir(bundle(), as_of=AS_OF, kb=kb)
    assert not isinstance(caught.value, InvalidPatientError)
    assert caught.value.path == "Patient"


def test_a_valid_patient_beside_an_invalid_one_is_used(kb: KnowledgeBase) -> None:
    other = {**bad_patient({"birthDate": "1961-13-45"}), "id": "p2"}
    result = intake_from_fhir(bundle(patient(), other), as_of=AS_OF, kb=kb)
    assert result.intake["person"]["sex"] == "female"
    assert [(u.id, u.reason) for u in result.unmapped] == [("p2", "invalid_resource")]


def test_the_cli_says_the_patient_was_invalid(tmp_path: Path) -> None:
    from test_fhir_redteam import fhir_intake_cli

    run = fhir_intake_cli(tmp_path, bundle(bad_patient({"birthDate": "1961-02-30"})))
    assert run.returncode == 2
    assert run.stdout == ""
    assert run.stderr.strip().splitlines() == [
        "Error: Patient.birthDate: the Patient resource is not valid FHIR R4B (not a valid "
        "date); the patient's age and sex are unknown"
    ]


@pytest.mark.parametrize(("change", "path", "why"), MALFORMED[::2])
def test_the_card_says_age_and_sex_are_unknown(
    client: TestClient,  # noqa: F811
    change: dict[str, Any],
    path: str,
    why: str,
) -> None:
    prefetch = load("prefetch-72.json")
    prefetch["patient"] = {**prefetch["patient"], "name": NAME, **change}
    cards = cards_of(call(client, "mg-depletion", patient_view(prefetch)))
    assert topics(cards) == ["cds.not_assessed"]
    assert cards[0]["summary"] == (
        "mgadvisor could not assess this patient: age and sex unknown, the Patient resource "
        "is not valid FHIR R4B"
    )
    detail = cards[0]["detail"].replace("\\.", ".")  # Markdown escapes a domain-like dot
    assert path in detail and why in detail
    text = json.dumps(cards)
    assert "Jansen" not in text and "1961" not in text
    dutch = cards_of(call(client, "mg-depletion", patient_view(prefetch), lang="nl"))
    assert "geen geldige FHIR R4B" in dutch[0]["summary"]


def test_interactions_still_shown_with_an_invalid_patient(client: TestClient) -> None:  # noqa: F811
    body = order_call("order-sign", [_order("doxy-1", "J01AA02", "doxycycline")], [MAGNESIUM])
    body["prefetch"]["patient"]["birthDate"] = "1961-13-45"
    cards = cards_of(call(client, "mg-interactions", body))
    assert topics(cards) == ["interaction.tetracyclines", "cds.not_assessed"]
    assert "age and sex unknown" in cards[1]["summary"]
