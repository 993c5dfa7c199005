"""Lab values that need a doctor the same day on their own (red team round 3, items 3-7), and
the magnesium loading test's limits: each threshold at its bound and one step either side.

- potassium 2.5 mmol/L or lower (`potassium_severe_at_or_below`);
- potassium 3.0 mmol/L or lower with weakness, cramps or palpitations
  (`potassium_call_back_at_or_below`);
- phosphate below 1 mg/dL = 0.32285 mmol/L (`phosphate_severe_below`), which also stops
  magnesium products;
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
        # the limit is 1 mg/dL (merck_hypophosphatemia) = 0.32285 mmol/L, not the rounded 0.32
        (0.3228, "mmol/L", True),
        (0.32285, "mmol/L", False),  # the bound
        (0.3229, "mmol/L", False),
        (0.32, "mmol/L", True),  # 0.991 mg/dL
        (0.31, "mmol/L", True),
        (0.33, "mmol/L", False),
        (0.1, "mmol/L", True),  # the lowest the intake takes
        (0.9, "mg/dL", True),  # 0.29 mmol/L
        (0.99, "mg/dL", True),  # 0.3196 mmol/L, 0.320 at 3 decimals: compared unrounded
        (1.0, "mg/dL", False),  # the bound: 0.322854 mmol/L
        (1.01, "mg/dL", False),
    ],
)
def test_phosphate_below_1_mg_dl_is_same_day_and_stops_magnesium(
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


def bound(analyte: str, comparator: str, value: float, unit: str = "mmol/L") -> dict[str, Any]:
    return {**lab(analyte, value, unit), "comparator": comparator}


@pytest.mark.parametrize(
    ("comparator", "value", "unit", "code"),
    [
        # "<1.0" mg/dL is read 0.999 mg/dL = 0.3225 mmol/L (0.323 at 3 decimals): below 1 mg/dL
        ("<", 1.0, "mg/dL", "referral.phosphate_severe_low"),
        ("<=", 1.0, "mg/dL", "referral.phosphate_severe_low"),
        ("<", 0.99, "mg/dL", "referral.phosphate_severe_low"),
        ("<=", 0.32, "mmol/L", "referral.phosphate_severe_low"),  # "<=" read as "<"
        ("<", 0.32285, "mmol/L", "referral.phosphate_severe_low"),
        # a bound above the limit: perhaps below it; the plan waits, magnesium stops
        ("<", 1.01, "mg/dL", "referral.lab_bound_may_be_below_stop"),
        ("<", 0.33, "mmol/L", "referral.lab_bound_may_be_below_stop"),
        ("<", 2.0, "mg/dL", "referral.lab_bound_may_be_below_stop"),  # 0.65: low already
    ],
)
def test_a_phosphate_bound_is_read_at_its_worst(
    kb: KnowledgeBase, comparator: str, value: float, unit: str, code: str
) -> None:
    advice = advise(kb, labs=[bound("phosphate", comparator, value, unit)])
    reasons = codes(advice.referral.reasons)
    assert code in reasons
    assert advice.referral.urgency == "same_day"
    assert advice.dose.status == "withheld"
    both = {"referral.phosphate_severe_low", "referral.lab_bound_may_be_below_stop"}
    assert len(reasons & both) == 1  # said once: the alarm or that it may hold


@pytest.mark.parametrize(
    ("analyte", "comparator", "value", "code"),
    [
        ("serum_magnesium", "<=", 0.5, "referral.serum_very_low"),
        ("serum_magnesium", "<", 0.5, "referral.serum_very_low"),
        ("serum_magnesium", "<", 0.51, "referral.lab_bound_may_be_below"),
        ("serum_magnesium", "<=", 0.49, "referral.serum_very_low"),
        ("serum_potassium", "<", 2.6, "referral.lab_bound_may_be_below"),
        ("serum_potassium", "<=", 2.5, "referral.potassium_severe_low"),
        ("serum_potassium", "<", 2.5, "referral.potassium_severe_low"),
        ("serum_potassium", "<=", 2.6, "referral.lab_bound_may_be_below"),
        ("ionized_magnesium", "<", 0.4, "referral.lab_bound_may_be_below"),
        ("ionized_magnesium", "<=", 0.37, "referral.ionized_very_low"),
        ("ionized_magnesium", "<", 0.38, "referral.lab_bound_may_be_below"),
        ("serum_potassium", ">=", 5.9, "referral.potassium_very_high"),  # ">=" read as ">"
        ("serum_potassium", ">", 5.8, "referral.lab_bound_may_be_above"),
        ("serum_magnesium", ">", 1.5, "referral.lab_bound_may_be_above_stop"),
    ],
)
def test_a_bound_that_may_pass_a_same_day_limit_withholds_the_plan(
    kb: KnowledgeBase, analyte: str, comparator: str, value: float, code: str
) -> None:
    advice = advise(kb, labs=[bound(analyte, comparator, value)])
    assert code in codes(advice.referral.reasons)
    assert advice.referral.urgency == "same_day"
    assert advice.dose.status == "withheld"


@pytest.mark.parametrize(
    ("analyte", "comparator", "value", "side"),
    [
        ("serum_potassium", ">", 2.5, "below"),  # cannot be 2.5 or lower
        ("serum_potassium", ">=", 2.6, "below"),
        ("serum_magnesium", ">=", 0.5, "below"),  # 0.5 or more is not below 0.5
        ("phosphate", ">", 0.33, "below"),
        ("serum_potassium", "<=", 5.9, "above"),  # cannot be above 5.9
        ("serum_potassium", "<", 5.9, "above"),
    ],
)
def test_a_bound_cannot_pass_a_limit_on_its_closed_side(
    kb: KnowledgeBase, analyte: str, comparator: str, value: float, side: str
) -> None:
    """A lower bound cannot be below a low limit, an upper bound not above a high one (a
    lower bound may still be above a high limit: '>2.5' may be 6; that is the other side)."""
    advice = advise(kb, labs=[bound(analyte, comparator, value)])
    reasons = codes(advice.referral.reasons)
    assert not {c for c in reasons if c.startswith(f"referral.lab_bound_may_be_{side}")}
    severe = {"referral.potassium_severe_low", "referral.potassium_very_high"}
    assert not reasons & severe
    assert not {"referral.serum_very_low", "referral.phosphate_severe_low"} & reasons


def test_a_bound_with_symptoms_may_pass_the_call_back_limit(kb: KnowledgeBase) -> None:
    """'<3.4' with cramps may be 3.0 or lower with cramps: the plan waits for the number."""
    with_cramps = advise(
        kb, labs=[bound("serum_potassium", "<", 3.4)], complaints=["muscle_cramps"]
    )
    assert "referral.lab_bound_may_be_below" in codes(with_cramps.referral.reasons)
    assert with_cramps.referral.urgency == "same_day"


def test_the_bound_finding_says_the_bound_and_the_limit(kb: KnowledgeBase) -> None:
    from mgadvisor.i18n import Translator
    from mgadvisor.render.findings import finding_text

    advice = advise(kb, labs=[bound("serum_potassium", "<", 2.6)])
    found = next(f for f in advice.referral.reasons if f.code.startswith("referral.lab_bound"))
    english = finding_text(kb, found, Translator("en"))
    dutch = finding_text(kb, found, Translator("nl"))
    assert "<2.6 mmol/L" in english and "2.5 mmol/L" in english
    assert "Ask the lab for the number" in english
    assert "<2,6 mmol/L" in dutch and "2,5 mmol/L" in dutch
    client = kb.messages[found.code].client
    assert client is not None and "exact number" in client.en and "precieze getal" in client.nl


@pytest.mark.parametrize(
    ("value", "shown", "limit"),
    [(0.369, "0.369", "0.37"), (0.3649, "0.36", "0.37"), (0.36, "0.36", "0.37")],
)
def test_a_value_that_rounds_to_its_limit_is_shown_apart(
    kb: KnowledgeBase, value: float, shown: str, limit: str
) -> None:
    from mgadvisor.i18n import Translator
    from mgadvisor.render.findings import finding_text

    advice = advise(kb, labs=[lab("ionized_magnesium", value)])
    found = next(f for f in advice.referral.reasons if f.code == "referral.ionized_very_low")
    text = finding_text(kb, found, Translator("en"))
    assert f"magnesium {shown} mmol/L" in text and f"below {limit})" in text
    dutch = finding_text(kb, found, Translator("nl"))
    assert f"{shown.replace('.', ',')} mmol/L" in dutch


def test_phosphate_0_99_mg_dl_reads_below_its_limit(kb: KnowledgeBase) -> None:
    from mgadvisor.i18n import Translator
    from mgadvisor.render.findings import finding_text

    advice = advise(kb, labs=[lab("phosphate", 0.99, "mg/dL")])
    found = next(f for f in advice.referral.reasons if f.code == "referral.phosphate_severe_low")
    text = finding_text(kb, found, Translator("en"))
    assert "0.32 mmol/L" in text and "(below 0.32285)" in text


@pytest.mark.parametrize(
    ("age", "value", "own_range", "flag", "note"),
    [
        (8, 0.9, None, None, True),  # no adult range for a child: a note, no flag
        (17, 0.7, None, None, True),
        (18, 0.7, None, "low", False),  # the adult range from 18
        (8, 0.9, (1.2, 1.8), "low", False),  # the lab's own range for the child
    ],
)
def test_a_child_phosphate_is_read_against_the_labs_range_only(
    kb: KnowledgeBase, age: int, value: float, own_range: Any, flag: Any, note: bool
) -> None:
    given = lab("phosphate", value)
    if own_range:
        given["reference_range"] = list(own_range)
    advice = advise(kb, person={"age": age, "sex": "male"}, labs=[given])
    assert advice.lab_results[0].flag == flag
    assert ("lab.adult_range_not_for_child" in codes(advice.labs)) is note
    assert ("referral.phosphate_low" in codes(advice.referral.reasons)) is (flag == "low")


def test_a_bound_is_shown_only_on_its_own_analyte() -> None:
    """'<0.4' of ionised magnesium is not written over a phosphate of 0.40 (review M2)."""
    from mgadvisor.i18n import Translator
    from mgadvisor.render.bounds import bound_text

    bounds = {"ionized_magnesium": ("<", 0.4, 0.399)}
    t = Translator("en")
    phosphate = {"analyte": "phosphate", "value": 0.4}
    assert bound_text(t, "Phosphate 0.4 mmol/L is low", phosphate, bounds) == (
        "Phosphate 0.4 mmol/L is low"
    )
    ionised = {"analyte": "ionized_magnesium", "value": 0.399}
    assert bound_text(t, "Ionised 0.399 mmol/L", ionised, bounds) == "Ionised <0.4 mmol/L"


@pytest.mark.parametrize(("given", "shown"), [(59.6, 59), (60.0, 60), (43.7, 43)])
def test_an_egfr_is_shown_rounded_down_everywhere(given: float, shown: int) -> None:
    from mgadvisor.assess.kidney import shown_egfr

    assert shown_egfr(given) == shown


def test_an_egfr_bound_is_shown_as_the_bound_in_the_loading_test() -> None:
    """'<60' read as 59.999 and shown rounded down (59) is written back as '<60' (L1)."""
    from mgadvisor.i18n import Translator
    from mgadvisor.render.bounds import bound_text

    bounds = {"egfr": ("<", 60.0, 59.999)}
    text = "with an eGFR of 59 (below 60)"
    assert bound_text(Translator("en"), text, {"egfr": 59}, bounds) == (
        "with an eGFR of <60 (below 60)"
    )


def test_a_bound_inside_the_range_is_not_read_and_is_not_urgent(kb: KnowledgeBase) -> None:
    # "<2.6 mg/dL" (0.84 mmol/L) may be normal or far too low, ">0.7" serum magnesium may be
    # low or normal: neither is read as low, normal or high (no flag, no risk points), the
    # practitioner is asked to get the number, and neither is sent to a doctor today
    for lab_ in (bound("phosphate", "<", 2.6, "mg/dL"), bound("serum_magnesium", ">", 0.7)):
        advice = advise(kb, labs=[lab_])
        assert "lab.bound_undecided" in codes(advice.labs), lab_
        assert advice.referral.urgency != "same_day", lab_
        row = next(r for r in advice.lab_results if r.analyte == lab_["analyte"])
        assert row.flag is None, lab_
        assert not [f for f in advice.risk.factors if "serum" in f.code], lab_
