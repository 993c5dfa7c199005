"""How much: elemental magnesium per day, against the reference intake and the upper level.

1. Reference intake for the person (authority, age, sex, pregnancy, lactation).
2. Without dietary data, the supplement covers the share the diet is assumed not to.
3. Athletes: + the sourced extra need. A chosen goal's study dose (elemental) replaces the result
   when higher, because that is the dose that was tested.
4. Compared with the upper level for supplemental magnesium: above it is allowed only flagged,
   with a warning that says what to watch. Above the split threshold: at least two intakes.
"""

from __future__ import annotations

import math

from mgadvisor.advice import Finding
from mgadvisor.chemistry import composition
from mgadvisor.intake import Intake
from mgadvisor.kb.base import KnowledgeBase
from mgadvisor.kb.models import Authority, DoseBasis, IntakeBand, LifeStage


def band_for(bands: list[IntakeBand], intake: Intake) -> IntakeBand | None:
    """The most specific band covering the person (life stage, then sex, beats 'any')."""
    person = intake.person
    stage = (
        LifeStage.PREGNANCY
        if person.pregnant
        else LifeStage.LACTATION
        if person.lactating
        else LifeStage.ANY
    )
    fits = [
        b
        for b in bands
        if b.age_from <= person.age
        and (b.age_to is None or person.age < b.age_to)
        and b.sex in ("any", person.sex)
        and b.life_stage in (LifeStage.ANY, stage)
    ]
    if not fits:
        return None
    return max(fits, key=lambda b: (b.life_stage is not LifeStage.ANY, b.sex != "any"))


def reference_intake(authority: Authority, intake: Intake) -> float | None:
    band = band_for(authority.intakes, intake)
    return band.mg if band else None


def upper_level(authority: Authority, intake: Intake) -> float | None:
    band = band_for(authority.upper_levels, intake)
    return band.mg if band else None


def round_to(value: float, step: float) -> float:
    return float(step * round(value / step))


def target_dose(
    kb: KnowledgeBase,
    intake: Intake,
    authority: Authority,
    athlete: bool,
    upper: float | None,
    diet_mg: float | None = None,
) -> tuple[float, list[Finding]]:
    """The supplemental elemental magnesium (mg/day) and the steps that led to it.

    A study dose above the upper level is used only when the practitioner opted in
    (`preferences.follow_study_dose`); otherwise the dose stops at the upper level and the
    study dose is reported beside it.
    """
    ri = reference_intake(authority, intake)
    basis: list[Finding] = []
    step = kb.param("dose_round_mg")
    dose = 0.0
    if ri is not None and diet_mg is not None:
        # The diet was measured: the supplement fills the gap to the reference intake.
        dose = max(0.0, ri - diet_mg)
        basis.append(
            Finding(
                code="dose.from_diet_gap" if dose > 0 else "dose.diet_covers_need",
                params={
                    "reference_intake": ri,
                    "diet": round(diet_mg),
                    "dose": round_to(dose, step),
                    "authority": authority.code,
                },
                sources=list(authority.intake_sources),
            )
        )
    elif ri is not None:
        share = kb.parameters["diet_share_assumed_pct"]

        dose = ri * (1 - share.value / 100)
        basis.append(
            Finding(
                code="dose.from_reference_intake",
                params={
                    "reference_intake": ri,
                    "authority": authority.code,
                    "diet_share_pct": share.value,
                    "dose": round_to(dose, step),
                },
                sources=list(dict.fromkeys([*authority.intake_sources, *share.sources])),
            )
        )
        if athlete:
            extra = kb.parameters["athlete_extra_need_pct"]
            added = ri * extra.value / 100
            dose += added
            basis.append(
                Finding(
                    code="dose.athlete_extra",
                    params={"extra_pct": extra.value, "added": round_to(added, step)},
                    sources=list(extra.sources),
                )
            )
    for goal in intake.goals:
        app = kb.applications[goal]
        if app.medical_only:
            continue
        for study in app.study_doses:
            if study.basis is not DoseBasis.ELEMENTAL or study.amount_mg <= dose:
                continue
            params = {
                "goal": goal,
                "dose": study.amount_mg,
                "weeks": study.duration_weeks,
                "upper_level": upper,
            }
            if (
                upper is not None
                and study.amount_mg > upper
                and not intake.preferences.follow_study_dose
            ):
                dose = max(dose, upper)
                basis.append(
                    Finding(
                        code="dose.study_dose_capped",
                        severity="warning",
                        params=params,
                        sources=list(
                            dict.fromkeys([*study.sources, *authority.upper_level_note.sources])
                        ),
                    )
                )
            else:
                dose = study.amount_mg
                basis.append(
                    Finding(code="dose.study_dose", params=params, sources=list(study.sources))
                )
    if upper is not None and dose > upper and not any(f.code == "dose.study_dose" for f in basis):
        # Reference intake plus athletes' extra need never pushes past the upper level by itself.
        dose = upper
        basis.append(
            Finding(
                code="dose.capped_at_upper_level",
                params={"upper_level": upper},
                sources=list(authority.upper_level_note.sources),
            )
        )
    return round_to(dose, step), basis


def split(kb: KnowledgeBase, dose: float) -> int:
    """Number of intakes: at least two above the split threshold (BfR)."""
    threshold = kb.param("split_doses_above_mg")
    return max(1, math.ceil(dose / threshold)) if dose > threshold else 1


def units_per_day(target: float, per_unit: float, upper: float | None) -> int:
    """Whole units nearest the target; rounded down where rounding up would pass the upper level."""
    if target <= 0:
        return 0
    units = max(1, round(target / per_unit))
    if upper is not None and units * per_unit > upper and target <= upper:
        units = max(1, math.floor(upper / per_unit))
    return units


def elemental_per_unit(
    kb: KnowledgeBase, compound_code: str, amount_mg: float, basis: str
) -> float:
    if basis == "elemental":
        return amount_mg
    compound = kb.compounds[compound_code]
    return amount_mg * composition(compound.formula, compound.water_of_hydration).mg_fraction
