"""The client handout says the same as the advice when the plan waits or a product gives way
(red team, round 2): a product whose tablets do not make the dose is stopped in words, a plan on
hold says why and gives no dose, an urgent advice stops the client's own product."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from mgadvisor.i18n import Translator
from mgadvisor.intake import parse_intake
from mgadvisor.kb import load_knowledge
from mgadvisor.pipeline import advice_document
from mgadvisor.render.handout import Extras, Handout, handout

CASES = Path(__file__).parent / "cases" / "redteam"


def _handout(intake: dict[str, Any], lang: str = "en") -> tuple[dict[str, Any], Handout]:
    kb = load_knowledge()
    document = advice_document(parse_intake(intake, kb), kb, as_of=date(2026, 11, 22), lang=lang)
    return document, handout(document, Extras(), Translator(lang), intake.get("person"))


def _case(name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((CASES / name).read_text(encoding="utf-8"))["intake"]
    return data


def _text(out: Handout) -> str:
    return " ".join([*out.first, *out.take, *out.when, *out.good_to_know])


def test_a_product_whose_tablets_do_not_make_the_dose_is_stopped_in_words() -> None:
    # 400 mg a tablet, one a day, above the upper level of 250: the dose comes in another
    # compound, so the handout must say to stop the product, and not ask "besides it".
    intake = {
        "person": {"age": 40, "sex": "female"},
        "goals": ["sleep"],
        "products": [
            {
                "name": "Mg Citraat 400",
                "compound": "magnesium citrate",
                "amount_mg": 400,
                "basis": "elemental",
                "units_per_day": 1,
            }
        ],
    }
    document, out = _handout(intake)
    assert document["dose"]["product"]["advised_units_per_day"] == 0
    assert "Stop taking Mg Citraat 400. Take the magnesium below instead." in out.take
    text = _text(out)
    assert "besides Mg Citraat 400" not in text
    # the plan keeps to the upper level: no "more than is safe" line about it
    assert document["dose"]["exceeds_upper_level"] is False
    assert "more than is safe" not in text


def test_a_magnesium_medicine_taken_every_day_puts_the_plan_on_hold() -> None:
    document, out = _handout(_case("r103_magnesium_laxative_daily_on_hold.yaml"))
    assert document["dose"]["status"] == "on_hold"
    assert out.plan is None and not out.when
    text = _text(out)
    assert out.take[0].startswith("There is magnesium in Magnesiumoxide 500 mg too.")
    assert "Do not change how you take it on your own." in out.take[0]
    assert "Stop taking Magnesium bisglycinaat for now." in text
    assert out.take[-1] == "Take no other magnesium for now."
    assert "Do not take any magnesium for now." not in text  # it would read as "stop the laxative"
    assert " mg of magnesium every day" not in text


def test_no_time_keeping_every_gap_says_why_there_is_no_magnesium() -> None:
    document, out = _handout(_case("r105_no_time_keeps_every_gap.yaml"))
    assert document["dose"]["status"] == "on_hold"
    assert out.take[0].startswith("Your medicines leave no good time of day for magnesium")
    assert "Do not take any magnesium for now." in out.take


def test_urgent_advice_keeps_the_clients_own_product_and_adds_nothing() -> None:
    document, out = _handout(_case("r106_severe_low_mg_own_product_no_new_plan.yaml"))
    assert document["dose"]["current_products_action"] == "continue"
    first = " ".join(a["text"] for a in document["actions"])
    assert "No new magnesium supplement until the doctor has assessed you." in first
    assert any(
        line.startswith("Keep taking 2 tablets of Magnesium Forte a day") for line in out.take
    )
    assert out.take[-1] == "Take no extra magnesium on top of this."
    assert "Do not take any magnesium for now." not in out.take


@pytest.mark.parametrize(
    ("name", "why"),
    [
        (
            "r103_magnesium_laxative_daily_on_hold.yaml",
            "Ook in Magnesiumoxide 500 mg zit magnesium.",
        ),
        (
            "r105_no_time_keeps_every_gap.yaml",
            "Door uw medicijnen is er geen goed moment op de dag",
        ),
    ],
)
def test_the_waiting_plan_is_explained_in_dutch_too(name: str, why: str) -> None:
    document, out = _handout(_case(name), lang="nl")
    assert document["dose"]["status"] == "on_hold"
    assert out.take[0].startswith(why)


def test_products_far_above_the_upper_level_are_all_cut_back_in_words() -> None:
    document, out = _handout(_case("r109_three_products_far_above_upper_level.yaml"))
    assert document["follow_up_weeks"]
    first = out.take[0]
    assert first.startswith("Take less of Magnesium bisglycinaat, Multivitamine 50+ and")
    assert "no more than 250 mg" in first


def test_loose_stools_speak_of_tablets_only_when_the_plan_counts_tablets() -> None:
    _, in_mg = _handout({"person": {"age": 40, "sex": "female"}, "goals": ["sleep"]})
    assert in_mg.plan is not None and not in_mg.plan.units_per_day
    assert any("take less magnesium" in line for line in in_mg.good_to_know)
    assert not any("tablet less" in line for line in in_mg.good_to_know)
    own = {
        "person": {"age": 40, "sex": "female"},
        "goals": ["sleep"],
        "products": [
            {
                "name": "Mg 75",
                "compound": "magnesium citrate",
                "amount_mg": 75,
                "basis": "elemental",
            }
        ],
    }
    _, tablets = _handout(own)
    assert tablets.plan is not None and (tablets.plan.units_per_day or 0) > 1
    assert any("1 tablet less a day" in line for line in tablets.good_to_know)


def test_a_plan_on_hold_says_why_where_the_dose_would_be() -> None:
    from mgadvisor.render.labels import hold_reason
    from mgadvisor.render.letter import report
    from mgadvisor.render.report import sections

    for name, why in (
        ("r105_no_time_keeps_every_gap.yaml", "No time of day keeps every gap"),
        ("r103_magnesium_laxative_daily_on_hold.yaml", "No extra magnesium as long as"),
    ):
        document, _ = _handout(_case(name))
        assert document["compounds"] == []  # no compound is proposed for a plan that waits
        reason = hold_reason(document)
        assert reason is not None and reason.startswith(why)
        dose = next(s for s in sections(document, Translator("en")) if s.title == "Dose")
        assert dose.lines[0].startswith("No magnesium supplement for now — on hold")
        assert reason in dose.lines[0] and " mg elemental magnesium a day" not in dose.lines[0]
        assert report(document, Extras(), Translator("en"))


@pytest.mark.parametrize("lang", ["en", "nl"])
def test_a_medicine_of_a_specialist_team_sends_the_client_to_that_team(lang: str) -> None:
    # Cisplatin is given and followed by the oncology team; its label leaves the magnesium
    # dose to the prescriber. The handout sends the client to that team, not to the GP, and
    # never tells the client not to "stop" an infusion on their own (clinical review).
    from mgadvisor.web.documents import _client_texts, _message_urgency

    kb = load_knowledge()
    t = Translator(lang)
    intake = {
        "person": {"age": 60, "sex": "female"},
        "complaints": ["fatigue"],
        "medications": [{"name": "cisplatine"}, {"name": "furosemide"}],
    }
    document = advice_document(parse_intake(intake, kb), kb, as_of=date(2026, 11, 22), lang=lang)
    assert document["dose"]["status"] == "medical_supervision"
    out = handout(document, Extras(), t, intake["person"], _message_urgency, _client_texts(t))
    text = _text(out)
    team = {"en": "Ask the team that gives you cisplatine", "nl": "Vraag het team dat u cisplatine"}
    gp = {"en": "GP", "nl": "huisarts"}
    assert team[lang] in text
    assert gp[lang] not in " ".join([*out.first, *out.take, *out.when]), text
    assert "cisplatine" not in " ".join(line for line in out.first if "stop" in line.lower())
    # a GP reason beside it keeps the GP lines and adds the team's
    intake["labs"] = [{"analyte": "egfr", "value": 45, "unit": "mL/min/1.73m2"}]
    document = advice_document(parse_intake(intake, kb), kb, as_of=date(2026, 11, 22), lang=lang)
    out = handout(document, Extras(), t, intake["person"], _message_urgency, _client_texts(t))
    first = " ".join(out.first)
    assert gp[lang] in first and team[lang] in first
