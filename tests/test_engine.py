"""Rules of the engine, one at a time, on small intakes built in the test."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from mgadvisor.advice import Advice
from mgadvisor.advise import advise_intake
from mgadvisor.advise.dose import band_for
from mgadvisor.advise.schedule import Constraint
from mgadvisor.errors import IntakeError
from mgadvisor.intake import parse_intake
from mgadvisor.kb import KnowledgeBase

AS_OF = date(2026, 11, 22)


def advise(kb: KnowledgeBase, **intake: Any) -> Advice:
    intake.setdefault("person", {"age": 40, "sex": "female"})
    return advise_intake(parse_intake(intake, kb), kb, AS_OF)


def codes(findings: list[Any]) -> set[str]:
    return {f.code for f in findings}


def test_same_input_same_advice(kb: KnowledgeBase) -> None:
    first = advise(kb, goals=["sleep"], medications=[{"name": "Ciproxin"}])
    second = advise(kb, goals=["sleep"], medications=[{"name": "Ciproxin"}])
    assert first == second


def test_the_date_is_passed_in_not_read(kb: KnowledgeBase) -> None:
    advice = advise_intake(
        parse_intake({"person": {"age": 30, "sex": "male"}}, kb), kb, date(2001, 2, 3)
    )
    assert advice.as_of == "2001-02-03"


def test_healthy_adult_gets_a_dose_within_the_upper_level(kb: KnowledgeBase) -> None:
    advice = advise(kb, person={"age": 35, "sex": "male"})
    assert advice.dose.status == "advised" and not advice.referral.needed
    assert advice.dose.reference_intake_mg == 350  # Gezondheidsraad, men
    assert advice.dose.upper_level_mg == 250
    assert 0 < advice.dose.elemental_mg_per_day <= 250


def test_egfr_below_30_withholds_the_dose(kb: KnowledgeBase) -> None:
    advice = advise(kb, labs=[{"analyte": "egfr", "value": 25, "unit": "mL/min/1.73m2"}])
    assert advice.dose.status == "withheld" and advice.dose.elemental_mg_per_day == 0
    assert "referral.kidney_contraindicated" in codes(advice.referral.reasons)
    assert advice.compounds == []


def test_egfr_below_60_from_creatinine_means_supervision(kb: KnowledgeBase) -> None:
    advice = advise(
        kb,
        person={"age": 70, "sex": "male"},
        labs=[{"analyte": "creatinine", "value": 1.5, "unit": "mg/dL"}],
    )
    assert advice.calculations.egfr == pytest.approx(49.8, abs=0.2)
    assert advice.calculations.ckd_stage == "G3a"
    assert "referral.kidney_supervision" in codes(advice.referral.reasons)
    assert advice.dose.status == "medical_supervision"


@pytest.mark.parametrize("condition", ["heart_block", "neuromuscular_disease"])
def test_conditions_the_seed_reserves_for_a_doctor(kb: KnowledgeBase, condition: str) -> None:
    advice = advise(kb, conditions=[condition])
    assert advice.referral.needed
    assert codes(advice.referral.reasons) & {
        "referral.condition_supervision",
        "referral.condition_contraindicated",
    }


def test_digoxin_is_a_referral(kb: KnowledgeBase) -> None:
    advice = advise(kb, medications=[{"name": "Lanoxin"}])
    assert "referral.medicine" in codes(advice.referral.reasons)


def test_pregnancy_with_high_blood_pressure_needs_preeclampsia_excluded(kb: KnowledgeBase) -> None:
    advice = advise(
        kb, person={"age": 31, "sex": "female", "pregnant": True}, conditions=["hypertension"]
    )
    assert "referral.preeclampsia_check" in codes(advice.referral.reasons)
    calm = advise(kb, person={"age": 31, "sex": "female", "pregnant": True})
    assert "referral.preeclampsia_check" not in codes(calm.referral.reasons)


def test_low_serum_magnesium_is_referred_in_any_unit(kb: KnowledgeBase) -> None:
    for value, unit in ((0.62, "mmol/L"), (1.5, "mg/dL"), (1.24, "mEq/L")):
        advice = advise(kb, labs=[{"analyte": "serum_magnesium", "value": value, "unit": unit}])
        assert "referral.serum_low" in codes(advice.referral.reasons), (value, unit)


def test_normal_serum_does_not_exclude_deficiency(kb: KnowledgeBase) -> None:
    advice = advise(kb, labs=[{"analyte": "serum_magnesium", "value": 0.9, "unit": "mmol/L"}])
    assert {"lab.serum_normal", "lab.serum_not_conclusive"} <= codes(advice.labs)


def test_the_labs_own_range_wins(kb: KnowledgeBase) -> None:
    own = advise(
        kb,
        labs=[
            {
                "analyte": "rbc_magnesium",
                "value": 1.9,
                "unit": "mmol/L",
                "reference_range": [2.0, 3.0],
            }
        ],
    )
    default = advise(kb, labs=[{"analyte": "rbc_magnesium", "value": 1.9, "unit": "mmol/L"}])
    assert "lab.rbc_low" in codes(own.labs) and "lab.rbc_normal" in codes(default.labs)


def test_study_dose_above_upper_level_is_capped_unless_chosen(kb: KnowledgeBase) -> None:
    capped = advise(kb, goals=["migraine_prevention"])
    assert capped.dose.elemental_mg_per_day <= 250 and not capped.dose.exceeds_upper_level
    assert "dose.study_dose_capped" in codes(capped.dose.basis)
    chosen = advise(kb, goals=["migraine_prevention"], preferences={"follow_study_dose": True})
    assert chosen.dose.elemental_mg_per_day == 600
    assert chosen.dose.exceeds_upper_level
    assert "warning.exceeds_upper_level" in codes(chosen.warnings)
    assert len(chosen.dose.intakes) >= 2  # BfR: split above 250 mg


def test_athletes_get_their_extra_need(kb: KnowledgeBase) -> None:
    rest = advise(kb, person={"age": 30, "sex": "male"})
    sport = advise(kb, person={"age": 30, "sex": "male"}, lifestyle={"sport_hours_per_week": 10})
    assert sport.dose.elemental_mg_per_day > rest.dose.elemental_mg_per_day
    assert "risk.athlete" in codes(sport.risk.factors)


def test_sleep_goal_means_glycinate_in_the_evening(kb: KnowledgeBase) -> None:
    advice = advise(kb, goals=["sleep"])
    assert advice.compounds[0].code == "magnesium_bisglycinate"
    # 250 mg is split over two intakes (BfR); the one for sleep is the last, in the evening
    assert [i.moment for i in advice.dose.intakes][-1] == "evening"


def test_heart_and_sport_point_at_taurate(kb: KnowledgeBase) -> None:
    advice = advise(kb, goals=["heart_vessels", "sport_recovery"])
    assert advice.compounds[0].code == "magnesium_taurate"


def test_oxide_only_when_laxation_is_the_goal(kb: KnowledgeBase) -> None:
    usual = advise(kb, goals=["energy"])
    assert "magnesium_oxide" not in [c.code for c in usual.compounds]


def test_levothyroxine_at_seven_keeps_magnesium_until_eleven(kb: KnowledgeBase) -> None:
    advice = advise(kb, goals=["energy"], medications=[{"name": "Thyrax", "time": "07:00"}])
    times = [i.time for i in advice.dose.intakes]
    assert times and all(t >= "11:00" for t in times), times
    assert "schedule.moved_for_gap" in codes(advice.warnings)


def test_ciprofloxacin_rule(kb: KnowledgeBase) -> None:
    advice = advise(kb, medications=[{"name": "ciprofloxacine", "time": "08:00"}])
    hit = advice.interactions[0]
    assert (hit.medicine_first_h, hit.magnesium_first_h) == (2, 6)
    rule = Constraint("cipro", 8, 2, 6, [])
    assert not rule.allows(9.5) and rule.allows(10) and rule.allows(2) and not rule.allows(3)


def test_unknown_medicine_is_reported_not_dropped(kb: KnowledgeBase) -> None:
    advice = advise(kb, medications=[{"name": "Xyzomab"}, {"name": "Nexum"}])
    state = {m.input: m for m in advice.medications}
    assert not state["Xyzomab"].resolved
    assert (
        state["Nexum"].resolved
        and state["Nexum"].atc == "A02BC05"
        and state["Nexum"].match == "fuzzy"
    )
    assert {"warning.medication_unresolved", "warning.medication_fuzzy"} <= codes(advice.warnings)


def test_product_is_converted_to_units_per_day(kb: KnowledgeBase) -> None:
    advice = advise(
        kb, product={"compound": "magnesiumcitraat", "amount_mg": 500, "units_per_day": 2}
    )
    product = advice.dose.product
    assert product is not None
    assert product.elemental_mg_per_unit == pytest.approx(80.8, abs=0.1)
    assert product.elemental_mg_per_day == pytest.approx(161.6, abs=0.2)
    assert not product.exceeds_upper_level


def test_product_above_upper_level_is_flagged(kb: KnowledgeBase) -> None:
    advice = advise(
        kb, product={"compound": "magnesium oxide", "amount_mg": 400, "units_per_day": 2}
    )
    assert advice.dose.product is not None and advice.dose.product.exceeds_upper_level
    assert {"warning.product_exceeds_upper_level", "warning.product_poorly_absorbed"} <= codes(
        advice.warnings
    )


@pytest.mark.parametrize(
    ("authority", "person", "intake_mg", "upper_mg"),
    [
        ("gezondheidsraad", {"age": 16, "sex": "male"}, 350, 250),
        ("gezondheidsraad", {"age": 16, "sex": "female"}, 280, 250),
        ("efsa", {"age": 2, "sex": "male"}, 170, None),
        ("iom", {"age": 55, "sex": "male"}, 420, 350),
        ("iom", {"age": 25, "sex": "female", "pregnant": True}, 350, 350),
        ("iom", {"age": 6, "sex": "female"}, 130, 110),
    ],
)
def test_reference_values_per_authority(
    kb: KnowledgeBase,
    authority: str,
    person: dict[str, Any],
    intake_mg: float,
    upper_mg: float | None,
) -> None:
    from mgadvisor.intake import Intake

    chosen = next(a for a in kb.reference_values.authorities if a.code == authority)
    intake = Intake.model_validate({"person": person})
    band = band_for(chosen.intakes, intake)
    upper = band_for(chosen.upper_levels, intake)
    assert band is not None and band.mg == intake_mg
    assert (upper.mg if upper else None) == upper_mg


@pytest.mark.parametrize(
    ("data", "path", "words"),
    [
        ({}, "person", "required"),
        ({"person": {"age": -3, "sex": "female"}}, "person.age", "at least 0"),
        ({"person": {"age": 40, "sex": "f"}}, "person.sex", "female"),
        ({"person": {"age": 40, "sex": "male", "pregnant": True}}, "person.pregnant", "female"),
        (
            {"person": {"age": 40, "sex": "male"}, "complaints": ["fatigue", "cramp"]},
            "complaints[1]",
            "complaint",
        ),
        ({"person": {"age": 40, "sex": "male"}, "goals": ["slep"]}, "goals[0]", "goal"),
        (
            {
                "person": {"age": 40, "sex": "male"},
                "labs": [{"analyte": "serum_magnesium", "value": 1, "unit": "g/L"}],
            },
            "labs[0].unit",
            "mmol/L",
        ),
        (
            {"person": {"age": 40, "sex": "male"}, "medications": [{"name": "x", "time": "7am"}]},
            "medications[0].time",
            "HH:MM",
        ),
        (
            {"person": {"age": 40, "sex": "male"}, "lifestyle": {"stres": "high"}},
            "lifestyle.stres",
            "stress",
        ),
        (
            {
                "person": {"age": 40, "sex": "male"},
                "labs": [
                    {"analyte": "serum_magnesium", "value": 0.8, "unit": "mmol/L"},
                    {"analyte": "serum_magnesium", "value": 0.6, "unit": "mmol/L"},
                ],
            },
            "labs[1].analyte",
            "once",
        ),
        (
            {
                "person": {"age": 40, "sex": "male"},
                "product": {"compound": "magnesium citrate", "amount_mg": 100},
                "products": [{"amount_mg": 50, "basis": "elemental"}],
            },
            "product",
            "not both",
        ),
        (
            {
                "person": {"age": 40, "sex": "male"},
                "product": {"compound": "unobtainium", "amount_mg": 100},
            },
            "product.compound",
            "compound",
        ),
    ],
)
def test_bad_intakes_name_the_field(
    kb: KnowledgeBase, data: dict[str, Any], path: str, words: str
) -> None:
    with pytest.raises(IntakeError) as caught:
        parse_intake(data, kb)
    err = caught.value
    assert err.path == path
    assert words in f"{err.expected_text()} {err.hint} {err.given}"


def test_every_intake_problem_is_collected(kb: KnowledgeBase) -> None:
    with pytest.raises(IntakeError) as caught:
        parse_intake({"person": {"age": 40, "sex": "male"}, "goals": ["slep", "energi"]}, kb)
    assert [e.path for e in caught.value.errors] == ["goals[0]", "goals[1]"]
    assert caught.value.hint == "sleep"


def test_a_field_error_does_not_hide_the_knowledge_base_checks(kb: KnowledgeBase) -> None:
    """A wrong age (the model's check) and the checks against the knowledge base (a lab value
    out of its limits, a lab's unit, a goal code, a duplicate lab) in one round, each at its
    own path, also in a list whose other items are broken."""
    data = {
        "person": {"age": 200, "sex": "male"},
        "goals": [7, "slep"],
        "labs": [
            {"analyte": "creatinine", "value": "high", "unit": "umol/L"},
            {"analyte": "serum_magnesium", "value": 50.0, "unit": "mmol/L"},
            {"analyte": "egfr", "value": 80.0, "unit": "mg"},
            {"analyte": "serum_magnesium", "value": 0.8, "unit": "mmol/L"},
        ],
    }
    with pytest.raises(IntakeError) as caught:
        parse_intake(data, kb)
    found = {e.path: e for e in caught.value.errors}
    assert list(found) == [
        "person.age",
        "goals[0]",
        "labs[0].value",
        "goals[1]",
        "labs[1].value",
        "labs[2].unit",
        "labs[3].analyte",
    ]
    assert found["goals[1]"].hint == "sleep"
    assert found["labs[3].analyte"].expected_params == {"first": "1"}  # its index in the intake
    assert found["labs[1].value"].expected_params["high"] == "10"


def test_sentences_start_with_a_capital_but_keep_egfr(kb: KnowledgeBase) -> None:
    from mgadvisor.i18n import Translator
    from mgadvisor.render.findings import capitalize, finding_text

    advice = advise(kb, labs=[{"analyte": "egfr", "value": 25, "unit": "mL/min/1.73m2"}])
    reason = next(r for r in advice.referral.reasons if r.code == "referral.kidney_contraindicated")
    assert finding_text(kb, reason, Translator("en")).startswith("eGFR 25 is below 30")
    assert capitalize("magnesium") == "Magnesium" and capitalize("pH 7") == "pH 7"


def test_cached_sentences_follow_their_parameters_and_language(kb: KnowledgeBase) -> None:
    """The sentence cache is keyed on code, parameters and language, and stays bounded."""
    from dataclasses import replace

    from mgadvisor.advice import Finding
    from mgadvisor.i18n import Translator
    from mgadvisor.render import findings

    fresh = replace(kb, _cache={})
    en, nl = Translator("en"), Translator("nl")
    low = Finding(code="referral.kidney_contraindicated", params={"egfr": 25, "limit": 30})
    lower = Finding(code="referral.kidney_contraindicated", params={"egfr": 12, "limit": 30})
    first = findings.finding_text(fresh, low, en)
    assert "25" in first and first == findings.finding_text(fresh, low, en)
    assert "12" in findings.finding_text(fresh, lower, en)
    assert findings.finding_text(fresh, low, nl) != first
    for egfr in range(findings.TEXT_CACHE_SIZE + 10):
        findings.finding_text(fresh, Finding(code=low.code, params={"egfr": egfr, "limit": 30}), en)
    assert len(fresh._cache["texts_en"]) <= findings.TEXT_CACHE_SIZE


def test_one_row_per_medicine_copies_every_field_of_a_hit() -> None:
    """The row is built field by field (faster than dataclasses.replace): a field added to
    InteractionHit must be copied too."""
    import dataclasses

    from mgadvisor.advice import InteractionHit
    from mgadvisor.advise import _one_row_per_medicine

    hit = InteractionHit(
        medication="Ciproxin 500 mg",
        name="ciprofloxacin",
        time="08:00",
        times=["99:99"],
        frequency="twice_daily",
        atc="J01MA02",
        interaction="quinolones",
        effect="absorption",
        severity="avoid",
        min_gap_hours=2.0,
        medicine_first_h=2.0,
        magnesium_first_h=6.0,
        sources=["key"],
    )
    given = {f.name for f in dataclasses.fields(hit) if getattr(hit, f.name) != f.default}
    assert given == {f.name for f in dataclasses.fields(InteractionHit)}, "set every field"
    (row,) = _one_row_per_medicine([hit, dataclasses.replace(hit, time="20:00")])
    assert row.times == ["08:00", "20:00"]
    assert dataclasses.replace(row, times=hit.times) == hit
