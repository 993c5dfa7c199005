"""Advice: from an assessment to compound, dose, schedule, warnings, synergy and follow-up.

Pure: values in, values out. Every element is a code with parameters and sources.
"""

from __future__ import annotations

from datetime import date

from mgadvisor.advice import Advice, Dose, Finding, ProductUse, Referral, TraceStep
from mgadvisor.advise import compounds as compound_rules
from mgadvisor.advise import dose as dose_rules
from mgadvisor.advise.followup import follow_up, synergy
from mgadvisor.advise.food import food_advice
from mgadvisor.advise.safety import WITHHOLD
from mgadvisor.advise.schedule import plan
from mgadvisor.assess import Assessment, assess
from mgadvisor.assess.risk import is_athlete
from mgadvisor.foods.catalog import FoodCatalog
from mgadvisor.intake import Intake
from mgadvisor.kb.base import KnowledgeBase
from mgadvisor.kb.models import Absorption, Level
from mgadvisor.kb.names import resolve_compound

RULES_VERSION = "1.0.0"

__all__ = ["RULES_VERSION", "advise", "advise_intake"]


def advise_intake(
    intake: Intake,
    kb: KnowledgeBase,
    as_of: date,
    lang: str = "en",
    catalog: FoodCatalog | None = None,
    foods: FoodCatalog | None = None,
) -> Advice:
    """Assess and advise in one call."""
    return advise(assess(intake, kb, as_of, lang, foods or catalog), kb)


def _conflict_sources(kb: KnowledgeBase, code: str) -> list[str]:
    for conflict in kb.safety.conflicts:
        if conflict.code == code:
            return list(dict.fromkeys([*conflict.seed.sources, *conflict.authority.sources]))
    return []


def _side_effect_sources(kb: KnowledgeBase, code: str) -> list[str]:
    for effect in kb.safety.side_effects:
        if effect.code == code:
            return list(effect.statement.sources)
    return []


