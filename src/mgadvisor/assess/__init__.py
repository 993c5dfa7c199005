"""Assessment: from an intake to calculated facts (labs, kidney, risk, medicines, referrals).

Pure: values in, values out. `as_of` is passed in, never read from a clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from mgadvisor.advice import (
    Calculations,
    DietResult,
    Finding,
    InteractionHit,
    MedicationMatch,
    Risk,
    TraceStep,
)
from mgadvisor.assess.diet import assess_diet
from mgadvisor.assess.kidney import ckd_epi_2021, kdigo_stage, magnesium_depletion_score
from mgadvisor.assess.labs import assess_labs
from mgadvisor.assess.medication import review
from mgadvisor.assess.risk import (
    assess_risk,
    condition_factors,
    is_heavy_drinker,
    medicine_factors,
    person_factors,
    symptom_factors,
)
from mgadvisor.foods.catalog import FoodCatalog
from mgadvisor.intake import Intake
from mgadvisor.kb.base import KnowledgeBase
from mgadvisor.kb.models import Authority, Depleting
from mgadvisor.units import convert

__all__ = ["Assessment", "assess"]


@dataclass
class Assessment:
    intake: Intake
    as_of: date
    authority: Authority
    calculations: Calculations
    risk: Risk
    labs: list[Finding]
    medications: list[MedicationMatch]
    interactions: list[InteractionHit]
    depleting: list[tuple[MedicationMatch, Depleting]]
    referral: list[Finding]
    trace: list[TraceStep] = field(default_factory=list)
    diet: DietResult | None = None


def choose_authority(kb: KnowledgeBase, intake: Intake) -> Authority:
    wanted = intake.preferences.authority
    for authority in kb.reference_values.authorities:
        if (wanted and authority.code == wanted) or (not wanted and authority.default):
            return authority
    raise LookupError(f"no authority {wanted!r}")  # the intake check prevents this


def _egfr(intake: Intake, readings: dict[str, float]) -> tuple[float | None, str | None]:
    if "egfr" in readings:
        return readings["egfr"], "given"
    creatinine = readings.get("creatinine")
    if creatinine is not None and intake.person.age >= 18:
        mg_dl = convert(creatinine, "umol/L", "mg/dL", "creatinine")
        return ckd_epi_2021(mg_dl, intake.person.age, intake.person.sex), "ckd_epi_2021"
    return None, None


def assess(
    intake: Intake,
    kb: KnowledgeBase,
    as_of: date,
    lang: str = "en",
    catalog: FoodCatalog | None = None,
) -> Assessment:
    """Everything the advice needs to know about this client, computed once.

    Args:
        catalog: foods for the diet estimate; the bundled table when None (the engine never
            reads the user's imported tables itself: the adapter passes them in).
    """
    trace: list[TraceStep] = []
    authority = choose_authority(kb, intake)
    lab = assess_labs(kb, intake)
    values = {code: reading.value for code, reading in lab.readings.items()}
    egfr, egfr_source = _egfr(intake, values)
    if egfr is not None:
        trace.append(
            TraceStep(
                rule="kidney.egfr",
                facts={
                    "creatinine_umol_l": values.get("creatinine"),
                    "age": intake.person.age,
                    "sex": intake.person.sex,
                },
                result=f"eGFR {egfr:.0f} ({egfr_source}), KDIGO {kdigo_stage(egfr)}",
                sources=["inker2021", "kdigo2024"],
            )
        )

    meds = review(kb, intake.medications, lang)
    depleting = [(match.input, dep) for match, dep in meds.depleting]
    diuretic = any(dep.mds_component == "diuretic" for _, dep in depleting)
    ppi = any(dep.mds_component == "ppi" for _, dep in depleting)
    heavy = is_heavy_drinker(kb, intake)
    mds = magnesium_depletion_score(kb, diuretic, ppi, heavy, egfr)
    trace.append(
        TraceStep(
            rule="kidney.magnesium_depletion_score",
            facts={
                "diuretic": diuretic,
                "ppi": ppi,
                "heavy_drinking": heavy,
                "egfr": egfr and round(egfr),
            },
            result=f"MDS {mds.score} {mds.components}",
            sources=["fan2021"],
        )
    )

    diet = None
    diet_factors: list[Finding] = []
    if intake.diet is not None:
        from mgadvisor.advise.dose import reference_intake

        catalog = catalog or FoodCatalog.bundled(kb)
        diet = assess_diet(kb, intake.diet, catalog, reference_intake(authority, intake))
        diet_factors = _diet_factors(kb, diet)
        trace.append(
            TraceStep(
                rule="diet.intake",
                facts={"method": diet.method, "days": diet.days, "foods": len(diet.foods)},
                result=f"{diet.magnesium_mg_per_day:g} mg/d, Ca/Mg {diet.calcium_magnesium_ratio}",
                sources=diet.sources or ["usda_fdc_sr_legacy"],
            )
        )
    factors = [
        *person_factors(kb, intake),
        *diet_factors,
        *condition_factors(kb, intake),
        *symptom_factors(kb, intake),
        *medicine_factors(depleting),
        *lab.risk,
    ]
    if egfr is not None and egfr < kb.param("egfr_supervision_below"):
        param = kb.parameters["egfr_supervision_below"]
        factors.append(
            Finding(
                code="risk.kidney",
                params={"egfr": round(egfr)},
                sources=list(param.sources),
                points=2,
            )
        )
    risk = assess_risk(kb, factors)
    for factor in factors:
        trace.append(
            TraceStep(
                rule=factor.code,
                facts=factor.params,
                result=f"+{factor.points}",
                sources=factor.sources,
            )
        )
    trace.append(
        TraceStep(
            rule="risk.level",
            facts={"score": risk.score},
            result=risk.level,
            sources=[*kb.parameters["risk_moderate_from"].sources],
        )
    )

    calculations = Calculations(
        egfr=round(egfr, 1) if egfr is not None else None,
        egfr_source=egfr_source,
        ckd_stage=kdigo_stage(egfr) if egfr is not None else None,
        mds=mds.score,
        mds_components=mds.components,
        serum_magnesium_mmol_l=_rounded(values.get("serum_magnesium")),
        rbc_magnesium_mmol_l=_rounded(values.get("rbc_magnesium")),
        urine_magnesium_mmol_24h=_rounded(values.get("urine_magnesium_24h")),
        creatinine_umol_l=_rounded(values.get("creatinine"), 0),
        loading_test_retention_pct=lab.loading_retention_pct,
        age=intake.person.age,
        sex=intake.person.sex,
    )
    from mgadvisor.advise.safety import referral_reasons

    referral = referral_reasons(
        kb, intake, egfr, meds.interactions, meds.depleting, lab.referral, trace
    )
    return Assessment(
        intake=intake,
        as_of=as_of,
        authority=authority,
        calculations=calculations,
        risk=risk,
        labs=lab.findings,
        medications=meds.matches,
        interactions=meds.interactions,
        depleting=meds.depleting,
        referral=referral,
        trace=trace,
        diet=diet,
    )


def _diet_factors(kb: KnowledgeBase, diet: DietResult) -> list[Finding]:
    """Low dietary intake and a high calcium : magnesium ratio raise the deficiency risk."""
    found = []
    low = kb.parameters["diet_low_below_pct"]
    entry = kb.risk_factors["low_dietary_intake"]
    if diet.pct_of_reference is not None and diet.pct_of_reference < low.value:
        found.append(
            Finding(
                code="risk.low_dietary_intake",
                params={"mg": diet.magnesium_mg_per_day, "pct": diet.pct_of_reference},
                sources=list(dict.fromkeys([*entry.statement.sources, *low.sources])),
                points=entry.points,
            )
        )
    ratio = kb.risk_factors["high_calcium_magnesium_ratio"]
    western = float(ratio.params["western_ratio"])
    if diet.calcium_magnesium_ratio is not None and diet.calcium_magnesium_ratio >= western:
        found.append(
            Finding(
                code="risk.high_calcium_magnesium_ratio",
                params={
                    "ratio": diet.calcium_magnesium_ratio,
                    "target": ratio.params["target_ratio"],
                },
                sources=list(ratio.statement.sources),
                points=ratio.points,
            )
        )
    return found


def _rounded(value: float | None, digits: int = 2) -> float | None:
    return round(value, digits) if value is not None else None
