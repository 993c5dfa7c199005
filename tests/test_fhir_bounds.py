"""A lab value given as a bound ("<0.5 mmol/L", FHIR valueQuantity.comparator) keeps its
comparator in the intake: the rules read it just beyond the bound (as before), and every
output - the JSON document, the page, the report, the letter, the handout and the advice page
a CDS card links to - shows "<0.5", never the number read (0.499)."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient

from mgadvisor.errors import IntakeError
from mgadvisor.i18n import Translator
from mgadvisor.intake import parse_intake
from mgadvisor.interop.fhir_in import intake_from_fhir
from mgadvisor.kb import KnowledgeBase
from mgadvisor.pipeline import advise_and_render
from mgadvisor.render.handout import Extras
from mgadvisor.render.letter import letter
from mgadvisor.render.report import sections, to_markdown
from mgadvisor.web.app import create_app
from mgadvisor.web.forms import state_from_intake, to_intake
from test_fhir_in import bundle, observation, patient

AS_OF = date(2026, 12, 1)
PERSON = {"age": 60, "sex": "female"}
BOUND = {"analyte": "serum_magnesium", "value": 0.5, "unit": "mmol/L", "comparator": "<"}
READ = {"analyte": "serum_magnesium", "value": 0.499, "unit": "mmol/L"}


def document(kb: KnowledgeBase, lab: dict[str, Any], lang: str = "en") -> dict[str, Any]:
    intake = parse_intake({"person": PERSON, "labs": [lab]}, kb)
    return advise_and_render(intake, kb, as_of=AS_OF, lang=lang).document


def texts(doc: dict[str, Any]) -> str:
    return " ".join(r["text"] for r in doc["referral"]["reasons"])


# -- the intake ------------------------------------------------------------------------------


def test_an_intake_without_a_comparator_means_what_it_did(kb: KnowledgeBase) -> None:
    lab = parse_intake({"person": PERSON, "labs": [READ]}, kb).labs[0]
    assert (lab.comparator, lab.value, lab.read_value) == (None, 0.499, 0.499)
    assert "comparator" not in json.loads(parse_intake({"person": PERSON}, kb).model_dump_json())


@pytest.mark.parametrize(
    ("comparator", "read_as"), [("<", 0.499), (">", 0.501), ("<=", 0.499), (">=", 0.501)]
)
def test_a_bound_is_read_just_beyond_it(  # "<=" as "<", ">=" as ">" (clinical review H2)
    kb: KnowledgeBase, comparator: str, read_as: float
) -> None:
    lab = parse_intake({"person": PERSON, "labs": [{**BOUND, "comparator": comparator}]}, kb)
    assert lab.labs[0].read_value == read_as


def test_a_comparator_the_intake_does_not_know_names_the_field(kb: KnowledgeBase) -> None:
    with pytest.raises(IntakeError) as caught:
        parse_intake({"person": PERSON, "labs": [{**BOUND, "comparator": "ad"}]}, kb)
    assert caught.value.path == "labs[0].comparator"
    assert "'ad'" in str(caught.value) and "'<='" in str(caught.value)


def test_the_schema_offers_the_comparator() -> None:
    from pathlib import Path

    schema = json.loads(Path("docs/schema/intake.schema.json").read_text())
    lab = schema["$defs"]["Lab"]
    assert "comparator" in lab["properties"] and "comparator" not in lab.get("required", [])


# -- the engine and the document -------------------------------------------------------------


def test_the_rules_read_the_bound_as_just_beyond_it(kb: KnowledgeBase) -> None:
    bound, read = document(kb, BOUND), document(kb, READ)
    assert bound["referral"]["urgency"] == read["referral"]["urgency"] == "same_day"
    codes = [r["code"] for r in bound["referral"]["reasons"]]
    assert codes == [r["code"] for r in read["referral"]["reasons"]]
    row = bound["lab_results"][0]
    assert (row["comparator"], row["value"], row["flag"]) == ("<", 0.5, "low")
    assert read["lab_results"][0]["comparator"] is None


@pytest.mark.parametrize(("lang", "shown"), [("en", "<0.5 mmol/L"), ("nl", "<0,5 mmol/L")])
def test_every_renderer_shows_the_bound(kb: KnowledgeBase, lang: str, shown: str) -> None:
    doc = document(kb, BOUND, lang)
    t = Translator(lang)
    assert texts(doc).count(shown) == len(doc["referral"]["reasons"]) == 2
    report = to_markdown(sections(doc, t))
    assert report.count(shown) >= 3  # the lab table and both reasons
    letter_text = to_markdown(letter(doc, {"age": 60, "sex": "female"}, Extras(), t))
    assert shown in letter_text
    for text in (texts(doc), report, letter_text):
        assert "0.499" not in text and "0,499" not in text
    plain = document(kb, READ, lang)  # no bound: no sign
    assert "<" not in texts(plain) and "<" not in to_markdown(sections(plain, t))


def test_an_egfr_bound_reads_as_given(kb: KnowledgeBase) -> None:
    egfr = {"analyte": "egfr", "value": 30, "unit": "mL/min/1.73m2", "comparator": "<"}
    doc = document(kb, egfr)
    assert "eGFR <30 is below 30" in texts(doc)
    assert doc["referral"]["reasons"][0]["code"] == "referral.kidney_contraindicated"


# -- the web: the page, the form, the documents, the CDS advice link ---------------------------


@pytest.fixture
def client() -> TestClient:
    return TestClient(create_app())


def form(client: TestClient, **fields: Any) -> dict[str, Any]:
    client.get("/")
    return {"csrf_token": client.cookies.get("mg_csrf"), **fields}


def test_the_form_keeps_the_comparator_both_ways() -> None:
    intake = {"person": PERSON, "labs": [{**BOUND, "comparator": "<="}]}
    state, left_out = state_from_intake(intake)
    assert state.values["lab.serum_magnesium.value"] == "≤0.5" and left_out == []
    state.values["lab.serum_magnesium.value"] = "< 0,5"
    lab = to_intake(state).data["labs"][0]
    assert (lab["comparator"], lab["value"]) == ("<", 0.5)


def test_the_page_from_an_intake_shows_the_bound(client: TestClient) -> None:
    """What the CDS card's advice link shows: the intake page made from the mapped intake."""
    obs = observation("2601-3", 0.3, "mmol/L")
    obs["valueQuantity"]["comparator"] = "<"
    mapped = intake_from_fhir(bundle(patient(), obs), as_of=AS_OF)
    assert mapped.intake["labs"][0]["comparator"] == "<"
    intake = json.dumps(mapped.intake)
    page = client.post("/?lang=en", data=form(client, intake_json=intake, as_of="2026-12-01"))
    assert page.status_code == 200
    assert 'value="&lt;0.3"' in page.text  # the form field
    assert "&lt;0.3 mmol/L" in page.text  # the lab table and the referral
    assert "0.299" not in page.text


@pytest.mark.parametrize("path", ["/report.txt", "/letter.txt"])
def test_report_and_letter_show_the_bound(client: TestClient, path: str) -> None:
    intake = json.dumps({"person": PERSON, "labs": [BOUND]})
    answer = client.post(f"{path}?lang=en", data=form(client, intake_json=intake))
    assert answer.status_code == 200
    assert "<0.5 mmol/L" in answer.text and "0.499" not in answer.text


def test_the_handout_says_the_bound(client: TestClient) -> None:
    intake = json.dumps({"person": PERSON, "labs": [BOUND]})
    page = client.post("/handout?lang=nl", data=form(client, intake_json=intake))
    assert page.status_code == 200
    assert "&lt;0,5 mmol/L" in page.text and "0,499" not in page.text


def test_the_form_posts_a_bound(client: TestClient) -> None:
    data = {"person.age": "60", "person.sex": "female", "lab.serum_magnesium.value": "<0,5"}
    data["lab.serum_magnesium.unit"] = "mmol/L"
    page = client.post("/advice?lang=en", data=form(client, **data))
    assert page.status_code == 200 and "&lt;0.5 mmol/L" in page.text