def advise(assessment: Assessment, kb: KnowledgeBase) -> Advice:
    intake, authority = assessment.intake, assessment.authority
    trace = list(assessment.trace)
    warnings: list[Finding] = []
    reasons = assessment.referral
    withheld = any(r.code in WITHHOLD for r in reasons)
    status = "withheld" if withheld else "medical_supervision" if reasons else "advised"

    ranked = compound_rules.rank(kb, intake)
    for choice in ranked:
        trace.append(
            TraceStep(
                rule="compound.rank",
                facts={"compound": choice.code, "score": choice.score},
                result=f"rank {choice.rank}",
                sources=choice.sources,
            )
        )

    # --- dose --------------------------------------------------------------------------
    ri = dose_rules.reference_intake(authority, intake)
    ul = dose_rules.upper_level(authority, intake)
    diet_mg = assessment.diet.magnesium_mg_per_day if assessment.diet else None
    target, basis = dose_rules.target_dose(
        kb, intake, authority, is_athlete(kb, intake), ul, diet_mg
    )
    if withheld:
        target = 0.0
    exceeds = ul is not None and target > ul
    ul_sources = list(authority.upper_level_note.sources)
    if exceeds:
        # Above the upper level is outside what is established as safe for self-care: a doctor.
        reasons = [
            *reasons,
            Finding(
                code="referral.above_upper_level",
                severity="warning",
                params={"dose": target, "upper_level": ul},
                sources=_conflict_sources(kb, "daily_need_600_700") or ul_sources,
            ),
        ]
        status = "medical_supervision" if status == "advised" else status
        warnings.append(
            Finding(
                code="warning.exceeds_upper_level",
                severity="critical",
                params={"dose": target, "upper_level": ul, "authority": authority.code},
                sources=list(
                    dict.fromkeys([*ul_sources, *_side_effect_sources(kb, "osmotic_diarrhoea")])
                ),
            )
        )
    if target > 0:
        warnings.append(
            Finding(
                code="warning.seed_versus_upper_level",
                params={"upper_level": ul},
                sources=_conflict_sources(kb, "upper_level") or ul_sources,
            )
        )
    trace.append(
        TraceStep(
            rule="dose.target",
            facts={"reference_intake": ri, "upper_level": ul, "status": status},
            result=f"{target:g} mg/day",
            sources=[k for f in basis for k in f.sources],
        )
    )

    count = dose_rules.split(kb, target) if target > 0 else 0
    if count > 1:
        split = kb.parameters["split_doses_above_mg"]
        basis.append(
            Finding(
                code="dose.split",
                params={"intakes": count, "threshold": split.value},
                sources=list(split.sources),
            )
        )

    # --- product -------------------------------------------------------------------------
    product_use = None
    main = kb.compounds[ranked[0].code] if ranked else next(iter(kb.compounds.values()))
    if intake.product is not None:
        compound = resolve_compound(kb, intake.product.compound)
        per_unit = dose_rules.elemental_per_unit(
            kb, compound.code, intake.product.amount_mg, intake.product.basis
        )
        units = intake.product.units_per_day or dose_rules.units_per_day(target, per_unit, ul)
        per_day = round(per_unit * units, 1)
        product_exceeds = ul is not None and per_day > ul
        product_use = ProductUse(
            compound=compound.code,
            amount_mg=intake.product.amount_mg,
            basis=intake.product.basis,
            elemental_mg_per_unit=round(per_unit, 1),
            units_per_day=units,
            elemental_mg_per_day=per_day,
            exceeds_upper_level=product_exceeds,
        )
        if product_exceeds:
            warnings.append(
                Finding(
                    code="warning.product_exceeds_upper_level",
                    severity="critical",
                    params={"dose": per_day, "upper_level": ul, "units": units},
                    sources=ul_sources,
                )
            )
        if compound.absorption.level is Absorption.POOR:
            warnings.append(
                Finding(
                    code="warning.product_poorly_absorbed",
                    severity="warning",
                    params={"compound": compound.code},
                    sources=list(compound.absorption.sources),
                )
            )
        main = kb.compounds[compound.variant_of or compound.code]

    # --- schedule ------------------------------------------------------------------------
    intakes, schedule, notes = plan(
        kb, intake, main, target, count, assessment.interactions, assessment.medications
    )
    warnings += [n for n in notes if n.severity == "critical"]
    schedule_notes = [n for n in notes if n.severity != "critical"]

    # --- other warnings ------------------------------------------------------------------
    if main.laxative.level in (Level.MODERATE, Level.HIGH) and target > 0:
        warnings.append(
            Finding(
                code="warning.osmotic_diarrhoea",
                params={"compound": main.code},
                sources=_side_effect_sources(kb, "osmotic_diarrhoea")
                or list(main.laxative.sources),
            )
        )
    if target > 0:
        warnings.append(
            Finding(
                code="warning.diarrhoea_not_a_test",
                sources=_conflict_sources(kb, "saturation_test"),
            )
        )
    for hit in assessment.interactions:
        if hit.severity == "avoid":
            warnings.append(
                Finding(
                    code="warning.interaction_avoid",
                    severity="critical",
                    params={"medication": hit.medication},
                    sources=hit.sources,
                )
            )
        elif hit.severity == "info":
            warnings.append(
                Finding(
                    code="warning.interaction_parenteral",
                    params={"medication": hit.medication},
                    sources=hit.sources,
                )
            )
    for match in assessment.medications:
        if not match.resolved:
            warnings.append(
                Finding(
                    code="warning.medication_unresolved",
                    severity="warning",
                    params={"medication": match.input, "suggestions": match.suggestions},
                    sources=["whocc_atc2025"],
                )
            )
        elif match.match == "fuzzy":
            warnings.append(
                Finding(
                    code="warning.medication_fuzzy",
                    params={"medication": match.input, "resolved_as": match.name or ""},
                    sources=["whocc_atc2025"],
                )
            )
    for match, dep in assessment.depleting:
        warnings.append(
            Finding(
                code="warning.depleting_medicine",
                params={"medication": match.input, "group": dep.code},
                sources=list(dep.statement.sources),
            )
        )

    ppi = any(dep.mds_component == "ppi" for _, dep in assessment.depleting)
    dose = Dose(
        status=status,
        elemental_mg_per_day=target,
        reference_intake_mg=ri,
        upper_level_mg=ul,
        exceeds_upper_level=exceeds,
        authority=authority.code,
        basis=basis,
        intakes=intakes,
        product=product_use,
    )
    advice = Advice(
        kb_version=kb.version,
        kb_hash=kb.content_hash,
        engine_version=RULES_VERSION,
        as_of=assessment.as_of.isoformat(),
        authority=authority.code,
        risk=assessment.risk,
        referral=Referral(needed=bool(reasons), reasons=reasons),
        compounds=ranked if not withheld else [],
        dose=dose,
        schedule=schedule,
        interactions=assessment.interactions,
        medications=assessment.medications,
        labs=assessment.labs,
        warnings=[*warnings, *schedule_notes],
        synergy=synergy(kb, intake) if not withheld else [],
        follow_up=follow_up(kb, intake, assessment.calculations.egfr, ppi, target > 0),
        calculations=assessment.calculations,
        trace=trace,
        diet=assessment.diet,
        food_advice=food_advice(kb, assessment, ri, withheld),
    )
    return advice
