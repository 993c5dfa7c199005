"""Kidney function: eGFR by CKD-EPI 2021, KDIGO category, and the Magnesium Depletion Score."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mgadvisor.advice import Finding
from mgadvisor.engine import Context, rule
from mgadvisor.units import convert


def ckd_epi_2021(creatinine_mg_dl: float, age: float, sex: str) -> float:
    """eGFR (mL/min/1.73 m²) by the race-free CKD-EPI 2021 creatinine equation (Inker 2021).

    142 × min(Scr/κ, 1)^α × max(Scr/κ, 1)^-1.200 × 0.9938^age × 1.012 [female],
    κ = 0.7 (female) / 0.9 (male), α = -0.241 (female) / -0.302 (male); adults only.

    Example:
        >>> round(ckd_epi_2021(0.9, 55, "female"))
        75
    """
    female = sex == "female"
    kappa = 0.7 if female else 0.9
    alpha = -0.241 if female else -0.302
    ratio = creatinine_mg_dl / kappa
    egfr = float(142 * min(ratio, 1.0) ** alpha * max(ratio, 1.0) ** -1.200 * 0.9938**age)
    return egfr * 1.012 if female else egfr


# KDIGO 2024 G-categories: (lower bound, category), checked from the top.
KDIGO_STAGES: tuple[tuple[float, str], ...] = (
    (90, "G1"),
    (60, "G2"),
    (45, "G3a"),
    (30, "G3b"),
    (15, "G4"),
    (0, "G5"),
)


def kdigo_stage(egfr: float) -> str:
    """KDIGO G-category of an eGFR (G1 ≥ 90, G2 60-89, G3a 45-59, G3b 30-44, G4 15-29, G5 < 15)."""
    return next(stage for bound, stage in KDIGO_STAGES if egfr >= bound)


@dataclass(frozen=True, slots=True)
class DepletionScore:
    score: int
    components: dict[str, int]


def magnesium_depletion_score(
    param: Callable[[str], float],
    diuretic: bool,
    ppi: bool,
    heavy_drinker: bool,
    egfr: float | None,
) -> DepletionScore:
    """Fan et al. 2021: diuretic 1, PPI 1, heavy drinking 1, eGFR 60-89 1, eGFR < 60 2 (0-5).

    The weights and eGFR bounds are parameters in the knowledge base (`mds_*`), read through
    `param` (the rule context's tracer, or `kb.param`).
    """
    parts: dict[str, int] = {}
    if diuretic:
        parts["diuretic"] = int(param("mds_points_diuretic"))
    if ppi:
        parts["ppi"] = int(param("mds_points_ppi"))
    if heavy_drinker:
        parts["heavy_drinking"] = int(param("mds_points_heavy_drinking"))
    if egfr is not None:
        if egfr < param("mds_egfr_low_below"):
            parts["egfr_below_60"] = int(param("mds_points_egfr_low"))
        elif egfr < param("mds_egfr_mild_below"):
            parts["egfr_60_89"] = int(param("mds_points_egfr_mild"))
    return DepletionScore(sum(parts.values()), parts)


def schwartz_bedside(creatinine_mg_dl: float, height_cm: float) -> float:
    """eGFR (mL/min/1.73 m²) of a child or adolescent by the bedside Schwartz equation
    (Schwartz 2009): 0.413 × height (cm) / creatinine (mg/dL).

    Example:
        >>> round(schwartz_bedside(0.5, 120))
        99
    """
    return 0.413 * height_cm / creatinine_mg_dl


@rule("kidney.egfr", gives=("egfr", "labs"), needs=("lab_readings", "child"))
def egfr(c: Context) -> float | None:
    """The eGFR as given, else from creatinine: CKD-EPI 2021 for adults, bedside Schwartz
    (with height) under 18. When both are there and put the kidneys in different bands
    (contraindicated, supervision, sufficient), the lower value is used and the disagreement
    is shown: a safety limit must not rest on a mistyped value. A child's creatinine without
    a height cannot be checked against the eGFR given: that is said too."""
    values: dict[str, Any] = c.value("lab_readings")
    creatinine = values.get("creatinine")
    if "egfr" not in values:
        return _from_creatinine(c, creatinine.value, cite=True) if creatinine else None
    given = float(values["egfr"].value)
    if creatinine is None:
        return given
    estimate = _from_creatinine(c, creatinine.value, cite=False)
    if estimate is None:  # a child without a height
        c.fact("measurement_egfr_schwartz")
        unchecked = c.finding(
            "lab.egfr_creatinine_unchecked",
            severity="warning",
            egfr=shown_egfr(given),
            creatinine=round(creatinine.value),
        )
        c.emit(unchecked, "labs")
        return given
    if _band(c, estimate, cite=False) == _band(c, given, cite=False):
        return given
    used = min(given, estimate)
    _from_creatinine(c, creatinine.value, cite=True)  # the basis of the estimate, cited
    _band(c, used, cite=True)
    c.emit(
        c.finding(
            "lab.egfr_creatinine_disagree",
            severity="warning",
            egfr=shown_egfr(given),
            estimate=shown_egfr(estimate),
            creatinine=round(creatinine.value),
            used=shown_egfr(used),
        ),
        "labs",
    )
    return used


def _from_creatinine(c: Context, umol_l: float, *, cite: bool) -> float | None:
    """The eGFR from a creatinine in µmol/L, or None for a child without a height."""
    person = c.intake.person
    mg_dl = convert(umol_l, "umol/L", "mg/dL", "creatinine")
    if c.value("child"):
        if person.height_cm is None:
            return None
        if cite:
            c.fact("measurement_egfr_schwartz")
        return schwartz_bedside(mg_dl, person.height_cm)
    if cite:
        c.fact("measurement_egfr_ckd_epi")
    return ckd_epi_2021(mg_dl, person.age, person.sex)


def _band(c: Context, measured: float, *, cite: bool) -> int:
    """0 below the contraindication limit, 1 below the supervision limit, else 2."""
    if measured < c.param("egfr_contraindicated_below", cite=cite):
        return 0
    return 1 if measured < c.param("egfr_supervision_below", cite=cite) else 2


@rule(
    "kidney.magnesium_depletion_score",
    gives=("mds",),
    needs=("medications", "heavy_drinker", "egfr"),
)
def depletion_score(c: Context) -> DepletionScore:
    """Fan et al. 2021: diuretic 1, PPI 1, heavy drinking 1, eGFR 60-89 1, eGFR < 60 2."""
    groups = {dep.mds_component for _, dep in c.value("medications").depleting}
    return magnesium_depletion_score(
        c.param, "diuretic" in groups, "ppi" in groups, c.value("heavy_drinker"), c.value("egfr")
    )


@rule("lab.mds_incomplete", gives=("labs",), needs=("mds", "egfr", "child"))
def depletion_score_incomplete(c: Context) -> Finding | None:
    """Without an eGFR an adult's score lacks its kidney part: what it reads is a lower bound,
    and it says how high it could be (the score was made for adults)."""
    if c.value("egfr") is not None or c.value("child"):
        return None
    score: DepletionScore = c.value("mds")
    missing = int(c.param("mds_points_egfr_low"))
    return c.finding(
        "lab.mds_incomplete", mds=score.score, missing=missing, possible=score.score + missing
    )


@rule("kidney.function", gives=("kidney_function",), needs=("egfr",))
def kidney_function(c: Context) -> str | None:
    """eGFR below the contraindication limit: contraindicated (EU SmPC); below the supervision
    limit: only under medical supervision (the seed)."""
    measured: float | None = c.value("egfr")
    if measured is None:
        return None
    if measured < c.param("egfr_contraindicated_below"):
        return "contraindicated"
    if measured < c.param("egfr_supervision_below"):
        return "supervision"
    return "sufficient"


def shown_egfr(value: float) -> int:
    """An eGFR as the texts show it: rounded down, the one rule for a calculated or given
    eGFR, so a value below a whole-number limit never reads as the limit (59.6: 59, below 60).

    Example:
        >>> shown_egfr(43.7)
        43
    """
    return math.floor(value)


def _kidney(c: Context, wanted: str, limit: str) -> dict[str, Any] | None:
    if c.value("kidney_function") != wanted:
        return None
    return {"egfr": shown_egfr(c.value("egfr")), "limit": c.param(limit)}


@rule("referral.kidney_contraindicated", gives=("referral",), needs=("kidney_function", "egfr"))
def kidney_contraindicated(c: Context) -> Finding | None:
    """eGFR below 30: magnesium is contraindicated; a doctor decides."""
    params = _kidney(c, "contraindicated", "egfr_contraindicated_below")
    return (
        c.finding("referral.kidney_contraindicated", severity="critical", **params)
        if params
        else None
    )


@rule("referral.kidney_supervision", gives=("referral",), needs=("kidney_function", "egfr"))
def kidney_supervision(c: Context) -> Finding | None:
    """eGFR below 60: magnesium only under a doctor's supervision."""
    params = _kidney(c, "supervision", "egfr_supervision_below")
    return (
        c.finding("referral.kidney_supervision", severity="warning", **params) if params else None
    )


@rule("risk.kidney", gives=("risk_factors",), needs=("egfr",))
def kidney_risk(c: Context) -> Finding | None:
    """Reduced kidney function raises the risk of a disturbed magnesium balance."""
    measured: float | None = c.value("egfr")
    if measured is None or measured >= c.param("egfr_supervision_below"):
        return None
    return c.finding("risk.kidney", points=2, egfr=shown_egfr(measured))


@rule(
    "warning.child_kidney_needs_height",
    gives=("warnings",),
    needs=("egfr", "lab_readings", "child"),
)
def child_kidney_needs_height(c: Context) -> Finding | None:
    """A child's creatinine without a height: the adult equation does not apply and the
    children's one needs the height, so the kidney function is unknown; ask for it."""
    if c.value("egfr") is not None or "creatinine" not in c.value("lab_readings"):
        return None
    if not c.value("child"):
        return None
    c.fact("measurement_egfr_schwartz")
    return c.finding("warning.child_kidney_needs_height", severity="warning")


@rule("kidney.reduced", gives=("kidney_reduced",), needs=("egfr",))
def reduced(c: Context) -> bool:
    """Reduced kidney function: a measured eGFR below the supervision limit, or a kidney
    condition named (its stage unknown). Read by follow-up, laxative doses and the like."""
    measured: float | None = c.value("egfr")
    if measured is not None and measured < c.param("egfr_supervision_below", cite=False):
        return True
    return any(c.kb.conditions[code].monitor_kidney for code in c.intake.conditions)
