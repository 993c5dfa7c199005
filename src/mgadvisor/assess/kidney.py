"""Kidney function: eGFR by CKD-EPI 2021, KDIGO category, and the Magnesium Depletion Score."""

from __future__ import annotations

from dataclasses import dataclass

from mgadvisor.kb.base import KnowledgeBase


def ckd_epi_2021(creatinine_mg_dl: float, age: float, sex: str) -> float:
    """eGFR (mL/min/1.73 m²) by the race-free CKD-EPI 2021 creatinine equation (Inker 2021).

    142 × min(Scr/κ, 1)^α × max(Scr/κ, 1)^-1.200 × 0.9938^age × 1.012 [female],
    κ = 0.7 (female) / 0.9 (male), α = -0.241 (female) / -0.302 (male); adults only.

    Example:
        >>> round(ckd_epi_2021(0.9, 55, "female"))
        76
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


@dataclass(frozen=True)
class DepletionScore:
    score: int
    components: dict[str, int]


def magnesium_depletion_score(
    kb: KnowledgeBase,
    diuretic: bool,
    ppi: bool,
    heavy_drinker: bool,
    egfr: float | None,
) -> DepletionScore:
    """Fan et al. 2021: diuretic 1, PPI 1, heavy drinking 1, eGFR 60-89 1, eGFR < 60 2 (0-5).

    The weights and eGFR bounds are parameters in the knowledge base (`mds_*`).
    """
    parts: dict[str, int] = {}
    if diuretic:
        parts["diuretic"] = int(kb.param("mds_points_diuretic"))
    if ppi:
        parts["ppi"] = int(kb.param("mds_points_ppi"))
    if heavy_drinker:
        parts["heavy_drinking"] = int(kb.param("mds_points_heavy_drinking"))
    if egfr is not None:
        if egfr < kb.param("mds_egfr_low_below"):
            parts["egfr_below_60"] = int(kb.param("mds_points_egfr_low"))
        elif egfr < kb.param("mds_egfr_mild_below"):
            parts["egfr_60_89"] = int(kb.param("mds_points_egfr_mild"))
    return DepletionScore(sum(parts.values()), parts)
