"""Lab values that need a doctor the same day on their own (red team round 3, items 3-7), and
the magnesium loading test's limits: each threshold at its bound and one step either side.

- potassium 2.5 mmol/L or lower (`potassium_severe_at_or_below`);
- potassium 3.0 mmol/L or lower with weakness, cramps or palpitations
  (`potassium_call_back_at_or_below`);
- phosphate below 0.32 mmol/L (`phosphate_severe_below`), which also stops magnesium products;
- ionised magnesium below 0.37 mmol/L (`ionized_mg_severe_below`);
- a loading test with an eGFR below 60 (`loading_test_egfr_min`) or a kidney condition is not
  read (no risk points); on a loop or thiazide diuretic it is read with a caveat.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from mgadvisor.advice import Advice
from mgadvisor.advise import advise_intake
from mgadvisor.intake import parse_intake
from mgadvisor.kb import KnowledgeBase

AS_OF = date(2026, 12, 1)


def advise(kb: KnowledgeBase, **intake: Any) -> Advice:
    intake.setdefault("person", {"age": 45, "sex": "female"})
    return advise_intake(parse_intake(intake, kb), kb, AS_OF)


def codes(findings: list[Any]) -> set[str]:
    return {f.code for f in findings}


def lab(analyte: str, value: float, unit: str = "mmol/L") -> dict[str, Any]:
    return {"analyte": analyte, "value": value, "unit": unit}


@pytest.mark.parametrize(
    ("value", "fires", "urgency"),
    [
        (2.4, True, "same_day"),
        (2.5, True, "same_day"),
        (2.6, False, "routine"),
        (1.0, True, "same_day"),  # the lowest the intake takes
        (3.4, False, "routine"),
        (12.0, False, "same_day"),  # far too high: its own alarm, not this one
    ],
)
def test_potassium_at_or_below_2_5_alone_is_same_day(
    kb: KnowledgeBase, value: float, fires: bool, urgency: str
) -> None:
    advice = advise(kb, labs=[lab("serum_potassium", value)])
    assert ("referral.potassium_severe_low" in codes(advice.referral.reasons)) is fires
    assert advice.referral.urgency == urgency
    assert (advice.dose.status == "withheld") is (urgency == "same_day")


def test_potassium_in_meq_per_litre_reads_the_same(kb: KnowledgeBase) -> None:
    advice = advise(kb, labs=[lab("serum_potassium", 2.5, "mEq/L")])
    assert "referral.potassium_severe_low" in codes(advice.referral.reasons)


@pytest.mark.parametrize(
    ("value", "complaint", "fires"),
    [
        (2.9, "muscle_weakness", True),
        (3.0, "muscle_cramps", True),
        (3.1, "muscle_weakness", False),
        (3.0, "palpitations", True),
        (2.9, "headache", False),
    ],
)
def test_potassium_at_or_below_3_with_symptoms_is_same_day(
    kb: KnowledgeBase, value: float, complaint: str, fires: bool
) -> None:
    advice = advise(kb, labs=[lab("serum_potassium", value)], complaints=[complaint])
    assert ("referral.potassium_low_symptoms" in codes(advice.referral.reasons)) is fires
    if fires:
        assert advice.referral.urgency == "same_day"
        assert advice.dose.status == "withheld"


def test_potassium_2_9_without_symptoms_stays_routine(kb: KnowledgeBase) -> None:
    advice = advise(kb, labs=[lab("serum_potassium", 2.9)])
    assert advice.referral.urgency == "routine"
    assert "referral.potassium_low" in codes(advice.referral.reasons)


@pytest.mark.parametrize(
    ("value", "unit", "fires"),
    [
        (0.31, "mmol/L", True),
        (0.32, "mmol/L", False),
        (0.33, "mmol/L", False),
        (0.1, "mmol/L", True),  # the lowest the intake takes
        (0.9, "mg/dL", True),  # 0.29 mmol/L
        (1.0, "mg/dL", False),  # 0.323 mmol/L
    ],
)
def test_phosphate_below_0_32_is_same_day_and_stops_magnesium(
    kb: KnowledgeBase, value: float, unit: str, fires: bool
) -> None:
    product = {
        "name": "Magnesium citraat",
        "compound": "magnesium citrate",
        "amount_mg": 100,
        "basis": "elemental",
        "units_per_day": 1,
    }
    advice = advise(kb, labs=[lab("phosphate", value, unit)], products=[product])
    assert ("referral.phosphate_severe_low" in codes(advice.referral.reasons)) is fires
    assert (advice.referral.urgency == "same_day") is fires
    assert (advice.dose.current_products_action == "stop") is fires


@pytest.mark.parametrize(("value", "fires"), [(0.36, True), (0.37, False), (0.38, False)])
def test_ionised_magnesium_below_0_37_is_same_day(
    kb: KnowledgeBase, value: float, fires: bool
) -> None:
    advice = advise(kb, labs=[lab("ionized_magnesium", value)])
    reasons = codes(advice.referral.reasons)
    assert ("referral.ionized_very_low" in reasons) is fires
    assert "referral.ionized_low" in reasons  # below its range either way
    assert (advice.referral.urgency == "same_day") is fires
    assert (advice.dose.status == "withheld") is fires


def test_the_alarm_numbers_are_the_parameters(kb: KnowledgeBase) -> None:
    """alarms.yaml writes the numbers out; they must stay those of parameters.yaml."""
    wanted = {
        "potassium_severe_low": ("at_most:serum_potassium", "potassium_severe_at_or_below"),
        "potassium_low_with_symptoms": (
            "at_most:serum_potassium",
            "potassium_call_back_at_or_below",
        ),
        "phosphate_severe_low": ("below:phosphate", "phosphate_severe_below"),
        "ionized_very_low": ("below:ionized_magnesium", "ionized_mg_severe_below"),
    }
    for alarm, (prefix, parameter) in wanted.items():
        criterion = f"{prefix}:{kb.parameters[parameter].value}"
        assert criterion in kb.alarms[alarm].when[0], alarm


LOADING = {"infused_mmol": 30, "baseline_urine_mmol_24h": 4, "post_load_urine_mmol_24h": 20}


@pytest.mark.parametrize(("egfr", "readable"), [(59, False), (60, True), (61, True), (40, False)])
def test_loading_test_is_not_read_below_egfr_60(
    kb: KnowledgeBase, egfr: float, readable: bool
) -> None:
    advice = advise(kb, loading_test=LOADING, labs=[lab("egfr", egfr, "mL/min/1.73m2")])
    labs, risks = codes(advice.labs), codes(advice.risk.factors)
    assert ("lab.loading_retention_high" in labs) is readable
    assert ("risk.lab_loading_retention" in risks) is readable
    assert ("lab.loading_not_interpretable_kidney" in labs) is not readable


def test_loading_test_just_below_60_does_not_say_60(kb: KnowledgeBase) -> None:
    advice = advise(kb, loading_test=LOADING, labs=[lab("egfr", 59.6, "mL/min/1.73m2")])
    found = [f for f in advice.labs if f.code == "lab.loading_not_interpretable_kidney"]
    assert found and found[0].params["egfr"] < found[0].params["limit"]


def test_loading_test_with_a_kidney_condition_and_no_egfr_is_not_read(kb: KnowledgeBase) -> None:
    advice = advise(kb, loading_test=LOADING, conditions=["ckd"])
    assert "lab.loading_not_interpretable_kidney_condition" in codes(advice.labs)
    assert "risk.lab_loading_retention" not in codes(advice.risk.factors)


def test_loading_test_without_kidney_data_is_read(kb: KnowledgeBase) -> None:
    advice = advise(kb, loading_test=LOADING)
    assert "lab.loading_retention_high" in codes(advice.labs)


def test_low_retention_on_a_loop_diuretic_is_not_called_normal(kb: KnowledgeBase) -> None:
    low = {"infused_mmol": 30, "baseline_urine_mmol_24h": 4, "post_load_urine_mmol_24h": 31}
    advice = advise(kb, loading_test=low, medications=[{"name": "furosemide"}])
    assert "lab.loading_diuretic_low" in codes(advice.labs)
    assert "lab.loading_retention_normal" not in codes(advice.labs)
    plain = advise(kb, loading_test=low)
    assert "lab.loading_retention_normal" in codes(plain.labs)


def test_high_retention_on_a_thiazide_keeps_its_points_with_a_caveat(kb: KnowledgeBase) -> None:
    advice = advise(kb, loading_test=LOADING, medications=[{"name": "hydrochloorthiazide"}])
    assert {"lab.loading_retention_high", "lab.loading_diuretic_high"} <= codes(advice.labs)
    assert "risk.lab_loading_retention" in codes(advice.risk.factors)
