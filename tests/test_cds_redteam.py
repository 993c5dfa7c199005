"""CDS Hooks, the red team's findings: a card (not an empty list) when the patient cannot be
assessed, interactions without a usable sex, more medicines than the intake takes, Bundle
entries without a resource, the record's unused parts on the card, bounds and old results
reaching the clinician, and no card that speaks to the intake form."""

from __future__ import annotations

import copy
from typing import Any

from fastapi.testclient import TestClient

from mgadvisor.interop.cds_cards import short
from test_cds_hooks import (
    MAGNESIUM,
    _order,
    _statement,
    call,
    client,  # noqa: F401  (the fixture)
    load,
    order_call,
    patient_view,
    valid_response,
)


def cards_of(answer: Any) -> list[dict[str, Any]]:
    assert answer.status_code == 200, answer.text
    return list(valid_response(answer.json())["cards"])


def topics(cards: list[dict[str, Any]]) -> list[str]:
    return [c["source"]["topic"]["code"] for c in cards]


def test_unknown_gender_gives_a_card_saying_why(client: TestClient) -> None:  # noqa: F811
    prefetch = load("prefetch-72.json")
    prefetch["patient"]["gender"] = "unknown"
    cards = cards_of(call(client, "mg-depletion", patient_view(prefetch)))
    assert topics(cards) == ["cds.not_assessed"]
    assert cards[0]["indicator"] == "info"
    assert cards[0]["summary"] == (
        "mgadvisor could not assess this patient: sex not recorded as female or male"
    )
    dutch = cards_of(call(client, "mg-depletion", patient_view(prefetch), lang="nl"))
    assert dutch[0]["summary"].startswith("mgadvisor kon deze patiënt niet beoordelen")


def test_a_deceased_patient_gets_only_the_card_saying_why(client: TestClient) -> None:  # noqa: F811
    prefetch = load("prefetch-72.json")
    prefetch["patient"]["deceasedBoolean"] = True
    cards = cards_of(call(client, "mg-depletion", patient_view(prefetch)))
    assert topics(cards) == ["cds.not_assessed"]
    assert "deceased" in cards[0]["summary"]


def test_interactions_still_shown_without_a_usable_sex(client: TestClient) -> None:  # noqa: F811
    body = order_call("order-sign", [_order("doxy-1", "J01AA02", "doxycycline")], [MAGNESIUM])
    body["prefetch"]["patient"]["gender"] = "unknown"
    cards = cards_of(call(client, "mg-interactions", body))
    assert topics(cards) == ["interaction.tetracyclines", "cds.not_assessed"]
    assert all(link["label"] != "Open the advice in mgadvisor" for link in cards[0]["links"])


def test_more_than_fifty_medicines_keeps_the_interaction(client: TestClient) -> None:  # noqa: F811
    many = [_statement(f"C09AA{i:02d}", f"filler {i}") for i in range(1, 11)]
    for i in range(45):
        extra = _statement("C09AA01", f"other {i}")
        extra["id"] = f"other-{i}"
        extra["medicationCodeableConcept"] = {"text": f"other medicine {i}"}
        many.append(extra)
    body = order_call(
        "order-sign", [_order("doxy-1", "J01AA02", "doxycycline")], [*many, MAGNESIUM]
    )
    cards = cards_of(call(client, "mg-interactions", body))
    assert "interaction.tetracyclines" in topics(cards)
    assert "more than 50 medicines" in cards[0]["detail"]


def test_a_bundle_entry_without_resource_is_skipped(client: TestClient) -> None:  # noqa: F811
    body = order_call("order-sign", [_order("doxy-1", "J01AA02", "doxycycline")], [MAGNESIUM])
    body["prefetch"]["statements"]["entry"].append({"fullUrl": "urn:uuid:x"})
    cards = cards_of(call(client, "mg-interactions", body))
    assert "interaction.tetracyclines" in topics(cards)
    assert "without a resource" in cards[0]["detail"]


