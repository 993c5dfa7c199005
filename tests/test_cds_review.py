"""CDS Hooks, the security review's findings: drafts of any intent, bounds at strict
thresholds, Markdown from the EHR, many draft orders, order-select's selections."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from test_cds_hooks import (
    MAGNESIUM,
    _order,
    _statement,
    call,
    client,  # noqa: F401  (the fixture)
    load,
    order_call,
    patient_view,
)
from test_cds_redteam import cards_of, topics


def test_a_draft_of_any_intent_is_read_as_being_ordered(client: TestClient) -> None:  # noqa: F811
    for intent in ("proposal", "plan", "order"):
        doxy = _order("doxy-1", "J01AA02", "doxycycline")
        doxy["intent"] = intent
        body = order_call("order-sign", [doxy], [MAGNESIUM])
        assert topics(cards_of(call(client, "mg-interactions", body))) == [
            "interaction.tetracyclines"
        ], intent
    # mgadvisor's own proposal (intent proposal) signed next to active doxycycline
    magnesium = _order("mg-1", "A12CC04", "magnesium citrate")
    magnesium["intent"] = "proposal"
    body = order_call("order-sign", [magnesium], [_statement("J01AA02", "doxycycline")])
    assert "interaction.tetracyclines" in topics(cards_of(call(client, "mg-interactions", body)))


EVIL = "Renal\n\nURGENT: stop all orders, call https://evil.example/x\n===\n\n---\u202e"


def _inert(markdown: str) -> None:
    """Nothing from the EHR became Markdown structure: no heading, setext line, list item, link
    or autolink; a URL only inside a code span; no control or bidi character."""
    assert not any(ch in markdown for ch in "\r\u202e\u2066\x00")
    for line in markdown.splitlines():
        if re.match(r"\d+\. ", line):
            continue  # a reference of mgadvisor's own, with its link
        outside = re.sub(r"(`+) .*? \1", "", line)  # the code spans
        assert "://" not in outside and "](" not in outside.replace("\\](", ""), line
        assert not re.match(r"\s*(#|=+\s*$|-{3,}\s*$)", line), line
        assert not re.match(r"- (\d+[.)]|[-+>*#])", line), line


def test_ehr_text_cannot_make_markdown_on_a_card(client: TestClient) -> None:  # noqa: F811
    prefetch = load("prefetch-72.json")
    prefetch["labs"] = None
    prefetch["medications"]["entry"] = []
    prefetch["statements"]["entry"] = []
    condition = {
        "resourceType": "Condition",
        "id": "c1",
        "subject": {"reference": "Patient/mg72"},
        "code": {
            "coding": [
                {"system": "http://hl7.org/fhir/sid/icd-10", "code": "N18.4", "display": EVIL}
            ]
        },
    }
    prefetch["conditions"] = {"resourceType": "Bundle", "entry": [{"resource": condition}]}
    cards = cards_of(call(client, "mg-depletion", patient_view(prefetch)))
    assert topics(cards) == ["cds.data_not_used"]
    detail = cards[0]["detail"]
    _inert(detail)
    assert "` https://evil.example/x `" in detail  # shown, as text
    assert detail.count("\n") == 2  # the heading, a blank line, one item


def test_a_medicine_name_from_the_ehr_is_text_in_the_findings(
    client: TestClient,  # noqa: F811
) -> None:
    prefetch = load("prefetch-72.json")
    for rid, name in (
        ("m-x", "omeprazol [SEE NOTE](https://evil.example/x) **stop**"),
        ("m-y", "furosemide\n\n# URGENT call www.evil.example\u202e"),
    ):
        statement = {
            "resourceType": "MedicationStatement",
            "id": rid,
            "status": "active",
            "subject": {"reference": "Patient/mg72"},
            "medicationCodeableConcept": {"text": name},
        }
        prefetch["statements"]["entry"].append({"resource": statement})
    cards = cards_of(call(client, "mg-depletion", patient_view(prefetch)))
    said = [c for c in cards if "evil" in c.get("detail", "")]
    assert said
    for one in cards:
        _inert(one.get("detail", ""))
        assert "\n" not in one["summary"] and "\u202e" not in one["summary"]
    # mgadvisor's own references keep their links
    assert any("https://doi.org/" in c.get("detail", "") for c in cards)


def test_the_spacing_after_a_question_or_exclamation_mark_needs_no_full_stop() -> None:
    from mgadvisor.interop.cds_cards import with_timing

    for said in ("Take it with water!", "Any questions?", "With food."):
        order = {"dosageInstruction": [{"patientInstruction": said}]}
        updated = with_timing(order, "Take it 4 h apart.")
        assert updated["dosageInstruction"][0]["patientInstruction"] == f"{said} Take it 4 h apart."


def test_order_select_selections_are_checked_and_never_match_a_missing_id(
    client: TestClient,  # noqa: F811
) -> None:
    doxy = _order("doxy-1", "J01AA02", "doxycycline")
    no_id = {k: v for k, v in doxy.items() if k != "id"}

    def select(orders: list[dict[str, Any]], selections: Any) -> Any:
        body = order_call("order-select", [doxy], [MAGNESIUM])
        body["context"]["draftOrders"]["entry"] = [{"resource": o} for o in orders]
        body["context"]["selections"] = selections
        return call(client, "mg-interactions", body)

    for wrong, field in (("MedicationRequest/doxy-1", "selections"), ([1], "selections[0]")):
        answer = select([doxy], wrong)
        assert answer.status_code == 400, wrong
        problem = answer.json()["errors"][0]
        assert problem["loc"][-2:] == ["context", field] or problem["loc"][-1] == field
        assert "expected" in problem["msg"]
    assert topics(cards_of(select([doxy], ["MedicationRequest/doxy-1 "]))) == [
        "interaction.tetracyclines"
    ]
    assert cards_of(select([no_id], ["MedicationRequest/None"])) == []
    assert cards_of(select([no_id], ["MedicationRequest/"])) == []


def test_order_select_brings_contraindications_only_for_a_selected_magnesium_order(
    client: TestClient,  # noqa: F811
) -> None:
    magnesium = _order("mg-1", "A12CC04", "magnesium citrate")
    paracetamol = _order("para-1", "N02BE01", "paracetamol")
    body = order_call("order-select", [magnesium, paracetamol], [])
    egfr = {
        "resourceType": "Observation",
        "id": "egfr",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "62238-1"}]},
        "subject": {"reference": "Patient/mg72"},
        "effectiveDateTime": "2026-11-20",
        "valueQuantity": {
            "value": 20,
            "unit": "mL/min/1.73m2",
            "system": "http://unitsofmeasure.org",
            "code": "mL/min/{1.73_m2}",
        },
    }
    body["prefetch"]["labs"] = {"resourceType": "Bundle", "entry": [{"resource": egfr}]}
    body["context"]["selections"] = ["MedicationRequest/para-1"]
    assert "referral.kidney_contraindicated" not in topics(
        cards_of(call(client, "mg-interactions", body))
    )
    body["context"]["selections"] = ["MedicationRequest/mg-1"]
    assert "referral.kidney_contraindicated" in topics(
        cards_of(call(client, "mg-interactions", body))
    )


def test_many_draft_orders_keep_the_interaction_and_report_what_was_left_out(
    client: TestClient,  # noqa: F811
) -> None:
    for n in (50, 60):
        orders = [_order(f"o{i}", "J01AA02", "doxycycline") for i in range(n)]
        body = order_call("order-sign", orders, [MAGNESIUM])
        assert "interaction.tetracyclines" in topics(
            cards_of(call(client, "mg-interactions", body))
        )
    # 40 drafts and 15 active medicines: the active magnesium is kept, the left out reported
    orders = [_order("o0", "J01AA02", "doxycycline")]
    orders += [_order(f"p{i}", "N02BE01", "paracetamol") for i in range(39)]
    active = [MAGNESIUM, *(_statement(f"C09AA{i:02d}", f"ace {i}") for i in range(1, 15))]
    cards = cards_of(call(client, "mg-interactions", order_call("order-sign", orders, active)))
    assert topics(cards)[0] == "interaction.tetracyclines"
    assert "more than 50 medicines" in cards[0]["detail"]
    assert "and 0 more" not in cards[0]["detail"]


def _with_lab(code: str, quantity: dict[str, Any], unit: str, ucum: str) -> dict[str, Any]:
    prefetch = load("prefetch-72.json")
    lab = {
        "resourceType": "Observation",
        "id": "bound",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
        "subject": {"reference": "Patient/mg72"},
        "effectiveDateTime": "2026-11-20",
        "valueQuantity": {
            **quantity,
            "unit": unit,
            "system": "http://unitsofmeasure.org",
            "code": ucum,
        },
    }
    if code == "2601-3":
        prefetch["labs"]["entry"][0]["resource"] = lab
    else:
        prefetch["labs"]["entry"].append({"resource": lab})
    return patient_view(prefetch)


def test_a_bound_below_a_strict_limit_fires_it_and_shows_the_bound(
    client: TestClient,  # noqa: F811
) -> None:
    below = {"value": 0.5, "comparator": "<"}
    cards = cards_of(call(client, "mg-depletion", _with_lab("2601-3", below, "mmol/L", "mmol/L")))
    assert topics(cards)[0] == "referral.serum_very_low"  # as at 0.49
    assert "Serum magnesium <0.5 mmol/L is severely low" in cards[0]["summary"]
    assert "Serum magnesium \\<0.5 mmol/L is severely low" in cards[0]["detail"]
    assert not any("0.499" in c["summary"] + c.get("detail", "") for c in cards)
    dutch = cards_of(
        call(client, "mg-depletion", _with_lab("2601-3", below, "mmol/L", "mmol/L"), lang="nl")
    )
    assert "<0,5 mmol/L" in dutch[0]["summary"]
    # "<=" may be below the bound just as "<" (the lab could not say more): read the same way,
    # and shown as given
    at = {"value": 0.5, "comparator": "<="}
    cards = cards_of(call(client, "mg-depletion", _with_lab("2601-3", at, "mmol/L", "mmol/L")))
    assert topics(cards)[0] == "referral.serum_very_low"
    assert "≤0.5 mmol/L" in cards[0]["summary"]


def test_an_egfr_below_30_as_a_bound_is_contraindicated_and_shown_as_given(
    client: TestClient,  # noqa: F811
) -> None:
    body = _with_lab(
        "62238-1", {"value": 30, "comparator": "<"}, "mL/min/1.73m2", "mL/min/{1.73_m2}"
    )
    cards = cards_of(call(client, "mg-depletion", body))
    text = " ".join(c["summary"] + c.get("detail", "") for c in cards)
    assert "eGFR \\<30 is below 30: magnesium supplements are contraindicated" in text
    assert "29.999" not in text and "eGFR 30" not in text
    assert not any(c.get("suggestions") for c in cards)  # no supplement proposed
    assert "read as just beyond it" in text
    dutch = cards_of(call(client, "mg-depletion", body, lang="nl"))
    text = " ".join(c["summary"] + c.get("detail", "") for c in dutch)
    assert "eGFR \\<30 ligt onder 30" in text and "net voorbij die grens" in text
