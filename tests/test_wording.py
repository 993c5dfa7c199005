"""Wording of the advice (issue 15): each sentence as a practitioner would write it."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from mgadvisor import advice_document, load_knowledge, parse_intake
from mgadvisor.i18n import Translator
from mgadvisor.render.report import sections, to_markdown

KB = load_knowledge()
AS_OF = date(2026, 12, 1)


def document(intake: dict[str, Any], lang: str) -> dict[str, Any]:
    return advice_document(parse_intake(intake, KB), KB, as_of=AS_OF, lang=lang)


def report(intake: dict[str, Any], lang: str) -> str:
    return to_markdown(sections(document(intake, lang), Translator(lang)))


def texts(doc: dict[str, Any], part: str) -> list[str]:
    return [f["text"] for f in doc["dose"][part]] if part in doc["dose"] else []


ADULT = {"person": {"age": 40, "sex": "female"}}


@pytest.mark.parametrize(
    ("lang", "sentence"),
    [("nl", "dus vult het supplement 150 mg aan."), ("en", "so the supplement adds 150 mg.")],
)
def test_the_dose_from_the_reference_intake_has_a_verb(lang: str, sentence: str) -> None:
    doc = document(ADULT, lang)
    basis = [f["text"] for f in doc["dose"]["basis"] if f["code"] == "dose.from_reference_intake"]
    assert basis and basis[0].endswith(sentence), basis


@pytest.mark.parametrize(("lang", "name"), [("nl", "Gezondheidsraad (Nederland)")])
def test_the_header_names_the_authority_not_its_code(lang: str, name: str) -> None:
    intake = {**ADULT, "preferences": {"authority": "gezondheidsraad"}}
    header = report(intake, lang).split("\n\n")[:3]
    text = " ".join(header)
    assert f"reference values: {name}" in text or f"referentiewaarden: {name}" in text, text


def _compound_reasons(intake: dict[str, Any], lang: str) -> list[str]:
    doc = document(intake, lang)
    return [r["text"] for c in doc["compounds"] for r in c["reasons"]]


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_a_complaint_is_not_given_as_the_reason_for_itself(lang: str) -> None:
    intake = {**ADULT, "complaints": ["low_mood", "muscle_cramps"]}
    reasons = _compound_reasons(intake, lang)
    mood = KB.applications["depression"].name.get(lang).casefold()
    about_mood = [r for r in reasons if mood in r.casefold()]
    assert about_mood
    assert not [r for r in about_mood if r.casefold().count(mood) > 1], about_mood
    # Another complaint that leads to an application is still named as the reason.
    cramps = KB.symptoms["muscle_cramps"].name.get(lang).casefold()
    assert any(
        f"({word} {cramps}" in r.casefold() for r in reasons for word in ("vanwege", "because of")
    )


def test_application_names_inside_a_sentence_start_small() -> None:
    reasons = _compound_reasons({**ADULT, "complaints": ["low_mood"]}, "nl")
    assert any("Past bij sombere stemming" in r for r in reasons), reasons


def test_brand_names_inside_a_sentence_keep_their_capitals() -> None:
    from mgadvisor.advice import Finding
    from mgadvisor.render.findings import finding_text

    finding = Finding(
        "schedule.no_valid_time",
        "critical",
        {"moment": "evening", "medications": ["Triumeq", "Dovato", "Furosemide", "dolutegravir"]},
        ["smpc_neomag"],
    )
    text = finding_text(KB, finding, Translator("nl"))
    assert "Triumeq, Dovato, furosemide, dolutegravir (ook in Triumeq en Dovato)" in text, text


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_an_advice_above_the_upper_level_does_not_say_it_keeps_to_it(lang: str) -> None:
    goals = {**ADULT, "complaints": ["migraine"], "goals": ["migraine_prevention"]}
    above = document({**goals, "preferences": {"follow_study_dose": True}}, lang)
    within = document(goals, lang)
    codes_above = [w["code"] for w in above["warnings"]]
    assert "warning.exceeds_upper_level" in codes_above
    assert "warning.seed_versus_upper_level" not in codes_above
    assert "warning.seed_versus_upper_level" in [w["code"] for w in within["warnings"]]
