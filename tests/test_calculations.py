"""Formulas against published worked examples: units, CKD-EPI 2021, KDIGO, MDS, loading test."""

from __future__ import annotations

import pytest

from mgadvisor.assess.kidney import ckd_epi_2021, kdigo_stage, magnesium_depletion_score
from mgadvisor.assess.labs import retention_pct
from mgadvisor.errors import UserInputError
from mgadvisor.intake import LoadingTest
from mgadvisor.kb import KnowledgeBase
from mgadvisor.units import convert


@pytest.mark.parametrize(
    ("value", "unit", "to", "expected", "tol"),
    [
        (0.75, "mmol/L", "mg/dL", 1.823, 0.001),  # × 2.4305
        (1.0, "mg/dL", "mmol/L", 0.4114, 0.0001),  # ÷ 2.4305
        (1.0, "mmol/L", "mEq/L", 2.0, 1e-9),  # divalent
        (1.0, "mg/dL", "mEq/L", 0.8229, 0.0001),
        (51, "mg/24h", "mmol/24h", 2.098, 0.001),  # Mayo lower limit
        (1.0, "mg/dL", "umol/L", 88.4, 0.05),  # creatinine, the CKD-EPI factor
        (88.4, "µmol/L", "mg/dL", 1.0, 0.001),
    ],
)
def test_unit_conversions(value: float, unit: str, to: str, expected: float, tol: float) -> None:
    assert convert(value, unit, to) == pytest.approx(expected, abs=tol)


def test_units_of_different_quantities_do_not_convert() -> None:
    with pytest.raises(UserInputError, match="cannot convert"):
        convert(1, "mmol/L", "mg/24h")


@pytest.mark.parametrize(
    ("scr_mg_dl", "age", "sex", "expected", "tol"),
    [
        (0.9, 55, "female", 76, 1.0),  # NKF-style worked example (published ≈ 76)
        (1.0, 50, "male", 91.7, 0.2),
        (1.5, 70, "male", 49.8, 0.2),
        (2.0, 65, "female", 27.2, 0.2),
        (80 / 88.4, 60, "male", 97.1, 0.2),
    ],
)
def test_ckd_epi_2021(scr_mg_dl: float, age: float, sex: str, expected: float, tol: float) -> None:
    assert ckd_epi_2021(scr_mg_dl, age, sex) == pytest.approx(expected, abs=tol)


@pytest.mark.parametrize(
    ("egfr", "stage"),
    [
        (120, "G1"),
        (90, "G1"),
        (89.9, "G2"),
        (60, "G2"),
        (59, "G3a"),
        (45, "G3a"),
        (44, "G3b"),
        (30, "G3b"),
        (29.9, "G4"),
        (15, "G4"),
        (14, "G5"),
        (0, "G5"),
    ],
)
def test_kdigo_stage_boundaries(egfr: float, stage: str) -> None:
    assert kdigo_stage(egfr) == stage


@pytest.mark.parametrize(
    ("diuretic", "ppi", "heavy", "egfr", "score"),
    [
        (False, False, False, None, 0),
        (True, True, True, 45, 5),  # the maximum
        (True, False, False, 75, 2),
        (False, True, False, 95, 1),
        (False, False, True, 59.9, 3),
        (False, False, False, 60, 1),
    ],
)
def test_magnesium_depletion_score(
    kb: KnowledgeBase, diuretic: bool, ppi: bool, heavy: bool, egfr: float | None, score: int
) -> None:
    assert magnesium_depletion_score(kb.param, diuretic, ppi, heavy, egfr).score == score


def test_loading_test_retention() -> None:
    # 30 mmol infused; 24-h urine 4 mmol before and 28 mmol after: 24 of 30 excreted, 20 % retained.
    test = LoadingTest(infused_mmol=30, baseline_urine_mmol_24h=4, post_load_urine_mmol_24h=28)
    assert retention_pct(test) == pytest.approx(20.0)
