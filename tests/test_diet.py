"""Diet estimates against hand calculations from the table's own USDA values."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from mgadvisor.advise import advise_intake
from mgadvisor.errors import IntakeError
from mgadvisor.intake import parse_intake
from mgadvisor.kb import KnowledgeBase

AS_OF = date(2026, 11, 22)


def advise(kb: KnowledgeBase, diet: dict[str, Any], **extra: Any) -> Any:
    data = {"person": {"age": 40, "sex": "female"}, "diet": diet, **extra}
    return advise_intake(parse_intake(data, kb), kb, AS_OF)


def test_two_day_diary_matches_a_hand_calculation(kb: KnowledgeBase) -> None:
    # USDA SR Legacy per 100 g: almonds Mg 270 / Ca 269; raw spinach 79 / 99; banana 27 / 5.
    # Day 1: 30 g almonds (81 mg) + 100 g spinach (79 mg) = 160 mg Mg; Ca 80.7 + 99 = 179.7.
    # Day 2: 30 g almonds (81 mg) + 120 g banana (32.4 mg) = 113.4 mg Mg; Ca 80.7 + 6 = 86.7.
    # Mean: 136.7 mg Mg and 133.2 mg Ca a day.
    diary = [
        {
            "entries": [
                {"food": "usda_almonds", "grams": 30},
                {"food": "usda_spinach_raw", "grams": 100},
            ]
        },
        {
            "entries": [
                {"food": "usda_almonds", "grams": 30},
                {"food": "usda_banana_raw", "grams": 120},
            ]
        },
    ]
    diet = advise(kb, {"diary": diary}).diet
    assert diet.method == "diary" and diet.days == 2
    assert diet.magnesium_mg_per_day == pytest.approx(136.7, abs=0.2)
    assert diet.calcium_mg_per_day == pytest.approx(133.2, abs=0.2)
    assert diet.top[0].food == "usda_almonds" and diet.top[0].magnesium_mg_per_day == pytest.approx(
        81, abs=0.1
    )
    # Reference intake for a woman of 40 (Gezondheidsraad): 300 mg -> 45.6 %.
    assert diet.pct_of_reference == pytest.approx(45.6, abs=0.1)


def test_food_names_in_dutch_and_english_resolve(kb: KnowledgeBase) -> None:
    diary = [
        {
            "entries": [
                {"food": "Amandelen", "grams": 30},
                {"food": "bananas raw", "grams": 100},
                {"food": "Xyzzy-koek", "grams": 50},
            ]
        }
    ]
    diet = advise(kb, {"diary": diary}).diet
    assert {f.food for f in diet.foods} == {"usda_almonds", "usda_banana_raw"}
    assert diet.unresolved == ["Xyzzy-koek"]


def test_water_adds_its_magnesium(kb: KnowledgeBase) -> None:
    # 1.5 L a day of water with 20 mg/L magnesium = 30 mg (hard water reaches 50 mg/L: WHO 2009).
    diet = advise(kb, {"water": {"liters_per_day": 1.5, "magnesium_mg_per_l": 20}}).diet
    assert diet.water_magnesium_mg_per_day == 30 and diet.magnesium_mg_per_day == 30


def test_the_supplement_fills_the_gap_and_food_has_no_upper_level(kb: KnowledgeBase) -> None:
    diary = [
        {
            "entries": [
                {"food": "usda_almonds", "grams": 30},
                {"food": "usda_spinach_raw", "grams": 100},
            ]
        }
    ]
    advice = advise(kb, {"diary": diary})  # 160 mg from food; reference 300 mg
    assert advice.dose.elemental_mg_per_day == 140  # 300 - 160, rounded to 5 mg
    codes = {f.code for f in advice.dose.basis}
    assert "dose.from_diet_gap" in codes and "dose.from_reference_intake" not in codes
    advice_codes = {f.code for f in advice.food_advice}
    assert {"diet.food_has_no_upper_level", "diet.gap"} <= advice_codes
    assert "risk.low_dietary_intake" in {f.code for f in advice.risk.factors}


def test_a_diet_that_covers_the_need_needs_no_supplement(kb: KnowledgeBase) -> None:
    diary = [{"entries": [{"food": "usda_pumpkin_seeds_dried", "grams": 60}]}]  # 355 mg (592/100 g)
    advice = advise(kb, {"diary": diary})
    assert advice.dose.elemental_mg_per_day == 0 and advice.dose.intakes == []
    assert "dose.diet_covers_need" in {f.code for f in advice.dose.basis}
    assert "risk.low_dietary_intake" not in {f.code for f in advice.risk.factors}


def test_advice_changes_with_the_diet(kb: KnowledgeBase) -> None:
    poor = advise(kb, {"diary": [{"entries": [{"food": "usda_milk_whole", "grams": 500}]}]})
    rich = advise(
        kb,
        {
            "diary": [
                {
                    "entries": [
                        {"food": "usda_almonds", "grams": 60},
                        {"food": "usda_black_beans_boiled", "grams": 150},
                    ]
                }
            ]
        },
    )
    assert poor.diet.magnesium_mg_per_day < rich.diet.magnesium_mg_per_day
    assert poor.dose.elemental_mg_per_day > rich.dose.elemental_mg_per_day
    assert poor.risk.score > rich.risk.score
    # 500 g whole milk: Ca 565 vs Mg 50 -> ratio 11.3 : 1, far above the favourable 2 : 1.
    assert "risk.high_calcium_magnesium_ratio" in {f.code for f in poor.risk.factors}


def test_oxalate_rich_foods_are_noted(kb: KnowledgeBase) -> None:
    diet = advise(
        kb, {"diary": [{"entries": [{"food": "usda_spinach_boiled", "grams": 300}]}]}
    ).diet
    assert "diet.oxalate_rich" in {n.code for n in diet.notes}


def test_bad_diet_input_names_the_field(kb: KnowledgeBase) -> None:
    with pytest.raises(IntakeError) as caught:
        parse_intake(
            {
                "person": {"age": 40, "sex": "male"},
                "diet": {"ffq": {"nuts": {"frequency": "dayly"}}},
            },
            kb,
        )
    assert caught.value.path == "diet.ffq.nuts.frequency"
    with pytest.raises(IntakeError) as caught:
        parse_intake(
            {
                "person": {"age": 40, "sex": "male"},
                "diet": {"diary": [{"entries": [{"food": "x"}]}]},
            },
            kb,
        )
    assert (
        caught.value.path == "diet.diary[0].entries[0]"
        and "grams or a portion" in caught.value.expected_text()
    )


EXAMPLES = __import__("pathlib").Path(__file__).resolve().parents[1] / "examples"


def _example(kb: KnowledgeBase, name: str) -> Any:
    from mgadvisor.intake import load_intake_text

    intake = load_intake_text((EXAMPLES / name).read_text(encoding="utf-8"), kb)
    return advise_intake(intake, kb, AS_OF)


def test_a_dutch_week_matches_the_hand_calculation(kb: KnowledgeBase) -> None:
    """examples/diet-week.yaml, by hand (grams a week × mg/100 g from foods.csv, ÷ 7):

    wholewheat bread 1015 g × 75 = 108.75 mg/day; banana 840 × 27 = 32.40; milk 2 % 1750 × 11
    = 27.50; potatoes 800 × 20 = 22.86; spinach 150 × 87 = 18.64; Gouda 280 × 29 = 11.60; coffee
    2625 × 3 = 11.25; almonds 25 × 279 = 9.96; kidney beans 150 × 42 = 9.00; dark chocolate
    20 × 228 = 6.51; pasta 250 × 18 = 6.43; beer 660 × 6 = 5.66; walnuts 25 × 158 = 5.64;
    salmon 100 × 37 = 5.29; oven chips 150 × 24 = 5.14; kale 200 × 18 = 5.14; broccoli 150 × 21
    = 4.50; chicken 100 × 29 = 4.14; green beans 150 × 18 = 3.86; minced beef 100 × 25 = 3.57;
    white rice 150 × 12 = 2.57; Polish sausage 100 × 14 = 2.00; tomato 150 × 9 = 1.93; red
    pepper 100 × 12 = 1.71; frankfurter 100 × 11 = 1.57. Food 317.6 mg + water 1.5 L × 8 mg/L
    = 12 mg: 329.6 mg/day. Calcium 772.1 mg/day (bread at the Dutch 37 mg/100 g, rivm1990_bread,
    not the US 161); Ca : Mg = 2.34. Reference (woman, 45) 300 mg.
    """
    advice = _example(kb, "diet-week.yaml")
    diet = advice.diet
    assert diet.days == 7 and not diet.unresolved
    assert diet.magnesium_mg_per_day == pytest.approx(329.6, abs=1.0)
    assert diet.calcium_mg_per_day == pytest.approx(772.1, abs=1.5)
    assert diet.calcium_magnesium_ratio == pytest.approx(2.34, abs=0.02)
    assert diet.top[0].food == "usda_wholewheat_bread"
    assert diet.pct_of_reference == pytest.approx(109.9, abs=0.4)
    # The diet covers the reference intake: no supplement for intake's sake.
    assert advice.dose.elemental_mg_per_day == 0


def test_the_ffq_matches_the_hand_calculation(kb: KnowledgeBase) -> None:
    """examples/diet-ffq.yaml, by hand (times a day × portions × portion grams × share × mg/100 g):

    wholemeal bread 2.5 × 2 × 29 g = 145 g → 89.0 mg; white bread 0.429 × 2 × 29 → 5.7; oats/bran
    0.429 × 30 → 22.4; potatoes 0.786 × 3 × 136 → 67.3; white rice/pasta 0.143 × 158 → 3.4; leafy
    vegetables 0.143 × 130 → 10.3; other vegetables 0.786 × 125 → 14.3; legumes 0.066 × 179 → 5.7;
    nuts 0.429 × 28.35 → 26.0; fruit 1 × 125 → 18.6; dairy 2.5 × 244 → 78.1; cheese 1 × 2 × 28.35
    → 16.6; fish 0.143 × 85 → 4.6; coffee/tea 4.5 × 178 → 24.0. Food 386.3 mg + water 10 mg =
    396.3 mg/day; calcium 1440.2 mg (bread at the Dutch 37 mg/100 g, rivm1990_bread); Ca : Mg =
    3.6 (above the typical Western 3 : 1).
    """
    advice = _example(kb, "diet-ffq.yaml")
    diet = advice.diet
    assert diet.method == "ffq"
    assert diet.magnesium_mg_per_day == pytest.approx(396.3, abs=0.5)
    assert diet.calcium_mg_per_day == pytest.approx(1440.2, abs=1.0)
    assert diet.calcium_magnesium_ratio == pytest.approx(3.63, abs=0.05)
    assert "risk.high_calcium_magnesium_ratio" in {f.code for f in advice.risk.factors}


def test_diet_command_writes_charts(tmp_path: Any) -> None:
    from typer.testing import CliRunner

    from mgadvisor.cli import app

    result = CliRunner().invoke(
        app,
        [
            "--lang",
            "nl",
            "diet",
            str(EXAMPLES / "diet-week.yaml"),
            "--svg",
            str(tmp_path),
            "--as-of",
            "2026-11-22",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "Magnesium uit de voeding" in result.output
    svg = (tmp_path / "diet-intake.svg").read_text(encoding="utf-8")
    assert (
        svg.startswith("<svg")
        and "<title>Magnesium per dag</title>" in svg
        and "aanbevolen 300 mg" in svg
    )
    top = (tmp_path / "diet-top-sources.svg").read_text(encoding="utf-8")
    assert "Volkorenbrood" in top