def test_a_bound_reaches_the_card(client: TestClient) -> None:  # noqa: F811
    prefetch = load("prefetch-72.json")
    lab = prefetch["labs"]["entry"][0]["resource"]
    lab["valueQuantity"] = {
        "value": 0.3,
        "comparator": "<",
        "unit": "mmol/L",
        "system": "http://unitsofmeasure.org",
        "code": "mmol/L",
    }
    cards = cards_of(call(client, "mg-depletion", patient_view(prefetch)))
    assert cards[0]["indicator"] == "critical"  # as at 0.3 itself: the urgent referral
    assert "\\<0.3 mmol/L" in cards[0]["detail"]


def test_an_old_result_is_dated_on_the_card(client: TestClient) -> None:  # noqa: F811
    prefetch = load("prefetch-72.json")
    lab = prefetch["labs"]["entry"][0]["resource"]
    lab["effectiveDateTime"] = "2020-06-01"
    lab.pop("issued", None)
    answer = client.post(
        "/cds-services/mg-depletion?lang=en",
        json=patient_view(prefetch),
        headers=_token("mg-depletion"),
    )
    cards = cards_of(answer)
    assert "it dates from 2020-06-01" in cards[0]["detail"]


def _token(service: str) -> dict[str, str]:
    from test_cds_hooks import BASE, token

    return token(f"{BASE}/{service}")


def test_unmapped_data_without_other_cards_get_one_info_card(client: TestClient) -> None:  # noqa: F811
    prefetch = load("prefetch-72.json")
    prefetch["labs"] = None
    prefetch["medications"]["entry"] = []
    prefetch["statements"]["entry"] = []
    prefetch["conditions"] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [
            {
                "resource": {
                    "resourceType": "Condition",
                    "id": "ckd",
                    "subject": {"reference": "Patient/mg72"},
                    "code": {
                        "coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "N18.4"}]
                    },
                }
            }
        ],
    }
    cards = cards_of(call(client, "mg-depletion", patient_view(prefetch)))
    assert topics(cards) == ["cds.data_not_used"]
    assert "N18.4" in cards[0]["detail"]


def test_no_card_asks_to_fill_in_the_intake_form(client: TestClient) -> None:  # noqa: F811
    magnesium = _order("mg-1", "A12CC04", "magnesium citrate")
    body = order_call("order-sign", [magnesium], [_statement("H03AA01", "levothyroxine")])
    for lang in ("en", "nl"):
        cards = cards_of(call(client, "mg-interactions", copy.deepcopy(body), lang=lang))
        assert not any(t.startswith("warning.magnesium_medicine") for t in topics(cards))
        assert "interaction.levothyroxine" in topics(cards)


def test_a_long_summary_keeps_whole_sentences() -> None:
    text = (
        "Magnesiumcitraat bevat zelf magnesium. Vul het in bij de producten, met de "
        "hoeveelheid per tablet en per dag, zodat het meetelt voor de bovengrens."
    )
    assert short(text) == "Magnesiumcitraat bevat zelf magnesium."


def test_order_select_speaks_only_of_the_selected_drafts(client: TestClient) -> None:  # noqa: F811
    doxy = _order("doxy-1", "J01AA02", "doxycycline")
    cipro = _order("cipro-1", "J01MA02", "ciprofloxacin")
    body = order_call("order-select", [doxy, cipro], [MAGNESIUM])
    body["context"]["selections"] = ["MedicationRequest/doxy-1"]
    cards = cards_of(call(client, "mg-interactions", body))
    assert topics(cards) == ["interaction.tetracyclines"]
    # order-sign signs every draft: both are spoken of
    signed = cards_of(
        call(client, "mg-interactions", order_call("order-sign", [doxy, cipro], [MAGNESIUM]))
    )
    assert len(signed) == 2


def test_the_spacing_is_a_sentence_of_its_own_after_the_prescribers_words(
    client: TestClient,  # noqa: F811
) -> None:
    doxy = _order("doxy-1", "J01AA02", "doxycycline")
    doxy["dosageInstruction"] = [{"text": "100 mg", "patientInstruction": "With water, upright"}]
    cards = cards_of(call(client, "mg-interactions", order_call("order-sign", [doxy], [MAGNESIUM])))
    resource = cards[0]["suggestions"][0]["actions"][0]["resource"]
    said = resource["dosageInstruction"][0]["patientInstruction"]
    assert said.startswith("With water, upright. Take doxycycline at least 4 h before")
